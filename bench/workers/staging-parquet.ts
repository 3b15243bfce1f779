/**
 * Not a measurement: converts the validate step's JSON Lines staging into the Parquet staging of
 * the same rows (core/staging.ts, typed by stagingParquetType) once, so the transform bench can time
 * the engine on it (duckdb-engine-parquet) with the conversion outside the timing. Skipped when
 * the Parquet folder is complete and newer than the JSON Lines. Reports both sizes.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { findContract } from '../../core/contract';
import { compilePlan } from '../../core/plan';
import { STAGING_SUCCESS } from '../../core/staging';
import { writeParquetStaging } from '../../test/support/parquet-staging';
import { runAsWorker, stagingParts } from './worker';

function partsBytes(dir: string, suffix: string): number {
  return readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
}

runAsWorker<{ stagingDir: string; outDir: string; dataset: string; threads?: number }>(
  async ({ stagingDir, outDir, dataset, threads }) => {
    const { bytes: jsonlBytes } = stagingParts(stagingDir);
    const done = path.join(outDir, STAGING_SUCCESS);
    const fresh =
      existsSync(done) && statSync(done).mtimeMs > statSync(path.join(stagingDir, STAGING_SUCCESS)).mtimeMs;
    if (!fresh) {
      rmSync(outDir, { recursive: true, force: true });
      const plan = compilePlan(findContract(dataset)!);
      const untyped = await writeParquetStaging(plan, stagingDir, outDir, { threads });
      if (untyped.length > 0)
        throw new Error(`staging holds text that is not canonical: ${JSON.stringify(untyped.slice(0, 3))}`);
    }
    return {
      bytes: jsonlBytes,
      details: { jsonlBytes, parquetBytes: partsBytes(outDir, '.parquet'), reused: fresh },
    };
  },
);
