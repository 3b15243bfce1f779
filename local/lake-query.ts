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
 * Runs one SQL statement (read-only views over the lake, and over the sinks' local stand-ins in
 * `sinksDir` as `dynamodb.<table>` and `redshift.<schema>_<table>`) and returns every row.
 */
export async function queryLake(
  lakeDir: string,
  sql: string,
  schemasDir?: string,
  sinksDir?: string,
): Promise<QueryResult> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    for (const t of lakeTables(lakeDir, schemasDir)) {
      await connection.run(
        `CREATE VIEW "${t.table}" AS SELECT * FROM read_parquet(${literal(t.files)}, ${hiveOptions(t.partitionKeys)})`,
      );
    }
    for (const v of sinksDir === undefined ? [] : localSinkViews(sinksDir)) {
      await connection.run(`CREATE SCHEMA IF NOT EXISTS ${v.schema}`);
      await connection.run(
        `CREATE VIEW ${v.schema}."${v.view}" AS SELECT * FROM read_parquet(${literal(v.file)})`,
      );
    }
    const reader = await connection.runAndReadAll(sql);
    return { columns: reader.columnNames(), rows: reader.getRowObjectsJson() };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
