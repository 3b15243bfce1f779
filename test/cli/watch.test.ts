/**
 * The landing folder behaves like the bucket: `etl watch` runs what is dropped there once it has
 * stopped changing, and `etl reconcile` catches what nobody watched, including a run whose runner
 * was killed half-way.
 */
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { RunStore, type RunRecord } from '../../local/run-record';
import { FIXTURES, Sandbox } from './harness';

const SMALL = path.join(FIXTURES, 'registrations/small.csv');

describe('etl watch', () => {
  const box = new Sandbox();
  afterAll(() => box.remove());

  test('a dropped file runs once it is complete; partial names never run; Ctrl-C stops cleanly', async () => {
    const incoming = path.join(box.home, 'landing/incoming/registrations');
    const runs = new RunStore(path.join(box.home, 'runs'));
    const stop = new AbortController();
    const watch = box.start(['watch', '--settle-ms', '300', '--concurrency', '2'], stop.signal);
    await box.until(() => watch.output().includes('watching'), 'the watcher to start');

    // A browser download in progress: ignored until renamed to its final name.
    const bytes = readFileSync(SMALL);
    mkdirSync(incoming, { recursive: true });
    writeFileSync(path.join(incoming, 'upload.csv.part'), bytes);
    // A slow copy: half now, the rest a moment later (within the settle time).
    const half = Math.floor(bytes.length / 2);
    writeFileSync(path.join(incoming, 'slow.csv'), bytes.subarray(0, half));
    await new Promise((r) => setTimeout(r, 120));
    appendFileSync(path.join(incoming, 'slow.csv'), bytes.subarray(half));
    renameSync(path.join(incoming, 'upload.csv.part'), path.join(incoming, 'renamed.csv'));

    const finished = () => runs.list().filter((r) => r.status !== 'RUNNING');
    await box.until(() => finished().length >= 2, 'two runs to finish');
    stop.abort();
    const result = await watch.done;

    expect(result.code).toBe(0);
    expect(result.out).toMatch(/stopped/);
    const all = runs.list();
    expect(all.map((r) => r.source?.key).sort()).toEqual([
      'incoming/registrations/renamed.csv',
      'incoming/registrations/slow.csv',
    ]);
    for (const r of all) expect(r).toMatchObject({ status: 'SUCCEEDED', counts: { rowsRead: 120 } });
  });
});

describe('etl reconcile', () => {
  let box: Sandbox;
  beforeEach(() => (box = new Sandbox()));
  afterEach(() => box.remove());

  test('a file copied into landing while nothing watched gets a run; a second sweep finds nothing', async () => {
    const incoming = path.join(box.home, 'landing/incoming/registrations');
    mkdirSync(incoming, { recursive: true });
    copyFileSync(SMALL, path.join(incoming, 'missed.csv'));

    const first = await box.etl(['reconcile']);
    const second = await box.etl(['reconcile']);

    expect(first.code).toBe(0);
    expect(first.out).toMatch(/started\s+incoming\/registrations\/missed\.csv/);
    expect(first.out).toMatch(/SUCCEEDED/);
    expect(second.out).toMatch(/nothing to reconcile/); // archived: no longer in landing
  });

  test('many files at once: every one runs, never more than --concurrency at a time', async () => {
    const incoming = path.join(box.home, 'landing/incoming/registrations');
    mkdirSync(incoming, { recursive: true });
    const names = Array.from({ length: 6 }, (_, i) => `batch-${i}.csv`);
    for (const n of names) copyFileSync(SMALL, path.join(incoming, n));

    const r = await box.etl(['reconcile', '--concurrency', '2']);

    expect(r.code).toBe(0);
    const runs = new RunStore(path.join(box.home, 'runs')).list();
    expect(runs.map((x) => path.basename(x.source!.key)).sort()).toEqual(names);
    expect(runs.every((x) => x.status === 'SUCCEEDED')).toBe(true);
    // Most runs in flight at any instant, from the records' start and stop times.
    const edges = runs.flatMap((x) => [
      { at: Date.parse(x.startDate), d: 1 },
      { at: Date.parse(x.stopDate!), d: -1 },
    ]);
    edges.sort((a, b) => a.at - b.at || a.d - b.d);
    let inFlight = 0;
    let most = 0;
    for (const e of edges) most = Math.max(most, (inFlight += e.d));
    expect(most).toBeLessThanOrEqual(2);
    expect(most).toBe(2); // and the bound was actually used
  });

  test('a run whose runner was killed mid-Transform is shown INTERRUPTED and redriven from Transform', async () => {
    // The Glue task (Transform): since issue 12 a small file takes TransformInLambda unless the
    // routing threshold sends every file to Glue, as `etl run` does for a file above it.
    const threshold = process.env.ETL_TRANSFORM_LAMBDA_MAX_BYTES;
    process.env.ETL_TRANSFORM_LAMBDA_MAX_BYTES = '0';
    try {
      await killedMidTransform();
    } finally {
      if (threshold === undefined) delete process.env.ETL_TRANSFORM_LAMBDA_MAX_BYTES;
      else process.env.ETL_TRANSFORM_LAMBDA_MAX_BYTES = threshold;
    }
  });

  async function killedMidTransform() {
    mkdirSync(box.home, { recursive: true });
    writeFileSync(
      path.join(box.home, 'faults.json'),
      JSON.stringify({ Transform: { error: 'States.TaskFailed' } }),
    );
    const csv = box.copyFixture('registrations/small.csv', 'registrations/killed.csv');
    const failed = JSON.parse((await box.etl(['run', csv, '--json'])).out) as { runId: string };
    rmSync(path.join(box.home, 'faults.json'));
    // Rewind the record to what a killed runner leaves: RUNNING, Transform started, owner gone.
    const runs = new RunStore(path.join(box.home, 'runs'));
    const record = runs.load(failed.runId)!;
    const started = record.events.findLastIndex((e) => e.type === 'TaskStarted');
    const deadPid = spawnSync('true').pid!;
    const killed: RunRecord = {
      ...record,
      status: 'RUNNING',
      displayStatus: 'RUNNING',
      pid: deadPid,
      events: record.events.slice(0, started + 1),
    };
    delete killed.stopDate;
    delete killed.error;
    delete killed.cause;
    runs.save(killed);

    const listed = await box.etlJson<{ id: string; status: string }[]>(['runs']);
    const reconciled = await box.etl(['reconcile']);

    expect(listed.json.find((r) => r.id === failed.runId)?.status).toBe('INTERRUPTED');
    expect(reconciled.out).toMatch(
      /redriven\s+incoming\/registrations\/killed\.csv\s+run .* interrupted at Transform/,
    );
    const after = runs.load(failed.runId)!;
    expect(after).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
    const types = after.events.map((e) => e.type);
    expect(types.indexOf('ExecutionAborted')).toBeLessThan(types.indexOf('ExecutionRedriven'));
    expect(after.events.filter((e) => e.stateEnteredEventDetails?.name === 'Validate')).toHaveLength(1);
  }
});
