/**
 * The Transform Lambda's path (functions/transform): `runTransformOnStore` over an ObjectStore —
 * staging streamed from the store into a scratch folder, DuckDB there, objects and manifest put
 * back — on the validate worker's local lake, with the engine options the Lambda uses. Reports
 * the scratch space the run needed (staging copies + Parquet output: the function's /tmp).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { LocalObjectStore } from '../../adapters/local/object-store';
import { findContract } from '../../core/contract';
import { compilePlan } from '../../core/plan';
import { runTransformOnStore, type DuckdbEngineOptions } from '../../transform/duckdb';
import { runAsWorker, stagingParts } from './worker';

runAsWorker<{
  root: string;
  stagingPrefix: string;
  stagingDir: string;
  dataset: string;
  options?: DuckdbEngineOptions;
}>(async ({ root, stagingPrefix, stagingDir, dataset, options }, clock) => {
  const store = new LocalObjectStore(root);
  const scratchDir = mkdtempSync(path.join(root, '..', 'scratch-'));
  const { bytes } = stagingParts(stagingDir);
  clock.restart();
  try {
    const manifest = await runTransformOnStore(
      {
        store,
        lakeBucket: 'lake',
        scratchDir,
        stagingPrefix,
        plan: compilePlan(findContract(dataset)!),
        sourceId: 'bench-000000000000',
        versionTag: 'bench',
      },
      options,
    );
    let parquetBytes = 0;
    for (const key of manifest.objects)
      parquetBytes += (await store.head({ bucket: 'lake', key }))?.size ?? 0;
    return {
      bytes,
      rows: manifest.rowsOut,
      details: {
        files: manifest.objects.length,
        rowsIn: manifest.rowsIn,
        parquetBytes,
        scratchBytes: bytes + parquetBytes,
        timingsMs: manifest.timingsMs,
      },
    };
  } finally {
    rmSync(scratchDir, { recursive: true, force: true });
  }
});
