/**
 * The local runner killed with SIGKILL while transforming, then started again. `bin/etl watch`
 * runs as a child process on two large files; the moment a run record shows Transform under way
 * (and the engine's temp folder exists) the child is killed without warning. Before anything is
 * repaired, `etl query` must see only complete files; `etl reconcile` must then finish every
 * interrupted file, with no row lost or doubled.
 *
 * test/cli/watch.test.ts checks reconcile on a hand-rewound record; this one kills a real process.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sourceIdOf } from '../../core/layout';
import { queryLake } from '../../local/lake-query';
import { RunStore, isInterrupted, type RunRecord } from '../../local/run-record';
import { REPO, Sandbox } from '../cli/harness';
import { filesUnder } from './support';

const ROWS_PER_FILE = 100_000;
const HEADER = 'session_id,event_id,session_date,title,speaker,room,capacity,starts_at';

/** `rows` valid, distinct sessions starting at id `first`, over 30 days. */
function bigSessionsCsv(first: number, rows: number): string {
  const lines = [HEADER];
  for (let i = 0; i < rows; i++) {
    const day = String(1 + (i % 30)).padStart(2, '0');
    lines.push(
      `SES-${String(first + i).padStart(6, '0')},EVT-0${100 + (i % 7)},2024-11-${day},Talk ${i},Speaker ${i % 97},Room ${i % 9},${10 + (i % 500)},2024-11-${day}T${String(8 + (i % 10)).padStart(2, '0')}:00:00Z`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const transformUnderWay = (r: RunRecord) =>
  r.events.some((e) => e.type === 'TaskStarted' && e.taskStartedEventDetails && isTransformTask(r, e.id));
function isTransformTask(r: RunRecord, taskStartedId: number): boolean {
  const entered = r.events.filter((e) => e.id < taskStartedId && e.stateEnteredEventDetails).at(-1);
  return entered?.stateEnteredEventDetails?.name === 'Transform';
}

describe('the runner killed with SIGKILL mid-transform', () => {
  const box = new Sandbox('etl-kill-');
  afterAll(() => box.remove());

  test('nothing half-written is queryable; etl reconcile finishes every interrupted file; rows exact', async () => {
    // Arrange: one complete file already in the table, two large ones dropped for the watcher.
    const settled = box.copyFixture('../reliability/event_sessions/base.csv', 'event_sessions/base.csv');
    expect((await box.etlJson(['run', settled])).json).toMatchObject({
      status: 'SUCCEEDED',
      rowsWritten: 20,
    });
    const incoming = path.join(box.home, 'landing/incoming/event_sessions');
    mkdirSync(incoming, { recursive: true });
    const big = ['big-1.csv', 'big-2.csv'];
    big.forEach((name, i) => {
      // Written under a partial name, then renamed: the watcher never sees half a file.
      writeFileSync(
        path.join(incoming, `${name}.part`),
        bigSessionsCsv(100_000 + i * ROWS_PER_FILE, ROWS_PER_FILE),
      );
    });
    const runs = new RunStore(path.join(box.home, 'runs'));
    const child = spawn(path.join(REPO, 'bin/etl'), ['watch', '--settle-ms', '200', '--concurrency', '2'], {
      cwd: box.dir,
      // The Glue path (TransformEngine threshold 0): the kill lands mid-Transform, as written.
      env: { ...process.env, ETL_HOME: box.home, ETL_TRANSFORM_LAMBDA_MAX_BYTES: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_c, signal) => resolve(signal)),
    );
    await box.until(() => output.includes('watching'), 'the watcher to start', 60_000);
    for (const name of big) renameSync(path.join(incoming, `${name}.part`), path.join(incoming, name));

    // Act 1: kill it while a transform is writing (record says Transform started, temp folder exists).
    const tmpRoot = path.join(box.home, 'lake/_tmp');
    const transforming = () =>
      runs
        .list()
        .filter((r) => r.source?.key.startsWith('incoming/event_sessions/big-'))
        .some(
          (r) =>
            transformUnderWay(r) &&
            existsSync(tmpRoot) &&
            readdirSync(tmpRoot).some((d) => d.startsWith(sourceIdOf(r.source!.key))),
        );
    // Polled every 10 ms: a transform of this size lasts a few hundred milliseconds.
    const deadline = Date.now() + 120_000;
    while (!transforming()) {
      if (Date.now() > deadline) throw new Error(`no transform seen under way (watch output: ${output})`);
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // Assert 1: the interrupted runs are left RUNNING by a dead process; the table shows only
    // complete files (the 20 settled rows, plus a big file only if it was published whole).
    const interrupted = runs.list().filter(isInterrupted);
    expect(interrupted.length).toBeGreaterThanOrEqual(1);
    const lastEntered = (r: RunRecord) =>
      r.events.findLast((e) => e.stateEnteredEventDetails)?.stateEnteredEventDetails?.name;
    expect(interrupted.map(lastEntered)).toContain('Transform'); // killed mid-transform, not after it
    const curated = filesUnder(path.join(box.home, 'lake/curated')).filter((f) => f.endsWith('.parquet'));
    for (const f of curated) {
      // Every visible object is a whole Parquet file (DuckDB reads its footer and every row group).
      await expect(
        queryLake(path.join(box.home, 'lake'), `SELECT count(*) FROM read_parquet('${f}')`),
      ).resolves.toBeDefined();
    }
    const during = await box.etlJson<{ rows: { n: unknown; ids: unknown }[] }>([
      'query',
      'SELECT count(*) AS n, count(DISTINCT session_id) AS ids FROM event_sessions',
    ]);
    const visible = Number(during.json.rows[0]!.n);
    expect([20, 20 + ROWS_PER_FILE]).toContain(visible);
    expect(Number(during.json.rows[0]!.ids)).toBe(visible);

    // Act 2: start again.
    const reconciled = await box.etl(['reconcile']);

    // Assert 2: every interrupted file finished, each row exactly once.
    expect(reconciled.code).toBe(0);
    for (const r of interrupted) expect(reconciled.out).toContain(`run ${r.runId} was interrupted at`);
    const finals = runs.list().filter((r) => r.source?.key.startsWith('incoming/event_sessions/big-'));
    expect(finals.map((r) => [r.source!.key, r.displayStatus]).sort()).toEqual(
      big.map((b) => [`incoming/event_sessions/${b}`, 'SUCCEEDED']),
    );
    const after = await box.etlJson<{ rows: { n: unknown; ids: unknown }[] }>([
      'query',
      'SELECT count(*) AS n, count(DISTINCT session_id) AS ids FROM event_sessions',
    ]);
    const { n, ids } = after.json.rows[0]!;
    expect([Number(n), Number(ids)]).toEqual([20 + 2 * ROWS_PER_FILE, 20 + 2 * ROWS_PER_FILE]);
    // The killed engine's temp folder is not under curated/: readers never saw it.
    expect(filesUnder(path.join(box.home, 'lake/curated')).every((f) => f.endsWith('.snappy.parquet'))).toBe(
      true,
    );
  }, 300_000);
});
