/**
 * The embedded transform engine (transform/duckdb.ts) on Parquet staging (issue 13): the same rows
 * as the validate step's JSON Lines staging, converted once by staging-parquet outside the timing.
 * `bytes` is the JSON Lines staging's size, so throughput and the ratio to the ceiling compare the
 * same work as the engine's JSON Lines row; the Parquet size is in the details.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { findContract } from '../../core/contract';
import { compilePlan } from '../../core/plan';
import { runTransform, type DuckdbEngineOptions } from '../../transform/duckdb';
import { runAsWorker } from './worker';

runAsWorker<{
  stagingDir: string;
  jsonlBytes: number;
  lakeDir: string;
  dataset: string;
  options?: DuckdbEngineOptions;
}>(async ({ stagingDir, jsonlBytes, lakeDir, dataset, options }, clock) => {
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
  const parquetBytes = readdirSync(stagingDir)
    .filter((f) => f.endsWith('.parquet'))
    .reduce((sum, f) => sum + statSync(path.join(stagingDir, f)).size, 0);
  return {
    bytes: jsonlBytes,
    rows: manifest.rowsOut,
    details: {
      files: manifest.objects.length,
      rowsIn: manifest.rowsIn,
      parquetBytes,
      timingsMs: manifest.timingsMs,
    },
  };
});
