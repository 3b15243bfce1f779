/**
 * `etl redrive <id>`: RedriveExecution for a local run. Only FAILED, TIMED_OUT and ABORTED runs;
 * resumes at the state that failed with the input it received, appends to the same record.
 */
import { readFaultFile } from '../../local/faults';
import { RedriveRefusedError } from '../../local/runtime';
import { isInterrupted } from '../../local/run-record';
import { EXIT, type CliIo } from '../io';
import { openPipeline, reportRun, type PipelineFlags } from './shared';

export async function redriveCommand(id: string, opts: PipelineFlags, io: CliIo): Promise<number> {
  const pipeline = openPipeline(opts, io);
  const existing = pipeline.runs.load(id);
  if (existing && isInterrupted(existing)) {
    // The runner was killed mid-run: what Step Functions would call ABORTED.
    markAborted(existing);
    pipeline.runs.save(existing);
  }
  let handle;
  try {
    handle = pipeline.runtime.redrive(id, { faults: readFaultFile(pipeline.home.faultsFile) });
  } catch (e) {
    if (e instanceof RedriveRefusedError) {
      io.err(`etl: redrive refused: ${e.message}\n`);
      return EXIT.failed;
    }
    throw e;
  }
  if (!opts.json) io.out(`redrive ${id}\n`);
  io.signal?.addEventListener('abort', () => handle.abort(), { once: true });
  const record = await handle.done;
  pipeline.close();
  return reportRun(record, pipeline, opts, io);
}

/** Closes a record left RUNNING by a killed process, as an ABORTED execution. */
export function markAborted(record: import('../../local/run-record').RunRecord): void {
  const now = new Date().toISOString();
  record.status = 'ABORTED';
  record.displayStatus = 'ABORTED';
  record.stopDate = now;
  const last = record.events.at(-1);
  const id = (last?.id ?? 0) + 1;
  record.events.push({
    id,
    previousEventId: id - 1,
    timestamp: now,
    type: 'ExecutionAborted',
    executionAbortedEventDetails: {
      error: 'RunnerInterrupted',
      cause: `process ${record.pid} ended during the run`,
    },
  });
}
