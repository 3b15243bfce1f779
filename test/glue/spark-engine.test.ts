/**
 * How transform/spark.ts reports trouble. These never start Spark: the request checks come
 * first, and a stand-in interpreter plays a job that dies. (The engine's real runs are in
 * test/parity, next to the DuckDB engine.)
 */
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseContract } from '../../core/contract';
import { TransformFailedError } from '../../core/errors';
import { compilePlan } from '../../core/plan';
import type { TransformRequest } from '../../transform/request';
import { runSparkTransform, runSparkTransforms } from '../../transform/spark';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'parity');
let work: string;

function requestFor(caseName: string): TransformRequest {
  const contract = path.join(FIXTURES, 'contracts', 'parity_mix.schema.json');
  const stagingDir = path.join(work, caseName, 'staging');
  cpSync(path.join(FIXTURES, 'cases', caseName, 'staging'), stagingDir, { recursive: true });
  return {
    plan: compilePlan(parseContract('parity_mix', readFileSync(contract, 'utf8'), contract)),
    sourceId: 'orders-0123456789ab',
    versionTag: 'v1',
    stagingDir,
    lakeDir: path.join(work, caseName, 'lake'),
  };
}

beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'etl-spark-engine-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

test('staging without _SUCCESS is refused before any Spark starts', async () => {
  // A Python that cannot exist: reaching it would fail with "cannot start" instead.
  const outcome = runSparkTransform(requestFor('missing_success'), { python: '/nonexistent/python' });

  await expect(outcome).rejects.toThrow(TransformFailedError);
  await expect(outcome).rejects.toThrow(/has no _SUCCESS marker.*re-run the validate step/);
});

test('a missing Python side is a TransformFailedError that says how to install it', async () => {
  const outcome = runSparkTransform(requestFor('zero_rows'), { python: path.join(work, 'no-python') });

  await expect(outcome).rejects.toThrow(TransformFailedError);
  await expect(outcome).rejects.toThrow(/cannot start .*npm run setup:python/);
});

test('a job that dies is reported per request with its exit and the last lines it wrote', async () => {
  const dying = path.join(work, 'dying-python');
  writeFileSync(
    dying,
    '#!/bin/sh\necho "starting" >&2\necho "java.lang.OutOfMemoryError: Java heap space" >&2\nexit 3\n',
  );
  chmodSync(dying, 0o755);

  const outcomes = await runSparkTransforms([requestFor('zero_rows'), requestFor('missing_success')], {
    python: dying,
  });

  expect(outcomes.map((o) => o.ok)).toEqual([false, false]);
  const [died, refused] = outcomes.map((o) => (o.ok ? '' : o.error.message));
  expect(died).toContain('did not finish (exit code 3)');
  expect(died).toContain('java.lang.OutOfMemoryError: Java heap space');
  // The request that failed its checks keeps its own reason.
  expect(refused).toContain('_SUCCESS');
});
