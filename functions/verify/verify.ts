/**
 * Verify: ask the query engine (Athena, or DuckDB locally) what the table now holds for this
 * source file, and compare it with what validate and transform reported. Three checks over this
 * run's objects only — exactly the objects its manifest lists: the row count equals the
 * manifest's rowsOut, required columns have no NULLs, primary keys are unique (when the dataset has a key). Any mismatch is a
 * VerificationFailedError listing every problem (not retried: the data will not change by itself).
 *
 * What it reads costs O(this file), never O(the table): each query filters on this run's
 * partition values (Athena prunes to those partitions) AND `"$path" IN (...)` the manifest's
 * objects; the local engine reads just those files (QueryOptions.only).
 *
 * Unless a newer version of the same key owns the objects by now: two versions share one source id,
 * and a newer version may publish before this run's transform (which then publishes nothing) or
 * between its transform and this check. When the checks fail, the manifest in place is for another
 * version and the ledger has a newer version claimed, the run stands down (SUPERSEDED, ledger
 * STALE) exactly as CheckStillLatest stands a run down before its transform.
 */
import type { Readable } from 'node:stream';
import { findContract, type DatasetContract } from '../../core/contract';
import { VerificationFailedError } from '../../core/errors';
import { lake } from '../../core/layout';
import { compilePlan, fileColumns, partitionKeyType } from '../../core/plan';
import type { SourceObject } from '../../core/events';
import type { Ledger, ObjectStore, QueryEngine, QueryParameter } from '../../core/ports';
import { standDownIfSuperseded } from '../../core/superseded';
import type { TransformManifest } from '../../core/steps';

/** Verify: Parameters { runId, source, dataset, sourceId, versionTag, rowsValid, lakeBucket, database }. */
export interface VerifyInput {
  readonly runId: string;
  /** $.claim.source: the key and sequencer the ledger orders this version by. */
  readonly source: SourceObject;
  readonly dataset: string;
  readonly sourceId: string;
  readonly versionTag: string;
  /** Validate's count of valid rows: the transform's rowsIn must equal it. */
  readonly rowsValid: number;
  readonly lakeBucket: string;
  readonly database: string;
}

/** Kept at $.verify. */
export interface VerifyResult {
  /**
   * SUPERSEDED: a newer version of the key owns the objects; the ledger says STALE and the state
   * machine ends at Superseded (no Archive: the original stays a landing version). The counts are 0.
   */
  readonly status: 'VERIFIED' | 'SUPERSEDED';
  /** The newer version, when SUPERSEDED. */
  readonly latestVersionTag?: string;
  readonly rowsOut: number;
  readonly duplicatesDropped: number;
  readonly objects: number;
  readonly partitions: number;
  readonly checks: readonly string[];
}

export interface VerifyDeps {
  readonly store: ObjectStore;
  readonly query: QueryEngine;
  /** Which version of the key is the newest claimed; where a superseded run is recorded STALE. */
  readonly ledger: Pick<Ledger, 'latest' | 'settle'>;
  /** Folder of dataset contracts. @default the repository's schemas/ */
  readonly schemasDir?: string;
}

export interface VerifyQuery {
  readonly check: 'rowsAndNulls' | 'keysUnique';
  readonly sql: string;
  readonly parameters: readonly QueryParameter[];
  /** The lake keys this query reads (its `"$path"` list): QueryOptions.only. */
  readonly objects: readonly string[];
}

/** This run's output as Verify reads it. */
export interface VerifyScope {
  /** The lake keys of this run's objects (the manifest's `objects`). */
  readonly objects: readonly string[];
  /** An object's `"$path"` value in the engine that runs the queries (QueryEngine.objectPath). */
  readonly pathOf: (key: string) => string;
}

/**
 * Objects per query. The statement text stays tiny (one `?` per object) and the values travel as
 * parameters; a run with more objects (a day-partitioned file spanning years) is checked in
 * batches whose counts add up. Keys are checked unique within each batch, and a key lands in one
 * partition only, so a batch holds every copy of a key unless the engine broke that rule.
 */
export const VERIFY_OBJECTS_PER_QUERY = 1000;

// Contract column and table names are SQL identifiers by construction (core/contract validates
// them); quoting them is enough. Everything else goes in as a parameter.
const q = (name: string) => `"${name}"`;
const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/**
 * The verification queries for one run's objects. Pure: tests assert their shape.
 *
 * Each reads only the objects it lists: `WHERE <partition key> IN (<this batch's partition
 * values>) AND "$path" IN (<its objects>)` — the partition predicate lets Athena prune to those
 * partitions before it lists anything, `"$path"` keeps other files' objects in the same
 * partitions out. Names are the table's (core/plan): a column that is its partition's folder (a
 * date by day, a string) is queried by the partition key's name, which Athena and the local engine
 * expose as a column. A dataset without a key gets no uniqueness check (its exact duplicate lines
 * are kept on purpose); one without a partition has no partition predicate.
 */
export function verifyQueries(contract: DatasetContract, scope: VerifyScope): VerifyQuery[] {
  const plan = compilePlan(contract);
  const table = q(plan.table);
  const inFiles = new Set(fileColumns(plan).map((c) => c.name));
  /** The table column holding a plan column's values: itself, or the folder it became. */
  const tableName = (column: string): string =>
    inFiles.has(column) || !plan.partition ? column : plan.partition.name;
  const required = contract.columns.filter((c) => !c.drop && c.required).map((c) => tableName(c.name));
  const part = plan.partition;
  const folder = part ? `${part.name}=` : '';
  /** The partition value of a key `curated/<dataset>/<name>=<value>/<file>`. */
  const valueOf = (key: string): string => {
    const segment = key.split('/')[2] ?? '';
    if (!segment.startsWith(folder))
      throw new VerificationFailedError(
        `manifest object ${key} is not under a ${folder}<value>/ folder of ${plan.dataset}`,
      );
    return segment.slice(folder.length);
  };
  const queries: VerifyQuery[] = [];
  for (let i = 0; i < scope.objects.length; i += VERIFY_OBJECTS_PER_QUERY) {
    const objects = scope.objects.slice(i, i + VERIFY_OBJECTS_PER_QUERY);
    const values = part ? [...new Set(objects.map(valueOf))].sort() : [];
    const valueMark = partitionKeyType(plan) === 'date' ? 'CAST(? AS DATE)' : '?';
    const where =
      (part ? `${q(part.name)} IN (${values.map(() => valueMark).join(', ')}) AND ` : '') +
      `"$path" IN (${marks(objects.length)})`;
    const parameters = [...values, ...objects.map(scope.pathOf)];
    queries.push({
      check: 'rowsAndNulls',
      sql:
        `SELECT count(*) AS "rows:total"` +
        required
          .map((c) => `, sum(CASE WHEN ${q(c)} IS NULL THEN 1 ELSE 0 END) AS ${q(`nulls:${c}`)}`)
          .join('') +
        ` FROM ${table} WHERE ${where}`,
      parameters,
      objects,
    });
    // Two queries per batch at most, not three: Athena bills at least 10 MB per query and each costs a round trip.
    if (plan.dedupe) {
      const keys = plan.dedupe.key.map(tableName);
      queries.push({
        check: 'keysUnique',
        sql:
          `SELECT count(*) AS duplicate_keys FROM (SELECT ${keys.map(q).join(', ')} FROM ${table} ` +
          `WHERE ${where} GROUP BY ${keys.map(q).join(', ')} HAVING count(*) > 1) AS d`,
        parameters,
        objects,
      });
    }
  }
  return queries;
}

async function readManifest(
  store: ObjectStore,
  bucket: string,
  key: string,
): Promise<TransformManifest | undefined> {
  if (!(await store.head({ bucket, key }))) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of (await store.get({ bucket, key })) as Readable)
    chunks.push(Buffer.from(chunk as Buffer));
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as TransformManifest;
}

export async function verifyOutput(input: VerifyInput, deps: VerifyDeps): Promise<VerifyResult> {
  try {
    return await checkOutput(input, deps);
  } catch (e) {
    if (!(e instanceof VerificationFailedError)) throw e;
    // Read again: a newer version may have published while the checks ran.
    const manifest = await readManifest(
      deps.store,
      input.lakeBucket,
      lake.manifest(input.dataset, input.sourceId),
    );
    if (!manifest || manifest.versionTag === input.versionTag) throw e;
    const outcome = await standDownIfSuperseded(input, deps.ledger);
    if (!outcome.superseded) throw e;
    return {
      status: 'SUPERSEDED',
      latestVersionTag: outcome.latestVersionTag,
      rowsOut: 0,
      duplicatesDropped: 0,
      objects: 0,
      partitions: 0,
      checks: [],
    };
  }
}

async function checkOutput(input: VerifyInput, deps: VerifyDeps): Promise<VerifyResult> {
  const manifestKey = lake.manifest(input.dataset, input.sourceId);
  const where = `s3://${input.lakeBucket}/${manifestKey}`;
  const fix = `Fix: inspect ${where} and the objects it lists, then redrive the run (it resumes at Verify) or re-run the transform.`;
  const manifest = await readManifest(deps.store, input.lakeBucket, manifestKey);
  if (!manifest)
    throw new VerificationFailedError(`${where} does not exist: the transform wrote no manifest. ${fix}`);
  const problems: string[] = [];
  if (manifest.versionTag !== input.versionTag) {
    // Another version of the same key was transformed after this one: its output is in place.
    problems.push(`manifest is for version ${manifest.versionTag}, this run is version ${input.versionTag}`);
  }
  if (manifest.rowsIn !== input.rowsValid) {
    problems.push(`transform read ${manifest.rowsIn} rows but validate wrote ${input.rowsValid} valid rows`);
  }
  const contract = findContract(input.dataset, deps.schemasDir);
  if (!contract)
    throw new VerificationFailedError(`no contract for dataset "${input.dataset}" any more. ${fix}`);
  const checks = new Set<string>();
  const objects = Array.isArray(manifest.objects) ? manifest.objects : [];
  const foreign = objects.filter((key) => !lake.isCuratedObjectOf(key, input.dataset, input.sourceId));
  if (foreign.length > 0) {
    // Never read (or count) what is not this file's: a damaged manifest must not widen the check.
    problems.push(`manifest object ${foreign[0]} is not one of this file's objects`);
  } else if (manifest.rowsOut > 0 && objects.length === 0) {
    problems.push(`the manifest lists no objects for rowsOut ${manifest.rowsOut}`);
  } else if (manifest.rowsOut > 0) {
    const queries = verifyQueries(contract, {
      objects,
      pathOf: (key) => deps.query.objectPath(input.lakeBucket, key),
    });
    const num = (v: string | null | undefined) => (v === null || v === undefined ? 0 : Number(v));
    let rows = 0;
    let duplicateKeys = 0;
    const nulls = new Map<string, number>();
    for (const query of queries) {
      const [row] = await deps.query.query(query.sql, query.parameters, {
        database: input.database,
        only: { table: compilePlan(contract).table, bucket: input.lakeBucket, keys: query.objects },
      });
      checks.add(query.check);
      if (query.check === 'rowsAndNulls') {
        rows += num(row?.['rows:total']);
        for (const [alias, n] of Object.entries(row ?? {}))
          if (alias.startsWith('nulls:')) nulls.set(alias, (nulls.get(alias) ?? 0) + num(n));
      }
      if (query.check === 'keysUnique') duplicateKeys += num(row?.duplicate_keys);
    }
    if (rows !== manifest.rowsOut) {
      problems.push(
        `the table has ${rows} rows from this file, the transform reported rowsOut ${manifest.rowsOut}`,
      );
    }
    for (const [alias, n] of nulls) {
      if (n > 0) problems.push(`required column ${alias.slice('nulls:'.length)} is NULL in ${n} rows`);
    }
    if (duplicateKeys > 0) {
      problems.push(`${duplicateKeys} primary keys (${contract.primaryKey.join(', ')}) occur more than once`);
    }
  }
  if (problems.length > 0) {
    throw new VerificationFailedError(`${input.dataset}/${input.sourceId}: ${problems.join('; ')}. ${fix}`);
  }
  return {
    status: 'VERIFIED',
    rowsOut: manifest.rowsOut,
    duplicatesDropped: manifest.duplicatesDropped,
    objects: manifest.objects.length,
    partitions: manifest.partitions.length,
    checks: [...checks],
  };
}
