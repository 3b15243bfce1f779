/**
 * The ceiling for the transform: one hand-written DuckDB statement doing the same work as the
 * embedded engine — read staging, cast each column to its SQL type, keep one row per key (latest
 * first, ties by line), write Snappy Parquet partitioned by the plan's partition (month for registrations), one file per partition — with none
 * of the engine's safety (no canonical-text checks, no temp folder + publish, no manifest).
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { DuckDBInstance } from '@duckdb/node-api';
import { findContract } from '../../core/contract';
import { compilePlan, LINE_COLUMN, type PlanColumn } from '../../core/plan';
import { runAsWorker, stagingParts } from './worker';

function sqlType(c: PlanColumn): string {
  switch (c.type) {
    case 'integer':
      return 'BIGINT';
    case 'decimal':
      return `DECIMAL(${c.precision}, ${c.scale})`;
    case 'date':
      return 'DATE';
    case 'timestamp':
      return 'TIMESTAMPTZ';
    case 'double':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'string':
      return 'VARCHAR';
  }
}

runAsWorker<{ stagingDir: string; outDir: string; dataset: string }>(
  async ({ stagingDir, outDir, dataset }, clock) => {
    const plan = compilePlan(findContract(dataset)!);
    const { files: parts, bytes } = stagingParts(stagingDir);
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    clock.restart();
    const db = await DuckDBInstance.create(':memory:', {
      threads: String(availableParallelism()),
      preserve_insertion_order: 'false',
    });
    const sql = await db.connect();
    // Paths and names here come from the bench itself, not from users: plain quoting is enough.
    const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
    const id = (s: string) => `"${s}"`;
    const columns = [
      ...plan.stagingColumns.map((c) => `${id(c)}: 'VARCHAR'`),
      `${id(LINE_COLUMN)}: 'BIGINT'`,
    ];
    const typed = plan.columns.map((c) => `CAST(${id(c.source)} AS ${sqlType(c)}) AS ${id(c.name)}`);
    const byName = new Map(plan.columns.map((c) => [c.source, c]));
    // The bench runs the registrations plan: it has a key and a date partition (by month since
    // issue 12: the folder value is derived from the date column, which stays in the files).
    const dedupe = plan.dedupe!;
    const partition = plan.partition!;
    if (partition.keepColumn) {
      const source = byName.get(partition.source)!;
      const format = { day: '%Y-%m-%d', month: '%Y-%m', year: '%Y' }[partition.granularity ?? 'day'];
      typed.push(
        `strftime(CAST(${id(partition.source)} AS ${sqlType(source)}), '${format}') AS ${id(partition.name)}`,
      );
    }
    const order = dedupe.orderBy
      .map((o) => {
        const c = byName.get(o.column);
        const expr = c ? `CAST(${id(o.column)} AS ${sqlType(c)})` : id(o.column);
        return `${expr} ${o.direction.toUpperCase()} NULLS LAST`;
      })
      .join(', ');
    await sql.run(`SET TimeZone = 'UTC'`);
    await sql.run(`SET partitioned_write_max_open_files = 100000`);
    const result = await sql.runAndReadAll(
      `COPY (SELECT ${typed.join(', ')} FROM read_json([${parts.map(q).join(', ')}], columns = {${columns.join(', ')}}, ` +
        `format = 'newline_delimited', records = true) ` +
        `QUALIFY row_number() OVER (PARTITION BY ${dedupe.key.map(id).join(', ')} ORDER BY ${order}) = 1) ` +
        `TO ${q(outDir)} (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (${id(partition.name)}))`,
    );
    const rowsOut = Number(result.getRows()[0]![0]);
    sql.closeSync();
    db.closeSync();
    const files = readdirSync(outDir, { recursive: true }).filter((f) => String(f).endsWith('.parquet'));
    return {
      bytes,
      rows: rowsOut,
      details: { files: files.length },
    };
  },
);
