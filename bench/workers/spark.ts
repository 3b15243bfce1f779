/**
 * The real Glue job script on local Spark (transform/spark.ts) on a staging folder, for
 * reference next to DuckDB. Its time includes starting the JVM and the Spark session, as the local
 * runtime pays it; its memory is the JVM's, so read the harness's `treePeakBytes`, not this process's maxRSS.
 */
import { rmSync } from 'node:fs';
import { findContract } from '../../core/contract';
import { compilePlan } from '../../core/plan';
import { runSparkTransform } from '../../transform/spark';
import { runAsWorker, stagingParts } from './worker';

runAsWorker<{ stagingDir: string; lakeDir: string; dataset: string }>(
  async ({ stagingDir, lakeDir, dataset }, clock) => {
    rmSync(lakeDir, { recursive: true, force: true });
    clock.restart();
    const manifest = await runSparkTransform({
      plan: compilePlan(findContract(dataset)!),
      sourceId: 'bench-000000000000',
      versionTag: 'bench',
      stagingDir,
      lakeDir,
    });
    const { bytes } = stagingParts(stagingDir);
    return {
      bytes,
      rows: manifest.rowsOut,
      details: { files: manifest.objects.length, rowsIn: manifest.rowsIn },
    };
  },
);
