/**
 * The local runtime: executes the pipeline's ASL with aws-local-stepfunctions, every Task state
 * mapped to a local implementation, and records each execution as a run record in the shape of
 * GetExecutionHistory (see history.ts, run-record.ts).
 *
 * Local differences from AWS, on purpose: Wait states and Retry pauses take no time (the local
 * dependencies answer at once) — except the poll-style retriers (a crawl still running), which
 * wait for something that does take time: they keep the ASL's backoff, scaled down to
 * {@link LOCAL_POLL_MS_PER_SECOND} ms per second and without jitter, so their bounded budget
 * covers seconds of a local crawl instead of being spent in milliseconds (GAP-7); and, when AWS's
 * limits are simulated (local/limits.ts), the retriers that outwait a limit (a throttled Lambda,
 * Glue's concurrent runs), scaled by `limitRetryMsPerSecond` with their jitter. And a Task
 * without TimeoutSeconds gets AWS's "no timeout" instead of the library's 60 s default, so a slow
 * local Spark transform is not cut off.
 */
import type { RunOptions as EngineRunOptions, StateMachineDefinition } from 'aws-local-stepfunctions';
import type { S3ObjectCreatedEvent } from '../core/events';
import { decodeEventKey } from '../core/events';
import { checkLandingKey } from '../core/layout';
import { loadInterpreter } from './interpreter';
import { FaultInjector, type FaultPlan } from './faults';
import { LIMIT_ERRORS } from './limits';
import { HistoryBuilder, taskResourceOf, type EngineEvent, type HistoryEvent } from './history';
import {
  REDRIVABLE_STATUSES,
  RunStore,
  newRunId,
  redrivePoint,
  visitsOf,
  type ExecutionStatus,
  type RunRecord,
} from './run-record';

/** Name of the Fail state a rejected file ends in; such runs are shown as REJECTED. */
export const REJECTED_STATE = 'FileRejected';
const LOCAL_ACCOUNT = '000000000000';
const STATE_MACHINE_NAME = 'serverless-etl-local';
/** Longest a progressing run's record lags behind its events. */
const SAVE_DELAY_MS = 25;
/**
 * Errors a retrier waits out rather than retries past: "the crawl is still running". Their Retry
 * pauses stay real locally, scaled by LOCAL_POLL_MS_PER_SECOND; every other pause is 0.
 */
export const POLL_STYLE_ERRORS: readonly string[] = ['CrawlerNotReadyError', 'CrawlerRunningError'];
/**
 * One second of a poll-style retrier's IntervalSeconds / MaxDelaySeconds, locally. With the
 * pipeline's PollCrawl (15 s × 1.5^n, at most 60 s, 30 retries ≈ 28 min on AWS) that is 75 ms
 * growing to 300 ms, ≈ 8.4 s in all; StartCrawl's CrawlerRunningError budget ≈ 6 s.
 */
export const LOCAL_POLL_MS_PER_SECOND = 5;
/** setTimeout's ceiling (2^31-1 ms): AWS's 99999999 s default would overflow it and fire at once. */
const NO_TIMEOUT_SECONDS = Math.floor(2 ** 31 / 1000) - 1;

type TaskHandlers = NonNullable<NonNullable<EngineRunOptions['overrides']>['taskResourceLocalHandlers']>;

/** What one Task attempt receives besides its input. */
export interface TaskContext {
  readonly runId: string;
  readonly stateName: string;
}

/**
 * A local implementation of one Task state: gets the state's effective input (after InputPath
 * and Parameters) and returns what the service integration would (before ResultSelector and
 * ResultPath). Throwing an error whose `name` is X is a task failure with Error X, and its
 * `message` becomes the Cause.
 */
export type LocalTask = (input: unknown, context: TaskContext) => Promise<unknown>;

/** Finds the local implementation of a Task state, from its name and definition. */
export type TaskResolver = (stateName: string, state: Readonly<Record<string, unknown>>) => LocalTask;

export interface LocalRuntimeOptions {
  /** The state machine definition, placeholders already substituted. */
  readonly definition: StateMachineDefinition;
  readonly resolveTask: TaskResolver;
  readonly runs: RunStore;
  /** Recorded on each run (duckdb, spark, ...). */
  readonly engine: string;
  /** Called after each history event is recorded: progress output, watch logs. */
  readonly onEvent?: (event: HistoryEvent, record: RunRecord) => void;
  /** Derives counts and output locations from the state data; called on every record update. */
  readonly summarise?: (record: RunRecord) => void;
  /** Check the definition with asl-validator when the runtime is built. @default true */
  readonly validate?: boolean;
  /**
   * Called once per start or redrive when the run has ended and its record is saved: what an
   * EventBridge "Step Functions Execution Status Change" rule sees on AWS (local/pipeline.ts sends
   * the failure notice and calls functions/record-failure from here). Awaited before `done`
   * settles; an error is reported on stderr and does not change the run.
   */
  readonly onEnd?: (record: RunRecord) => Promise<void> | void;
  /**
   * With AWS's limits simulated (local/limits.ts): ms of pause per second of AWS backoff for the
   * retriers of {@link LIMIT_ERRORS} (a throttled Lambda, Glue's concurrent-run limit), which then
   * keep the ASL's backoff and jitter at that scale. @default none: their pauses are 0, like every
   * other non-poll retrier
   */
  readonly limitRetryMsPerSecond?: number;
}

export interface RunOptions {
  /** Execution name. @default a new sortable id */
  readonly runId?: string;
  readonly faults?: FaultPlan;
  /**
   * Test hook: awaited before every Task attempt, after fault injection. Lets a scenario change
   * the world between two states (e.g. remove a curated file before Verify).
   */
  readonly beforeTask?: (stateName: string, input: unknown) => Promise<void> | void;
}

/** A started execution. */
export interface RunHandle {
  readonly runId: string;
  /** Settles with the final record; never rejects for a failed execution (see record.status). */
  readonly done: Promise<RunRecord>;
  /** StopExecution: the run ends ABORTED (a Task already running finishes in the background). */
  abort(): void;
}

/** Thrown by {@link LocalRuntime.redrive} when the run cannot be redriven. */
export class RedriveRefusedError extends Error {
  override readonly name = 'RedriveRefusedError';
}

export class LocalRuntime {
  private readonly stateMachineArn: string;
  private readonly definition: StateMachineDefinition;

  constructor(private readonly options: LocalRuntimeOptions) {
    this.stateMachineArn = `arn:aws:states:local:${LOCAL_ACCOUNT}:stateMachine:${STATE_MACHINE_NAME}`;
    const timed = withLocalTimeouts(options.definition);
    // Validate once here (asl-validator compiles its schemas each time: ~100 ms); every run then
    // skips it, including a redrive's copy, which starts mid-way ("unreachable states"). Before
    // the poll pauses are scaled: fractional IntervalSeconds are not valid ASL.
    if (options.validate ?? true) {
      const { StateMachine } = loadInterpreter();
      new StateMachine(timed, { validationOptions: { checkArn: true, checkPaths: true } });
    }
    this.definition = withLocalPollPauses(timed, options.limitRetryMsPerSecond);
  }

  /** StartExecution with the S3 event as input. */
  start(event: S3ObjectCreatedEvent, runOptions: RunOptions = {}): RunHandle {
    const key = decodeEventKey(event.detail.object.key);
    const check = checkLandingKey(key);
    // A key the allowlist refuses still names a dataset folder worth filing the run under.
    const folder = /^incoming\/([a-z][a-z0-9_]{0,62})\//.exec(key)?.[1];
    const dataset = check.ok ? check.dataset : folder;
    const runId = runOptions.runId ?? newRunId(dataset);
    const record: RunRecord = {
      runId,
      executionArn: `arn:aws:states:local:${LOCAL_ACCOUNT}:execution:${STATE_MACHINE_NAME}:${runId}`,
      stateMachineArn: this.stateMachineArn,
      status: 'RUNNING',
      displayStatus: 'RUNNING',
      ...(dataset !== undefined && { dataset }),
      source: {
        bucket: event.detail.bucket.name,
        key,
        ...(event.detail.object['version-id'] !== undefined && {
          versionId: event.detail.object['version-id'],
        }),
      },
      engine: this.options.engine,
      input: event,
      startDate: new Date().toISOString(),
      redriveCount: 0,
      counts: {},
      outputs: {},
      pid: process.pid,
      events: [],
    };
    this.options.runs.save(record);
    return this.execute(record, this.definition, event, runOptions, false);
  }

  /**
   * RedriveExecution: only FAILED, TIMED_OUT and ABORTED runs; resumes at the state that did not
   * finish, with the input it received, without re-running the states that succeeded. Appends to
   * the same record and increments redriveCount.
   */
  redrive(runId: string, runOptions: Omit<RunOptions, 'runId'> = {}): RunHandle {
    const record = this.options.runs.load(runId);
    if (!record) throw new RedriveRefusedError(`no run "${runId}" in ${this.options.runs.dir}`);
    if (!REDRIVABLE_STATUSES.includes(record.status))
      throw new RedriveRefusedError(
        `run ${runId} is ${record.status}; only FAILED, TIMED_OUT or ABORTED runs can be redriven` +
          (record.status === 'RUNNING' ? ' (wait for it to end, or abort it)' : ''),
      );
    if (record.displayStatus === 'REJECTED')
      throw new RedriveRefusedError(
        `run ${runId} was REJECTED: the file itself is bad and a redrive would fail the same way. ` +
          'Fix the file and upload it again (etl run <fixed.csv>).',
      );
    const point = redrivePoint(record);
    if (!point || !(point.state in this.definition.States))
      throw new RedriveRefusedError(`run ${runId} has no failed state to resume at`);
    const resumed: StateMachineDefinition = { ...this.definition, StartAt: point.state };
    record.redriveCount += 1;
    record.redriveDate = new Date().toISOString();
    record.status = 'RUNNING';
    record.displayStatus = 'RUNNING';
    record.pid = process.pid;
    delete record.error;
    delete record.cause;
    delete record.stopDate;
    delete record.endState;
    const builder = new HistoryBuilder(record.events, (s) => this.resourceOf(s));
    builder.redriven(record.redriveCount);
    record.events = [...builder.all];
    this.options.runs.save(record);
    return this.execute(record, resumed, point.input, runOptions, true);
  }

  private resourceOf(stateName: string) {
    const state = this.definition.States[stateName] as { Resource?: string } | undefined;
    return taskResourceOf(state?.Resource);
  }

  private execute(
    record: RunRecord,
    definition: StateMachineDefinition,
    input: unknown,
    runOptions: Omit<RunOptions, 'runId'>,
    isRedrive: boolean,
  ): RunHandle {
    const { runs, onEvent, summarise } = this.options;
    const injector = new FaultInjector(runOptions.faults ?? {});
    const beforeTask = runOptions.beforeTask;
    const builder = new HistoryBuilder(record.events, (s) => this.resourceOf(s));
    const { StateMachine } = loadInterpreter();
    const machine = new StateMachine(definition, { validationOptions: { noValidate: true } });
    const taskHandlers: TaskHandlers = {};
    const waits: Record<string, number> = {};
    const retryPauses: Record<string, number[]> = {};
    for (const [name, state] of Object.entries(definition.States)) {
      const s = state as unknown as Record<string, unknown>;
      if (s.Type === 'Wait') waits[name] = 0;
      // Per retrier: 0 (no pause), or -1 for a poll-style one: its (scaled) definition decides.
      if (Array.isArray(s.Retry))
        retryPauses[name] = (s.Retry as Retrier[]).map((r) =>
          isPollStyle(r) || (this.options.limitRetryMsPerSecond !== undefined && isLimitStyle(r)) ? -1 : 0,
        );
      if (s.Type !== 'Task') continue;
      const task = this.options.resolveTask(name, s);
      taskHandlers[name] = async (taskInput) => {
        injector.check(name);
        await beforeTask?.(name, taskInput);
        return (await task(taskInput, { runId: record.runId, stateName: name })) as never;
      };
    }
    const execution = machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: taskHandlers,
        waitTimeOverrides: waits,
        retryIntervalOverrides: retryPauses,
      },
      context: {
        Execution: {
          Id: record.executionArn,
          Name: record.runId,
          RoleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/local`,
        },
        StateMachine: { Id: record.stateMachineArn, Name: STATE_MACHINE_NAME },
      },
    });

    // Events come in bursts (a state's exit and the next one's entry): the record is rewritten
    // once per burst, within SAVE_DELAY_MS, and at once when the run ends.
    let saveTimer: NodeJS.Timeout | undefined;
    const saveNow = () => {
      clearTimeout(saveTimer);
      saveTimer = undefined;
      runs.save(record);
    };
    const recordEvents = (async () => {
      for await (const e of execution.eventLogs as AsyncIterable<EngineEvent>) {
        const before = builder.all.length;
        builder.add(e, isRedrive);
        record.events = [...builder.all];
        applyTerminal(record, e);
        summarise?.(record);
        if (record.status !== 'RUNNING') saveNow();
        else saveTimer ??= setTimeout(saveNow, SAVE_DELAY_MS);
        for (const h of builder.all.slice(before)) onEvent?.(h, record);
      }
    })();

    const done = (async () => {
      try {
        record.output = await execution.result;
      } catch {
        // The failure is in the event stream (ExecutionFailed/Aborted/Timeout); the record has it.
      }
      await recordEvents;
      if (record.status === 'RUNNING') {
        // The stream closed without a terminal event (should not happen): do not leave it RUNNING.
        record.status = 'FAILED';
        record.displayStatus = 'FAILED';
        record.error = 'States.Runtime';
        record.cause = 'the local runtime ended without a terminal event';
        record.stopDate = new Date().toISOString();
      }
      summarise?.(record);
      saveNow();
      try {
        await this.options.onEnd?.(record);
      } catch (e) {
        process.stderr.write(
          `local runtime: the execution-status handler failed for run ${record.runId}: ${e instanceof Error ? e.message : String(e)}\n`,
        );
      }
      return record;
    })();
    return { runId: record.runId, done, abort: () => execution.abort() };
  }
}

const TERMINAL_EVENTS: Readonly<Record<string, ExecutionStatus>> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionAborted: 'ABORTED',
  ExecutionTimeout: 'TIMED_OUT',
};

function applyTerminal(record: RunRecord, e: EngineEvent): void {
  const status: ExecutionStatus | undefined = TERMINAL_EVENTS[e.type];
  if (!status) return;
  record.status = status;
  record.stopDate = new Date(e.timestamp).toISOString();
  if (status === 'SUCCEEDED') record.output = e.output;
  if (status === 'FAILED') {
    record.error = e.Error ?? 'States.Runtime';
    record.cause = typeof e.Cause === 'string' ? e.Cause : JSON.stringify(e.Cause ?? null);
  }
  const last = visitsOf(record).at(-1);
  if (last) record.endState = last.name;
  record.displayStatus =
    status === 'FAILED' && last?.type === 'Fail' && last.name === REJECTED_STATE ? 'REJECTED' : status;
}

interface Retrier {
  readonly ErrorEquals: readonly string[];
  readonly IntervalSeconds?: number;
  readonly MaxDelaySeconds?: number;
  readonly JitterStrategy?: string;
}

function isPollStyle(r: Retrier): boolean {
  return r.ErrorEquals.some((e) => POLL_STYLE_ERRORS.includes(e));
}

function isLimitStyle(r: Retrier): boolean {
  return r.ErrorEquals.some((e) => LIMIT_ERRORS.includes(e));
}

/**
 * A copy where each poll-style retrier's IntervalSeconds and MaxDelaySeconds are scaled to
 * LOCAL_POLL_MS_PER_SECOND ms per second (BackoffRate and MaxAttempts kept) and jitter is off, so
 * the local wait budget is the same fraction of AWS's every time. With `limitMsPerSecond`, the
 * limit retriers (LIMIT_ERRORS) are scaled to it too, their jitter kept: many runs throttled at
 * once spread out as on AWS.
 */
function withLocalPollPauses(
  definition: StateMachineDefinition,
  limitMsPerSecond?: number,
): StateMachineDefinition {
  const scaled = (r: Retrier, msPerSecond: number, jitter?: string) => ({
    ...r,
    IntervalSeconds: (r.IntervalSeconds ?? 1) * (msPerSecond / 1000),
    ...(r.MaxDelaySeconds !== undefined && { MaxDelaySeconds: r.MaxDelaySeconds * (msPerSecond / 1000) }),
    ...(jitter !== undefined && { JitterStrategy: jitter }),
  });
  const states: Record<string, unknown> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    const s = state as unknown as Record<string, unknown>;
    states[name] = Array.isArray(s.Retry)
      ? {
          ...s,
          Retry: (s.Retry as Retrier[]).map((r) =>
            isPollStyle(r)
              ? scaled(r, LOCAL_POLL_MS_PER_SECOND, 'NONE')
              : limitMsPerSecond !== undefined && isLimitStyle(r)
                ? scaled(r, limitMsPerSecond)
                : r,
          ),
        }
      : s;
  }
  return { ...definition, States: states as StateMachineDefinition['States'] };
}

/** A copy where every Task without a timeout gets AWS's (effectively unlimited) default. */
function withLocalTimeouts(definition: StateMachineDefinition): StateMachineDefinition {
  const states: Record<string, unknown> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    const s = state as unknown as Record<string, unknown>;
    states[name] =
      s.Type === 'Task' && s.TimeoutSeconds === undefined && s.TimeoutSecondsPath === undefined
        ? { ...s, TimeoutSeconds: NO_TIMEOUT_SECONDS }
        : s;
  }
  return { ...definition, States: states as StateMachineDefinition['States'] };
}
