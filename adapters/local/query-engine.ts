/**
 * The local query engine: DuckDB over the lake folder, standing in for Athena. Every table in the
 * local catalog becomes a view over its Parquet files with hive partitions and the pseudo-column
 * `"$path"` (the file's path), so the same SQL runs here and on Athena. Values are bound as
 * prepared-statement parameters, never spliced into the text.
 */
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { QueryEngine, QueryOptions, QueryParameter, QueryRow } from '../../core/ports';
import type { LocalCatalog } from './catalog';
import { hiveOptions, identifierText } from './hive-options';

export interface LocalQueryEngineOptions {
  /** Folder holding the lake bucket's keys (the same one the LocalCatalog crawls). */
  readonly lakeDir: string;
  readonly catalog: LocalCatalog;
  /** DuckDB threads. @default 2 */
  readonly threads?: number;
}

/** SQL string literal: only for the lake folder path the engine itself chose, never for input. */
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;
const identifier = (name: string) => `"${identifierText(name)}"`;

/** @example new LocalQueryEngine({ lakeDir, catalog }).query('SELECT count(*) AS n FROM "registrations"', [], { database }) */
export class LocalQueryEngine implements QueryEngine {
  private connection: Promise<DuckDBConnection> | undefined;

  constructor(private readonly options: LocalQueryEngineOptions) {}

  /** `_options.database` is ignored: the local catalog has one database. */
  async query(
    sql: string,
    parameters: readonly QueryParameter[],
    _options?: QueryOptions,
  ): Promise<QueryRow[]> {
    const connection = await (this.connection ??= this.connect());
    // Views are rebuilt per query: the catalog changes as crawls run.
    for (const table of await this.options.catalog.tables()) {
      // No files yet: read_parquet would refuse the glob.
      if ((table.files ?? table.partitions.length) === 0) continue;
      const glob = path.join(this.options.lakeDir, table.location, '**', '*.parquet');
      await connection.run(
        `CREATE OR REPLACE VIEW ${identifier(table.table)} AS SELECT * EXCLUDE (filename), filename AS "$path" ` +
          `FROM read_parquet(${literal(glob)}, ${hiveOptions(table.partitionKeys)}, filename = true)`,
      );
    }
    const reader = await connection.runAndReadAll(sql, [...parameters] as DuckDBValue[]);
    return reader
      .getRowObjectsJson()
      .map((row) =>
        Object.fromEntries(
          Object.entries(row).map(([k, v]) => [
            k,
            v === null ? null : typeof v === 'object' ? JSON.stringify(v) : String(v),
          ]),
        ),
      );
  }

  /** Releases the DuckDB instance. */
  close(): void {
    void this.connection?.then((c) => c.closeSync());
    this.connection = undefined;
  }

  private async connect(): Promise<DuckDBConnection> {
    const instance = await DuckDBInstance.create(':memory:', { threads: String(this.options.threads ?? 2) });
    return instance.connect();
  }
}
