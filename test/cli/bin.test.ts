/**
 * The real thing, once: `bin/etl` as a separate process (Node 22 + tsx from node_modules),
 * from another working directory, printing only JSON with --json and exiting with the run's code.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { FIXTURES, REPO, Sandbox } from './harness';

describe('bin/etl', () => {
  const box = new Sandbox();
  afterAll(() => box.remove());

  test('runs a file end to end in its own process and exits 0 with one JSON object on stdout', () => {
    const started = Date.now();
    const child = spawnSync(
      path.join(REPO, 'bin/etl'),
      ['run', path.join(FIXTURES, 'registrations/small.csv'), '--json'],
      {
        cwd: box.dir,
        env: { ...process.env, ETL_HOME: '' }, // empty = not set: the default ./.etl under cwd
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    const elapsed = Date.now() - started;

    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const run = JSON.parse(child.stdout) as { status: string; rowsRead: number; outputs: { record: string } };
    expect(run).toMatchObject({ status: 'SUCCEEDED', rowsRead: 120 });
    expect(run.outputs.record.startsWith(path.join(box.dir, '.etl', 'runs'))).toBe(true);
    expect(elapsed).toBeLessThan(120_000);
  });

  test('a usage error is one line on stderr and exit code 1', () => {
    const child = spawnSync(path.join(REPO, 'bin/etl'), ['run', 'no-such-file.csv'], {
      cwd: box.dir,
      encoding: 'utf8',
    });
    expect(child.status).toBe(1);
    expect(child.stdout).toBe('');
    expect(child.stderr.trim()).toBe('etl: no-such-file.csv: no such file. Give the path of a CSV file.');
  });
});
