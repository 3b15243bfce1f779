/**
 * A run's counts and where its outputs are, read from the state data the steps left in the
 * history (`$.validate`, `$.verify`, `$.quarantine`, `$.archive`) and the transform's manifest.
 * Paths are local files a person can open.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { lake } from '../core/layout';
import type { TransformManifest } from '../core/steps';
import type { RunRecord } from './run-record';
import { visitsOf } from './run-record';
import { modelRecordCost } from './run-cost';

interface Location {
  bucket: string;
  key: string;
}

/** Maps a bucket/key (or prefix) to the local file or folder. */
export type PathOf = (bucket: string, key: string) => string;

function isLocation(v: unknown): v is Location {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Location).bucket === 'string' &&
    typeof (v as Location).key === 'string'
  );
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The latest value of `$.<field>` in any state's output or input. */
function latest(record: RunRecord, field: string): Record<string, unknown> | undefined {
  const visits = visitsOf(record);
  for (let i = visits.length - 1; i >= 0; i--) {
    for (const data of [visits[i]!.output, visits[i]!.input]) {
      const v = (data as Record<string, unknown> | undefined)?.[field];
      if (typeof v === 'object' && v !== null) return v as Record<string, unknown>;
    }
  }
  return undefined;
}

function local(pathOf: PathOf, loc: Location): string {
  return pathOf(loc.bucket, loc.key.replace(/\/$/, ''));
}

/** Fills `record.counts` and `record.outputs` from what the steps reported. Never throws. */
export function summariseRun(record: RunRecord, pathOf: PathOf, lakeDir: string): void {
  const validate = latest(record, 'validate');
  const verify = latest(record, 'verify');
  const quarantine = latest(record, 'quarantine');
  const archive = latest(record, 'archive');
  const counts = record.counts;
  const outputs = record.outputs;
  if (validate) {
    for (const k of ['rowsRead', 'rowsValid', 'rowsRejected'] as const) {
      const v = num(validate[k]);
      if (v !== undefined) counts[k] = v;
    }
    if (isLocation(validate.rejects)) outputs.rejects = local(pathOf, validate.rejects);
    if (isLocation(validate.report)) outputs.report = local(pathOf, validate.report);
  }
  const dataset = typeof validate?.dataset === 'string' ? validate.dataset : record.dataset;
  const sourceId = typeof validate?.sourceId === 'string' ? validate.sourceId : undefined;
  // Either engine's state (the TransformEngine Choice picks one).
  const transformed = visitsOf(record).some(
    (v) => (v.name === 'Transform' || v.name === 'TransformInLambda') && v.status === 'SUCCEEDED',
  );
  let manifest: TransformManifest | undefined;
  if (dataset && sourceId && transformed) {
    manifest = readManifest(path.join(lakeDir, lake.manifest(dataset, sourceId)));
    if (manifest) {
      counts.rowsWritten = manifest.rowsOut;
      counts.duplicatesDropped = manifest.duplicatesDropped;
      if (typeof manifest.exactDuplicates === 'number') counts.exactDuplicates = manifest.exactDuplicates;
      outputs.partitions = manifest.partitions;
      outputs.curated = path.join(lakeDir, lake.curatedTablePrefix(dataset));
    }
  }
  summariseCatalog(record);
  const verified = num(verify?.rowsOut);
  if (verified !== undefined) counts.rowsWritten = verified;
  const q = quarantine && findLocation(quarantine);
  if (q) outputs.quarantine = local(pathOf, q);
  if (quarantine && isLocation(quarantine.reasonFile))
    outputs.reasonFile = local(pathOf, quarantine.reasonFile);
  if (typeof quarantine?.reason === 'string')
    record.rejection = {
      reason: quarantine.reason,
      message: typeof quarantine.message === 'string' ? quarantine.message : '',
    };
  const a = archive && findLocation(archive);
  if (a) outputs.archive = local(pathOf, a);
  // Once the run has stopped: it reads the lake (object sizes), too much to redo on every event.
  if (record.status !== 'RUNNING')
    record.cost = modelRecordCost(record, { pathOf, ...(manifest && { manifest }) });
}

/**
 * `record.catalog`: RegisterPartitions' result at `$.partitions` says whether the crawl was
 * skipped; when it was required, the crawl states say whether it ran to the end. A run from
 * before RegisterPartitions existed that crawled shows `ran`.
 */
function summariseCatalog(record: RunRecord): void {
  const visits = visitsOf(record);
  const crawled = visits.some((v) => v.name === 'PollCrawl' && v.status === 'SUCCEEDED');
  const registered = visits.findLast((v) => v.name === 'RegisterPartitions' && v.status === 'SUCCEEDED');
  const result = registered?.output as { partitions?: Record<string, unknown> } | undefined;
  const p = result?.partitions;
  if (p && typeof p.schemaChanged === 'boolean') {
    record.catalog = {
      crawl: p.schemaChanged ? (crawled ? 'ran' : 'required') : 'skipped',
      ...(num(p.registered) !== undefined && { registered: num(p.registered) }),
      ...(num(p.existing) !== undefined && { existing: num(p.existing) }),
      ...(typeof p.reason === 'string' && { reason: p.reason }),
    };
  } else if (crawled) {
    record.catalog = { crawl: 'ran' };
  }
}

/** The first bucket/key location in a step result (its own field name varies by step). */
function findLocation(result: Record<string, unknown>): Location | undefined {
  for (const k of ['quarantined', 'archived', 'original', 'object', 'location', 'target']) {
    if (isLocation(result[k])) return result[k];
  }
  if (isLocation(result)) return result;
  return Object.values(result).find(isLocation);
}

function readManifest(file: string): TransformManifest | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as TransformManifest;
  } catch {
    return undefined;
  }
}
