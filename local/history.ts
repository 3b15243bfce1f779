/**
 * Execution history in the shape of Step Functions' GetExecutionHistory, built from the event
 * stream aws-local-stepfunctions emits. Keeping the AWS shape means one reader (`etl runs show`,
 * bench/, redrive) works on local records and on a deployed stack's history alike.
 *
 * Mapping (library event → history events):
 *  - ExecutionStarted → ExecutionStarted
 *  - StateEntered     → `<Type>StateEntered`, plus TaskScheduled + TaskStarted for a Task
 *  - StateRetried     → TaskScheduled + TaskStarted (AWS shows a retry as a new attempt)
 *  - StateFailed      → TaskFailed (Task states only: a Fail state's error is the execution's)
 *  - StateExited      → TaskSucceeded (unless the attempt failed and was caught) + `<Type>StateExited`
 *  - ExecutionSucceeded/Failed/Aborted/Timeout → ExecutionSucceeded/Failed/Aborted/TimedOut
 * Inputs and outputs are JSON strings, as AWS returns them.
 */

/** The library's event (a structural subset of aws-local-stepfunctions' EventLog). */
export interface EngineEvent {
  readonly type: string;
  readonly timestamp: number;
  readonly input?: unknown;
  readonly output?: unknown;
  readonly state?: {
    readonly name: string;
    readonly type: string;
    readonly input: unknown;
    readonly output?: unknown;
  };
  readonly Error?: string;
  readonly Cause?: unknown;
  readonly retry?: { readonly attempt: number };
  readonly index?: number;
}

export interface HistoryEvent {
  readonly id: number;
  readonly previousEventId: number;
  /** ISO 8601. */
  readonly timestamp: string;
  readonly type: string;
  readonly executionStartedEventDetails?: { input: string; roleArn: string };
  readonly executionSucceededEventDetails?: { output: string };
  readonly executionFailedEventDetails?: { error: string; cause: string };
  readonly executionAbortedEventDetails?: { error?: string; cause?: string };
  readonly executionTimedOutEventDetails?: { error?: string; cause?: string };
  readonly executionRedrivenEventDetails?: { redriveCount: number };
  readonly stateEnteredEventDetails?: { name: string; input: string };
  readonly stateExitedEventDetails?: { name: string; output: string };
  readonly taskScheduledEventDetails?: {
    resourceType: string;
    resource: string;
    region: string;
    parameters: string;
  };
  readonly taskStartedEventDetails?: { resourceType: string; resource: string };
  readonly taskSucceededEventDetails?: { resourceType: string; resource: string; output: string };
  readonly taskFailedEventDetails?: { resourceType: string; resource: string; error: string; cause: string };
}

/** What a Task state calls, as AWS names it in history (`lambda`/`invoke`, `glue`/`startJobRun.sync`). */
export interface TaskResource {
  readonly resourceType: string;
  readonly resource: string;
}

/** `arn:aws:states:::glue:startJobRun.sync` → glue / startJobRun.sync; a Lambda ARN → lambda / invoke. */
export function taskResourceOf(resourceArn: string | undefined): TaskResource {
  const m = /^arn:aws:states:[^:]*:[^:]*:([^:]+):(.+)$/.exec(resourceArn ?? '');
  if (m) return { resourceType: m[1]!, resource: m[2]! };
  if ((resourceArn ?? '').startsWith('arn:aws:lambda:'))
    return { resourceType: 'lambda', resource: 'invoke' };
  return { resourceType: 'local', resource: resourceArn ?? 'unknown' };
}

function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

function causeText(cause: unknown): string {
  return typeof cause === 'string' ? cause : json(cause);
}

/**
 * Appends history events for one execution (or one redrive of it), numbering them after the
 * events already present. Stateless across runs: give it the existing events to continue.
 */
export class HistoryBuilder {
  private readonly events: HistoryEvent[];
  /** States whose current attempt failed (so StateExited means "caught", not TaskSucceeded). */
  private readonly failedAttempt = new Set<string>();

  constructor(
    existing: readonly HistoryEvent[],
    private readonly resources: (stateName: string) => TaskResource,
    private readonly roleArn = 'arn:aws:iam::000000000000:role/local',
  ) {
    this.events = [...existing];
  }

  get all(): readonly HistoryEvent[] {
    return this.events;
  }

  /** Records a RedriveExecution: AWS logs ExecutionRedriven before the failed state re-enters. */
  redriven(redriveCount: number, at = Date.now()): void {
    this.push(at, 'ExecutionRedriven', { executionRedrivenEventDetails: { redriveCount } });
  }

  /** Appends the history events for one library event. `skipStart` drops ExecutionStarted (redrive). */
  add(e: EngineEvent, skipStart = false): void {
    const at = e.timestamp;
    const s = e.state;
    switch (e.type) {
      case 'ExecutionStarted':
        if (!skipStart)
          this.push(at, 'ExecutionStarted', {
            executionStartedEventDetails: { input: json(e.input), roleArn: this.roleArn },
          });
        return;
      case 'ExecutionSucceeded':
        this.push(at, 'ExecutionSucceeded', { executionSucceededEventDetails: { output: json(e.output) } });
        return;
      case 'ExecutionFailed':
        this.push(at, 'ExecutionFailed', {
          executionFailedEventDetails: { error: e.Error ?? 'States.Runtime', cause: causeText(e.Cause) },
        });
        return;
      case 'ExecutionAborted':
        this.push(at, 'ExecutionAborted', { executionAbortedEventDetails: {} });
        return;
      case 'ExecutionTimeout':
        this.push(at, 'ExecutionTimedOut', {
          executionTimedOutEventDetails: { error: 'States.Timeout', cause: 'The execution timed out' },
        });
        return;
      case 'StateEntered':
        if (!s) return;
        this.failedAttempt.delete(s.name);
        this.push(at, `${s.type}StateEntered`, {
          stateEnteredEventDetails: { name: s.name, input: json(s.input) },
        });
        if (s.type === 'Task') this.scheduleTask(at, s.name, s.input);
        return;
      case 'StateRetried':
        if (!s) return;
        this.failedAttempt.delete(s.name);
        this.scheduleTask(at, s.name, s.input);
        return;
      case 'StateFailed':
        if (!s || s.type !== 'Task') return;
        this.failedAttempt.add(s.name);
        this.push(at, 'TaskFailed', {
          taskFailedEventDetails: {
            ...this.resources(s.name),
            error: e.Error ?? 'States.TaskFailed',
            cause: causeText(e.Cause),
          },
        });
        return;
      case 'StateExited':
        if (!s) return;
        if (s.type === 'Task' && !this.failedAttempt.has(s.name))
          this.push(at, 'TaskSucceeded', {
            taskSucceededEventDetails: { ...this.resources(s.name), output: json(s.output) },
          });
        this.failedAttempt.delete(s.name);
        this.push(at, `${s.type}StateExited`, {
          stateExitedEventDetails: { name: s.name, output: json(s.output) },
        });
        return;
      default:
        // Map/Parallel iteration events: the pipeline uses neither locally; ignore rather than guess.
        return;
    }
  }

  private scheduleTask(at: number, name: string, input: unknown): void {
    const r = this.resources(name);
    this.push(at, 'TaskScheduled', {
      taskScheduledEventDetails: { ...r, region: 'local', parameters: json(input) },
    });
    this.push(at, 'TaskStarted', { taskStartedEventDetails: r });
  }

  private push(at: number, type: string, details: Partial<HistoryEvent>): void {
    const id = this.events.length + 1;
    this.events.push({
      id,
      previousEventId: id - 1,
      timestamp: new Date(at).toISOString(),
      type,
      ...details,
    });
  }
}

/** One state visit as the console graph shows it. */
export interface StateVisit {
  readonly name: string;
  readonly type: string;
  /** SUCCEEDED, FAILED, CAUGHT (failed and handled by a Catch), RUNNING or ABORTED. */
  status: 'SUCCEEDED' | 'FAILED' | 'CAUGHT' | 'RUNNING' | 'ABORTED';
  readonly enteredAt: string;
  exitedAt?: string;
  durationMs?: number;
  /** Task attempts (1 + retries). */
  attempts: number;
  retries: number;
  /** Errors of every failed attempt, oldest first. */
  errors: { error: string; cause: string }[];
  /** The state's input, parsed. */
  readonly input: unknown;
  output?: unknown;
  /** Set on the visit that belongs to a redrive. */
  readonly redrive: number;
}

function parse(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Folds a history into the list of state visits, in order. */
export function stateVisits(events: readonly HistoryEvent[]): StateVisit[] {
  const visits: StateVisit[] = [];
  let redrive = 0;
  let open: StateVisit | undefined;
  for (const e of events) {
    if (e.type === 'ExecutionRedriven') {
      redrive = e.executionRedrivenEventDetails!.redriveCount;
      continue;
    }
    if (e.stateEnteredEventDetails) {
      open = {
        name: e.stateEnteredEventDetails.name,
        type: e.type.slice(0, -'StateEntered'.length),
        status: 'RUNNING',
        enteredAt: e.timestamp,
        attempts: 0,
        retries: 0,
        errors: [],
        input: parse(e.stateEnteredEventDetails.input),
        redrive,
      };
      visits.push(open);
      if (open.type === 'Fail') open.status = 'FAILED';
      continue;
    }
    if (!open) continue;
    if (e.type === 'TaskScheduled') {
      open.attempts += 1;
      open.retries = Math.max(0, open.attempts - 1);
    } else if (e.taskFailedEventDetails) {
      open.errors.push({ error: e.taskFailedEventDetails.error, cause: e.taskFailedEventDetails.cause });
    } else if (e.stateExitedEventDetails) {
      open.exitedAt = e.timestamp;
      open.durationMs = Date.parse(e.timestamp) - Date.parse(open.enteredAt);
      open.output = parse(e.stateExitedEventDetails.output);
      const lastAttemptFailed =
        open.type === 'Task' && open.errors.length > 0 && open.errors.length >= open.attempts;
      open.status = lastAttemptFailed ? 'CAUGHT' : 'SUCCEEDED';
      open = undefined;
    } else if (
      e.executionFailedEventDetails ||
      e.type === 'ExecutionTimedOut' ||
      e.type === 'ExecutionAborted'
    ) {
      open.exitedAt = e.timestamp;
      open.durationMs = Date.parse(e.timestamp) - Date.parse(open.enteredAt);
      if (e.executionFailedEventDetails) {
        open.status = 'FAILED';
        if (open.type !== 'Task')
          open.errors.push({
            error: e.executionFailedEventDetails.error,
            cause: e.executionFailedEventDetails.cause,
          });
      } else open.status = 'ABORTED';
      open = undefined;
    }
  }
  return visits;
}
