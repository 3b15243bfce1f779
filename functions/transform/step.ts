/**
 * The TransformInLambda state's step, free of AWS: `createTransformStep(ports)` runs the DuckDB
 * engine (transform/duckdb.ts `runTransformOnStore`) over the lake bucket through the ObjectStore
 * port — S3 in the Transform Lambda, the local folder store locally — exactly the engine the
 * local runtime's Glue stand-in runs, so both paths publish the same objects and manifest
 * (test/parity). Files reach it when Validate routed them here (`$.validate.transformEngine`
 * "lambda": staging up to the threshold); larger ones go to the Glue job.
 *
 * The plan is the `plan.json` Validate wrote beside the staging parts (what the Glue job reads).
 * DuckDB loads on the first run, not when the module loads.
 */
import { text } from 'node:stream/consumers';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { TransformFailedError } from '../../core/errors';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import { parsePlan } from '../../core/plan';
import { NoSuchKeyError, type ObjectStore } from '../../core/ports';
import type { Location, TransformManifest } from '../../core/steps';
import type { DuckdbEngineOptions } from '../../transform/duckdb';
import type { StoreTransformRequest } from '../../transform/store-io';

/** TransformInLambda: Parameters (statemachines/pipeline.asl.json). */
export interface TransformInput {
  readonly runId: string;
  readonly dataset: string;
  readonly sourceId: string;
  readonly versionTag: string;
  /** $.claim.sourceOrder: nothing is published over the output of a newer version of the key. */
  readonly sourceOrder: string;
  /** $.validate.staging: the version's staging prefix in the lake bucket. */
  readonly staging: Location;
  readonly lakeBucket: string;
}

/**
 * Kept at $.transform: the fields the Glue task's ResultSelector keeps (id, state, startedOn in
 * epoch milliseconds, executionTime in seconds), `engine`, and the manifest's counts.
 */
export interface TransformStepResult {
  readonly engine: 'lambda';
  readonly id: string;
  readonly state: 'SUCCEEDED';
  readonly startedOn: number;
  readonly executionTime: number;
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly objects: number;
  readonly partitions: number;
  /** The manifest in place was a newer version's: nothing was published (Verify stands the run down). */
  readonly superseded: boolean;
}

/** runTransformOnStore's signature (transform/duckdb.ts); a port so tests can watch the call. */
export type StoreTransformEngine = (
  request: StoreTransformRequest,
  options?: DuckdbEngineOptions,
) => Promise<TransformManifest>;

export interface TransformPorts {
  readonly store: ObjectStore;
  /** Local folder for staging copies, DuckDB's output and spill (a Lambda's /tmp). */
  readonly scratchDir: string;
  /** DuckDB settings (memory limit, threads) for the function's size. @default the engine's */
  readonly engineOptions?: DuckdbEngineOptions;
  /** @default transform/duckdb runTransformOnStore, loaded on first use */
  readonly engine?: StoreTransformEngine;
}

export function createTransformStep(
  ports: TransformPorts,
): (input: TransformInput) => Promise<TransformStepResult> {
  let engine = ports.engine;
  return async (input) => {
    bindRun({ runId: input.runId, dataset: input.dataset });
    const startedOn = Date.now();
    const { bucket, key: stagingPrefix } = input.staging;
    if (bucket !== input.lakeBucket || !stagingPrefix.endsWith('/')) {
      throw new TransformFailedError(
        `transform of ${input.sourceId}: staging s3://${bucket}/${stagingPrefix} is not a prefix in the lake bucket ${input.lakeBucket}. Fix: pass $.validate.staging (Validate writes staging into the lake bucket)`,
      );
    }
    const planKey = `${stagingPrefix}plan.json`;
    let planText: string;
    try {
      planText = await text(await ports.store.get({ bucket, key: planKey }));
    } catch (e) {
      if (!(e instanceof NoSuchKeyError)) throw e;
      throw new TransformFailedError(
        `transform of ${input.sourceId}: s3://${bucket}/${planKey} does not exist. Fix: re-run the file from Validate (it writes plan.json beside the staging parts)`,
      );
    }
    const plan = parsePlan(planText, `s3://${bucket}/${planKey}`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    engine ??= (require('../../transform/duckdb') as typeof import('../../transform/duckdb'))
      .runTransformOnStore;
    const manifest = await engine(
      {
        store: ports.store,
        lakeBucket: input.lakeBucket,
        scratchDir: ports.scratchDir,
        stagingPrefix,
        plan,
        dataset: input.dataset,
        sourceId: input.sourceId,
        versionTag: input.versionTag,
        sourceOrder: input.sourceOrder,
      },
      ports.engineOptions,
    );
    const executionMs = Date.now() - startedOn;
    const superseded = manifest.superseded !== undefined;
    logger.info(superseded ? 'transform published nothing: a newer version owns the output' : 'transformed', {
      sourceId: input.sourceId,
      rowsIn: manifest.rowsIn,
      rowsOut: manifest.rowsOut,
      objects: manifest.objects.length,
      timingsMs: manifest.timingsMs,
    });
    metrics.addMetric('TransformLambdaDuration', MetricUnit.Milliseconds, executionMs);
    metrics.addMetric('RowsTransformed', MetricUnit.Count, manifest.rowsOut);
    return {
      engine: 'lambda',
      id: `lambda-${input.runId}-${startedOn}`,
      state: 'SUCCEEDED',
      startedOn,
      executionTime: Math.round(executionMs / 1000),
      rowsIn: manifest.rowsIn,
      rowsOut: manifest.rowsOut,
      objects: manifest.objects.length,
      partitions: manifest.partitions.length,
      superseded,
    };
  };
}

/**
 * DuckDB's settings for a function of `memoryMiB` (AWS_LAMBDA_FUNCTION_MEMORY_SIZE): 80% of it as
 * `memory_limit`, leaving the rest to Node, the SDK and the upload buffers; threads = the vCPUs
 * Lambda gives (the engine's default). Unset (not on Lambda): the engine's defaults.
 */
export function engineOptionsFor(memoryMiB: string | undefined): DuckdbEngineOptions {
  const mib = Number(memoryMiB);
  if (memoryMiB === undefined || !Number.isFinite(mib) || mib <= 0) return {};
  return { memoryLimit: `${Math.floor(mib * 0.8)}MB` };
}
