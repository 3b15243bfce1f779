/**
 * SQL over the local lake with the table names the Glue catalog would have (`contract.table`,
 * which for a hyphenated dataset is not the dataset's name): one DuckDB view per dataset that has
 * a contract and curated Parquet, over `curated/<dataset>/**\/*.parquet` with the partition key
 * typed as the Glue table types it (a real column, as in Athena), or no Hive parsing at all for a
 * table without a partition.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { findContract, DEFAULT_SCHEMAS_DIR } from '../core/contract';
import { compilePlan, partitionKeyType } from '../core/plan';
import { hiveOptions } from '../adapters/local/hive-options';
import { localSinkViews } from '../adapters/local/sink-tables';

export interface LakeTable {
  readonly table: string;
  readonly dataset: string;
  /** The glob the view reads. */
  readonly files: string;
  /** The partition key, typed as in the Glue table; [] without a partition. */
  readonly partitionKeys: readonly { name: string; type: 'date' | 'string' }[];
}

export interface QueryResult {
  readonly columns: readonly string[];
  /** JSON-safe values (DuckDB's JSON conversion: big integers and decimals as strings). */
  readonly rows: readonly Record<string, unknown>[];
}

/** SQL string literal: the only place a path enters SQL, with quotes doubled. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function hasParquet(dir: string): boolean {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.parquet')) return true;
    if (entry.isDirectory() && hasParquet(path.join(dir, entry.name))) return true;
  }
  return false;
}

/** Tables the catalog would list for the lake folder `lakeDir`. */
export function lakeTables(lakeDir: string, schemasDir = DEFAULT_SCHEMAS_DIR): LakeTable[] {
  const curated = path.join(lakeDir, 'curated');
  if (!existsSync(curated)) return [];
  return readdirSync(curated, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => {
      const contract = findContract(d.name, schemasDir);
      const dir = path.join(curated, d.name); // = lake.curatedTablePrefix(dataset)
      if (!contract || !hasParquet(dir)) return [];
      const plan = compilePlan(contract);
      const keyType = partitionKeyType(plan);
      return [
        {
          table: plan.table,
          dataset: d.name,
          files: path.join(dir, '**', '*.parquet'),
          partitionKeys: plan.partition && keyType ? [{ name: plan.partition.name, type: keyType }] : [],
        },
      ];
    });
}

/**
 * Datasets with curated Parquet in `lakeDir` but no contract in `schemasDir`: no table can be made
 * for them (its name, types and partition come from the contract), so the query does not see them.
 */
export function uncontractedDatasets(lakeDir: string, schemasDir = DEFAULT_SCHEMAS_DIR): string[] {
  const curated = path.join(lakeDir, 'curated');
  if (!existsSync(curated)) return [];
  return readdirSync(curated, { withFileTypes: true })
    .filter((d) => d.isDirectory() && hasParquet(path.join(curated, d.name)))
    .map((d) => d.name)
    .filter((name) => !findContract(name, schemasDir))
    .sort();
}

/** A value bound to a `?` placeholder (`etl query --param`). */
export type QueryParameter = string | number | bigint | boolean;

/**
 * The statement is not a query: `etl query` only reads. The message names the statement kind and
 * what to do instead.
 */
export class ReadOnlyQueryError extends Error {
  override readonly name = 'ReadOnlyQueryError';
}

/**
 * Runs one read-only SQL statement over the lake (views named as the Glue tables, and the sinks'
 * local stand-ins in `sinksDir` as `dynamodb.<table>` and `redshift.<schema>_<table>`) and returns
 * every row. Read-only for real, two ways:
 * - DuckDB's own parser decides, before anything is bound: exactly one statement, and a
 *   SELECT-type one (`json_serialize_sql` serialises only those: `WITH … SELECT`, `FROM t`,
 *   `VALUES`, `DESCRIBE`, `SHOW`, `SUMMARIZE` too). COPY, ATTACH, INSTALL/LOAD, CREATE, INSERT,
 *   SET, PRAGMA, CALL, EXPORT, EXPLAIN … are refused; the prepared statement's type is checked
 *   again before it runs;
 * - before the user's statement runs, file access is limited to the lake and sinks folders
 *   (`allowed_directories` + `enable_external_access = false`) and the configuration is locked,
 *   so not even a function inside a SELECT can read or write elsewhere.
 * `?` placeholders are bound from `parameters`, in order.
 * @throws ReadOnlyQueryError for anything but one SELECT; DuckDB's error for bad SQL
 */
export async function queryLake(
  lakeDir: string,
  sql: string,
  schemasDir?: string,
  sinksDir?: string,
  parameters: readonly QueryParameter[] = [],
): Promise<QueryResult> {
  const { DuckDBInstance, StatementType } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false' });
  const connection = await instance.connect();
  try {
    for (const t of lakeTables(lakeDir, schemasDir)) {
      await connection.run(
        `CREATE VIEW "${t.table}" AS SELECT * FROM read_parquet(${literal(t.files)}, ${hiveOptions(t.partitionKeys)})`,
      );
    }
    const sinkViews = sinksDir === undefined ? [] : localSinkViews(sinksDir);
    for (const v of sinkViews) {
      await connection.run(`CREATE SCHEMA IF NOT EXISTS ${v.schema}`);
      await connection.run(
        `CREATE VIEW ${v.schema}."${v.view}" AS SELECT * FROM read_parquet(${literal(v.file)})`,
      );
    }
    // The gate, before anything is bound: DuckDB's parser serialises SELECT-type statements only.
    const gate = await connection.prepare('SELECT json_serialize_sql(?::VARCHAR) AS parsed');
    gate.bindVarchar(1, sql);
    const parsed = JSON.parse(String((await gate.runAndReadAll()).getRows()[0]![0])) as {
      error: boolean;
      error_message?: string;
      statements?: unknown[];
    };
    if (parsed.error && /^Only SELECT statements/.test(parsed.error_message ?? '')) {
      const kind = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? 'non-SELECT';
      throw new ReadOnlyQueryError(
        `etl query is read-only: a ${kind} statement is refused. Use SELECT (or WITH … SELECT, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE); to keep a result, print it with --json and redirect it to a file.`,
      );
    }
    if (!parsed.error && parsed.statements?.length !== 1)
      throw new ReadOnlyQueryError(
        `etl query runs exactly one statement; this text holds ${parsed.statements?.length ?? 0}. Send them one at a time.`,
      );
    // A syntax error falls through to prepare below, which reports it as DuckDB words it.

    const readable = [lakeDir, ...(sinkViews.length > 0 && sinksDir !== undefined ? [sinksDir] : [])];
    await connection.run(
      `SET allowed_directories = [${readable.map((d) => literal(path.resolve(d))).join(', ')}]`,
    );
    await connection.run('SET enable_external_access = false');
    await connection.run('SET lock_configuration = true');

    const statements = await connection.extractStatements(sql);
    const prepared = await statements.prepare(0);
    // Defence in depth: the prepared statement must be a SELECT too.
    if (statements.count !== 1 || prepared.statementType !== StatementType.SELECT)
      throw new ReadOnlyQueryError(
        `etl query is read-only: a ${StatementType[prepared.statementType] ?? 'non-SELECT'} statement is refused.`,
      );
    if (prepared.parameterCount !== parameters.length)
      throw new ReadOnlyQueryError(
        `the statement has ${prepared.parameterCount} ? placeholder(s) but ${parameters.length} --param value(s) were given. Give one --param per ?, in order.`,
      );
    parameters.forEach((value, i) => {
      const index = i + 1;
      if (typeof value === 'boolean') prepared.bindBoolean(index, value);
      else if (typeof value === 'bigint') prepared.bindBigInt(index, value);
      else if (typeof value === 'number')
        if (Number.isInteger(value)) prepared.bindBigInt(index, BigInt(value));
        else prepared.bindDouble(index, value);
      else prepared.bindVarchar(index, value);
    });
    const reader = await prepared.runAndReadAll();
    return { columns: reader.columnNames(), rows: reader.getRowObjectsJson() };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
