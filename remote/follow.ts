/**
 * `etl run --stack` and `etl runs show --follow --stack`: follow one execution to its end, handing
 * each new view of it to the caller (who prints the states as they finish).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { showRun } from './runs';
import type { RunView } from './run-view';
import type { RemoteStack } from './stack';

export interface FollowOptions {
  /** Wait between looks (DescribeExecution + GetExecutionHistory). @default 2000 */
  readonly pollMs?: number;
  /** Stops following (Ctrl-C); the execution itself goes on. */
  readonly signal?: AbortSignal;
  /** Called with every view, the last one included (the run has ended then). */
  readonly onView?: (view: RunView) => void;
}

/** Whether a run has ended: anything but RUNNING and PENDING_REDRIVE. */
export function isFinished(view: Pick<RunView, 'status'>): boolean {
  return view.status !== 'RUNNING' && view.status !== 'PENDING_REDRIVE';
}

/**
 * Polls the execution until it ends and returns its last view; undefined when `signal` stopped
 * the following first. A redriven execution is followed through its redrive too (it is RUNNING
 * again). Costs two Step Functions reads per look (the history paginated), no writes.
 *
 * @throws RunNotFoundError when the id names no execution of the stack's state machine
 */
export async function followRun(
  remote: RemoteStack,
  id: string,
  options: FollowOptions = {},
): Promise<RunView | undefined> {
  for (;;) {
    if (options.signal?.aborted) return undefined;
    const view = await showRun(remote, id);
    options.onView?.(view);
    if (isFinished(view)) return view;
    try {
      await sleep(options.pollMs ?? 2000, undefined, options.signal ? { signal: options.signal } : {});
    } catch {
      return undefined; // aborted while waiting
    }
  }
}
