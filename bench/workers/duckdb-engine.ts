/**
 * The embedded transform engine (transform/duckdb.ts) on a staging folder, exactly as the local
 * runtime calls it: temp folder, canonical-text checks, one file per partition, publish, manifest.
 */
import { rmSync } from 'node:fs';
import { findContract } from '../../core/contract';
import { compilePlan } from '../../core/plan';
import { runTransform, type DuckdbEngineOptions } from '../../transform/duckdb';
import { runAsWorker, stagingParts } from './worker';

runAsWorker<{ stagingDir: string; lakeDir: string; dataset: string; options?: DuckdbEngineOptions }>(
  async ({ stagingDir, lakeDir, dataset, options }, clock) => {
    rmSync(lakeDir, { recursive: true, force: true });
    clock.restart();
    const manifest = await runTransform(
      {
        plan: compilePlan(findContract(dataset)!),
        sourceId: 'bench-000000000000',
        versionTag: 'bench',
        stagingDir,
        lakeDir,
      },
      options,
    );
    const { bytes } = stagingParts(stagingDir);
    return {
      bytes,
      rows: manifest.rowsOut,
      details: { files: manifest.objects.length, rowsIn: manifest.rowsIn, timingsMs: manifest.timingsMs },
    };
  },
);
