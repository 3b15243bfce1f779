/**
 * When DuckDB splits one day over several files (a COPY over more days than open writers, on
 * hundreds of thousands of rows), the engine merges them back into the one object per
 * (source file, day) the layout promises. Arranged here with hand-made split files, because the
 * split only happens at sizes too large for a fixture.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { onePerPartition } from '../../transform/duckdb';
import { filesUnder, lit } from './lake-fixture';

let instance: DuckDBInstance;
let connection: DuckDBConnection;
let work: string;
beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  connection = await instance.connect();
});
afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});
beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'transform-merge-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** Writes `ids` as one Parquet piece of a day, the way DuckDB's partitioned COPY names them. */
async function piece(batchDir: string, day: string, name: string, ids: number[]): Promise<void> {
  const dir = path.join(batchDir, `event_date=${day}`);
  mkdirSync(dir, { recursive: true });
  await connection.run(
    `COPY (SELECT i AS id, 'row ' || i AS note, CAST(i AS DECIMAL(12,2)) AS amount FROM unnest([${ids.join(',')}]) t(i))
     TO ${lit(path.join(dir, name))} (FORMAT parquet, COMPRESSION snappy)`,
  );
}

test('a day split over three files becomes one Snappy file with every row and the same columns', async () => {
  const batch0 = path.join(work, 'out', '0');
  const batch1 = path.join(work, 'out', '1');
  await piece(batch0, '2024-01-01', 'part_0.parquet', [1, 2]);
  await piece(batch0, '2024-01-01', 'part_1.parquet', [3]);
  await piece(batch0, '2024-01-01', 'part_2.parquet', [4, 5, 6]);
  await piece(batch0, '2024-01-02', 'part_0.parquet', [7]);
  await piece(batch1, '2024-02-01', 'part_0.parquet', [8, 9]);

  const staged = await onePerPartition(connection, 'merge test', 'event_date', [batch0, batch1], work);

  expect(staged).toEqual([
    { day: '2024-01-01', file: path.join(work, '2024-01-01.snappy.parquet') },
    { day: '2024-01-02', file: path.join(work, '2024-01-02.snappy.parquet') },
    { day: '2024-02-01', file: path.join(work, '2024-02-01.snappy.parquet') },
  ]);
  const merged = lit(staged[0]!.file);
  const rows = (
    await connection.runAndReadAll(
      `SELECT id, note, CAST(amount AS VARCHAR) AS amount FROM ${merged} ORDER BY id`,
    )
  ).getRowObjectsJson();
  expect(rows.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(rows[3]).toEqual({ id: 4, note: 'row 4', amount: '4.00' });
  const schema = (
    await connection.runAndReadAll(
      `SELECT name, converted_type FROM parquet_schema(${merged}) WHERE name <> 'duckdb_schema'`,
    )
  ).getRowObjectsJson();
  expect(schema).toEqual([
    { name: 'id', converted_type: 'INT_32' },
    { name: 'note', converted_type: 'UTF8' },
    { name: 'amount', converted_type: 'DECIMAL' },
  ]);
  const codecs = (
    await connection.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata(${merged})`)
  ).getRowObjectsJson();
  expect(codecs).toEqual([{ compression: 'SNAPPY' }]);
  // Single files were moved, not copied; the merged pieces stay behind in the temp folder only.
  expect(filesUnder(path.join(work, 'out'))).toEqual([
    '0/event_date=2024-01-01/part_0.parquet',
    '0/event_date=2024-01-01/part_1.parquet',
    '0/event_date=2024-01-01/part_2.parquet',
  ]);
});

test('a folder DuckDB should never write is refused as an engine bug', async () => {
  // Hive's folder for a null value: a partition key is never null, so DuckDB must never write it.
  mkdirSync(path.join(work, 'out', '0', 'event_date=__HIVE_DEFAULT_PARTITION__'), { recursive: true });

  await expect(
    onePerPartition(connection, 'merge test', 'event_date', [path.join(work, 'out', '0')], work),
  ).rejects.toThrow(/unexpected partition folder "event_date=__HIVE_DEFAULT_PARTITION__"/);
});
