/**
 * `etl runs`, `etl runs show <id>` and `etl redrive <id>` against a deployed stack's state
 * machine: ListExecutions, DescribeExecution + GetExecutionHistory, RedriveExecution.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  ExecutionNotRedrivable,
  paginateGetExecutionHistory,
  paginateListExecutions,
  RedriveExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionListItem,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import {
  displayStatusOf,
  REDRIVABLE_STATUSES,
  runSourceOfInput,
  runStepsFromHistory,
  type DisplayStatus,
  type RunStatus,
  type RunSummary,
  type RunView,
} from './run-view';
import type { RemoteStack } from './stack';
import type { UploadResult } from './upload';
import { checkLandingKey } from '../core/layout';

/** What `etl runs --status S --dataset D` asks for. */
export interface RunFilter {
  /** REJECTED lists FAILED runs whose error is FileRejectedError (a data rejection). */
  readonly status?: DisplayStatus;
  readonly dataset?: string;
  /** Most runs returned, newest first. @default 50 */
  readonly limit?: number;
  /**
   * Most executions looked at when filtering by dataset (each costs one DescribeExecution).
   * @default 1000
   */
  readonly scanLimit?: number;
}

export interface RunListing {
  /** Newest first. */
  readonly runs: readonly RunSummary[];
  /** True when more matching runs may exist past `limit` or `scanLimit`. */
  readonly more: boolean;
}

/** No execution with that id in the stack's state machine. */
export class RunNotFoundError extends Error {
  override readonly name = 'RunNotFoundError';
  constructor(
    readonly runId: string,
    stackName: string,
  ) {
    super(
      `run "${runId}" was not found in stack "${stackName}". Fix: list runs with \`etl runs --stack ${stackName}\` and pass an id from there.`,
    );
  }
}

/** A redrive was refused: the run is not in a state Step Functions can resume. */
export class RedriveRefusedError extends Error {
  override readonly name = 'RedriveRefusedError';
  constructor(
    readonly runId: string,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

// Step Functions' rule for execution names (the run id): 1–80 characters, none of these.
const EXECUTION_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\p{Cc}]{1,80}$/u;

/**
 * The execution ARN for a run id. An id is the execution name (what `etl runs` prints); a full
 * execution ARN of this stack's state machine is accepted too.
 */
export function executionArnOf(remote: RemoteStack, id: string): string {
  const smArn = remote.info.stateMachineArn;
  const execPrefix = `${smArn.replace(':stateMachine:', ':execution:')}:`;
  if (id.startsWith('arn:')) {
    if (id.startsWith(execPrefix) && EXECUTION_NAME.test(id.slice(execPrefix.length))) return id;
    throw new Error(
      `"${id}" is not an execution of this stack's state machine (${smArn}). Fix: pass a run id from \`etl runs --stack ${remote.info.stackName}\`.`,
    );
  }
  if (!EXECUTION_NAME.test(id)) {
    throw new Error(
      `"${id}" is not a run id (1–80 characters, no spaces or any of <>{}[]?*"#%\\^|~\`$&,;:/). Fix: copy the id from \`etl runs --stack ${remote.info.stackName}\`.`,
    );
  }
  return `${execPrefix}${id}`;
}

/**
 * Lists runs newest first. The dataset is not part of an execution's name (EventBridge names
 * executions with a random id), so it is read from each execution's input — the S3 event — with
 * one DescribeExecution per listed execution (four in flight). A dataset filter therefore costs
 * one call per execution scanned, bounded by `scanLimit`.
 *
 * @example
 * const { runs } = await listRuns(remote, { status: 'FAILED', dataset: 'registrations' });
 */
export async function listRuns(remote: RemoteStack, filter: RunFilter = {}): Promise<RunListing> {
  const limit = filter.limit ?? 50;
  const scanLimit = filter.scanLimit ?? 1000;
  // Without a filter that needs DescribeExecution, every listed execution matches.
  const everyMatches = filter.dataset === undefined && filter.status !== 'REJECTED';
  const runs: RunSummary[] = [];
  let scanned = 0;
  const pages = paginateListExecutions(
    { client: remote.clients.sfn, pageSize: Math.min(100, Math.max(limit, 1) * (everyMatches ? 1 : 4)) },
    {
      stateMachineArn: remote.info.stateMachineArn,
      ...(filter.status !== undefined && {
        statusFilter: filter.status === 'REJECTED' ? 'FAILED' : filter.status,
      }),
    },
  );
  for await (const page of pages) {
    const items = page.executions ?? [];
    for (let i = 0; i < items.length; i += 4) {
      if (everyMatches && runs.length === limit) return { runs, more: true };
      const batch = items.slice(i, i + Math.min(4, everyMatches ? limit - runs.length : 4));
      scanned += batch.length;
      const described = await Promise.all(batch.map((item) => describeForList(remote, item)));
      for (const run of described) {
        if (filter.dataset !== undefined && run.dataset !== filter.dataset) continue;
        if (filter.status === 'REJECTED' && displayStatusOf(run) !== 'REJECTED') continue;
        if (runs.length === limit) return { runs, more: true };
        runs.push(run);
      }
      if (!everyMatches && scanned >= scanLimit) return { runs, more: true };
    }
  }
  return { runs, more: false };
}

async function describeForList(remote: RemoteStack, item: ExecutionListItem): Promise<RunSummary> {
  let input: string | undefined;
  let error: string | undefined;
  try {
    const d = await remote.clients.sfn.send(
      new DescribeExecutionCommand({ executionArn: item.executionArn }),
    );
    input = d.input;
    error = d.error;
  } catch (err) {
    // An execution can age out between the list and the describe; list it without its source.
    if (!(err instanceof ExecutionDoesNotExist)) throw err;
  }
  return summaryOf(
    {
      executionArn: item.executionArn,
      name: item.name,
      status: item.status,
      startDate: item.startDate,
      stopDate: item.stopDate,
      redriveCount: item.redriveCount,
    },
    input,
    error,
  );
}

/** The fields ListExecutions items and DescribeExecution outputs share. */
type ExecutionFacts = Partial<
  Pick<ExecutionListItem, 'executionArn' | 'name' | 'status' | 'startDate' | 'stopDate' | 'redriveCount'>
>;

function summaryOf(e: ExecutionFacts, input: string | undefined, error: string | undefined): RunSummary {
  const started = e.startDate ?? new Date(0);
  return {
    id: e.name ?? e.executionArn?.slice(e.executionArn.lastIndexOf(':') + 1) ?? '?',
    where: 'aws',
    ...(e.executionArn !== undefined && { arn: e.executionArn }),
    status: (e.status ?? 'RUNNING') as RunStatus,
    startedAt: started.toISOString(),
    ...(e.stopDate && {
      stoppedAt: e.stopDate.toISOString(),
      durationMs: e.stopDate.getTime() - started.getTime(),
    }),
    ...runSourceOfInput(input),
    redriveCount: e.redriveCount ?? 0,
    ...(error !== undefined && { error }),
  };
}

async function describeRun(remote: RemoteStack, id: string): Promise<DescribeExecutionCommandOutput> {
  const executionArn = executionArnOf(remote, id);
  try {
    return await remote.clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (err) {
    if (err instanceof ExecutionDoesNotExist) throw new RunNotFoundError(id, remote.info.stackName);
    throw err;
  }
}

/**
 * One run in detail: the execution and every state it went through, from the full (paginated)
 * execution history, in the same {@link RunView} the local `runs show` renders.
 *
 * @throws RunNotFoundError when the id names no execution of the stack's state machine
 */
export async function showRun(remote: RemoteStack, id: string): Promise<RunView> {
  const d = await describeRun(remote, id);
  const events: HistoryEvent[] = [];
  const pages = paginateGetExecutionHistory(
    { client: remote.clients.sfn, pageSize: 1000 },
    // The view needs names, times and errors, not each state's input and output.
    { executionArn: d.executionArn, includeExecutionData: false },
  );
  for await (const page of pages) events.push(...(page.events ?? []));
  return {
    ...summaryOf(d, d.input, d.error),
    ...(d.cause !== undefined && { cause: d.cause }),
    steps: runStepsFromHistory(events),
  };
}

export interface RedriveResult {
  readonly id: string;
  readonly arn: string;
  /** Status the run was redriven from. */
  readonly from: RunStatus;
  readonly redriveDate: string;
}

/**
 * Resumes a failed run at the state where it stopped (RedriveExecution): only FAILED, TIMED_OUT
 * and ABORTED runs, as with the local `redrive`. The status is checked first, so a RUNNING or
 * SUCCEEDED run is refused with a message that says what to do instead.
 *
 * @throws RedriveRefusedError, RunNotFoundError
 */
export async function redriveRun(remote: RemoteStack, id: string): Promise<RedriveResult> {
  const d = await describeRun(remote, id);
  const status = (d.status ?? 'RUNNING') as RunStatus;
  if (!REDRIVABLE_STATUSES.includes(status)) {
    throw new RedriveRefusedError(id, status, refusalOf(id, status, remote.info.stackName));
  }
  if (d.redriveStatus === 'NOT_REDRIVABLE') {
    throw new RedriveRefusedError(
      id,
      status,
      `run "${id}" is ${status} but Step Functions will not redrive it: ${d.redriveStatusReason ?? 'no reason given'}. ` +
        `Fix: upload the file again to start a new run (etl run <file> --stack ${remote.info.stackName}).`,
    );
  }
  let out;
  try {
    out = await remote.clients.sfn.send(
      // The token makes an SDK-level retry of this call a no-op instead of a second redrive.
      new RedriveExecutionCommand({ executionArn: d.executionArn, clientToken: randomUUID() }),
    );
  } catch (err) {
    if (err instanceof ExecutionNotRedrivable) {
      throw new RedriveRefusedError(
        id,
        status,
        `run "${id}" cannot be redriven: ${err.message}. Fix: upload the file again to start a new run (etl run <file> --stack ${remote.info.stackName}).`,
      );
    }
    throw err;
  }
  return {
    id,
    arn: d.executionArn!,
    from: status,
    redriveDate: (out.redriveDate ?? new Date()).toISOString(),
  };
}

function refusalOf(id: string, status: RunStatus, stackName: string): string {
  const only = `only ${REDRIVABLE_STATUSES.join(', ')} runs can be redriven`;
  switch (status) {
    case 'RUNNING':
    case 'PENDING_REDRIVE':
      return `run "${id}" is ${status}: ${only}. Fix: wait for it to finish (etl runs show ${id} --stack ${stackName}).`;
    case 'SUCCEEDED':
      return `run "${id}" SUCCEEDED: ${only}; there is nothing to resume. Fix: to process the file again, upload it again (etl run <file> --stack ${stackName}).`;
    default:
      return `run "${id}" is ${status}: ${only}.`;
  }
}

export interface FindRunOptions {
  /** Give up after this long: EventBridge usually starts the run within seconds. @default 60000 */
  readonly timeoutMs?: number;
  /** Wait between looks. @default 2000 */
  readonly pollMs?: number;
}

/**
 * The run an upload started (what `etl run <file> --stack S` follows): the newest execution whose input is the S3
 * event for exactly this key and, on a versioned bucket, this version. Undefined when none has
 * started within the timeout (the trigger is asynchronous; the reconcile sweep starts missed ones).
 */
export async function findRunOfUpload(
  remote: RemoteStack,
  upload: Pick<UploadResult, 'key' | 'versionId'>,
  options: FindRunOptions = {},
): Promise<RunSummary | undefined> {
  const check = checkLandingKey(upload.key);
  if (!check.ok) throw new Error(`"${upload.key}" is not a landing key: ${check.problem}`);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const { runs } = await listRuns(remote, { dataset: check.dataset, limit: 20, scanLimit: 100 });
    const run = runs.find(
      (r) =>
        r.sourceKey === upload.key &&
        (upload.versionId === undefined ||
          r.sourceVersionId === undefined ||
          r.sourceVersionId === upload.versionId),
    );
    if (run) return run;
    if (Date.now() >= deadline) return undefined;
    await sleep(Math.min(options.pollMs ?? 2000, Math.max(0, deadline - Date.now())));
  }
}
