/**
 * Differential test of the DuckDB fast path (csv/sql-validate.ts) against the JavaScript path:
 * on generated hostile and well-formed files for every column type and constraint, the shipped
 * contracts and the validate fixtures, both paths must leave the same rejects.jsonl (reason,
 * message, line — byte for byte), the same report.json (counts, reasons, first errors, formula
 * cells, ambiguous local times, rejection) and the same result, and staged rows that are equal
 * once typed (the JavaScript path's JSON Lines cast to the Parquet staging types with DuckDB, then
 * compared with the fast path's Parquet parts row for row, `_line` included).
 *
 * Where the fast path declines a file it must say why in report.json and still match; the
 * generated well-formed files must NOT be declined (else this test would prove nothing).
 */
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { mulberry32, registrationsCsvText } from '../../bench/registrations-generator';
import { DEFAULT_SCHEMAS_DIR } from '../../core/contract';
import { FileRejectedError } from '../../core/errors';
import type { SourceObject } from '../../core/events';
import { LINE_COLUMN, type TransformPlan } from '../../core/plan';
import { STAGING_SUCCESS } from '../../core/staging';
import { SAMPLE_EVERY, RecordIndexer } from '../../csv/record-index';
import { DEFAULT_LIMITS, type ValidateLimits } from '../../csv/record-validator';
import { loadCompiledContract } from '../../csv/row-checker';
import { checkSamples, DeclineFastPathError } from '../../csv/sql-validate';
import { FAST_PATH_MIN_BYTES, validateObject } from '../../functions/validate/validate';
import { csvStagingRows } from '../../transform/duckdb';
import { writeParquetStaging } from '../support/parquet-staging';
import { FIXTURES, LAKE, TestLake, TEST_SCHEMAS } from './harness';

jest.setTimeout(240_000);

let lake: TestLake;
let work: string;
beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'etl-sql-diff-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const withoutTimes = (text: string) =>
  text.replace(/"(startedAt|finishedAt|durationMs)": [^,\n]+/g, '"$1": "…"');

interface Outcome {
  readonly result: Record<string, unknown>;
  readonly report: Record<string, unknown> | undefined;
  readonly rejects: string | undefined;
  readonly stagingDir: string | undefined;
  readonly plan: TransformPlan | undefined;
  /** The step's stagingBytes (masked in `result`: the fast path estimates it). */
  readonly stagingBytes: number | undefined;
  /** The step's stagingFormat (masked in `result`: the paths differ in it by design). */
  readonly stagingFormat: string | undefined;
}

/**
 * `ETL_STAGING_FORMAT=csv` (sql-fast-path-csv-staging.test.ts): the checked fast path writes CSV
 * staging, read here through the transform's own reader (transform/duckdb.ts csvStagingRows).
 */
const CSV_STAGING = process.env.ETL_STAGING_FORMAT === 'csv';

/**
 * report.json `csv.reader` when a fast path read the file: 'checked' (the byte checks; every
 * contract here has them), or 'duckdb' when `ETL_FASTPATH_CHECKS=sql` sends it to the SQL path.
 */
const FAST_READER = process.env.ETL_FASTPATH_CHECKS === 'sql' ? 'duckdb' : 'checked';

/** The fast path's chunk size for the next files (undefined: its default). */
let chunkBytes: number | undefined;
let limits: Partial<ValidateLimits> | undefined;

async function run(source: SourceObject, fast: boolean, schemasDir: string, tag: string): Promise<Outcome> {
  let result: Record<string, unknown>;
  let stagingBytes: number | undefined;
  let stagingFormat: string | undefined;
  try {
    const r = await validateObject(
      {
        store: lake.store,
        lakeBucket: LAKE,
        schemasDir,
        fastPath: fast,
        parallel: false,
        ...(chunkBytes !== undefined && { fastPathChunkBytes: chunkBytes }),
        ...(limits !== undefined && { limits }),
      },
      { runId: 'run-diff', source },
    );
    stagingBytes = r.stagingBytes;
    stagingFormat = r.stagingFormat;
    result = { ...r, stagingBytes: '…', stagingFormat: '…' };
  } catch (e) {
    if (!(e instanceof FileRejectedError)) throw e;
    result = { rejected: e.reason, message: e.message, details: e.details };
  }
  const keys = await lake.keys('');
  const find = (suffix: string) => keys.find((k) => k.endsWith(suffix));
  const reportKey = find('report.json');
  const report = reportKey
    ? (JSON.parse(withoutTimes(await lake.text(reportKey))) as Record<string, unknown>)
    : undefined;
  const rejectsKey = find('rejects.jsonl');
  const rejects = rejectsKey ? await lake.text(rejectsKey) : undefined;
  const planKey = find('plan.json');
  const plan = planKey ? (JSON.parse(await lake.text(planKey)) as TransformPlan) : undefined;
  // Copy the staging parts out: the next run replaces them.
  let stagingDir: string | undefined;
  const parts = keys.filter((k) => k.startsWith('staging/') && /part-\d{5}\.(jsonl|parquet|csv)$/.test(k));
  if (find(STAGING_SUCCESS)) {
    stagingDir = path.join(work, tag);
    mkdirSync(stagingDir, { recursive: true });
    for (const k of parts) {
      const chunks: Buffer[] = [];
      for await (const c of await lake.store.get({ bucket: LAKE, key: k })) chunks.push(c as Buffer);
      writeFileSync(path.join(stagingDir, path.basename(k)), Buffer.concat(chunks));
    }
  }
  return { result, report, rejects, stagingDir, plan, stagingBytes, stagingFormat };
}

/** Rows of a Parquet staging folder, typed, as sortable text (`_line` first). */
async function parquetRows(dir: string, plan: TransformPlan): Promise<string[]> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.parquet'));
  if (files.length === 0) return [];
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    const list = files.map((f) => `'${path.join(dir, f)}'`).join(', ');
    const cols = [LINE_COLUMN, ...plan.stagingColumns].map((c) => `"${c}"`);
    // Each part's schema must be exactly the staging contract.
    for (const f of files) {
      const described = (
        await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${path.join(dir, f)}')`)
      ).getRows();
      expect(described.map((r) => r[0])).toEqual([...plan.stagingColumns, LINE_COLUMN]);
    }
    const rows = (
      await connection.runAndReadAll(
        `SELECT ${cols.join(', ')} FROM read_parquet([${list}]) ORDER BY "${LINE_COLUMN}"`,
      )
    ).getRows();
    return rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * Rows of a CSV staging folder (and its JSON Lines part), typed by the transform's reader, as
 * sortable text like {@link parquetRows}. Two threads: DuckDB's parallel CSV reader, as the
 * transform runs it, over records with line breaks inside quotes.
 */
async function csvStagingRowsOf(dir: string, plan: TransformPlan): Promise<string[]> {
  const files = readdirSync(dir)
    .filter((f) => /^part-\d{5}\.(csv|jsonl)$/.test(f))
    .map((f) => path.join(dir, f));
  if (!files.some((f) => f.endsWith('.csv'))) {
    // Every row went through the JavaScript checker: its JSON Lines part alone, typed as usual.
    const typed = `${dir}-typed`;
    expect(await writeParquetStaging(plan, dir, typed)).toEqual([]);
    return parquetRows(typed, plan);
  }
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    const cols = [LINE_COLUMN, ...plan.stagingColumns].map((c) => `"${c}"`);
    const rows = (
      await connection.runAndReadAll(
        `SELECT ${cols.join(', ')} FROM ${csvStagingRows(plan, files)} ORDER BY "${LINE_COLUMN}"`,
      )
    ).getRows();
    expect(rows.length).toBe(plan.stagingCsv!.rows);
    return rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Runs one file through both paths and requires the same outcome. Returns the fast path's report. */
let calls = 0;
async function same(key: string, bytes: Buffer | string, schemasDir = TEST_SCHEMAS) {
  lake = new TestLake(); // one lake per file: every object in it is this file's
  try {
    return await compare(key, bytes, schemasDir);
  } finally {
    await lake.expectLandingIntact();
    lake.dispose();
  }
}

async function compare(key: string, bytes: Buffer | string, schemasDir: string) {
  const source = await lake.upload(key, bytes);
  const n = ++calls;
  const js = await run(source, false, schemasDir, `js-${n}`);
  const fast = await run(source, true, schemasDir, `fast-${n}`);
  expect(fast.result).toEqual(js.result);
  expect(fast.rejects).toEqual(js.rejects);
  const csvOf = (r: Record<string, unknown> | undefined) =>
    r?.csv as { reader: string; fastPathLeft?: string } | undefined;
  expect({ ...fast.report, csv: undefined }).toEqual({ ...js.report, csv: undefined });
  const { stagingCsv, ...fastPlan } = fast.plan ?? {};
  expect(fast.plan && (fastPlan as TransformPlan)).toEqual(js.plan);
  // CSV staging exactly when the checked path read the file and was asked to write it.
  const checkedPath = csvOf(fast.report)?.reader === 'checked';
  expect(stagingCsv !== undefined).toBe(CSV_STAGING && checkedPath && js.stagingDir !== undefined);
  if (!('rejected' in fast.result))
    expect(fast.stagingFormat).toBe(
      stagingCsv ? 'csv' : csvOf(fast.report)?.reader === FAST_READER ? 'parquet' : 'jsonl',
    );
  // The transform is routed on stagingBytes: DuckDB's estimate stays near the JSON Lines bytes
  // the JavaScript path writes (measured: 0.99 on the generated registrations files, 0.90–1.08 on
  // the few-row fixtures, where one row's quoting moves the share).
  if (js.stagingBytes && fast.stagingBytes !== undefined)
    expect(Math.abs(fast.stagingBytes / js.stagingBytes - 1)).toBeLessThan(
      js.stagingBytes > 100_000 ? 0.02 : 0.15,
    );
  expect(fast.stagingDir === undefined).toBe(js.stagingDir === undefined);
  if (fast.stagingDir && js.stagingDir && fast.plan) {
    const fastCsv = csvOf(fast.report);
    const typedJs = path.join(work, `js-typed-${n}`);
    const mismatched = await writeParquetStaging(fast.plan, js.stagingDir, typedJs);
    expect(mismatched).toEqual([]);
    const want = await parquetRows(typedJs, fast.plan);
    let got: string[];
    if (stagingCsv) got = await csvStagingRowsOf(fast.stagingDir, fast.plan);
    else if (fastCsv?.reader === FAST_READER) got = await parquetRows(fast.stagingDir, fast.plan);
    else {
      // Declined: the usual path wrote JSON Lines, typed here the same way.
      const typedFast = path.join(work, `fast-typed-${n}`);
      expect(await writeParquetStaging(fast.plan, fast.stagingDir, typedFast)).toEqual([]);
      got = await parquetRows(typedFast, fast.plan);
    }

    expect(got).toEqual(want);
  }
  return csvOf(fast.report);
}

// ---------------------------------------------------------------------------------------------
// Generated files: every type and constraint, hostile and well-formed values
// ---------------------------------------------------------------------------------------------

const CONTRACT = {
  version: 2,
  table: 'kinds',
  csv: { delimiter: ',', quote: '"', escape: '"', encoding: 'utf-8', header: 'anyOrder' },
  columns: [
    { name: 'id', type: 'string', required: true, pattern: '^ID-[0-9]{3}$' },
    { name: 's', type: 'string', maxLength: 5, minLength: 1 },
    { name: 'e', type: 'string', format: 'email' },
    { name: 'k', type: 'string', enum: ['a', 'b', 'c d'] },
    { name: 'i', type: 'integer', minimum: -5, maximum: 1000000 },
    { name: 'i2', type: 'integer' },
    { name: 'd', type: 'decimal', precision: 6, scale: 2, minimum: 0 },
    { name: 'd0', type: 'decimal', precision: 3, scale: 0 },
    { name: 'f', type: 'double', maximum: 1000000 },
    { name: 'b', type: 'boolean' },
    { name: 'dt', type: 'date' },
    { name: 'ts', type: 'timestamp' },
    { name: 'tsb', type: 'timestamp', timezone: 'Europe/Berlin' },
    { name: 'req', type: 'integer', required: true },
    { name: 'notes', source: 'Notes, free', type: 'string' },
  ],
  primaryKey: ['id'],
  rejectThreshold: 1,
};

const POOLS: Record<string, string[]> = {
  id: ['ID-001', 'ID-123', 'ID-999', 'ID-1234', 'id-123', 'xID-123', 'ID-12a', 'ID-123\n', '', '""'],
  s: [
    'abc',
    'a',
    'abcde',
    'abcdef',
    '😀😀😀😀😀',
    '😀😀😀😀😀😀',
    'é',
    '',
    '""',
    '=1+1',
    '+x',
    '-x',
    '@x',
    '\tx',
    ' x ',
    'a,b',
    'a"b',
    'a\nb',
    'a\r\nb',
  ],
  e: [
    'a@b.co',
    'A.B@C.DE',
    'first.last+tag@mail.example.org',
    'a@b',
    'ſ@x.com',
    'a@bK.com',
    'a..b@c.de',
    'a@-b.com',
    'x@y.z\n',
    '-a@b.co',
    'no-at',
    '',
    '""',
  ],
  k: ['a', 'b', 'c d', 'A', 'c  d', '', '""', 'b '],
  i: [
    '0',
    '-0',
    '+5',
    '007',
    '42',
    '-5',
    '-6',
    '1000000',
    '1000001',
    '1.0',
    '1e3',
    '1,000',
    ' 5',
    '5 ',
    'abc',
    '',
    '""',
  ],
  i2: [
    '9223372036854775807',
    '9223372036854775808',
    '-9223372036854775808',
    '-9223372036854775809',
    '999999999999999999',
    '123456789012345678',
    '00000000000000000001',
    '-0',
    '12',
  ],
  d: [
    '0',
    '0.5',
    '.5',
    '-0.00',
    '1.5',
    '1.500',
    '1.505',
    '9999.99',
    '10000',
    '-1',
    '1,5',
    '1e2',
    '+1.25',
    '00.10',
    '5.',
    '0.00',
  ],
  d0: ['0', '999', '1000', '-999', '5.0', '5.5', '12'],
  f: [
    '0',
    '-0',
    '0.1',
    '1e3',
    '1.5e-3',
    'NaN',
    'inf',
    '1e309',
    '1e-400',
    '123456789012345678',
    '-0.0',
    '.5',
    '5.',
    '1000000',
    '1000000.1',
    '0.30000000000000004',
    '3.14159',
    '-2.5',
  ],
  b: ['true', 'TRUE', 'True', 'false', '1', '0', 'yes', 't', 'truE', 'ſalse', '', '""'],
  dt: [
    '2024-02-29',
    '2023-02-29',
    '2024-13-01',
    '0000-01-01',
    '0001-01-01',
    '9999-12-31',
    '2024-1-1',
    '2024-01-01T00:00:00',
    '20240101',
    '2024-06-30',
    ' 2024-01-05',
    '2024-01-05 ',
    '10000-01-01',
    '-001-01-01',
  ],
  ts: [
    '2024-03-31T14:05:00Z',
    '2024-03-31 14:05:00+02:00',
    '2024-03-31T14:05:00',
    '2024-03-31T14:05:00.123Z',
    '2024-03-31T14:05Z',
    '2024-03-31T24:00:00Z',
    '2024-03-31T14:05:00+19:00',
    '2024-03-31T14:05:00+0200',
    '2024-03-31T14:05:00z',
    '0001-01-01T00:00:00+01:00',
    '9999-12-31T23:59:59-01:00',
    '2024-12-31T23:59:59-14:00',
    '2024-02-30T10:00:00Z',
  ],
  tsb: [
    '2024-10-27T02:30:00',
    '2024-03-31T02:30:00',
    '2024-07-01T12:00:00',
    '2024-07-01T12:00:00Z',
    '2024-07-01T12:00:00+05:30',
    '2024-01-15 08:00:00',
  ],
  req: ['1', '2', '', '""', 'x'],
  notes: [
    '',
    'plain',
    'a "quoted" word',
    'line one\nline two',
    'three\r\nlines\nhere',
    'comma, inside',
    '-starts with minus',
    '=HYPERLINK()',
    'zoë',
  ],
};
/** Values every row of a well-formed file takes (each accepted by both paths). */
const GOOD: Record<string, string[]> = {
  id: ['ID-001', 'ID-123'],
  s: ['abc', 'é', '😀😀😀😀😀', ''],
  e: ['a@b.co', 'first.last+tag@mail.example.org', ''],
  k: ['a', 'c d', ''],
  i: ['0', '42', '-5', '1000000'],
  i2: ['9223372036854775807', '-9223372036854775808', '12', ''],
  d: ['0', '1.5', '9999.99', '0.50'],
  d0: ['0', '999', '-12'],
  f: ['0', '0.1', '3.14159', '-2.5'],
  b: ['true', 'false', '1', '0', 'TRUE'],
  dt: ['2024-02-29', '0001-01-01', '9999-12-31'],
  ts: ['2024-03-31T14:05:00Z', '2024-03-31 14:05:00+02:00', '2024-03-31T14:05:00'],
  tsb: ['2024-07-01T12:00:00Z', '2024-07-01T12:00:00+05:30'],
  req: ['1', '2'],
  notes: ['', 'plain', 'line one\nline two', 'comma, inside', 'zoë'],
};

function cell(v: string): string {
  if (v === '""') return '""';
  return /[",\r\n]/.test(v) || v === '' ? (v === '' ? '' : `"${v.replaceAll('"', '""')}"`) : v;
}

function generate(
  seed: number,
  rows: number,
  pools: Record<string, string[]>,
  hostile: boolean,
  eol: string,
  /** The well-formed values. */
  good: Record<string, string[]> = GOOD,
): string {
  const rand = mulberry32(seed);
  const pick = <T>(a: readonly T[]) => a[Math.floor(rand() * a.length)]!;
  const names = CONTRACT.columns.map((c) => c.source ?? c.name);
  const order = names.map((_, i) => i);
  // anyOrder header: shuffle the columns
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const lines = [order.map((i) => cell(names[i]!)).join(',')];
  for (let r = 0; r < rows; r++) {
    // Hostile rows: one or two columns from the hostile pool, the rest well-formed, so each
    // hostile value is what the row stands or falls by.
    const hostileCols = hostile
      ? new Set([Math.floor(rand() * order.length), Math.floor(rand() * order.length)])
      : new Set();
    const values = order.map((i, at) =>
      cell(pick((hostileCols.has(at) ? pools : good)[CONTRACT.columns[i]!.name]!)),
    );
    if (hostile) {
      const shape = rand();
      if (shape < 0.04)
        values.pop(); // short row
      else if (shape < 0.07)
        values.push('extra'); // long row
      else if (shape < 0.1)
        values.push(''); // long row with an empty last field: DuckDB reads it
      else if (shape < 0.12)
        values.push('""'); // the same, quoted
      else if (shape < 0.13)
        values.push('', ''); // two more, empty
      else if (shape < 0.14) values.splice(0, values.length, ' '); // one blank-ish field
    }
    lines.push(values.join(','));
  }
  return lines.join(eol) + (rand() < 0.5 ? eol : '');
}

let schemasDir: string;
beforeAll(() => {
  schemasDir = mkdtempSync(path.join(tmpdir(), 'etl-sql-diff-schemas-'));
  writeFileSync(path.join(schemasDir, 'kinds.schema.json'), JSON.stringify(CONTRACT, null, 2));
});
afterAll(() => rmSync(schemasDir, { recursive: true, force: true }));

test('well-formed generated files are read by DuckDB, with the same outcome as the JavaScript path', async () => {
  for (let seed = 1; seed <= 4; seed++) {
    const csv = generate(seed, 400, GOOD, false, seed % 2 ? '\n' : '\r\n');
    const how = await same(`incoming/kinds/good-${seed}.csv`, csv, schemasDir);
    expect(how).toEqual({ reader: FAST_READER });
  }
});

test('records of hundreds of KiB (the read buffer follows the longest line of a chunk): read by DuckDB, same outcome', async () => {
  const long = {
    ...GOOD,
    // Every row long (the SQL path sizes staging from each chunk's share of bytes).
    notes: ['x'.repeat(200_000), `a "quoted" ${'y'.repeat(200_000)}\nand a line`],
  };
  const csv = generate(31, 60, GOOD, false, '\n', long);
  expect(csv.length).toBeGreaterThan(10_000_000);
  const how = await same('incoming/kinds/long-lines.csv', csv, schemasDir);
  expect(how).toEqual({ reader: FAST_READER });
});

test('hostile generated files: every type and constraint, short and long rows — same rejects, report, staging', async () => {
  let readByFastPath = 0;
  for (let seed = 11; seed <= 22; seed++) {
    const csv = generate(seed, 300, POOLS, true, seed % 3 === 0 ? '\r\n' : '\n');
    const how = await same(`incoming/kinds/hostile-${seed}.csv`, csv, schemasDir);
    if (how?.reader === FAST_READER) readByFastPath++;
    else {
      if (process.env.SHOW_DECLINES) console.log(seed, how?.fastPathLeft);
      expect(how?.fastPathLeft).toEqual(expect.any(String));
    }
  }
  expect(readByFastPath).toBeGreaterThanOrEqual(10);
});

test('the shipped registrations contract on a generated file (quoted newlines, short and long rows, formulas)', async () => {
  const { text } = registrationsCsvText({ rows: 3000, seed: 7 });
  const how = await same('incoming/registrations/gen.csv', text, DEFAULT_SCHEMAS_DIR);
  expect(how).toEqual({ reader: FAST_READER });
});

test('a file DuckDB reads on two threads (≈ 15 MB, quoted newlines, bad rows): same outcome as the JavaScript path', async () => {
  // Files under DuckDB's CSV buffer (2 × (maxRecordBytes + 1 KiB)) are read by one thread; this
  // one spans several buffers, so the fast path's read runs on every core of this machine.
  const { text } = registrationsCsvText({ rows: 120_000, seed: 3 });
  expect(text.length).toBeGreaterThan(12 * 1024 * 1024);
  const how = await same('incoming/registrations/two-threads.csv', text, DEFAULT_SCHEMAS_DIR);
  expect(how).toEqual({ reader: FAST_READER });
});

test('cut into many small chunks (runs, odd records and quoted line breaks across chunk ends): same outcome', async () => {
  chunkBytes = 8 * 1024;
  try {
    let readByFastPath = 0;
    for (let seed = 31; seed <= 36; seed++) {
      const csv = generate(seed, 300, POOLS, true, seed % 3 === 0 ? '\r\n' : '\n');
      const how = await same(`incoming/kinds/chunked-${seed}.csv`, csv, schemasDir);
      if (how?.reader === FAST_READER) readByFastPath++;
    }
    expect(readByFastPath).toBeGreaterThanOrEqual(4);
    for (const size of [4 * 1024, 64 * 1024]) {
      chunkBytes = size;
      const { text } = registrationsCsvText({ rows: 4000, seed: 5 });
      const how = await same(`incoming/registrations/chunked-${size}.csv`, text, DEFAULT_SCHEMAS_DIR);
      expect(how).toEqual({ reader: FAST_READER });
    }
  } finally {
    chunkBytes = undefined;
  }
});

test('formula-looking cells over several read blocks, few samples: the same count and the same samples, in line order', async () => {
  // The checked path leaves records with such a cell to the JavaScript checker until the report's
  // samples are taken, and counts them itself after that (csv/checked-fast-path.ts).
  limits = { reportSampleSize: 7 };
  try {
    const { text, stats } = registrationsCsvText({ rows: 30_000, seed: 12 });
    expect(text.length).toBeGreaterThan(3 * 1024 * 1024); // blocks of 1 MiB
    expect(stats.formulaNotes).toBeGreaterThan(200);
    const how = await same('incoming/registrations/formulas.csv', text, DEFAULT_SCHEMAS_DIR);
    expect(how).toEqual({ reader: FAST_READER });
  } finally {
    limits = undefined;
  }
});

test("'auto' takes files under FAST_PATH_MIN_BYTES on the checked path with CSV staging (no DuckDB to start; the streaming path with SQL checks) and reads larger ones with DuckDB", async () => {
  const readerOf = async (rows: number) => {
    lake = new TestLake();
    try {
      const { text } = registrationsCsvText({ rows, seed: 4 });
      const source = await lake.upload(`incoming/registrations/auto-${rows}.csv`, text);
      await validateObject(
        { store: lake.store, lakeBucket: LAKE, schemasDir: DEFAULT_SCHEMAS_DIR },
        { runId: 'run-auto', source },
      );
      const reportKey = (await lake.keys('')).find((k) => k.endsWith('report.json'))!;
      const report = JSON.parse(await lake.text(reportKey)) as { csv: { reader: string } };
      return { size: Buffer.byteLength(text) >= FAST_PATH_MIN_BYTES, reader: report.csv.reader };
    } finally {
      lake.dispose();
    }
  };
  // Below FAST_PATH_MIN_BYTES the checked path writes CSV staging (no DuckDB to start) whatever the
  // staging format; the SQL fast path would start DuckDB, so a small file takes the streaming path.
  const smallToo = process.env.ETL_FASTPATH_CHECKS !== 'sql';
  expect(await readerOf(20_000)).toEqual({
    size: false,
    reader: smallToo ? 'checked' : expect.not.stringMatching(/^(checked|duckdb)$/),
  });
  expect(await readerOf(200_000)).toEqual({ size: true, reader: FAST_READER });
});

test('the sampled records catch a read that did not keep file order: rows out of order decline, in order pass', async () => {
  const { text } = registrationsCsvText({ rows: 5_000, seed: 9 });
  const file = path.join(work, 'order.csv');
  writeFileSync(file, text);
  const compiled = loadCompiledContract('registrations')!;
  const indexer = new RecordIndexer(compiled.contract.csv, DEFAULT_LIMITS.maxRecordBytes);
  indexer.feed(Buffer.from(text));
  indexer.feed(undefined);
  const index = indexer.result();
  expect(index.samples.length).toBeGreaterThan(5_000 / SAMPLE_EVERY);
  const columns = Array.from({ length: index.width }, (_, i) => `'c${i}': 'VARCHAR'`).join(', ');
  const read = `read_csv('${file}', header = true, auto_detect = false, columns = {${columns}}, strict_mode = true, null_padding = false, allow_quoted_nulls = false, ignore_errors = true)`;
  const outcome = async (order: string) => {
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    const connection = await instance.connect();
    const fd = openSync(file, 'r');
    try {
      await connection.run(`CREATE TABLE raw AS SELECT * FROM ${read} ${order}`);
      await checkSamples(connection, fd, index.samples, index.width, compiled, DEFAULT_LIMITS);
      return 'kept';
    } catch (e) {
      if (e instanceof DeclineFastPathError) return e.why;
      throw e;
    } finally {
      closeSync(fd);
      connection.closeSync();
      instance.closeSync();
    }
  };
  expect(await outcome('')).toBe('kept');
  // DuckDB's reorders move whole vectors and buffers (thousands of rows): shuffled and reversed.
  expect(await outcome('ORDER BY hash(c0)')).toMatch(
    /is not the record at byte \d+ \(the read did not keep file order\)/,
  );
  expect(await outcome('ORDER BY c0 DESC')).toMatch(/did not keep file order/);
});

test('every validate fixture, on every test contract that reads it: same outcome (DuckDB or a reasoned decline)', async () => {
  const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.csv'));
  const datasets = readdirSync(TEST_SCHEMAS)
    .filter((f) => f.endsWith('.schema.json') && !f.startsWith('broken') && !f.startsWith('events'))
    .map((f) => f.replace('.schema.json', ''));
  let readByFastPath = 0;
  for (const dataset of datasets)
    for (const f of fixtures) {
      const how = await same(`incoming/${dataset}/${f}`, readFileSync(path.join(FIXTURES, f)), TEST_SCHEMAS);
      if (how?.reader === FAST_READER) readByFastPath++;
    }
  expect(readByFastPath).toBeGreaterThan(0);
});
