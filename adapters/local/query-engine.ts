/**
 * The local query engine: DuckDB over the lake folder, standing in for Athena. Every table in the
 * local catalog becomes a view over its Parquet files with hive partitions and the pseudo-column
 * `"$path"` (the file's path), so the same SQL runs here and on Athena. Values are bound as
 * prepared-statement parameters, never spliced into the text.
 *
 * A query scoped to some objects of a table (QueryOptions.only, what Verify asks) reads just those
 * files: it runs on a connection of its own whose temporary view of that table lists them, so it
 * neither globs the whole table nor changes what concurrent queries see.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  DuckDBInstance,
  type DuckDBConnection,
  type DuckDBResultReader,
  type DuckDBValue,
} from '@duckdb/node-api';
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
  private instance: Promise<DuckDBInstance> | undefined;

  constructor(private readonly options: LocalQueryEngineOptions) {}

  /** The file's path in the lake folder (the bucket is the folder's). */
  objectPath(_bucket: string, key: string): string {
    return path.join(this.options.lakeDir, key);
  }

  /** `options.database` is ignored: the local catalog has one database. */
  async query(
    sql: string,
    parameters: readonly QueryParameter[],
    options?: QueryOptions,
  ): Promise<QueryRow[]> {
    if (options?.only) {
      const scoped = await this.scopedQuery(sql, parameters, options.only);
      if (scoped) return scoped;
    }
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
    return rowsOf(await connection.runAndReadAll(sql, [...parameters] as DuckDBValue[]));
  }

  /**
   * Runs `sql` with `only.table` viewed over just the listed objects that exist (a missing one
   * simply has no rows, as on Athena). undefined when the catalog has no such table or none of
   * the files exists: the caller then runs the query the ordinary way.
   */
  private async scopedQuery(
    sql: string,
    parameters: readonly QueryParameter[],
    only: NonNullable<QueryOptions['only']>,
  ): Promise<QueryRow[] | undefined> {
    const table = (await this.options.catalog.tables()).find((t) => t.table === only.table);
    const files = only.keys.map((key) => this.objectPath(only.bucket, key)).filter((f) => existsSync(f));
    if (!table || files.length === 0) return undefined;
    const connection = await (await (this.instance ??= this.createInstance())).connect();
    try {
      await connection.run(
        `CREATE TEMP VIEW ${identifier(table.table)} AS SELECT * EXCLUDE (filename), filename AS "$path" ` +
          `FROM read_parquet([${files.map(literal).join(', ')}], ${hiveOptions(table.partitionKeys)}, filename = true)`,
      );
      return rowsOf(await connection.runAndReadAll(sql, [...parameters] as DuckDBValue[]));
    } finally {
      connection.closeSync();
    }
  }

  /** Releases the DuckDB instance. */
  close(): void {
    void this.connection?.then((c) => c.closeSync());
    this.connection = undefined;
    void this.instance?.then((i) => i.closeSync());
    this.instance = undefined;
  }

  private async connect(): Promise<DuckDBConnection> {
    return (await (this.instance ??= this.createInstance())).connect();
  }

  private createInstance(): Promise<DuckDBInstance> {
    return DuckDBInstance.create(':memory:', { threads: String(this.options.threads ?? 2) });
  }
}

/** Every row as text (null stays null; nested values as JSON), the way Athena returns them. */
function rowsOf(reader: DuckDBResultReader): QueryRow[] {
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
