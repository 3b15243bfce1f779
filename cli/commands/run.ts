/**
 * `etl run <file.csv>`: what a user meets first. Puts the file into the local landing bucket as
 * S3 would (a new version), builds the EventBridge event AWS would send, runs the state machine,
 * shows one line per state and a summary.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { contractFileOf, listDatasets, type DatasetContract } from '../../core/contract';
import { DATASET_NAME } from '../../core/dataset-name';
import { landingFileOf } from '../../core/layout';
import { readFaultFile } from '../../local/faults';
import { landingKeyFor, objectCreatedEvent, putInLanding } from '../../local/landing';
import { EXIT, UsageError, type CliIo } from '../io';
import { shortPath } from '../render';
import { contractForRun } from './contract';
import { openPipeline, reportRun, schemasDirOf, type ContractsDir, type PipelineFlags } from './shared';

export interface RunFlags extends PipelineFlags {
  readonly dataset?: string;
}

/**
 * The dataset a file belongs to, with its contract: `--dataset`; else its folder's name when that
 * has a contract (`data/registrations/2024-06.csv`); else its own name's stem when that has one
 * (`samples/registrations.csv`).
 * @throws UsageError (exit 64) naming why: a name the rule refuses, no contract (with the known
 *   datasets and `etl init` as the fix), or a broken contract (file, pointer, column, fix)
 */
export function datasetFor(
  file: string,
  explicit: string | undefined,
  contracts: ContractsDir,
  io: CliIo,
): { dataset: string; contract: DatasetContract } {
  if (explicit !== undefined)
    return { dataset: explicit, contract: contractForRun(explicit, contracts, io, file) };
  const folder = path.basename(path.dirname(file));
  // The name without its landing suffix (`events.jsonl.gz` → `events`), else without its extension.
  const name = path.basename(file);
  const stem = landingFileOf(name)?.stem ?? name.replace(/\.[^.]*$/, '');
  for (const candidate of [folder, stem]) {
    if (DATASET_NAME.test(candidate) && existsSync(contractFileOf(candidate, contracts.dir)))
      return { dataset: candidate, contract: contractForRun(candidate, contracts, io, file) };
  }
  let datasets: string[] = [];
  try {
    datasets = listDatasets(contracts.dir);
  } catch {
    // no contracts folder: said below
  }
  const list = datasets.length > 0 ? datasets.join(', ') : 'none';
  throw new UsageError(
    `cannot tell the dataset of ${shortPath(file, io.cwd)}: neither its folder "${folder}" nor its name "${stem}" has a contract in ${shortPath(contracts.dir, io.cwd)} (${contracts.origin}; datasets with a contract there: ${list}). ` +
      `Fix: pass --dataset <name>, or write a contract with \`etl init ${shortPath(file, io.cwd)} --dataset <name>\``,
    EXIT.usage,
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
  // Before anything is put in landing: a missing or broken contract starts no run and leaves no record.
  const { dataset } = datasetFor(source, opts.dataset, schemasDirOf(opts, io), io);
  // Any file name lands, as any name can be uploaded to the bucket: a name the key allowlist
  // refuses (core/layout checkLandingKey) ends REJECTED with KEY_NOT_ALLOWED in Claim, quarantined
  // under quarantine/_unrouted/ with its reason, exactly as on AWS.
  const key = landingKeyFor(dataset, source);

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
