/**
 * GAP-5: the local object store removes a "folder" when its last object is deleted (so a later key
 * `a` is not blocked by an empty folder `a/`). A put into that same folder at that moment fails:
 * put() creates the folder, delete() removes it again (empty: the new object is not linked in
 * yet), and put()'s link and copy both fail with ENOENT. In the pipeline that is one run's Archive
 * or Quarantine (delete in incoming/<dataset>/) racing another upload or `etl watch` adopting a
 * dropped file into the same folder. S3 has no folders, so this exists only locally.
 *
 * Fixed: put() re-creates the folder and retries the link and rename on ENOENT (bounded), and
 * delete() no longer prunes a bucket's top-level folder (landing's `incoming/`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalObjectStore } from '../../adapters/local/object-store';

test('GAP-5 (fixed): a put racing the delete of the last object in its folder is stored', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'etl-race-'));
  const store = new LocalObjectStore(dir);
  try {
    const outcomes: string[] = [];
    for (let i = 0; i < 20; i++) {
      await store.put('landing', `incoming/event_sessions/archived-${i}.csv`, 'a,b\n1,2\n');

      const [, put] = await Promise.allSettled([
        store.delete({ bucket: 'landing', key: `incoming/event_sessions/archived-${i}.csv` }),
        store.put('landing', `incoming/event_sessions/new-${i}.csv`, 'a,b\n3,4\n'),
      ]);

      outcomes.push(
        put.status === 'fulfilled' ? 'stored' : String((put.reason as NodeJS.ErrnoException).code),
      );
      await store.delete({ bucket: 'landing', key: `incoming/event_sessions/new-${i}.csv` });
    }
    // put() re-creates a folder the delete pruned and retries: every put is stored.
    expect(outcomes).toEqual(Array(20).fill('stored'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
