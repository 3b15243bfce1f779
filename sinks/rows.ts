/**
 * Reads one run's curated Parquet objects with DuckDB. On AWS they are S3 objects: DuckDB's httpfs
 * extension is downloaded at run time (no internet in a Lambda without a NAT, and not here), so
 * the objects come through the ObjectStore port into a scratch folder first, keeping their
 * `<partition>=<value>/` folder so the partition column can be read back from it.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { lake } from '../core/layout';
import type { ObjectStore } from '../core/ports';
import { quoteIdentifier, sqlLiteral } from './sql';
import type { SinkColumn, SinkRun, SinkTable } from './table';

/** A row as the sinks see it: exact text for every value but booleans (decimals keep every digit). */
export type SinkRow = Readonly<Record<string, string | boolean | null>>;

// The SQL text helpers live in sql.ts (no DuckDB): the Redshift Lambda uses them without loading DuckDB.
export { quoteIdentifier, sqlLiteral };

/**
 * One column as exact text: decimals and integers by DuckDB's own VARCHAR cast (every digit, no
 * float on the way), timestamps as ISO-8601 UTC with microseconds, dates as YYYY-MM-DD.
 */
function textOf(column: SinkColumn): string {
  const c = quoteIdentifier(column.name);
  switch (column.type) {
    case 'boolean':
      return `CAST(${c} AS BOOLEAN)`;
    case 'timestamp':
      // Without ICU (not bundled, and not downloadable offline) TIMESTAMPTZ → TIMESTAMP is the UTC wall time.
      return `strftime(CAST(CAST(${c} AS TIMESTAMPTZ) AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%fZ')`;
    case 'date':
      return `strftime(CAST(${c} AS DATE), '%Y-%m-%d')`;
    default:
      return `CAST(${c} AS VARCHAR)`;
  }
}

/** One column with its SQL type (the folder column, read as text, is cast back to it). */
export function typedOf(column: SinkColumn): string {
  const c = quoteIdentifier(column.name);
  switch (column.type) {
    case 'decimal':
      return `CAST(${c} AS DECIMAL(${column.precision ?? 38}, ${column.scale ?? 0}))`;
    case 'integer':
      return `CAST(${c} AS BIGINT)`;
    case 'double':
      return `CAST(${c} AS DOUBLE)`;
    case 'boolean':
      return `CAST(${c} AS BOOLEAN)`;
    case 'date':
      return `CAST(${c} AS DATE)`;
    case 'timestamp':
      return `CAST(${c} AS TIMESTAMPTZ)`;
    default:
      return `CAST(${c} AS VARCHAR)`;
  }
}

export interface RunRows {
  readonly connection: DuckDBConnection;
  /** A view `run_rows` over this run's rows with every sink column (typed), in contract order. */
  readonly view: 'run_rows';
  /** Streams the rows as exact text, `chunk` rows at a time (DuckDB's chunks, 2,048). */
  textRows(): AsyncIterable<SinkRow[]>;
  count(): Promise<number>;
}

export interface RunRowsOptions {
  /** Where the objects are downloaded (a temp folder is made inside and removed). @default os.tmpdir() */
  readonly scratchDir?: string;
  /** DuckDB threads. @default 2 */
  readonly threads?: number;
}

/**
 * Downloads the run's objects and opens them in an in-memory DuckDB for `use`; everything is
 * removed afterwards, also when `use` throws.
 */
export async function withRunRows<T>(
  store: ObjectStore,
  run: SinkRun,
  table: SinkTable,
  use: (rows: RunRows) => Promise<T>,
  options: RunRowsOptions = {},
): Promise<T> {
  const scratch = await mkdtemp(path.join(options.scratchDir ?? tmpdir(), 'sink-'));
  const instance = await DuckDBInstance.create(':memory:', { threads: String(options.threads ?? 2) });
  const connection = await instance.connect();
  try {
    const files = await download(store, run, scratch);
    await connection.run(`CREATE VIEW run_rows AS ${selectRunRows(table, files)}`);
    return await use({
      connection,
      view: 'run_rows',
      async *textRows() {
        if (files.length === 0) return;
        const result = await connection.stream(
          `SELECT ${table.columns.map((c) => `${textOf(c)} AS ${quoteIdentifier(c.name)}`).join(', ')} FROM run_rows`,
        );
        for await (const chunk of result.yieldRowObjectJson()) yield chunk as SinkRow[];
      },
      async count() {
        if (files.length === 0) return 0;
        const reader = await connection.runAndReadAll('SELECT count(*)::VARCHAR AS n FROM run_rows');
        return Number(reader.getRowObjectsJson()[0]!.n);
      },
    });
  } finally {
    connection.closeSync();
    instance.closeSync();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The SELECT over the downloaded files; an empty run selects no rows with the right columns. */
function selectRunRows(table: SinkTable, files: readonly string[]): string {
  const columns = table.columns.map((c) => `${typedOf(c)} AS ${quoteIdentifier(c.name)}`).join(', ');
  if (files.length === 0)
    return `SELECT ${columns} FROM (SELECT ${table.columns.map((c) => `NULL AS ${quoteIdentifier(c.name)}`).join(', ')}) WHERE false`;
  const list = `[${files.map(sqlLiteral).join(', ')}]`;
  // Folder values stay text (hive_types_autocast off): "007" must not become 7.
  const hive =
    table.folderColumn !== null
      ? ', hive_partitioning = true, hive_types_autocast = false'
      : ', hive_partitioning = false';
  return `SELECT ${columns} FROM read_parquet(${list}${hive})`;
}

async function download(store: ObjectStore, run: SinkRun, scratch: string): Promise<string[]> {
  const tablePrefix = lake.curatedTablePrefix(run.dataset);
  const files: string[] = [];
  for (const key of run.objects) {
    if (!lake.isCuratedObjectOf(key, run.dataset, run.sourceId)) {
      throw new Error(
        `manifest of ${run.dataset}/${run.sourceId} lists ${JSON.stringify(key)}, which is not one of its curated objects`,
      );
    }
    // Checked above: the relative part is `[<key>=<value>/]<sourceId>.snappy.parquet`, safe as a path.
    const file = path.join(scratch, key.slice(tablePrefix.length));
    await mkdir(path.dirname(file), { recursive: true });
    await pipeline(await store.get({ bucket: run.bucket, key }), createWriteStream(file));
    files.push(file);
  }
  return files;
}
