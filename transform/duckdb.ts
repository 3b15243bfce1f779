/**
 * The embedded transform engine: executes a {@link TransformPlan} with DuckDB over a version's
 * staging parts and publishes Parquet into the lake — a local folder ({@link runTransform}, the
 * local runtime) or a bucket of any ObjectStore ({@link runTransformOnStore}, the Transform
 * Lambda); transform/io.ts is the port between the two. This is the reference output that
 * the Glue PySpark job (glue/) and transform/spark.ts must match; the parity suite compares
 * them row by row and type by type.
 *
 * ## Output contract (keep in sync with the code below and with glue/)
 *
 * Objects: `curated/<dataset>/<partition.name>=<value>/<sourceId>.snappy.parquet` (core/layout
 * `lake.curatedObject`) — exactly one object per (source file, partition value); with no partition
 * (`plan.partition` null) exactly one object per source file, `curated/<dataset>/<sourceId>.snappy.parquet`.
 * Unless the value has more rows than `plan.output.maxRowsPerFile`: then parts 0, 1, … of that many
 * rows each but the last (part n ≥ 1 is `<sourceId>.part-0000n.snappy.parquet`), filled in core/plan
 * `splitOrder`, so the Glue job writes the same rows into the same parts.
 * The value is derived as core/plan `PlanPartition` says: a date's day (YYYY-MM-DD), the month
 * (YYYY-MM) or year (YYYY) of a date or of a timestamp's UTC instant, or a string's own value
 * (checked against core/plan `PARTITION_VALUE`). The partition key is never inside the files: it
 * exists only as the Hive folder; the source column is inside them exactly when
 * `partition.keepColumn` (derived keys). Column order inside a file = core/plan `fileColumns`.
 * Compression Snappy. Every column nullable (OPTIONAL).
 *
 * | plan type      | Parquet physical                              | Parquet logical / converted     |
 * |----------------|-----------------------------------------------|---------------------------------|
 * | string         | BYTE_ARRAY                                    | converted UTF8 (Spark also sets logical STRING) |
 * | integer        | INT64                                         | DuckDB annotates INT_64, Spark none: both int64 |
 * | decimal(p,s)   | INT32 p≤9, INT64 p≤18, FIXED_LEN_BYTE_ARRAY p>18 | DECIMAL(p,s)                  |
 * | double         | DOUBLE                                        | none                            |
 * | boolean        | BOOLEAN                                       | none                            |
 * | date           | INT32                                         | DATE                            |
 * | timestamp      | INT64                                         | TIMESTAMP(isAdjustedToUTC=true, MICROS) |
 *
 * (DuckDB's physical choice for decimals happens to equal Spark's; what must match is the
 * logical type and the values. Spark must set spark.sql.parquet.outputTimestampType=TIMESTAMP_MICROS
 * and write timestamps as TimestampType — UTC-adjusted — not TimestampNTZ.)
 *
 * Values: JSON Lines staging is read with every column VARCHAR (never auto-detected); each value
 * (null or canonical text, core/staging.ts) is checked against core/plan `canonicalPattern`, then
 * cast. Text that is not canonical, or that the cast cannot represent (2024-02-30, past int64),
 * fails the transform with a TransformFailedError naming the staging line and column — it is never
 * rounded, reinterpreted or turned into null. A null key or partition value fails the same way.
 * Parquet staging (core/staging.ts `STAGING_PART_PARQUET`) is typed already: each part's schema
 * must be exactly the plan's staging columns in order, each of `stagingParquetType`, then `_line`
 * BIGINT — else the transform fails naming the part and the column, before any row is read (a
 * mismatched type is never cast). Its values are then read as they are, with the checks the text
 * format made by construction: no NaN or ±Infinity, dates and instants in years 0001–9999, no
 * null key or partition value (each a TransformFailedError naming the line and column).
 * Null stays null; the empty string stays "".
 * Timestamps are the instants the UTC text names. Rows: with `plan.dedupe` null every row is
 * kept; otherwise one per `plan.dedupe.key`: the first after sorting by `plan.dedupe.orderBy` on
 * the TYPED values, NULLS LAST in every direction; the last orderBy entry is `_line`, so exact
 * ties are deterministic. Row order inside a file is unspecified.
 *
 * Manifest: `manifests/<dataset>/<sourceId>.json` (core/steps TransformManifest, engine 'duckdb'):
 * rowsIn = staging rows, rowsOut = rows written, duplicatesDropped = rowsIn − rowsOut,
 * exactDuplicates = staging rows equal to an earlier one in every column but `_line` (with or
 * without a key), partitions (folder values; [] with no partition) and objects sorted ascending, sourceOrder = the request's (when ordered). Zero rows out → no
 * objects, and this source's old objects removed. When the manifest in place records a newer
 * version (greater sourceOrder) nothing is published or written: the returned manifest has
 * `superseded` set and no objects (see transform/publish.ts).
 *
 * Safety: everything is written into a work folder first — `<lake>/_tmp/<sourceId>-<nonce>/` on the
 * folder path (readers never look there), a local scratch folder on the store path — then
 * published under the per-source lock (folder: transform/publish.ts, atomic renames; store:
 * transform/store-io.ts, uploads), stale own objects removed, manifest last. A failure before
 * publishing leaves the lake exactly as it was.
 */
import { availableParallelism } from 'node:os';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { TransformFailedError } from '../core/errors';
import {
  LINE_COLUMN,
  PARTITION_VALUE,
  canonicalPattern,
  fileColumns,
  splitOrder,
  stagingTypeOf,
  type PlanType,
  type TransformPlan,
} from '../core/plan';
import type { TransformManifest } from '../core/steps';
import { UNORDERED_SOURCE } from '../core/events';
import {
  csvStagingCastFailureSql,
  csvStagingSelectSql,
  isCsvStagingPart,
  stagingParquetType,
} from '../core/staging';
import { lake } from '../core/layout';
import { lakeFolderIo, type TransformIo } from './io';
import { newerPublished, type StagedObject } from './publish';
import {
  checkStagingColumns,
  checkTarget,
  stagingFormatOf,
  type StagingFormat,
  type TransformRequest,
  type TransformTarget,
} from './request';
import { objectStoreIo, type StoreTransformRequest } from './store-io';

/** Tuning for one DuckDB run. Every field is optional; the defaults suit a laptop. */
export interface DuckdbEngineOptions {
  /**
   * DuckDB `memory_limit`, e.g. '2GB'. Past it DuckDB spills to `tempDirectory` what it can (the
   * dedupe window); the partition writers' buffers it cannot. Measured: a 1 GiB registrations file
   * peaked at ≈2.3–2.6 GB RSS with 2 threads (the bare COPY ceiling: ≈2.6 GB); under tight limits
   * lower `threads` first (each thread buffers its own rows per partition).
   * @default DuckDB's own default (80% of RAM)
   */
  readonly memoryLimit?: string;
  /** @default os.availableParallelism() */
  readonly threads?: number;
  /** Where DuckDB spills. @default `spill/` inside the run's temp folder (removed afterwards) */
  readonly tempDirectory?: string;
  /**
   * Largest staging line (one JSON object) in bytes; DuckDB's read buffer grows with it.
   * @default 16 MiB (DuckDB's own default)
   */
  readonly maxLineBytes?: number;
  /**
   * Parquet writers DuckDB keeps open while writing partitions (one open writer buffers up to a
   * row group of its partition). When fewer than the partitions a file spans, DuckDB closes and
   * reopens writers, a partition gets several files, and this engine merges them back into one.
   * @default 1000 (a file spanning up to ~2.7 years of days is written with every writer open)
   */
  readonly maxOpenFiles?: number;
  /**
   * How long to wait while another run of the same source holds the publish lock; then the run
   * fails with TransformFailedError naming the lock.
   * @default 60 s
   */
  readonly publishLockWaitMs?: number;
  /** Fault injection for tests and the local runtime's kill drills. */
  readonly hooks?: {
    /** Called when every Parquet file sits complete in the temp folder, before anything is published. */
    readonly afterTempWrite?: (tempDir: string) => void | Promise<void>;
  };
}

/**
 * Runs one transform: staging folder → typed, deduplicated, partitioned Snappy Parquet in the
 * lake folder, plus the manifest, which is also returned.
 *
 * @throws TransformFailedError — no `_SUCCESS` in staging, a non-canonical or uncastable value
 *   (the message names the line and column), a bad plan or request, or any DuckDB failure.
 *   The lake is unchanged when it throws before publishing.
 * @example
 * const manifest = await runTransform({
 *   plan, sourceId, versionTag,
 *   stagingDir: path.join(root, 'lake', lake.stagingPrefix(dataset, sourceId, versionTag)),
 *   lakeDir: path.join(root, 'lake'),
 * }, { memoryLimit: '2GB' });
 */
export async function runTransform(
  request: TransformRequest,
  options: DuckdbEngineOptions = {},
): Promise<TransformManifest> {
  return transformWith(request, lakeFolderIo(request, { lockWaitMs: options.publishLockWaitMs }), options);
}

/**
 * The same transform with the lake in a bucket of any {@link ObjectStore} (core/ports) — S3 in the
 * Transform Lambda, LocalObjectStore locally: staging parts are streamed into `scratchDir`, DuckDB
 * writes there, the output is uploaded, and the manifest written last (transform/store-io.ts).
 * Same objects, same manifest, same guarantees as {@link runTransform}.
 *
 * @throws TransformFailedError — as runTransform, and when another run holds the publish lock
 *   past `options.publishLockWaitMs`.
 * @example
 * const manifest = await runTransformOnStore(
 *   { store: new S3ObjectStore(s3), lakeBucket, scratchDir: '/tmp', plan, sourceId, versionTag, sourceOrder },
 *   { memoryLimit: '1GB', threads: 2 },
 * );
 */
export async function runTransformOnStore(
  request: StoreTransformRequest,
  options: DuckdbEngineOptions = {},
): Promise<TransformManifest> {
  const plan = checkTarget(request);
  const io = objectStoreIo(
    {
      store: request.store,
      lakeBucket: request.lakeBucket,
      stagingPrefix:
        request.stagingPrefix ?? lake.stagingPrefix(plan.dataset, request.sourceId, request.versionTag),
      scratchDir: request.scratchDir,
      sourceId: request.sourceId,
    },
    { lockWaitMs: options.publishLockWaitMs },
  );
  return transformWith(request, io, options);
}

/** The engine over any I/O (transform/io.ts): read staging, one DuckDB statement, publish. */
async function transformWith(
  request: TransformTarget,
  io: TransformIo,
  options: DuckdbEngineOptions,
): Promise<TransformManifest> {
  const startedAt = new Date();
  const plan = checkTarget(request);
  const { sourceId } = request;
  const timingsMs: Record<string, number> = {};
  const stagingParts = await io.listStagingParts();
  const tempDir = await io.createWorkDir();
  try {
    let clock = Date.now();
    const parts = await io.localStagingFiles(stagingParts, tempDir);
    timingsMs.fetchStaging = Date.now() - clock;
    await checkStagingColumns(plan, parts, io.nameOfStagingFile);
    clock = Date.now();
    const written = await writePartitions(
      plan,
      parts,
      tempDir,
      sourceId,
      io.stagingLabel,
      io.nameOfStagingFile,
      options,
    );
    timingsMs.transform = Date.now() - clock;
    await options.hooks?.afterTempWrite?.(tempDir);

    clock = Date.now();
    const ordered =
      request.sourceOrder !== undefined && request.sourceOrder !== UNORDERED_SOURCE
        ? { sourceOrder: request.sourceOrder }
        : {};
    /** The run's manifest: what it published, or (superseded) that it published nothing. */
    const manifestOf = (
      published: Pick<TransformManifest, 'partitions' | 'objects' | 'superseded'>,
    ): TransformManifest => ({
      dataset: plan.dataset,
      sourceId,
      versionTag: request.versionTag,
      ...ordered,
      engine: 'duckdb',
      rowsIn: written.rowsIn,
      rowsOut: written.rowsOut,
      duplicatesDropped: written.rowsIn - written.rowsOut,
      exactDuplicates: written.exactDuplicates,
      partitions: published.partitions,
      objects: published.objects,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      timingsMs: { ...timingsMs, publish: Date.now() - clock },
      ...(published.superseded && { superseded: published.superseded }),
    });
    return await io.withPublishLock(async () => {
      const newer = newerPublished(await io.manifestInPlace(plan.dataset), request.sourceOrder);
      if (newer) {
        // A newer version of this key has published meanwhile: its objects stay, this run's
        // temp output is dropped (finally below), and Verify stands the run down.
        return manifestOf({
          partitions: [],
          objects: [],
          superseded: { byVersionTag: newer.versionTag, bySourceOrder: newer.sourceOrder },
        });
      }
      const { objects } = await io.publishObjects({
        dataset: plan.dataset,
        partitionColumn: plan.partition?.name ?? null,
        sourceId,
        staged: written.staged,
      });
      const partitions = plan.partition ? [...new Set(written.staged.map((s) => s.day))].sort() : [];
      const manifest = manifestOf({ partitions, objects });
      await io.writeManifest(manifest);
      return manifest;
    });
  } finally {
    await fs.rm(tempDir, { recursive: true, force: true });
  }
}

interface Written {
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly exactDuplicates: number;
  /** One file per partition value; with no partition, one file (value {@link NO_PARTITION}). */
  readonly staged: readonly StagedObject[];
}

/**
 * Reads, checks, casts, dedupes and writes one Parquet file per partition into the temp folder, in
 * ONE statement: a partitioned COPY over the window that ranks each key's rows. The typed rows
 * are never materialised as a table and no row is scanned twice by it.
 *
 * The COPY always partitions by one internal text column, {@link PARTITION_COLUMN}: the folder
 * value the plan derives (a day, month, year or text value), or {@link NO_PARTITION} for every row
 * of a table without a partition, so all shapes share this one statement. rowsIn comes out of it
 * too: the losing duplicates are not filtered out but written with a NULL partition value, which
 * DuckDB puts in its own `__HIVE_DEFAULT_PARTITION__` folder (a real row never gets there: a null
 * partition value fails the check first). COPY's RETURN_STATS then counts both; the losers' file
 * is deleted unpublished.
 *
 * exactDuplicates is a second, read-only aggregate over staging (rows minus distinct rows, `_line`
 * left out): the same count with or without a key, which one window over the key cannot give.
 */
async function writePartitions(
  plan: TransformPlan,
  parts: readonly string[],
  tempDir: string,
  sourceId: string,
  stagingDir: string,
  nameOf: (part: string) => string,
  options: DuckdbEngineOptions,
): Promise<Written> {
  if (parts.length === 0) return { rowsIn: 0, rowsOut: 0, exactDuplicates: 0, staged: [] };
  let staging: Staging = { format: stagingFormatOf(parts, sourceId, stagingDir), parts };
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(options.threads ?? availableParallelism()),
    ...(options.memoryLimit !== undefined && { memory_limit: options.memoryLimit }),
    temp_directory: options.tempDirectory ?? path.join(tempDir, 'spill'),
    // Row order inside a file carries no meaning here; keeping it costs memory on large files.
    preserve_insertion_order: 'false',
    // Everything needed (json, parquet, icu) is built in; never fetch an extension at run time.
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const connection = await instance.connect();
  try {
    const where = `transform of ${sourceId} (staging ${stagingDir})`;
    // Only display depends on the zone (the casts read the Z), but keep every run the same anywhere.
    await run(connection, where, `SET TimeZone = 'UTC'`);
    const maxOpen = Math.max(1, Math.floor(options.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES));
    await run(connection, where, `SET partitioned_write_max_open_files = ${maxOpen}`);
    if (staging.format === 'parquet') await checkParquetStaging(connection, where, plan, parts, nameOf);
    if (staging.format === 'csv') {
      // Typed once into a table: the COPY and the duplicates count below each read staging, and a
      // second CSV parse and cast cost more than the table (100 MB bench file: 2.57 s → 2.15 s).
      try {
        await run(
          connection,
          where,
          `CREATE TEMP TABLE ${CSV_STAGING_TABLE} AS SELECT * FROM ${csvStagingRows(plan, parts, options)}`,
        );
      } catch (e) {
        // DuckDB's cast error names neither the line nor the column: find them, as the Glue job says them.
        const named = await csvStagingCastFailure(connection, plan, parts).catch(() => undefined);
        throw named ? new TransformFailedError(`${where}: ${named}. Fix: ${STAGING_FIX}`) : e;
      }
      staging = { ...staging, table: CSV_STAGING_TABLE };
    }
    const outDir = path.join(tempDir, 'out');
    const stats = await runRows(
      connection,
      where,
      `COPY (${outputSelect(plan, typedSelect(plan, staging, options))}) TO ${sqlString(outDir)} ` +
        `(FORMAT parquet, COMPRESSION snappy, PARTITION_BY (${ident(PARTITION_COLUMN)}), ` +
        `FILENAME_PATTERN 'part_{i}', RETURN_STATS)`,
    );
    const losersFolder = `${PARTITION_COLUMN}=${LOSERS_PARTITION}`;
    let rowsIn = 0;
    let rowsOut = 0;
    /** Rows written per partition value (DuckDB may have split a value into several files). */
    const rowsOf = new Map<string, number>();
    for (const [file, rows] of stats) {
      const n = Number(rows);
      rowsIn += n;
      const folder = path.basename(path.dirname(String(file)));
      if (folder === losersFolder) continue;
      rowsOut += n;
      const value = folder.slice(PARTITION_COLUMN.length + 1);
      rowsOf.set(value, (rowsOf.get(value) ?? 0) + n);
    }
    // Before the losers' file goes: its keys are the keys that occur more than once.
    const losers = await fs
      .readdir(path.join(outDir, losersFolder))
      .then((files) =>
        files.filter((f) => f.endsWith('.parquet')).map((f) => path.join(outDir, losersFolder, f)),
      )
      .catch(() => [] as string[]);
    if (staging.format === 'csv' && rowsIn !== plan.stagingCsv!.rows)
      throw new TransformFailedError(
        `${where}: the CSV staging parts read as ${rowsIn} rows, the validate step staged ${plan.stagingCsv!.rows}. Fix: re-run the validate step for this file (the original is untouched), then the transform; if it happens again, report it with the staging folder`,
      );
    const [[rows, distinct]] = (await runRows(
      connection,
      where,
      exactDuplicatesSelect(plan, staging, options, plan.dedupe ? losers : undefined),
    )) as [[unknown, unknown]];
    await fs.rm(path.join(outDir, losersFolder), { recursive: true, force: true });
    const whole = await onePerPartition(connection, where, PARTITION_COLUMN, [outDir], tempDir);
    const staged = await splitLargePartitions(connection, where, plan, whole, rowsOf, tempDir);
    if (!plan.partition && staged.some((s) => s.day !== NO_PARTITION))
      throw new TransformFailedError(
        `${where}: a table without a partition got partition folders. Fix: report this as an engine bug`,
      );
    return { rowsIn, rowsOut, exactDuplicates: Number(rows ?? 0) - Number(distinct ?? 0), staged };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * A partition value with more rows than `plan.output.maxRowsPerFile` becomes parts 0, 1, … of at
 * most that many rows: its one file is rewritten ranked by core/plan splitOrder (ascending, nulls
 * first — the order the Glue job writes in before Spark's maxRecordsPerFile rolls over), so both
 * engines put the same rows in the same part. Only an oversized partition is read again; every
 * other file is passed through untouched.
 */
async function splitLargePartitions(
  connection: DuckDBConnection,
  where: string,
  plan: TransformPlan,
  staged: readonly StagedObject[],
  rowsOf: ReadonlyMap<string, number>,
  tempDir: string,
): Promise<StagedObject[]> {
  const max = plan.output.maxRowsPerFile;
  const out: StagedObject[] = [];
  for (const s of staged) {
    if ((rowsOf.get(s.day) ?? 0) <= max) {
      out.push(s);
      continue;
    }
    const splitDir = path.join(tempDir, 'split', s.day);
    await fs.mkdir(splitDir, { recursive: true });
    const order = splitOrder(plan)
      .map((c) => `${ident(c)} ASC NULLS FIRST`)
      .join(', ');
    await run(
      connection,
      where,
      `COPY (SELECT *, (row_number() OVER (ORDER BY ${order}) - 1) // ${max} AS ${ident(PART_COLUMN)} ` +
        `FROM read_parquet(${sqlString(s.file)}, hive_partitioning = false)) TO ${sqlString(path.join(splitDir, 'out'))} ` +
        `(FORMAT parquet, COMPRESSION snappy, PARTITION_BY (${ident(PART_COLUMN)}), FILENAME_PATTERN 'part_{i}')`,
    );
    const parts = await onePerPartition(
      connection,
      where,
      PART_COLUMN,
      [path.join(splitDir, 'out')],
      splitDir,
    );
    parts.sort((a, b) => Number(a.day) - Number(b.day));
    parts.forEach((p, i) => {
      if (Number(p.day) !== i)
        throw new TransformFailedError(
          `${where}: split of ${s.day} has no part ${i}. Fix: report this as an engine bug`,
        );
      out.push({ day: s.day, part: i, file: p.file });
    });
    await fs.rm(s.file, { force: true });
  }
  return out;
}

/** The split's internal part column (never written into a file: it is the split's folder). */
const PART_COLUMN = '__etl_part__';

/** Partition writers kept open by default: a year of daily partitions never needs a merge. */
const DEFAULT_MAX_OPEN_FILES = 1000;

/** DuckDB's folder value for a NULL partition value: where the losing duplicates are written. */
const LOSERS_PARTITION = '__HIVE_DEFAULT_PARTITION__';

/**
 * The COPY's one partition column, internal to the temp folder: the published key is named by
 * the plan (`plan.partition.name`), or there is none. Contract names never end in `__` after an
 * `etl` infix, so it cannot clash with an output column.
 */
const PARTITION_COLUMN = '__etl_partition__';

/** The folder value every row of a table without a partition gets (a PARTITION_VALUE, never published). */
const NO_PARTITION = 'all';

/** A run's staging parts (local files) and their one format. */
interface Staging {
  readonly format: StagingFormat;
  readonly parts: readonly string[];
  /** CSV staging, typed into this temp table (each statement reads it instead of the parts). */
  readonly table?: string;
}

/** The temp table CSV staging is typed into ({@link csvStagingRows}). */
const CSV_STAGING_TABLE = 'etl_csv_staging';

/**
 * The staging read with each needed column typed and checked: JSON Lines text (every column
 * VARCHAR, `_line` BIGINT) checked against its canonical text and cast; Parquet read as typed
 * (its schema checked by {@link checkParquetStaging} first) with the checks the text made by
 * construction.
 */
function typedSelect(plan: TransformPlan, staging: Staging, options: DuckdbEngineOptions): string {
  const needed = new Set<string>([
    ...plan.columns.map((c) => c.source),
    ...(plan.dedupe?.orderBy ?? []).map((o) => o.column).filter((c) => c !== LINE_COLUMN),
  ]);
  const mustHaveValue = new Set([
    ...(plan.dedupe?.key ?? []),
    ...(plan.partition ? [plan.partition.source] : []),
  ]);
  const typed = typedStaging(staging) ? parquetValueExpression : castExpression;
  const select = plan.stagingColumns
    .filter((c) => needed.has(c))
    .map((c) => `${typed(c, stagingTypeOf(plan, c), mustHaveValue.has(c))} AS ${ident(c)}`);
  return `SELECT ${[...select, ident(LINE_COLUMN)].join(', ')} FROM ${stagingRead(plan, staging, options)}`;
}

/**
 * The staging files as a table. JSON Lines: every contract column VARCHAR (never auto-detected),
 * `_line` BIGINT. Parquet: the files' own (checked) types; never a folder-derived column.
 */
function stagingRead(plan: TransformPlan, staging: Staging, options: DuckdbEngineOptions): string {
  const { parts } = staging;
  if (staging.format === 'parquet')
    return `read_parquet([${parts.map(sqlString).join(', ')}], hive_partitioning = false)`;
  if (staging.format === 'csv') return staging.table ?? csvStagingRows(plan, parts, options);
  return jsonStagingRead(plan, parts, options);
}

/** Parquet parts, and CSV parts once cast: the staging columns hold typed values, not text. */
const typedStaging = (staging: Staging): boolean => staging.format !== 'jsonl';

/**
 * CSV staging (core/staging.ts) as typed rows: each part's lines read as text (the layout of
 * plan.json `stagingCsv`: `_line`, then the source record's fields; NULL = unquoted empty, '' =
 * `""`), each staging column cast from its field as the validate step vouched
 * (`csvStagingValueSql`: a plain CAST, which fails the statement rather than make a NULL), plus the
 * JSON Lines part of the rows JavaScript staged, checked and cast as JSON Lines staging is.
 * @internal exported for the validate step's differential tests, which read its CSV staging with it
 */
export function csvStagingRows(
  plan: TransformPlan,
  parts: readonly string[],
  options: DuckdbEngineOptions = {},
): string {
  const layout = plan.stagingCsv;
  const csvParts = parts.filter((p) => isCsvStagingPart(p));
  const jsonParts = parts.filter((p) => !isCsvStagingPart(p));
  if (layout === undefined)
    throw new TransformFailedError(
      `transform of ${plan.dataset}: staging holds CSV parts (${path.basename(csvParts[0]!)}) but its plan.json has no stagingCsv layout. Fix: re-run the validate step for this file (it writes both), then the transform`,
    );
  const columns = plan.stagingColumns.map((name) => ({
    name,
    field: layout.columnFields[name]!,
    type: stagingTypeOf(plan, name),
  }));
  const csvRows = csvStagingSelectSql(csvParts, layout, columns, CSV_STAGING_MIN_BUFFER);
  if (jsonParts.length === 0) return `(${csvRows})`;
  const jsonRows =
    `SELECT ${plan.stagingColumns.map((c) => `${castExpression(c, stagingTypeOf(plan, c), false)} AS ${ident(c)}`).join(', ')}, ` +
    `${ident(LINE_COLUMN)} FROM ${jsonStagingRead(plan, jsonParts, options)}`;
  return `(${csvRows} UNION ALL ${jsonRows})`;
}

/** JSON Lines parts: every contract column VARCHAR (never auto-detected), `_line` BIGINT. */
function jsonStagingRead(
  plan: TransformPlan,
  parts: readonly string[],
  options: DuckdbEngineOptions,
): string {
  const columns = [
    ...plan.stagingColumns.map((c) => `${ident(c)}: 'VARCHAR'`),
    `${ident(LINE_COLUMN)}: 'BIGINT'`,
  ];
  return (
    `read_json([${parts.map(sqlString).join(', ')}], ` +
    `columns = {${columns.join(', ')}}, format = 'newline_delimited', records = true, ` +
    `maximum_object_size = ${Math.floor(options.maxLineBytes ?? 16 * 1024 * 1024)})`
  );
}

/**
 * Staging rows and distinct staging rows (every column but `_line`; NULL equals NULL): their
 * difference is the manifest's exactDuplicates. Staging text is canonical, so equal text is equal
 * value. Parquet staging groups the typed values, doubles by their shortest text, so that -0 and 0
 * stay two values as their canonical texts are (grouping would take them as equal).
 */
function exactDuplicatesSelect(
  plan: TransformPlan,
  staging: Staging,
  options: DuckdbEngineOptions,
  /** The dedupe COPY's losers (every row of a key but its first), when it wrote them. */
  losers?: readonly string[],
): string {
  const groups = plan.stagingColumns.map((c) =>
    typedStaging(staging) && stagingTypeOf(plan, c).type === 'double'
      ? `CAST(${ident(c)} AS VARCHAR)`
      : ident(c),
  );
  const key = plan.dedupe?.key ?? [];
  if (key.length === 0 || !key.every((k) => plan.stagingColumns.includes(k)))
    return (
      `SELECT coalesce(sum(n), 0), count(*) FROM (SELECT count(*) AS n FROM ${stagingRead(plan, staging, options)} ` +
      `GROUP BY ${groups.join(', ')})`
    );
  // Equal rows have equal keys: only rows whose key occurs more than once can be duplicates, so
  // the wide GROUP BY runs over those (a few per cent of a file) after a narrow one over the key.
  // Rows minus distinct rows is the same difference as over the whole staging.
  const keys = key.map(ident);
  const same = keys.map((k) => `s.${k} IS NOT DISTINCT FROM d.${k}`).join(' AND ');
  // The keys that occur more than once are the losers' keys: read from the losers' file (a few per
  // cent of the rows) instead of grouping every row by its key (1 GB bench file: 1.0 s against
  // 2.3 s). No losers: no key occurs twice, so no row can equal another.
  const written = fileColumns(plan);
  const asWritten = key.map((k) => written.find((c) => c.source === k)?.name);
  let duplicated = `SELECT ${keys.join(', ')} FROM s GROUP BY ${keys.join(', ')} HAVING count(*) > 1`;
  if (losers !== undefined && asWritten.every((n) => n !== undefined)) {
    if (losers.length === 0) return 'SELECT 0, 0';
    duplicated =
      `SELECT DISTINCT ${asWritten.map((n, i) => `${ident(n!)} AS ${keys[i]}`).join(', ')} ` +
      `FROM read_parquet([${losers.map(sqlString).join(', ')}], hive_partitioning = false)`;
  }
  return (
    `WITH s AS (SELECT * FROM ${stagingRead(plan, staging, options)}), ` +
    `d AS (${duplicated}) ` +
    `SELECT coalesce(sum(n), 0), count(*) FROM (SELECT count(*) AS n FROM s SEMI JOIN d ON ${same} ` +
    `GROUP BY ${groups.join(', ')})`
  );
}

/**
 * Refuses Parquet staging parts whose schema is not exactly the plan's: the staging columns in
 * order, each of core/staging `stagingParquetType`, then `_line` BIGINT. The expected types are
 * spelled by DuckDB itself (a DESCRIBE of typed NULLs), so aliases (TIMESTAMPTZ) compare equal.
 * A timestamp written without UTC adjustment reads as TIMESTAMP, an int32 as INTEGER, a string
 * without its UTF8 annotation as BLOB: each is refused, never cast.
 */
async function checkParquetStaging(
  connection: DuckDBConnection,
  where: string,
  plan: TransformPlan,
  parts: readonly string[],
  nameOf: (part: string) => string,
): Promise<void> {
  const typedNulls = [
    ...plan.stagingColumns.map((c) => `NULL::${stagingParquetType(stagingTypeOf(plan, c))} AS ${ident(c)}`),
    `NULL::BIGINT AS ${ident(LINE_COLUMN)}`,
  ];
  const expected = (await runRows(connection, where, `DESCRIBE SELECT ${typedNulls.join(', ')}`)).map(
    (r) => [String(r[0]), String(r[1])] as const,
  );
  const fix =
    'Fix: staging and plan come from different contract versions, or another writer made this part — re-run the validate step for this file (the original is untouched)';
  for (const file of parts) {
    const part = nameOf(file);
    let actual: (readonly [string, string])[];
    try {
      actual = (
        await connection.runAndReadAll(
          `DESCRIBE SELECT * FROM read_parquet(${sqlString(file)}, hive_partitioning = false)`,
        )
      )
        .getRows()
        .map((r) => [String(r[0]), String(r[1])] as const);
    } catch (e) {
      throw new TransformFailedError(
        `${part}: not a readable Parquet staging part (${(e as Error).message.split('\n')[0]}). ${fix}`,
      );
    }
    const names = actual.map(([n]) => n);
    const missing = expected.filter(([n]) => !names.includes(n)).map(([n]) => JSON.stringify(n));
    const extra = names.filter((n) => !expected.some(([e]) => e === n)).map((n) => JSON.stringify(n));
    if (missing.length > 0 || extra.length > 0) {
      throw new TransformFailedError(
        `${part}: staging columns do not match the ${plan.dataset} plan` +
          (missing.length ? `; missing column ${missing.join(', ')}` : '') +
          (extra.length ? `; unexpected column ${extra.join(', ')}` : '') +
          `. ${fix}`,
      );
    }
    for (const [name, type] of expected) {
      const got = actual.find(([n]) => n === name)![1];
      if (got !== type)
        throw new TransformFailedError(
          `${part}: staging column ${name} is ${got} in the Parquet file, the ${plan.dataset} plan needs ${type} (a mismatched type is never cast). ${fix}`,
        );
    }
    if (names.join('\0') !== expected.map(([n]) => n).join('\0'))
      throw new TransformFailedError(
        `${part}: staging columns are out of order (${names.join(', ')}); the ${plan.dataset} plan has ${expected.map(([n]) => n).join(', ')}. ${fix}`,
      );
  }
}

/**
 * One typed Parquet staging column, checked for what canonical text rules out by construction:
 * NaN and ±Infinity doubles, dates and instants outside years 0001–9999, and (`mustHaveValue`) a
 * null key or partition value. Everything else is the value as written.
 */
function parquetValueExpression(column: string, t: PlanType, mustHaveValue: boolean): string {
  const v = ident(column);
  const whenNull = mustHaveValue
    ? lineError(column, `'is empty, but it is a key or partition column'`)
    : 'NULL';
  const outside = (what: string) =>
    lineError(column, `to_json(left(CAST(${v} AS VARCHAR), 60)) || ' is not a valid ${t.type} (${what})'`);
  switch (t.type) {
    case 'double':
      return `CASE WHEN ${v} IS NULL THEN ${whenNull} WHEN isnan(${v}) OR isinf(${v}) THEN ${outside('NaN and Infinity are not values')} ELSE ${v} END`;
    case 'date':
      return `CASE WHEN ${v} IS NULL THEN ${whenNull} WHEN ${v} BETWEEN DATE '0001-01-01' AND DATE '9999-12-31' THEN ${v} ELSE ${outside('years 0001-9999 only')} END`;
    case 'timestamp':
      return (
        `CASE WHEN ${v} IS NULL THEN ${whenNull} ` +
        `WHEN ${v} BETWEEN TIMESTAMPTZ '0001-01-01 00:00:00+00' AND TIMESTAMPTZ '9999-12-31 23:59:59.999999+00' THEN ${v} ` +
        `ELSE ${outside('years 0001-9999 only')} END`
      );
    default:
      return mustHaveValue ? `CASE WHEN ${v} IS NULL THEN ${whenNull} ELSE ${v} END` : v;
  }
}

/** SQL type per plan type: the table in the header comment is what these write. */
function sqlType(t: PlanType): string {
  switch (t.type) {
    case 'string':
      return 'VARCHAR';
    case 'integer':
      return 'BIGINT';
    case 'decimal':
      return `DECIMAL(${t.precision}, ${t.scale})`;
    case 'double':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'date':
      return 'DATE';
    case 'timestamp':
      // The canonical text ends in Z, so the cast reads the instant whatever the session zone.
      return 'TIMESTAMPTZ';
  }
}

/**
 * One staging column, checked and typed. `mustHaveValue` marks key and partition columns: the
 * contract makes them required, so a null there means staging was not written by validate — and
 * would otherwise merge keyless rows into one or write a `=NULL` folder.
 */
function castExpression(column: string, t: PlanType, mustHaveValue: boolean): string {
  const v = ident(column);
  const problem = (what: string) => lineError(column, what);
  const whenNull = mustHaveValue ? problem(`'is empty, but it is a key or partition column'`) : 'NULL';
  const pattern = canonicalPattern(t);
  if (pattern === undefined)
    return mustHaveValue ? `CASE WHEN ${v} IS NULL THEN ${whenNull} ELSE ${v} END` : v;
  const typeName = t.type === 'decimal' ? `decimal(${t.precision},${t.scale})` : t.type;
  const shown = `to_json(left(${v}, 60))`;
  // The pattern rules out text a cast would silently round or reinterpret; what is left to fail is
  // range (int64, calendar days), and TRY_CAST + error() reports it with the line, never as null.
  return (
    `CASE WHEN ${v} IS NULL THEN ${whenNull} ` +
    `WHEN regexp_full_match(${v}, ${sqlString(pattern)}) ` +
    `THEN coalesce(TRY_CAST(${v} AS ${sqlType(t)}), ` +
    `${problem(`${shown} || ' is not a valid ${typeName} (no such day, or out of range)'`)}) ` +
    `ELSE ${problem(`${shown} || ' is not canonical ${typeName} text'`)} END`
  );
}

/** `error(...)` naming the staging line and column; `what` is a SQL text expression. */
function lineError(column: string, what: string): string {
  return (
    `error('staging line ' || coalesce(CAST(${ident(LINE_COLUMN)} AS VARCHAR), '?') || ', column ${column}: ' || ` +
    `${what})`
  );
}

/**
 * The folder value of a typed row, as text (core/plan PlanPartition): a date's own day, or the
 * day, month or year of a date or of a timestamp's UTC instant, or a string's value once it is
 * known to be safe as a folder name; {@link NO_PARTITION} without a partition.
 */
function partitionValue(plan: TransformPlan): string {
  const p = plan.partition;
  if (!p) return sqlString(NO_PARTITION);
  const v = ident(p.source);
  if (p.kind === 'string') {
    return (
      `CASE WHEN regexp_full_match(${v}, ${sqlString(PARTITION_VALUE.source.slice(1, -1))}) THEN ${v} ` +
      `ELSE ${lineError(p.source, `to_json(left(${v}, 60)) || ' cannot be a partition value (BAD_PARTITION_VALUE: letters, digits and _ . - only, starting with a letter or digit, at most 100)'`)} END`
    );
  }
  const format = { day: '%Y-%m-%d', month: '%Y-%m', year: '%Y' }[p.granularity!];
  // A timestamp's folder is its UTC day/month/year whatever the session zone.
  const value = p.kind === 'timestamp' ? `timezone('UTC', ${v})` : v;
  return `strftime(${value}, ${sqlString(format)})`;
}

/**
 * Every typed row with the columns written inside the files (core/plan fileColumns), plus
 * {@link PARTITION_COLUMN}. With a key, that column is NULL on every row but each key's winner
 * (the first by `plan.dedupe.orderBy`), so losers land in the {@link LOSERS_PARTITION} folder.
 * Every row passes through `typed`, so every value is checked.
 */
function outputSelect(plan: TransformPlan, typed: string): string {
  const output = fileColumns(plan).map((c) => `${ident(c.source)} AS ${ident(c.name)}`);
  let folder = partitionValue(plan);
  if (plan.dedupe) {
    const order = plan.dedupe.orderBy
      .map((o) => `${ident(o.column)} ${o.direction === 'desc' ? 'DESC' : 'ASC'} NULLS LAST`)
      .join(', ');
    const rank = `row_number() OVER (PARTITION BY ${plan.dedupe.key.map(ident).join(', ')} ORDER BY ${order})`;
    folder = `CASE WHEN ${rank} = 1 THEN ${folder} END`;
  }
  return `SELECT ${[...output, `${folder} AS ${ident(PARTITION_COLUMN)}`].join(', ')} FROM (${typed})`;
}

/**
 * Lists what DuckDB wrote (`<outDir>/<col>=<value>/part_N.parquet`) and makes it one file per
 * value, `<tempDir>/<value>.snappy.parquet`, merging when DuckDB had to split a value — it does once a
 * COPY spans more days than open writers (`maxOpenFiles`) and enough rows (seen from ≈300k rows
 * up), which is too large for a fixture, so this is exported for its own test.
 * @internal
 */
export async function onePerPartition(
  connection: DuckDBConnection,
  where: string,
  partitionName: string,
  outDirs: readonly string[],
  tempDir: string,
): Promise<StagedObject[]> {
  const prefix = `${partitionName}=`;
  const folders = [];
  for (const outDir of outDirs) {
    const entries = await fs.readdir(outDir, { withFileTypes: true }).catch(() => []);
    folders.push(...entries.filter((d) => d.isDirectory()).map((d) => ({ outDir, name: d.name })));
  }
  const staged: StagedObject[] = [];
  for (const folder of folders) {
    const day = folder.name.slice(prefix.length);
    if (!folder.name.startsWith(prefix) || !PARTITION_VALUE.test(day)) {
      throw new TransformFailedError(
        `${where}: DuckDB wrote an unexpected partition folder ${JSON.stringify(folder.name)}. Fix: report this as an engine bug`,
      );
    }
    const dir = path.join(folder.outDir, folder.name);
    const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.parquet')).sort();
    const single = path.join(tempDir, `${day}.snappy.parquet`);
    if (files.length === 1) {
      await fs.rename(path.join(dir, files[0]!), single);
    } else {
      const list = files.map((f) => sqlString(path.join(dir, f))).join(', ');
      await run(
        connection,
        where,
        `COPY (SELECT * FROM read_parquet([${list}], hive_partitioning = false)) TO ${sqlString(single)} ` +
          `(FORMAT parquet, COMPRESSION snappy)`,
      );
    }
    staged.push({ day, file: single });
  }
  return staged.sort((a, b) => a.day.localeCompare(b.day));
}

/** DuckDB's read buffer for CSV staging at least (it follows the longest line above this). */
const CSV_STAGING_MIN_BUFFER = 8 * 1024 * 1024;

const STAGING_FIX =
  'staging must be exactly what the validate step writes (core/staging.ts); re-run the validate ' +
  'step for this file — the original is untouched';

/**
 * The first CSV staging value the transform's CAST refuses, in the Glue job's words
 * (glue/etl_job.py `csv_value`): `staging line 7, column quantity: "many" is not a valid integer
 * in CSV staging (part-00000.csv)`; undefined when every value casts (the read failed otherwise).
 */
async function csvStagingCastFailure(
  connection: DuckDBConnection,
  plan: TransformPlan,
  parts: readonly string[],
): Promise<string | undefined> {
  const layout = plan.stagingCsv;
  const csvParts = parts.filter((p) => isCsvStagingPart(p));
  if (layout === undefined || csvParts.length === 0) return undefined;
  const columns = plan.stagingColumns.map((name) => ({
    name,
    field: layout.columnFields[name]!,
    type: stagingTypeOf(plan, name),
  }));
  const sql = csvStagingCastFailureSql(csvParts, layout, columns, CSV_STAGING_MIN_BUFFER);
  if (sql === undefined) return undefined;
  const [row] = (await connection.runAndReadAll(sql)).getRows();
  if (row === undefined) return undefined;
  const [file, line, name, value] = row.map(String) as [string, string, string, string];
  const t = stagingTypeOf(plan, name);
  const typeName = t.type === 'decimal' ? `decimal(${t.precision},${t.scale})` : t.type;
  return (
    `staging line ${line}, column ${name}: ${JSON.stringify(value.slice(0, 60))} ` +
    `is not a valid ${typeName} in CSV staging (${path.basename(file)})`
  );
}

async function run(connection: DuckDBConnection, where: string, sql: string): Promise<void> {
  await runRows(connection, where, sql);
}

async function runRows(connection: DuckDBConnection, where: string, sql: string): Promise<unknown[][]> {
  try {
    const t0 = Date.now();
    const r = (await connection.runAndReadAll(sql)).getRows() as unknown[][];
    if (process.env.ETL_TRACE_SQL) console.error(`${Date.now() - t0} ms: ${sql.slice(0, 100)}`);
    return r;
  } catch (e) {
    const message = (e as Error).message.split('\n')[0]!;
    const fix = /out of memory/i.test(message)
      ? 'raise the engine memoryLimit, lower threads, or give tempDirectory more disk'
      : STAGING_FIX;
    throw new TransformFailedError(`${where}: ${message}. Fix: ${fix}`);
  }
}

/** Plan names are checked identifiers (core/plan checkPlan); quoting keeps reserved words usable. */
function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function sqlString(text: string): string {
  if (text.includes('\0'))
    throw new TransformFailedError(`a path or pattern contains a NUL byte: ${JSON.stringify(text)}`);
  return `'${text.replaceAll("'", "''")}'`;
}
