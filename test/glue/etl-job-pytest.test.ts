/**
 * The Glue job's own unit tests (glue/tests, pytest: plan checks, canonical patterns, publishing
 * to a local lake and to S3 on a moto server, dedupe on local Spark) run under `npm test` through
 * this file, so CI sees them fail.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseContract } from '../../core/contract';
import { DEFAULT_MAX_ROWS_PER_FILE, compilePlan } from '../../core/plan';
import { REPO_ROOT, VENV_PYTHON, requirePythonSide } from '../support/python';

const sparkAvailable = requirePythonSide('spark', 'Glue job unit tests (pytest)');

test('the plan the pytest suite uses is the one core/plan compiles today', () => {
  // glue/tests runs without Node, so it reads a checked-in plan; this keeps that copy honest.
  const contract = path.join(REPO_ROOT, 'test', 'fixtures', 'parity', 'contracts', 'parity_mix.schema.json');
  const compiled = compilePlan(parseContract('parity_mix', readFileSync(contract, 'utf8'), contract));
  const checkedIn: unknown = JSON.parse(
    readFileSync(path.join(REPO_ROOT, 'glue', 'tests', 'fixtures', 'parity_mix.plan.json'), 'utf8'),
  );
  expect(checkedIn).toEqual(JSON.parse(JSON.stringify(compiled)));
});

test("the Glue job's default maxRowsPerFile (for plans written before they carried it) is the contract's", () => {
  const job = readFileSync(path.join(REPO_ROOT, 'glue', 'etl_job.py'), 'utf8');
  const value = /^DEFAULT_MAX_ROWS_PER_FILE = ([0-9_]+)$/m.exec(job)?.[1];

  expect(Number(value?.replaceAll('_', ''))).toBe(DEFAULT_MAX_ROWS_PER_FILE);
});

if (sparkAvailable) {
  test('pytest glue/tests passes', () => {
    const result = spawnSync(VENV_PYTHON, ['-m', 'pytest', 'glue/tests', '-q', '-p', 'no:cacheprovider'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, SPARK_LOCAL_IP: '127.0.0.1', PYSPARK_PYTHON: VENV_PYTHON },
      timeout: 280_000,
    });
    // On failure the assertion shows pytest's own report.
    expect({
      status: result.status,
      report: result.status === 0 ? 'ok' : `${result.stdout}\n${result.stderr}`,
    }).toEqual({
      status: 0,
      report: 'ok',
    });
  }, 300_000);
}
