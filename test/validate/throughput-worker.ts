/**
 * Child-process side of measure-throughput.ts: `validateObject` on one CSV through a
 * LocalObjectStore, on one thread or two (`parallel`), like bench/workers/validate.ts. Copying the
 * input into the store is not timed; the lake is removed afterwards.
 */
import { createReadStream, rmSync } from 'node:fs';
import { LocalObjectStore } from '../../adapters/local/object-store';
import { validateObject } from '../../functions/validate/validate';
import { runAsWorker } from '../../bench/workers/worker';

runAsWorker<{ file: string; root: string; parallel: boolean | 'auto' }>(
  async ({ file, root, parallel }, clock) => {
    rmSync(root, { recursive: true, force: true });
    const store = new LocalObjectStore(root);
    const key = 'incoming/registrations/measure.csv';
    const info = await store.put('landing', key, createReadStream(file));
    clock.restart();
    const result = await validateObject(
      { store, lakeBucket: 'lake', parallel },
      {
        runId: 'measure',
        source: {
          bucket: 'landing',
          key,
          size: info.size,
          etag: info.etag,
          ...(info.versionId !== undefined && { versionId: info.versionId }),
        },
      },
    );
    rmSync(root, { recursive: true, force: true });
    return { bytes: result.bytesRead, rows: result.rowsRead, details: { rowsValid: result.rowsValid } };
  },
);
