/**
 * `etl runs show <id> --follow` on the local folder: a run started by another process (`etl watch`,
 * `etl reconcile`, another `etl run`) followed through its run record, which that process rewrites
 * as the run progresses. Prints each state as it finishes, then the state path (`runs show`), and
 * returns the run's exit code.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { HistoryEvent as SfnHistoryEvent } from '@aws-sdk/client-sfn';
import { isInterrupted, RunStore, type RunRecord } from '../../local/run-record';
import { runStepsFromHistory } from '../../remote/run-view';
import { StepLines } from '../follow';
import { EXIT, UsageError, type CliIo } from '../io';
import { showCommand } from './runs';
import { exitCodeOf, homeOf, type HomeFlag } from './shared';

export async function followLocalCommand(
  id: string,
  opts: HomeFlag & { json?: boolean; pollMs?: number },
  io: CliIo,
): Promise<number> {
  const store = new RunStore(homeOf(opts, io).runsDir);
  const lines = new StepLines();
  const load = (): RunRecord => {
    let record: RunRecord | undefined;
    try {
      record = store.load(id);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (!record) throw new UsageError(`no run "${id}". List runs with: etl runs`);
    return record;
  };
  let record = load();
  for (;;) {
    if (!opts.json)
      for (const line of lines.next(runStepsFromHistory(record.events as unknown as SfnHistoryEvent[])))
        io.out(`${line}\n`);
    if (record.status !== 'RUNNING' || isInterrupted(record)) break;
    try {
      await sleep(opts.pollMs ?? 250, undefined, io.signal ? { signal: io.signal } : {});
    } catch {
      io.err('etl: stopped following; the run goes on\n');
      return EXIT.failed;
    }
    record = load();
  }
  if (!opts.json) io.out('\n');
  await showCommand(id, opts, io);
  return record.status === 'RUNNING' ? EXIT.failed : exitCodeOf(record);
}
