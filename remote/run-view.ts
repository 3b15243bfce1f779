/**
 * What `etl runs` and `etl runs show` print, for a local run and for a Step Functions execution
 * alike: one view model, one renderer. The local runtime maps its own run records to these types;
 * this file also maps a Step Functions execution history to them ({@link runStepsFromHistory}).
 *
 * Times are ISO-8601 strings so a view serialises to `--json` unchanged.
 */
import { decodeEventKey } from '../core/events';
import { checkLandingKey, LANDING_PREFIX } from '../core/layout';

/** A run's status, in Step Functions' words (the local runtime uses the same ones). */
export type RunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

export const RUN_STATUSES: readonly RunStatus[] = [
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'ABORTED',
  'PENDING_REDRIVE',
];

/** Statuses a run can be redriven from (Step Functions' rule; the local redrive mirrors it). */
export const REDRIVABLE_STATUSES: readonly RunStatus[] = ['FAILED', 'TIMED_OUT', 'ABORTED'];

/**
 * How one state ended:
 * - SUCCEEDED: exited normally (possibly after retries);
 * - CAUGHT: its error was caught by a `Catch` and the run went on elsewhere (e.g. to quarantine);
 * - FAILED / TIMED_OUT / ABORTED: the run stopped here (a redrive resumes at this state);
 * - RUNNING: entered and not yet left.
 */
export type StepStatus = 'RUNNING' | 'SUCCEEDED' | 'CAUGHT' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One state of a run. A state entered more than once (a poll loop, a redrive) is one row. */
export interface StepView {
  readonly name: string;
  /** ASL state type: Task, Pass, Choice, Wait, Succeed, Fail, Map, Parallel. */
  readonly type: string;
  /** Status of the latest visit. */
  readonly status: StepStatus;
  readonly startedAt: string;
  /** End of the latest visit; absent while RUNNING. */
  readonly finishedAt?: string;
  /** Time spent in the state, summed over visits; absent while RUNNING. */
  readonly durationMs?: number;
  /** Times the state was entered (more than 1 for loops and redrives). */
  readonly visits: number;
  /** Task attempts beyond the first, summed over visits (the ASL `Retry` at work). */
  readonly retries: number;
  /** Error names of attempts that failed and were retried, oldest first. */
  readonly retriedErrors: readonly string[];
  /** The error that ended the latest visit (FAILED, CAUGHT, TIMED_OUT); absent otherwise. */
  readonly error?: string;
  readonly cause?: string;
}

/** One line of `etl runs`. */
export interface RunSummary {
  /** The run id: the execution name (what `$$.Execution.Name` gives the steps as runId). */
  readonly id: string;
  /** Where the run lives: the local runtime's store or a deployed stack's state machine. */
  readonly where: 'local' | 'aws';
  /** The execution ARN (aws only). */
  readonly arn?: string;
  readonly status: RunStatus;
  readonly startedAt: string;
  readonly stoppedAt?: string;
  readonly durationMs?: number;
  /** From the run's input (the S3 event); absent when the input is not a landing event. */
  readonly dataset?: string;
  /** The landing key, decoded. */
  readonly sourceKey?: string;
  /** The landing object's S3 version, when the bucket is versioned. */
  readonly sourceVersionId?: string;
  readonly redriveCount: number;
  /** Why the run failed (the execution's error): `FileRejectedError` for a rejected file. */
  readonly error?: string;
}

/** What people see: REJECTED is a FAILED run that ended in the FileRejected Fail state. */
export type DisplayStatus = RunStatus | 'REJECTED';

/** The execution error a FileRejected Fail state ends a run with (core/errors.ts). */
export const REJECTED_ERROR = 'FileRejectedError';

/**
 * The status to show: a data rejection (the file is bad, fix the upload) reads differently from
 * a pipeline fault (redrive it), as the local `etl runs` shows them.
 */
export function displayStatusOf(run: Pick<RunSummary, 'status' | 'error'>): DisplayStatus {
  return run.status === 'FAILED' && run.error === REJECTED_ERROR ? 'REJECTED' : run.status;
}

/** `etl runs show <id>`. */
export interface RunView extends RunSummary {
  /** The execution's cause, next to `error`. */
  readonly cause?: string;
  /** States in the order they were first entered. */
  readonly steps: readonly StepView[];
}

/** The landing object a run is about, read from its input. */
export interface RunSource {
  readonly dataset?: string;
  readonly sourceKey?: string;
  /** The S3 version the run is about (versioned landing bucket). */
  readonly sourceVersionId?: string;
}

/**
 * Reads dataset, key and version from an execution input. The input is the EventBridge S3 event
 * (core/events.ts), whose key is URL-encoded; the dataset is the key segment after `incoming/`.
 * Anything else (a hand-started execution, a reconcile sweep) yields an empty source.
 */
export function runSourceOfInput(input: string | undefined): RunSource {
  if (!input) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(input);
  } catch {
    return {};
  }
  const object = (parsed as { detail?: { object?: { key?: unknown; 'version-id'?: unknown } } } | null)
    ?.detail?.object;
  const encoded = object?.key;
  if (typeof encoded !== 'string') return {};
  const version = typeof object?.['version-id'] === 'string' ? { sourceVersionId: object['version-id'] } : {};
  let sourceKey: string;
  try {
    sourceKey = decodeEventKey(encoded);
  } catch {
    return {}; // malformed %-escape: not a real S3 event
  }
  const check = checkLandingKey(sourceKey);
  if (check.ok) return { dataset: check.dataset, sourceKey, ...version };
  // A key the allowlist refuses still names a dataset folder worth showing (the run rejected it).
  const folder = sourceKey.startsWith(LANDING_PREFIX)
    ? sourceKey.slice(LANDING_PREFIX.length).split('/')[0]
    : undefined;
  return { ...(folder && { dataset: folder }), sourceKey, ...version };
}

/**
 * One execution history event, as GetExecutionHistory returns it (the SDK's `HistoryEvent`, with
 * Date timestamps) or as the local runtime records it (local/history.ts, ISO-string timestamps).
 * Only id, type, timestamp and the `...EventDetails` object are read.
 */
export interface HistoryEventLike {
  readonly id?: number;
  readonly type?: string;
  readonly timestamp?: Date | string;
}

interface Visit {
  readonly name: string;
  readonly type: string;
  readonly enteredAt: Date;
  endedAt?: Date;
  status: StepStatus;
  attempts: number;
  lastAttempt: 'none' | 'pending' | 'ok' | 'failed';
  failures: { error?: string; cause?: string }[];
  retriedErrors: string[];
  error?: string;
  cause?: string;
}

/** A visit's attempt state when it is entered (or reopened by a redrive): running, nothing tried. */
function noAttemptsYet(): Pick<Visit, 'status' | 'attempts' | 'lastAttempt' | 'failures' | 'retriedErrors'> {
  return { status: 'RUNNING', attempts: 0, lastAttempt: 'none', failures: [], retriedErrors: [] };
}

// Task-level events, whatever the integration (service task, legacy Lambda resource, activity).
const ATTEMPT_STARTED = /^(?:Task|LambdaFunction|Activity)Scheduled$/;
const ATTEMPT_SUCCEEDED = /^(?:Task|LambdaFunction|Activity)Succeeded$/;
const ATTEMPT_FAILED =
  /^(?:Task(?:Failed|TimedOut|StartFailed|SubmitFailed)|LambdaFunction(?:Failed|TimedOut|StartFailed|ScheduleFailed)|Activity(?:Failed|TimedOut|ScheduleFailed))$/;

function detailsOf(event: HistoryEventLike): { error?: string; cause?: string; name?: string } {
  for (const [k, v] of Object.entries(event)) {
    if (k.endsWith('EventDetails') && v && typeof v === 'object')
      return v as { error?: string; cause?: string };
  }
  return {};
}

/**
 * Turns an execution history (GetExecutionHistory events, any order) into per-state rows.
 *
 * Task-level events are attributed to the most recently entered state that is still open, which
 * is exact for this project's linear state machine; inside a Map or Parallel state with
 * concurrent branches, inner states of the same name are merged into one row.
 */
export function runStepsFromHistory(events: readonly HistoryEventLike[]): StepView[] {
  const sorted = [...events].sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  const visits: Visit[] = [];
  const open: Visit[] = [];
  const at = (e: HistoryEventLike) =>
    e.timestamp instanceof Date ? e.timestamp : new Date(e.timestamp ?? 0);

  const closeOpen = (status: StepStatus, when: Date, error?: string, cause?: string) => {
    for (const v of open.splice(0)) {
      v.status = status;
      v.endedAt = when;
      const last = v.failures[v.failures.length - 1];
      const own = v.lastAttempt === 'failed' && last ? last : { error, cause };
      if (own.error !== undefined) v.error = own.error;
      if (own.cause !== undefined) v.cause = own.cause;
    }
  };

  for (const e of sorted) {
    const type = e.type ?? '';
    const d = detailsOf(e);
    if (type.endsWith('StateEntered')) {
      const v: Visit = {
        name: d.name ?? '?',
        type: type.slice(0, -'StateEntered'.length),
        enteredAt: at(e),
        ...noAttemptsYet(),
      };
      visits.push(v);
      open.push(v);
    } else if (type.endsWith('StateExited')) {
      const idx = open.findLastIndex((v) => v.name === d.name);
      if (idx < 0) continue;
      const [v] = open.splice(idx, 1);
      v!.endedAt = at(e);
      if (v!.lastAttempt === 'failed') {
        const last = v!.failures[v!.failures.length - 1]!;
        v!.status = 'CAUGHT';
        if (last.error !== undefined) v!.error = last.error;
        if (last.cause !== undefined) v!.cause = last.cause;
      } else {
        v!.status = 'SUCCEEDED';
      }
    } else if (ATTEMPT_STARTED.test(type)) {
      let v = open[open.length - 1];
      if (!v) {
        // A redrive resumes a failed state without entering it anew: reopen it as a new visit.
        const failed = visits.findLast(
          (x) => x.status === 'FAILED' || x.status === 'TIMED_OUT' || x.status === 'ABORTED',
        );
        if (!failed) continue;
        v = {
          ...failed,
          enteredAt: at(e),
          ...noAttemptsYet(),
        };
        delete v.endedAt;
        delete v.error;
        delete v.cause;
        visits.push(v);
        open.push(v);
      }
      if (v.lastAttempt === 'failed') {
        const prev = v.failures[v.failures.length - 1];
        if (prev?.error) v.retriedErrors.push(prev.error);
      }
      v.attempts += 1;
      v.lastAttempt = 'pending';
    } else if (ATTEMPT_SUCCEEDED.test(type)) {
      const v = open[open.length - 1];
      if (v) v.lastAttempt = 'ok';
    } else if (ATTEMPT_FAILED.test(type)) {
      const v = open[open.length - 1];
      if (v) {
        v.failures.push({
          ...(d.error !== undefined && { error: d.error }),
          ...(d.cause !== undefined && { cause: d.cause }),
        });
        v.lastAttempt = 'failed';
      }
    } else if (type === 'ExecutionFailed') {
      closeOpen('FAILED', at(e), d.error, d.cause);
    } else if (type === 'ExecutionTimedOut') {
      closeOpen('TIMED_OUT', at(e), d.error ?? 'States.Timeout', d.cause);
    } else if (type === 'ExecutionAborted') {
      closeOpen('ABORTED', at(e), d.error, d.cause);
    } else if (type === 'ExecutionSucceeded') {
      closeOpen('SUCCEEDED', at(e));
    }
  }
  return aggregateByState(visits);
}

function aggregateByState(visits: readonly Visit[]): StepView[] {
  const byName = new Map<string, Visit[]>();
  for (const v of visits) {
    const list = byName.get(v.name);
    if (list) list.push(v);
    else byName.set(v.name, [v]);
  }
  return [...byName.values()].map((vs) => {
    const first = vs[0]!;
    const last = vs[vs.length - 1]!;
    const running = last.status === 'RUNNING';
    const durationMs = running
      ? undefined
      : vs.reduce(
          (sum, v) => sum + ((v.endedAt?.getTime() ?? v.enteredAt.getTime()) - v.enteredAt.getTime()),
          0,
        );
    return {
      name: first.name,
      type: first.type,
      status: last.status,
      startedAt: first.enteredAt.toISOString(),
      ...(last.endedAt && !running && { finishedAt: last.endedAt.toISOString() }),
      ...(durationMs !== undefined && { durationMs }),
      visits: vs.length,
      retries: vs.reduce((sum, v) => sum + Math.max(0, v.attempts - 1), 0),
      retriedErrors: vs.flatMap((v) => v.retriedErrors),
      ...(last.error !== undefined && last.status !== 'SUCCEEDED' && { error: last.error }),
      ...(last.cause !== undefined && last.status !== 'SUCCEEDED' && { cause: last.cause }),
    };
  });
}
