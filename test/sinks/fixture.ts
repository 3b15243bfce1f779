/**
 * A curated run as the transform leaves it, built with DuckDB: one Parquet object per day under
 * `curated/<dataset>/event_date=<day>/<sourceId>.snappy.parquet` (the partition column only in the
 * folder, as a date partitioned by day is), put through any ObjectStore.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { lake } from '../../core/layout';
import type { ObjectStore } from '../../core/ports';
import type { SinkRun, SinkTable } from '../../sinks/table';

export const DATASET = 'payments';

export interface PaymentRow {
  readonly id: string;
  /** DECIMAL(38,10) as text: more digits than a double holds. */
  readonly amount: string;
  readonly paid_at: string;
  readonly settled: boolean;
  readonly note: string | null;
  readonly event_date: string;
}

export const PAYMENTS: SinkTable = {
  dataset: DATASET,
  columns: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'decimal', precision: 38, scale: 10 },
    { name: 'paid_at', type: 'timestamp' },
    { name: 'settled', type: 'boolean' },
    { name: 'note', type: 'string' },
    { name: 'event_date', type: 'date' },
  ],
  key: ['id'],
  folderColumn: 'event_date',
};

/** A fixed-width order key (core/events) from a small number: higher = newer. */
export const orderKey = (n: number) => n.toString(16).toUpperCase().padStart(64, '0');

const lit = (v: string | null) => (v === null ? 'NULL' : `'${v.replace(/'/g, "''")}'`);

export async function putCuratedRun(
  store: ObjectStore,
  bucket: string,
  run: { sourceId: string; versionTag: string; order: number | null; runId?: string },
  rows: readonly PaymentRow[],
): Promise<SinkRun> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sink-fixture-'));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const objects: string[] = [];
  try {
    for (const day of [...new Set(rows.map((r) => r.event_date))].sort()) {
      const values = rows
        .filter((r) => r.event_date === day)
        .map(
          (r) =>
            `(${lit(r.id)}, CAST(${lit(r.amount)} AS DECIMAL(38,10)), CAST(${lit(r.paid_at)} AS TIMESTAMPTZ), ${r.settled}, CAST(${lit(r.note)} AS VARCHAR))`,
        )
        .join(', ');
      const file = path.join(dir, `${day}.parquet`);
      await connection.run(
        `COPY (SELECT * FROM (VALUES ${values}) AS t(id, amount, paid_at, settled, note)) TO '${file}' (FORMAT parquet, COMPRESSION snappy)`,
      );
      const key = lake.curatedObject(DATASET, 'event_date', day, run.sourceId);
      await store.put(bucket, key, readFileSync(file));
      objects.push(key);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    runId: run.runId ?? `run-${run.versionTag}`,
    dataset: DATASET,
    sourceId: run.sourceId,
    versionTag: run.versionTag,
    sourceOrder: run.order === null ? null : orderKey(run.order),
    bucket,
    objects,
  };
}

export const row = (over: Partial<PaymentRow> & { id: string }): PaymentRow => ({
  amount: '12345678901234567890.0123456789',
  paid_at: '2026-03-01T10:15:30.123456Z',
  settled: true,
  note: null,
  event_date: '2026-03-01',
  ...over,
});
