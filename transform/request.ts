/**
 * What every transform engine (DuckDB in duckdb.ts, local Spark in spark.ts) is asked to do, and
 * the checks on that request that come before any SQL, path or object key is built from it.
 */
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { TransformFailedError } from '../core/errors';
import { LINE_COLUMN, checkPlan, type TransformPlan } from '../core/plan';
import { STAGING_SUCCESS, isCsvStagingPart, isParquetStagingPart } from '../core/staging';
import { SOURCE_ORDER_KEY, UNORDERED_SOURCE } from '../core/events';

/** One transform of one version of one source file, wherever its staging and lake live. */
export interface TransformTarget {
  /** The compiled plan (staging's plan.json); checked with core/plan `checkPlan` before use. */
  readonly plan: TransformPlan;
  /** When given, must equal `plan.dataset` (guards against a plan from another dataset). */
  readonly dataset?: string;
  /** core/layout `sourceIdOf(key)`: names every output object of this file. */
  readonly sourceId: string;
  /** core/layout `versionTagOf(...)`: recorded in the manifest. */
  readonly versionTag: string;
  /**
   * The version's order key (ClaimResult `sourceOrder`, the Transform's `--source_order`): a
   * sequencerOrderKey, or UNORDERED_SOURCE. Recorded in the manifest; the engine publishes
   * nothing when the manifest in place has a greater one (transform/publish.ts).
   * @default UNORDERED_SOURCE (no order check, as before versions were ordered)
   */
  readonly sourceOrder?: string;
}

/** A {@link TransformTarget} whose staging and lake are local folders (the local runtime's lake). */
export interface TransformRequest extends TransformTarget {
  /** Local folder of the staging prefix: `part-NNNNN.jsonl` (or `.parquet`) files and `_SUCCESS`. */
  readonly stagingDir: string;
  /** Local folder that is the lake bucket: lake key `k` lives at `<lakeDir>/<k>`. */
  readonly lakeDir: string;
}

/** sourceIdOf output: lower-case stem, `-`, 12 hex. Held to that shape because it becomes a file name. */
const SOURCE_ID = /^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$/;
const VERSION_TAG = /^[A-Za-z0-9_-]{1,64}$/;
/**
 * A staging part's name inside its prefix (what the validate step writes; the Glue job reads the
 * same, CSV parts aside): JSON Lines `part-NNNNN.jsonl`, Parquet `part-NNNNN.parquet` or CSV
 * `part-NNNNN.csv` (core/staging.ts).
 */
export const PART_FILE = /^part-\d{5}\.(?:jsonl|parquet|csv)$/;

/**
 * How a staging prefix's parts are written (core/staging.ts): JSON Lines text, typed Parquet, or
 * CSV parts (the source's records as they were, plan.json `stagingCsv`) with at most one JSON Lines
 * part beside them.
 */
export type StagingFormat = 'jsonl' | 'parquet' | 'csv';

/**
 * The format of a staging prefix's parts. A prefix holds `.jsonl` parts, `.parquet` parts, or `.csv`
 * parts with at most one `.jsonl` part (core/staging.ts); any other mix means two writers left rows
 * there (or one run's leftovers beside another's) and no engine can tell which rows are the file's,
 * so it is refused. No parts at all count as JSON Lines (zero rows either way).
 */
export function stagingFormatOf(parts: readonly string[], sourceId: string, where: string): StagingFormat {
  const parquet = parts.filter((p) => isParquetStagingPart(p));
  const csv = parts.filter((p) => isCsvStagingPart(p));
  const jsonl = parts.filter((p) => !isParquetStagingPart(p) && !isCsvStagingPart(p));
  const fix =
    'Fix: re-run the validate step for this file (it rewrites the prefix; the original is untouched), then the transform';
  if (parquet.length > 0 && parquet.length !== parts.length)
    throw new TransformFailedError(
      `transform of ${sourceId}: staging ${where} holds both ${csv.length > 0 ? `CSV parts (${path.basename(csv[0]!)})` : `JSON Lines parts (${path.basename(jsonl[0]!)})`} and Parquet parts (${path.basename(parquet[0]!)}); a staging prefix holds one kind only. ${fix}`,
    );
  if (csv.length > 0 && jsonl.length > 1)
    throw new TransformFailedError(
      `transform of ${sourceId}: staging ${where} holds CSV parts and ${jsonl.length} JSON Lines parts; CSV staging has at most one JSON Lines part beside it (core/staging.ts). ${fix}`,
    );
  return parquet.length > 0 ? 'parquet' : csv.length > 0 ? 'csv' : 'jsonl';
}

/**
 * Checks a request and lists its staging part files (sorted). Refuses a staging prefix without
 * `_SUCCESS`: the validate step writes it last, so without it the parts may be incomplete.
 */
export function checkRequest(request: TransformRequest): { plan: TransformPlan; parts: string[] } {
  const plan = checkTarget(request);
  return { plan, parts: stagingFolderParts(request.stagingDir, request.sourceId) };
}

/** The checks of a target that need no I/O: the plan, the ids, the order key. Returns the checked plan. */
export function checkTarget(request: TransformTarget): TransformPlan {
  const plan = checkPlan(request.plan, `transform of ${request.sourceId}`);
  if (request.dataset !== undefined && request.dataset !== plan.dataset) {
    throw new TransformFailedError(
      `transform of ${request.sourceId}: the plan is for dataset "${plan.dataset}", the request for "${request.dataset}". Fix: pass the plan compiled from the ${request.dataset} contract`,
    );
  }
  if (!SOURCE_ID.test(request.sourceId)) {
    throw new TransformFailedError(
      `transform: source id ${JSON.stringify(request.sourceId)} is not a core/layout sourceIdOf() id. Fix: derive it with sourceIdOf(key)`,
    );
  }
  if (!VERSION_TAG.test(request.versionTag)) {
    throw new TransformFailedError(
      `transform of ${request.sourceId}: version tag ${JSON.stringify(request.versionTag)} is not a core/layout versionTagOf() tag. Fix: derive it with versionTagOf(...)`,
    );
  }
  if (
    request.sourceOrder !== undefined &&
    request.sourceOrder !== UNORDERED_SOURCE &&
    !SOURCE_ORDER_KEY.test(request.sourceOrder)
  ) {
    throw new TransformFailedError(
      `transform of ${request.sourceId}: source order ${JSON.stringify(request.sourceOrder)} is neither a core/events sequencerOrderKey() key nor "${UNORDERED_SOURCE}". Fix: pass the claim step's sourceOrder`,
    );
  }
  return plan;
}

/** The part files of a staging folder, sorted; refuses a folder without `_SUCCESS`. */
export function stagingFolderParts(stagingDir: string, sourceId: string): string[] {
  if (!existsSync(path.join(stagingDir, STAGING_SUCCESS)))
    throw noSuccessMarker(sourceId, `folder ${stagingDir}`);
  const parts = readdirSync(stagingDir)
    .filter((f) => PART_FILE.test(f))
    .sort()
    .map((f) => path.join(stagingDir, f));
  stagingFormatOf(parts, sourceId, `folder ${stagingDir}`);
  return parts;
}

/** Staging without `_SUCCESS`; `where` names it ("folder <dir>", "prefix <bucket>/<prefix>"). */
export function noSuccessMarker(sourceId: string, where: string): TransformFailedError {
  return new TransformFailedError(
    `transform of ${sourceId}: staging ${where} has no ${STAGING_SUCCESS} marker, so the validate step did not finish writing it. Fix: re-run the validate step for this file (the original is untouched), then the transform`,
  );
}

/**
 * Checks that each JSON Lines part file's first record has exactly the plan's staging columns plus
 * `_line` (Parquet parts are skipped here: the DuckDB engine checks their schema, names and types,
 * with DuckDB itself before reading them).
 * A JSON reader given explicit columns quietly returns null for a missing key and ignores an
 * extra one, so staging written under another version of the contract would otherwise load as
 * nulls. One line per part is enough: the validate step writes every record with the same keys.
 */
export async function checkStagingColumns(
  plan: TransformPlan,
  parts: readonly string[],
  /** How messages name a part (e.g. its object key when `part` is a local copy). @default the path */
  nameOf: (part: string) => string = (part) => part,
): Promise<void> {
  const expected = [...plan.stagingColumns, LINE_COLUMN];
  for (const file of parts) {
    if (isParquetStagingPart(file) || isCsvStagingPart(file)) continue;
    const part = nameOf(file);
    const line = await firstLineOf(file);
    if (line === undefined) continue; // an empty part holds no rows
    let keys: string[];
    try {
      const record = JSON.parse(line) as unknown;
      if (typeof record !== 'object' || record === null || Array.isArray(record))
        throw new Error('not an object');
      keys = Object.keys(record);
    } catch (e) {
      throw new TransformFailedError(
        `${part}: the first line is not a JSON object (${(e as Error).message}). Fix: re-run the validate step for this file — the original is untouched`,
      );
    }
    const missing = expected.filter((k) => !keys.includes(k));
    const extra = keys.filter((k) => !expected.includes(k));
    if (missing.length > 0 || extra.length > 0) {
      throw new TransformFailedError(
        `${part}: staging columns do not match the ${plan.dataset} plan` +
          (missing.length ? `; missing ${missing.map((k) => JSON.stringify(k)).join(', ')}` : '') +
          (extra.length ? `; unexpected ${extra.map((k) => JSON.stringify(k)).join(', ')}` : '') +
          `. Fix: staging and plan come from different contract versions — re-run the validate step for this file`,
      );
    }
  }
}

/** The first line of a file without reading the rest (staging lines can be megabytes long). */
async function firstLineOf(file: string): Promise<string | undefined> {
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 });
  let text = '';
  try {
    for await (const chunk of stream) {
      text += chunk as string;
      const end = text.indexOf('\n');
      if (end >= 0) return text.slice(0, end);
    }
  } finally {
    stream.destroy();
  }
  return text === '' ? undefined : text;
}
