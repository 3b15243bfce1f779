/**
 * The two-thread path (csv-parse in a worker thread, checks and writes here) leaves exactly what
 * the single-thread path leaves: the same staging parts, rejects, report and plan, byte for byte,
 * and the same rejections — on every fixture, and on a generated file big enough to cross several
 * batches between the threads.
 */
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registrationsCsvText } from '../../bench/registrations-generator';
import { DEFAULT_SCHEMAS_DIR } from '../../core/contract';
import { FileRejectedError } from '../../core/errors';
import type { SourceObject } from '../../core/events';
import { cpuBudget, PARALLEL_MIN_BYTES, useParallel } from '../../csv/parallel';
import { validateObject } from '../../functions/validate/validate';
import { FIXTURES, LAKE, TestLake, TEST_SCHEMAS } from './harness';

let lake: TestLake;
beforeEach(() => (lake = new TestLake()));
afterEach(async () => {
  await lake.expectLandingIntact();
  lake.dispose();
});

/** Times differ between two runs; everything else in report.json must not. */
function withoutTimes(text: string): string {
  return text.replace(/"(startedAt|finishedAt|durationMs)": [^,\n]+/g, '"$1": "…"');
}

interface RunOutcome {
  readonly result: unknown;
  /** Every object the run left in the lake, by key. */
  readonly objects: Record<string, string>;
}

/** Validates `source` on one path and reads back everything it wrote. */
async function run(source: SourceObject, parallel: boolean, schemasDir: string): Promise<RunOutcome> {
  let result: unknown;
  try {
    result = await validateObject(
      // The two reader threads of the JavaScript path (the DuckDB fast path has a test of its own).
      { store: lake.store, lakeBucket: LAKE, schemasDir, parallel, fastPath: false },
      { runId: 'run-parallel', source },
    );
  } catch (e) {
    if (!(e instanceof FileRejectedError)) throw e;
    result = { rejected: e.reason, message: e.message, details: e.details };
  }
  const objects: Record<string, string> = {};
  for (const key of await lake.keys('')) objects[key] = withoutTimes(await lake.text(key));
  return { result, objects };
}

/** Runs the same landing object through both paths (a re-run replaces the first run's outputs). */
async function bothPaths(key: string, bytes: Buffer | string, schemasDir = TEST_SCHEMAS) {
  const source = await lake.upload(key, bytes);
  const single = await run(source, false, schemasDir);
  const parallel = await run(source, true, schemasDir);
  return { single, parallel };
}

const DATASET_OF: Record<string, string> = { 'semicolon-decimal-comma.csv': 'people_semicolon' };
const FIXTURE_FILES = readdirSync(FIXTURES).filter((f) => f.endsWith('.csv'));

test.each(FIXTURE_FILES)(
  'fixture %s: both paths write the same bytes and reach the same result',
  async (file) => {
    const dataset = DATASET_OF[file] ?? 'people';
    const { single, parallel } = await bothPaths(
      `incoming/${dataset}/${file}`,
      await import('node:fs').then((fs) => fs.readFileSync(path.join(FIXTURES, file))),
    );

    expect(Object.keys(single.objects).length).toBeGreaterThan(0);
    expect(parallel.objects).toEqual(single.objects);
    expect(parallel.result).toEqual(single.result);
  },
);

/** A registrations file of ≈3.5 MiB: several 1 MiB batches, CRLFs in quoted notes, `""`, bad rows. */
const GENERATED = registrationsCsvText({ targetBytes: 3.5 * 1024 * 1024, seed: 7 }).text;

test('a multi-batch registrations file: identical staging, rejects and report on both paths', async () => {
  const { single, parallel } = await bothPaths(
    'incoming/registrations/big.csv',
    GENERATED,
    DEFAULT_SCHEMAS_DIR,
  );

  const result = single.result as { rowsRead: number; rowsRejected: number };
  expect(result.rowsRead).toBeGreaterThan(25_000);
  expect(result.rowsRejected).toBeGreaterThan(0);
  const keys = Object.keys(single.objects);
  expect(keys.some((k) => k.endsWith('rejects.jsonl'))).toBe(true);
  expect(keys.some((k) => k.endsWith('part-00000.jsonl'))).toBe(true);
  expect(Object.keys(parallel.objects)).toEqual(keys);
  for (const key of keys)
    expect({ key, text: parallel.objects[key] }).toEqual({ key, text: single.objects[key] });
  expect(parallel.result).toEqual(single.result);
});

test('malformed CSV in a later batch: the same rejection, line and rows checked before it', async () => {
  const broken = `${GENERATED}REG-X,"never closed,EVT-1\n${'more,lines\n'.repeat(10)}`;

  const { single, parallel } = await bothPaths(
    'incoming/registrations/broken.csv',
    broken,
    DEFAULT_SCHEMAS_DIR,
  );

  expect(single.result).toMatchObject({ rejected: 'MALFORMED_CSV' });
  expect(parallel.objects).toEqual(single.objects);
  expect(parallel.result).toEqual(single.result);
});

test('a wrong header is rejected the same way on both paths', async () => {
  const text = 'id,name,mail\n1,a,b\n'.repeat(1);

  const { single, parallel } = await bothPaths('incoming/people/bad-header.csv', text);

  expect(single.result).toMatchObject({ rejected: 'HEADER_MISMATCH' });
  expect(parallel.objects).toEqual(single.objects);
  expect(parallel.result).toEqual(single.result);
});

test("'auto' stays on one thread for small objects and on one CPU; false always does", () => {
  expect(useParallel('auto', PARALLEL_MIN_BYTES - 1)).toBe(false);
  expect(useParallel('auto', undefined)).toBe(false);
  expect(useParallel(false, 10 * PARALLEL_MIN_BYTES)).toBe(false);
  expect(useParallel(true, 10)).toBe(true);

  const cpus = jest.spyOn(os, 'availableParallelism');
  try {
    cpus.mockReturnValue(1);
    expect(useParallel('auto', 10 * PARALLEL_MIN_BYTES)).toBe(false);
    cpus.mockReturnValue(2);
    expect(useParallel('auto', 10 * PARALLEL_MIN_BYTES)).toBe(cpuBudget() >= 2);
  } finally {
    cpus.mockRestore();
  }
});

test('on Lambda the CPU budget follows memory (1 vCPU per 1,769 MB), not the 2 cores it shows', () => {
  const cpus = jest.spyOn(os, 'availableParallelism').mockReturnValue(2);
  try {
    expect(cpuBudget({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1769' })).toBeLessThanOrEqual(1);
    expect(cpuBudget({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1770' })).toBeLessThan(2);
    expect(cpuBudget({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512' })).toBeLessThan(0.3);
    expect(cpuBudget({})).toBeLessThanOrEqual(2);
  } finally {
    cpus.mockRestore();
  }
});

test('invalid UTF-8 late in a multi-batch file: the same rejection, line and byte offset', async () => {
  const bytes = Buffer.concat([
    Buffer.from(GENERATED),
    Buffer.from('REG-X,EVT-0001,caf'),
    Buffer.from([0xe9]),
    Buffer.from('\n'),
  ]);

  const { single, parallel } = await bothPaths(
    'incoming/registrations/latin1.csv',
    bytes,
    DEFAULT_SCHEMAS_DIR,
  );

  expect(single.result).toMatchObject({
    rejected: 'UNREADABLE_ENCODING',
    details: { byteOffset: bytes.length - 2 },
  });
  // Which rows were checked before the bad chunk was seen depends on timing on both paths (so
  // whether a rejects file exists may too); the rejection itself does not.
  const essence = (r: unknown) => {
    const { rejected, message, details } = r as {
      rejected: string;
      message: string;
      details: Record<string, unknown>;
    };
    return { rejected, message, line: details.line, byteOffset: details.byteOffset };
  };
  expect(essence(parallel.result)).toEqual(essence(single.result));
});
