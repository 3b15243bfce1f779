/**
 * Local stand-ins for the sinks, with the AWS semantics (upsert by key, a newer version of a source
 * wins, a rerun replaces this source's rows), stored as Parquet under the local home so any tool
 * — and `etl query` — can read them:
 *
 * ```
 * <home>/sinks/dynamodb/<table>.parquet            one row per item (numbers as their exact text)
 * <home>/sinks/redshift/<schema>.<table>.parquet   the warehouse table, typed as in Redshift
 * ```
 *
 * `etl query` sees them as `dynamodb.<table>` and `redshift.<schema>_<table>`. A file is replaced
 * atomically (write + rename) under a lock folder, so a reader never sees half a table and two
 * local runs never interleave their writes.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { ObjectStore } from '../../core/ports';
import type { RedshiftSinkConfig } from '../../core/sinks';
import type {
  ItemTable,
  ItemWriteResult,
  SinkItem,
  SourceGuard,
  WarehouseLoadResult,
  WarehouseSink,
} from '../../sinks/ports';
import { warehouseStatements } from '../../sinks/redshift';
import { quoteIdentifier, sqlLiteral, withRunRows } from '../../sinks/rows';
import { SINK_META_COLUMNS, type SinkRun, type SinkTable } from '../../sinks/table';

const NAME = /^[A-Za-z0-9_.-]{1,255}$/;

/** Serialises writers of one file: in this process by a promise chain, across processes by a lock folder. */
const chains = new Map<string, Promise<unknown>>();
async function exclusive<T>(file: string, work: () => Promise<T>): Promise<T> {
  const previous = chains.get(file) ?? Promise.resolve();
  const next = previous
    .catch(() => undefined)
    .then(async () => {
      const lock = `${file}.lock`;
      await mkdir(path.dirname(file), { recursive: true });
      for (let waited = 0; ; waited += 50) {
        try {
          await mkdir(lock);
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          if (waited > 60_000)
            throw new Error(
              `${lock} held for over a minute: another run, or a crashed one (delete the folder)`,
              { cause: e },
            );
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      try {
        return await work();
      } finally {
        await rm(lock, { recursive: true, force: true });
      }
    });
  chains.set(file, next);
  return next;
}

/** Writes `select` (over `connection`) to `file` as Parquet, atomically. */
async function replaceParquet(
  connection: import('@duckdb/node-api').DuckDBConnection,
  select: string,
  file: string,
): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await connection.run(`COPY (${select}) TO ${sqlLiteral(tmp)} (FORMAT parquet, COMPRESSION snappy)`);
  await rename(tmp, file);
}

type StoredValue = string | boolean;

/** The DynamoDB sink's stand-in: one Parquet file per table, items as rows. */
export class LocalItemTable implements ItemTable {
  readonly file: string;

  constructor(
    sinksDir: string,
    tableName: string,
    private readonly key: readonly string[],
  ) {
    if (!NAME.test(tableName)) throw new Error(`"${tableName}" is not a DynamoDB table name`);
    this.file = path.join(sinksDir, 'dynamodb', `${tableName}.parquet`);
  }

  async putNewerWins(
    batches: AsyncIterable<readonly SinkItem[]>,
    guard: SourceGuard,
  ): Promise<ItemWriteResult> {
    const incoming: SinkItem[] = [];
    for await (const batch of batches) incoming.push(...batch);
    return exclusive(this.file, async () => {
      const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
      const connection = await instance.connect();
      try {
        const items = new Map<string, Record<string, StoredValue>>();
        if (existsSync(this.file)) {
          const reader = await connection.runAndReadAll(
            `SELECT * FROM read_parquet(${sqlLiteral(this.file)})`,
          );
          for (const row of reader.getRowObjectsJson()) {
            const stored = Object.fromEntries(
              Object.entries(row).filter(([, v]) => v !== null) as [string, StoredValue][],
            );
            items.set(this.keyOf(stored), stored);
          }
        }
        let written = 0;
        let skippedNewer = 0;
        for (const item of incoming) {
          const row = Object.fromEntries(
            Object.entries(item).map(([k, v]) => [k, 'BOOL' in v ? v.BOOL : 'N' in v ? v.N : v.S]),
          );
          const k = this.keyOf(row);
          const old = items.get(k);
          // The same condition as the DynamoDB adapter's PutItem.
          const oldOrder = old?.[SINK_META_COLUMNS.sourceOrder];
          if (
            guard.sourceOrder !== null &&
            old !== undefined &&
            typeof oldOrder === 'string' &&
            old[SINK_META_COLUMNS.sourceId] === guard.sourceId &&
            oldOrder > guard.sourceOrder
          ) {
            skippedNewer++;
            continue;
          }
          items.set(k, row);
          written++;
        }
        await this.write(connection, [...items.values()]);
        return { written, skippedNewer, retried: 0 };
      } finally {
        connection.closeSync();
        instance.closeSync();
      }
    });
  }

  private keyOf(row: Record<string, StoredValue>): string {
    return JSON.stringify(this.key.map((k) => row[k] ?? null));
  }

  private async write(
    connection: import('@duckdb/node-api').DuckDBConnection,
    rows: Record<string, StoredValue>[],
  ) {
    if (rows.length === 0) return;
    const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    // Key first, then the other attributes in first-seen order, then the bookkeeping.
    const meta = Object.values(SINK_META_COLUMNS) as string[];
    const ordered = [
      ...this.key,
      ...names.filter((n) => !this.key.includes(n) && !meta.includes(n)),
      ...meta.filter((n) => names.includes(n)),
    ];
    const types = Object.fromEntries(
      ordered.map((n) => [n, rows.some((r) => typeof r[n] === 'boolean') ? 'BOOLEAN' : 'VARCHAR']),
    );
    const jsonl = `${this.file}.${process.pid}.jsonl`;
    await writeFile(jsonl, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    try {
      const columns = `{${ordered.map((n) => `${sqlLiteral(n)}: ${sqlLiteral(types[n]!)}`).join(', ')}}`;
      await replaceParquet(
        connection,
        `SELECT ${ordered.map((n) => `"${n.replace(/"/g, '""')}"`).join(', ')} FROM read_json(${sqlLiteral(jsonl)}, format = 'newline_delimited', columns = ${columns}) ORDER BY ALL`,
        this.file,
      );
    } finally {
      await rm(jsonl, { force: true });
    }
  }
}

/**
 * The Redshift sink's stand-in: the warehouse table as Parquet, loaded with the SAME staging and
 * merge statements the Data API runs (sinks/redshift.ts), executed by DuckDB.
 */
export class LocalWarehouseSink implements WarehouseSink {
  constructor(
    private readonly sinksDir: string,
    private readonly store: ObjectStore,
  ) {}

  fileOf(target: Pick<RedshiftSinkConfig, 'schema' | 'table'>): string {
    return path.join(this.sinksDir, 'redshift', `${target.schema}.${target.table}.parquet`);
  }

  async load(run: SinkRun, table: SinkTable, target: RedshiftSinkConfig): Promise<WarehouseLoadResult> {
    const file = this.fileOf(target);
    return exclusive(file, () =>
      withRunRows(this.store, run, table, async ({ connection, view }) => {
        const statements = warehouseStatements(run, table, target, { lock: false });
        await connection.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(target.schema)}`);
        if (existsSync(file)) {
          await connection.run(
            `CREATE TABLE ${statements.target} AS SELECT * FROM read_parquet(${sqlLiteral(file)})`,
          );
        }
        for (const sql of statements.setup) await connection.run(sql);
        for (const sql of statements.createStage) await connection.run(sql);
        // What COPY does on Redshift: the run's rows into the staging table.
        const staged = await connection.run(`INSERT INTO ${statements.stage} SELECT * FROM ${view}`);
        let inserted = 0;
        await connection.run('BEGIN TRANSACTION');
        try {
          for (const sql of statements.merge) {
            const result = await connection.run(sql);
            if (sql.startsWith('INSERT')) inserted = Number(result.rowsChanged);
          }
          await connection.run('COMMIT');
        } catch (e) {
          await connection.run('ROLLBACK');
          throw e;
        }
        await replaceParquet(connection, `SELECT * FROM ${statements.target}`, file);
        return { rowsLoaded: inserted, skippedNewer: inserted === 0 && Number(staged.rowsChanged) > 0 };
      }),
    );
  }
}

/** The stand-ins' files as `etl query` views: `dynamodb.<table>`, `redshift.<schema>_<table>`. */
export function localSinkViews(sinksDir: string): { schema: string; view: string; file: string }[] {
  const views: { schema: string; view: string; file: string }[] = [];
  for (const kind of ['dynamodb', 'redshift'] as const) {
    const dir = path.join(sinksDir, kind);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.parquet')) continue;
      views.push({
        schema: kind,
        view: name.slice(0, -'.parquet'.length).replace(/\./g, '_'),
        file: path.join(dir, name),
      });
    }
  }
  return views;
}
