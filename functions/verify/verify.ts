/**
 * Verify: ask the query engine (Athena, or DuckDB locally) what the table now holds for this
 * source file, and compare it with what validate and transform reported. Three checks over this
 * file's objects only (`"$path"` ends in `/<sourceId>.snappy.parquet`): the row count equals the
 * manifest's rowsOut, required columns have no NULLs, primary keys are unique (when the dataset has a key). Any mismatch is a
 * VerificationFailedError listing every problem (not retried: the data will not change by itself).
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
import { compilePlan, fileColumns } from '../../core/plan';
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
  readonly check: string;
  readonly sql: string;
  readonly parameters: readonly QueryParameter[];
}

// Contract column and table names are SQL identifiers by construction (core/contract validates
// them); quoting them is enough. Everything else goes in as a parameter.
const q = (name: string) => `"${name}"`;

/**
 * The verification queries for one source file. Pure: tests assert their shape.
 *
 * Names are the table's (core/plan): a column that is its partition's folder (a date by day, a
 * string) is queried by the partition key's name, which Athena and the local engine expose as a
 * column. A dataset without a key gets no uniqueness check (its exact duplicate lines are kept
 * on purpose); one without a partition has its one object directly under the table's prefix.
 */
export function verifyQueries(contract: DatasetContract, sourceId: string): VerifyQuery[] {
  const plan = compilePlan(contract);
  const table = q(plan.table);
  const thisFile = plan.partition
    ? `%/curated/${plan.dataset}/%/${sourceId}.snappy.parquet`
    : `%/curated/${plan.dataset}/${sourceId}.snappy.parquet`;
  const inFiles = new Set(fileColumns(plan).map((c) => c.name));
  /** The table column holding a plan column's values: itself, or the folder it became. */
  const tableName = (column: string): string =>
    inFiles.has(column) || !plan.partition ? column : plan.partition.name;
  const required = contract.columns.filter((c) => !c.drop && c.required).map((c) => tableName(c.name));
  const checks: VerifyQuery[] = [
    {
      check: 'rowsAndNulls',
      sql:
        `SELECT count(*) AS "rows:total"` +
        required
          .map((c) => `, sum(CASE WHEN ${q(c)} IS NULL THEN 1 ELSE 0 END) AS ${q(`nulls:${c}`)}`)
          .join('') +
        ` FROM ${table} WHERE "$path" LIKE ?`,
      parameters: [thisFile],
    },
  ];
  // Two queries at most, not three: Athena bills at least 10 MB per query and each costs a round trip.
  if (plan.dedupe) {
    const keys = plan.dedupe.key.map(tableName);
    checks.push({
      check: 'keysUnique',
      sql:
        `SELECT count(*) AS duplicate_keys FROM (SELECT ${keys.map(q).join(', ')} FROM ${table} ` +
        `WHERE "$path" LIKE ? GROUP BY ${keys.map(q).join(', ')} HAVING count(*) > 1) AS d`,
      parameters: [thisFile],
    });
  }
  return checks;
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
  const checks: string[] = [];
  if (manifest.rowsOut > 0) {
    for (const query of verifyQueries(contract, input.sourceId)) {
      const [row] = await deps.query.query(query.sql, query.parameters, { database: input.database });
      checks.push(query.check);
      const num = (v: string | null | undefined) => (v === null || v === undefined ? 0 : Number(v));
      if (query.check === 'rowsAndNulls') {
        const rows = num(row?.['rows:total']);
        if (rows !== manifest.rowsOut) {
          problems.push(
            `the table has ${rows} rows from this file, the transform reported rowsOut ${manifest.rowsOut}`,
          );
        }
        for (const [alias, nulls] of Object.entries(row ?? {})) {
          if (alias.startsWith('nulls:') && num(nulls) > 0) {
            problems.push(`required column ${alias.slice('nulls:'.length)} is NULL in ${num(nulls)} rows`);
          }
        }
      }
      if (query.check === 'keysUnique' && num(row?.duplicate_keys) > 0) {
        problems.push(
          `${num(row?.duplicate_keys)} primary keys (${contract.primaryKey.join(', ')}) occur more than once`,
        );
      }
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
    checks,
  };
}
