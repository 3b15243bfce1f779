/**
 * The Archive state's move (core/move-original.ts, what functions/archive and functions/quarantine
 * run): copy the landing version into archive/, check the copy, delete the landing key — on the
 * local lake, whose copy shares the version's bytes (a reflink or hard link) rather than reading
 * them. Putting the input into the landing bucket is set-up, not timed.
 */
import { createReadStream, rmSync } from 'node:fs';
import { LocalObjectStore } from '../../adapters/local/object-store';
import { moveOriginal } from '../../core/move-original';
import { runAsWorker } from './worker';

runAsWorker<{ file: string; root: string }>(async ({ file, root }, clock) => {
  rmSync(root, { recursive: true, force: true });
  const store = new LocalObjectStore(root);
  const key = 'incoming/registrations/bench.csv';
  const info = await store.put('landing', key, createReadStream(file));
  clock.restart();
  const move = await moveOriginal(
    store,
    {
      bucket: 'landing',
      key,
      size: info.size,
      etag: info.etag,
      ...(info.versionId !== undefined && { versionId: info.versionId }),
    },
    { bucket: 'lake', key: 'archive/registrations/bench/bench.csv' },
  );
  if (!move.originalRemoved || move.size !== info.size)
    throw new Error(`archive did not complete: ${JSON.stringify(move)}`);
  return { bytes: info.size };
});
