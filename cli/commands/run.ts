/**
 * `etl run <file.csv>`: what a user meets first. Puts the file into the local landing bucket as
 * S3 would (a new version), builds the EventBridge event AWS would send, runs the state machine,
 * shows one line per state and a summary.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { listDatasets } from '../../core/contract';
import { checkLandingKey } from '../../core/layout';
import { readFaultFile } from '../../local/faults';
import { landingKeyFor, objectCreatedEvent, putInLanding } from '../../local/landing';
import { UsageError, type CliIo } from '../io';
import { shortPath } from '../render';
import { openPipeline, reportRun, type PipelineFlags } from './shared';

export interface RunFlags extends PipelineFlags {
  readonly dataset?: string;
}

/**
 * The dataset a file belongs to: `--dataset`; else its folder's name when that has a contract
 * (`data/registrations/2024-06.csv`); else its own name's stem when that has one
 * (`samples/registrations.csv`).
 */
export function datasetFor(file: string, explicit: string | undefined): string {
  const datasets = listDatasets();
  const list = datasets.length > 0 ? datasets.join(', ') : '(none: add schemas/<dataset>.schema.json)';
  if (explicit !== undefined) {
    if (!datasets.includes(explicit))
      throw new UsageError(`no contract for dataset "${explicit}". Datasets with a contract: ${list}`);
    return explicit;
  }
  const folder = path.basename(path.dirname(file));
  if (datasets.includes(folder)) return folder;
  const stem = path.basename(file).replace(/\.[^.]*$/, '');
  if (datasets.includes(stem)) return stem;
  throw new UsageError(
    `cannot tell the dataset of ${file}: neither its folder "${folder}" nor its name is a dataset. ` +
      `Pass --dataset <name>; datasets with a contract: ${list}`,
  );
}

export async function runCommand(file: string, opts: RunFlags, io: CliIo): Promise<number> {
  const source = path.resolve(io.cwd, file);
  let isFile: boolean;
  try {
    isFile = statSync(source).isFile();
  } catch {
    throw new UsageError(`${file}: no such file. Give the path of a CSV file.`);
  }
  if (!isFile) throw new UsageError(`${file} is not a file. Give the path of a CSV file.`);
  const dataset = datasetFor(source, opts.dataset);
  const key = landingKeyFor(dataset, source);
  const check = checkLandingKey(key);
  if (!check.ok)
    throw new UsageError(
      `${file} cannot be uploaded as ${JSON.stringify(key)}: ${check.problem}. Fix: ${check.fix}`,
    );

  const pipeline = openPipeline(opts, io);
  const { home } = pipeline;
  const info = await putInLanding(pipeline.store, home.landingBucket, key, source);
  const event = objectCreatedEvent(home.landingBucket, info);
  const handle = pipeline.runtime.start(event, { faults: readFaultFile(home.faultsFile) });
  // Ctrl-C is StopExecution: the run ends ABORTED, and `etl redrive` resumes it.
  io.signal?.addEventListener('abort', () => handle.abort(), { once: true });
  if (!opts.json) {
    io.out(
      `${shortPath(source, io.cwd)} → ${shortPath(pipeline.store.pathOf(home.landingBucket, key), io.cwd)}\n`,
    );
    io.out(`run ${handle.runId} (${dataset}, engine ${pipeline.engine})\n`);
  }
  const record = await handle.done;
  pipeline.close();
  return reportRun(record, pipeline, opts, io);
}
