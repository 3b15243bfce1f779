/**
 * The validate step's core (functions/validate `validateObject`) on one CSV, through the local
 * lake adapter, exactly as the local runtime runs it: read the landing object as a stream, write
 * staging part files, rejects and the report. Copying the input into the store is not timed.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, rmSync } from 'node:fs';
import path from 'node:path';
import { STAGING_SUCCESS } from '../../core/staging';
import { LocalObjectStore } from '../../adapters/local/object-store';
import { validateObject } from '../../functions/validate/validate';
import { runAsWorker } from './worker';

runAsWorker<{
  file: string;
  root: string;
  parallel?: boolean;
  /** Passed to validateObject as `fastPath` (the DuckDB fast path); absent: its default. */
  fastPath?: boolean;
  /** DuckDB threads of the fast path (ETL_FASTPATH_THREADS); absent: every core. */
  threads?: number;
  /**
   * A warm Lambda container: the same file is validated once, untimed, before the timed run (the
   * module loaded and compiled, the contract compiled, the JIT warm), as every invocation after a
   * container's first finds it.
   */
  warm?: boolean;
}>(async ({ file, root, parallel, fastPath, threads, warm }, clock) => {
  if (threads !== undefined) process.env.ETL_FASTPATH_THREADS = String(threads);
  const validate = async (root: string) => {
    rmSync(root, { recursive: true, force: true });
    const store = new LocalObjectStore(root);
    const key = 'incoming/registrations/bench.csv';
    const info = await store.put('landing', key, createReadStream(file));
    // The set-up's writes (the landing copy, the last run's lake removed) reach the disk now, not
    // during the timed step: their write-back is the harness's, not the step's.
    spawnSync('sync');
    clock.restart();
    const result = await validateOne(store, key, info);
    return { store, result };
  };
  if (warm) {
    await validate(`${root}-warm-up`);
    rmSync(`${root}-warm-up`, { recursive: true, force: true });
  }
  const { store, result } = await validate(root);
  return {
    bytes: result.bytesRead,
    rows: result.rowsRead,
    details: {
      rowsValid: result.rowsValid,
      rowsRejected: result.rowsRejected,
      formulaCells: result.formulaCells,
      stagingDir: path.dirname(store.pathOf(result.staging.bucket, result.staging.key + STAGING_SUCCESS)),
    },
  };

  async function validateOne(
    store: LocalObjectStore,
    key: string,
    info: Awaited<ReturnType<LocalObjectStore['put']>>,
  ) {
    return validateObject(
      // As the local runtime wires it: the DuckDB fast path reads the landing version in place.
      {
        store,
        lakeBucket: 'lake',
        localFile: (ref) => store.versionFileOf(ref),
        ...(parallel !== undefined && { parallel }),
        ...(fastPath !== undefined && { fastPath }),
      },
      {
        runId: 'bench',
        source: {
          bucket: 'landing',
          key,
          size: info.size,
          etag: info.etag,
          ...(info.versionId !== undefined && { versionId: info.versionId }),
        },
      },
    );
  }
});
