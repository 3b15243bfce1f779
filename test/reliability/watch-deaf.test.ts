/**
 * GAP-6 (fixed): `etl watch` used to miss files it should run (`etl reconcile` ran them).
 *
 *  (a) Once the landing area has emptied, watch is deaf. Archive and Quarantine delete the landing
 *      object; the local object store then removes every folder left empty up to the bucket —
 *      including `<home>/landing/incoming/`, the folder `etl watch` watches. A file dropped after
 *      that, even into a re-created folder, never gets a run.
 *  (b) A second upload under the same name (a new version of the key — the documented fix for a
 *      rejected file is a corrected upload) is not seen: after the first version was adopted and
 *      archived, Node's recursive fs.watch reports nothing more for that file name.
 *
 * Fixed: watch listens on the bucket folder (never removed), rescans the dataset folders on any
 * event and every second, and runs each (key, version) once; the store keeps `incoming/`. Each
 * test now shows watch running the file itself, leaving reconcile nothing to start.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RunStore } from '../../local/run-record';
import { Sandbox } from '../cli/harness';
import { FIXTURES } from './support';

const BASE = path.join(FIXTURES, 'event_sessions/base.csv');

/** Runs `etl watch` in-process around `scenario`, always stopping it (a failure must not hang jest). */
async function withWatch(box: Sandbox, scenario: () => Promise<void>): Promise<void> {
  const stop = new AbortController();
  const watch = box.start(['watch', '--settle-ms', '200'], stop.signal);
  try {
    await box.until(() => watch.output().includes('watching'), 'the watcher to start');
    await scenario();
  } finally {
    stop.abort();
    await watch.done;
  }
}

const keysAndStatus = (runs: RunStore) => runs.list().map((r) => [r.source?.key, r.displayStatus]);

describe('etl watch misses files (GAP-6)', () => {
  let box: Sandbox;
  beforeEach(() => (box = new Sandbox('etl-watch-deaf-')));
  afterEach(() => box.remove());

  test('GAP-6a (fixed): after the landing folder emptied (even removed by hand), a new file is run by watch', async () => {
    const incoming = path.join(box.home, 'landing/incoming/event_sessions');
    const runs = new RunStore(path.join(box.home, 'runs'));
    let prunedIncoming = false;

    await withWatch(box, async () => {
      mkdirSync(incoming, { recursive: true });
      copyFileSync(BASE, path.join(incoming, 'first.csv'));
      await box.until(
        () => runs.list().some((r) => r.status === 'SUCCEEDED'),
        'the first file to be processed',
      );
      prunedIncoming = !existsSync(path.join(box.home, 'landing/incoming'));
      // Someone tidies up anyway; the second file arrives the way a person would drop it: the
      // folder is made again.
      rmSync(path.join(box.home, 'landing/incoming'), { recursive: true, force: true });
      mkdirSync(incoming, { recursive: true });
      copyFileSync(BASE, path.join(incoming, 'second.csv'));
      await new Promise((r) => setTimeout(r, 3000)); // 15× the settle time
    });

    expect(prunedIncoming).toBe(false); // the store keeps the bucket's top-level folder
    expect(keysAndStatus(runs)).toEqual([
      ['incoming/event_sessions/first.csv', 'SUCCEEDED'],
      ['incoming/event_sessions/second.csv', 'SUCCEEDED'],
    ]);
    const reconciled = await box.etl(['reconcile']);
    expect(reconciled.out).not.toMatch(/started/);
    expect(keysAndStatus(runs)).toEqual([
      ['incoming/event_sessions/first.csv', 'SUCCEEDED'],
      ['incoming/event_sessions/second.csv', 'SUCCEEDED'],
    ]);
  }, 120_000);

  test('GAP-6b (fixed): a second upload under the same name, after the first was archived, is run by watch', async () => {
    const incoming = path.join(box.home, 'landing/incoming/event_sessions');
    const runs = new RunStore(path.join(box.home, 'runs'));
    mkdirSync(incoming, { recursive: true });
    writeFileSync(path.join(incoming, '.keep'), ''); // keeps the folder: (a) is not what this shows

    await withWatch(box, async () => {
      copyFileSync(BASE, path.join(incoming, 'talks.csv'));
      await box.until(
        () => runs.list().some((r) => r.displayStatus === 'SUCCEEDED'),
        'the first upload to be archived',
      );
      await new Promise((r) => setTimeout(r, 1000));
      copyFileSync(BASE, path.join(incoming, 'talks.csv')); // the same name again: a new version
      await new Promise((r) => setTimeout(r, 3000));
    });

    expect(keysAndStatus(runs)).toEqual([
      ['incoming/event_sessions/talks.csv', 'SUCCEEDED'],
      ['incoming/event_sessions/talks.csv', 'SUCCEEDED'],
    ]);
    const reconciled = await box.etl(['reconcile']);
    expect(reconciled.out).not.toMatch(/started/);
    expect(keysAndStatus(runs)).toEqual([
      ['incoming/event_sessions/talks.csv', 'SUCCEEDED'],
      ['incoming/event_sessions/talks.csv', 'SUCCEEDED'],
    ]);
  }, 120_000);
});
