/**
 * CSV staging (core/staging.ts, issue 13): the validate step's checked fast path writes the good
 * records as they were (plan.json `stagingCsv`) plus a JSON Lines part of the rows JavaScript
 * staged, and the DuckDB transform reads them. The same file validated with Parquet staging must
 * transform to exactly the same curated rows and counts; staging that does not add up is refused.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { registrationsCsvText } from '../../bench/registrations-generator';
import { DEFAULT_SCHEMAS_DIR } from '../../core/contract';
import { TransformFailedError } from '../../core/errors';
import type { TransformPlan } from '../../core/plan';
import type { ValidateResult } from '../../core/steps';
import { validateObject } from '../../functions/validate/validate';
import { runTransformOnStore } from '../../transform/duckdb';
import { runSparkTransforms } from '../../transform/spark';
import { requirePythonSide } from '../support/python';
import { LAKE, TestLake } from '../validate/harness';

jest.setTimeout(120_000);

const lakes: TestLake[] = [];
afterAll(() => lakes.forEach((l) => l.dispose()));

// Quoted line breaks, doubled quotes, short/long rows, bad values, duplicates: the bench generator;
// then the cell forms whose reading differs most between CSV readers and casts: `""` (an empty
// text) against an unquoted empty (NULL), CRLF inside quotes and as a line end, non-ASCII, a quoted
// delimiter, timestamps with offsets, a space separator, no zone, six fraction digits; `-0` and an
// unpadded decimal; a quoted number.
const generated = registrationsCsvText({ rows: 20_000, seed: 7 }).text;
const text =
  generated +
  [
    'REG-90000001,EVT-0001,2024-03-01,a@example.com,vip,1,10.5,EUR,2024-03-01 10:00:00+02:00,""',
    'REG-90000002,EVT-0001,2024-03-01,b@example.com,vip,2,-0,EUR,2024-03-01T23:59:59.123456-05:30,',
    'REG-90000003,EVT-0002,"2024-03-02",c@example.com,general,"3",0.5,USD,2024-03-02T01:02:03,"é ü ""quoted"", comma\r\nsecond line"',
    'REG-90000004,EVT-0002,2024-03-02,d@example.com,student,100,1000000,JPY,2024-03-02T01:02:03.1Z,"=1+2"',
    'REG-90000005,EVT-0002,2024-03-02,e@example.com,speaker,4,7,GBP,2024-12-31T23:59:59+14:00,"naïve, ""déjà"" vu"',
  ].join('\r\n') +
  '\r\n';

async function validated(
  stagingFormat: 'csv' | 'parquet',
): Promise<{ lake: TestLake; result: ValidateResult; plan: TransformPlan }> {
  const lake = new TestLake();
  lakes.push(lake);
  const source = await lake.upload('incoming/registrations/registrations.csv', text);
  const result = await validateObject(
    {
      store: lake.store,
      lakeBucket: LAKE,
      schemasDir: DEFAULT_SCHEMAS_DIR,
      fastPath: true,
      parallel: false,
      fastPathChunkBytes: 256 * 1024, // several CSV parts
      stagingFormat,
    },
    { runId: 'run-csv-staging', source },
  );
  const plan = await lake.json<TransformPlan>(`${result.staging.key}plan.json`);
  return { lake, result, plan: plan as unknown as TransformPlan };
}

async function transform(v: Awaited<ReturnType<typeof validated>>, plan = v.plan) {
  return runTransformOnStore({
    store: v.lake.store,
    lakeBucket: LAKE,
    scratchDir: path.join(v.lake.root, 'scratch'),
    stagingPrefix: v.result.staging.key,
    plan,
    sourceId: v.result.sourceId,
    versionTag: v.result.versionTag,
  });
}

/** Every row of these Parquet files, as sortable JSON text. */
async function parquetRows(files: readonly string[]): Promise<string[]> {
  if (files.length === 0) return [];
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    const list = files.map((f) => `'${f}'`).join(', ');
    const rows = (
      await connection.runAndReadAll(`SELECT * FROM read_parquet([${list}], hive_partitioning = false)`)
    ).getRows();
    return rows
      .map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))
      .sort();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Every curated row of a lake, as sortable JSON text. */
async function curatedRows(lake: TestLake): Promise<string[]> {
  const keys = (await lake.keys('curated/')).filter((k) => k.endsWith('.parquet'));
  return parquetRows(keys.map((k) => lake.store.pathOf(LAKE, k)));
}

test('a file transforms from CSV staging to exactly what it transforms to from Parquet staging', async () => {
  const csv = await validated('csv');
  const parquet = await validated('parquet');
  expect(csv.result.stagingFormat).toBe('csv');
  expect(parquet.result.stagingFormat).toBe('parquet');
  const parts = (await csv.lake.keys(csv.result.staging.key)).map((k) => path.basename(k));
  expect(parts.filter((p) => p.endsWith('.csv')).length).toBeGreaterThan(1);
  expect(parts.filter((p) => p.endsWith('.jsonl')).length).toBe(1); // rows only JavaScript vouched for
  expect(parts.some((p) => p.endsWith('.parquet'))).toBe(false);
  expect(csv.plan.stagingCsv).toMatchObject({
    delimiter: ',',
    quote: '"',
    fields: 10,
    rows: csv.result.rowsValid,
  });
  expect(parquet.plan.stagingCsv).toBeUndefined();

  const a = await transform(csv);
  const b = await transform(parquet);
  expect(a).toMatchObject({
    rowsIn: b.rowsIn,
    rowsOut: b.rowsOut,
    exactDuplicates: b.exactDuplicates,
  });
  expect(a.rowsIn).toBe(csv.result.rowsValid);
  const rows = await curatedRows(csv.lake);
  expect(rows.length).toBe(a.rowsOut);
  expect(rows).toEqual(await curatedRows(parquet.lake));
});

test('CSV staging with no CSV part (every good row staged by the JavaScript checker) transforms from its JSON Lines part', async () => {
  // Every row has a formula-looking note: its record goes to the checker for the report's samples,
  // so the byte pass copies none and the layout's longest line is 0.
  const header = registrationsCsvText({ rows: 1, seed: 3 }).text.split(/\r?\n/)[0]!;
  const rows = Array.from(
    { length: 40 },
    (_, i) =>
      `REG-${90000100 + i},EVT-0001,2024-03-0${1 + (i % 9)},p${i}@example.com,vip,1,10.50,EUR,2024-03-01T10:00:00Z,=1+2`,
  );
  const lake = new TestLake();
  lakes.push(lake);
  const source = await lake.upload(
    'incoming/registrations/formulas.csv',
    `${[header, ...rows].join('\n')}\n`,
  );
  const result = await validateObject(
    { store: lake.store, lakeBucket: LAKE, schemasDir: DEFAULT_SCHEMAS_DIR, stagingFormat: 'csv' },
    { runId: 'run-csv-staging', source },
  );
  expect(result.stagingFormat).toBe('csv');
  expect(result.rowsValid).toBeGreaterThan(0);
  const parts = (await lake.keys(result.staging.key)).map((k) => path.basename(k));
  expect(parts.filter((p) => p.endsWith('.csv'))).toEqual([]);
  const plan = await lake.json<TransformPlan>(`${result.staging.key}plan.json`);
  expect(plan.stagingCsv).toMatchObject({ maxLineBytes: 0, rows: result.rowsValid });
  const out = await transform({ lake, result, plan });
  expect(out.rowsIn).toBe(result.rowsValid);
  expect((await curatedRows(lake)).length).toBe(out.rowsOut);
});

/**
 * Writes `value` into `column` of the first CSV staging line of part-00000.csv with no quote in it
 * (fields split on the comma as they are), as staging the validate step never writes; its `_line`.
 */
async function replaceStagedValue(
  v: Awaited<ReturnType<typeof validated>>,
  column: string,
  value: string,
): Promise<string> {
  const part = (await v.lake.keys(v.result.staging.key)).find((k) => k.endsWith('part-00000.csv'))!;
  const lines = (await v.lake.text(part)).split('\n');
  const at = lines.findIndex((l) => l.length > 0 && !l.includes('"'));
  const fields = lines[at]!.split(',');
  fields[1 + v.plan.stagingCsv!.columnFields[column]!] = value;
  lines[at] = fields.join(',');
  await v.lake.store.put(LAKE, part, lines.join('\n'));
  return fields[0]!;
}

test('CSV staging that does not add up is refused, naming what and how to fix it', async () => {
  const v = await validated('csv');
  const layout = v.plan.stagingCsv!;
  // The layout is in plan.json: without it the parts cannot be read.
  const { stagingCsv: _dropped, ...bare } = v.plan;
  await expect(transform(v, bare as TransformPlan)).rejects.toThrow(
    /holds CSV parts \(part-00000\.csv\) but its plan\.json has no stagingCsv layout\. Fix: re-run the validate step/,
  );
  // A row count that is not the validate step's.
  await expect(transform(v, { ...v.plan, stagingCsv: { ...layout, rows: layout.rows + 1 } })).rejects.toThrow(
    new RegExp(`CSV staging parts read as ${layout.rows} rows, the validate step staged ${layout.rows + 1}`),
  );
  // A value the byte checks would never have passed: the CAST fails the statement (no NULL is
  // staged), and the error names the staging line, column, value and part, as the Glue job does.
  const line = await replaceStagedValue(v, 'quantity', 'many');
  const failed = await transform(v).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(failed).toBeInstanceOf(TransformFailedError);
  expect((failed as Error).message).toContain(
    `staging line ${line}, column quantity: "many" is not a valid integer in CSV staging (part-00000.csv). Fix: staging must be exactly what the validate step writes`,
  );
  expect(await curatedRows(v.lake)).toEqual([]); // nothing published

  // The same for a decimal, in the Glue job's words for its type.
  const d = await validated('csv');
  const dLine = await replaceStagedValue(d, 'amount', '12.345.6');
  const amount = d.plan.stagingTypes.amount as { precision: number; scale: number };
  await expect(transform(d)).rejects.toThrow(
    `staging line ${dLine}, column amount: "12.345.6" is not a valid decimal(${amount.precision},${amount.scale}) in CSV staging (part-00000.csv)`,
  );
});

const sparkAvailable = requirePythonSide('spark', 'CSV staging on the Glue job');

(sparkAvailable ? test : test.skip)(
  'the Glue job (local Spark) transforms CSV staging to exactly what DuckDB makes of Parquet staging',
  async () => {
    const csv = await validated('csv');
    const parquet = await validated('parquet');
    expect(csv.result.stagingFormat).toBe('csv');
    const expected = await transform(parquet);
    const work = mkdtempSync(path.join(tmpdir(), 'etl-csv-staging-spark-'));
    try {
      // The staging prefix as a folder, as the job reads it on Glue (S3) or locally.
      const stagingDir = path.join(work, 'staging');
      mkdirSync(stagingDir);
      for (const key of await csv.lake.keys(csv.result.staging.key))
        writeFileSync(
          path.join(stagingDir, path.basename(key)),
          readFileSync(csv.lake.store.pathOf(LAKE, key)),
        );
      /** The Glue job on local Spark over that staging, with `plan`, into the lake folder `lake`. */
      const sparkOn = async (plan: typeof csv.plan, lake: string) =>
        (
          await runSparkTransforms([
            {
              plan,
              sourceId: csv.result.sourceId,
              versionTag: csv.result.versionTag,
              stagingDir,
              lakeDir: path.join(work, lake),
            },
          ])
        )[0];
      const outcome = await sparkOn(csv.plan, 'lake');
      if (!outcome!.ok) throw outcome!.error;
      expect(outcome!.manifest).toMatchObject({
        engine: 'spark',
        rowsIn: expected.rowsIn,
        rowsOut: expected.rowsOut,
        exactDuplicates: expected.exactDuplicates,
        partitions: expected.partitions,
      });
      const lakeDir = path.join(work, 'lake');
      const rows = await parquetRows(outcome!.manifest.objects.map((k) => path.join(lakeDir, k)));
      expect(rows.length).toBe(expected.rowsOut);
      expect(rows).toEqual(await curatedRows(parquet.lake));
      // The crafted rows passed the byte checks (they are in the CSV parts, not the JavaScript
      // checker's JSON Lines part), and are in the lake as DuckDB stages them from Parquet.
      const csvParts = (await csv.lake.keys(csv.result.staging.key)).filter((k) => k.endsWith('.csv'));
      const csvText = (await Promise.all(csvParts.map((k) => csv.lake.text(k)))).join('');
      for (let n = 1; n <= 5; n++) expect(csvText).toContain(`,REG-9000000${n},`);
      const crafted = rows.filter((r) => r.includes('REG-9000000'));
      expect(crafted.length).toBe(5);
      expect(crafted.join('\n')).toContain('é ü \\"quoted\\", comma\\r\\nsecond line');

      // A row count that is not the validate step's stops the job before anything is published.
      const wrong = {
        ...csv.plan,
        stagingCsv: { ...csv.plan.stagingCsv!, rows: csv.plan.stagingCsv!.rows + 1 },
      };
      const refused = await sparkOn(wrong, 'lake-wrong');
      expect(refused!.ok).toBe(false);
      expect(!refused!.ok && refused!.error.message).toMatch(
        new RegExp(
          `CSV staging parts read as ${csv.plan.stagingCsv!.rows} rows, the validate step staged ${csv.plan.stagingCsv!.rows + 1}`,
        ),
      );

      // A value the byte checks would never have passed fails the job naming its staging line and
      // column (no NULL is staged for it).
      const part = path.join(stagingDir, 'part-00000.csv');
      const lines = readFileSync(part, 'utf8').split('\n');
      const plain = lines.findIndex((l) => l.length > 0 && !l.includes('"'));
      const fields = lines[plain]!.split(',');
      fields[1 + csv.plan.stagingCsv!.columnFields.quantity!] = 'many';
      lines[plain] = fields.join(',');
      writeFileSync(part, lines.join('\n'));
      const bad = await sparkOn(csv.plan, 'lake-bad');
      expect(bad!.ok).toBe(false);
      expect(!bad!.ok && bad!.error.message).toContain(
        `staging line ${fields[0]}, column quantity: "many" is not a valid integer in CSV staging`,
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
);
