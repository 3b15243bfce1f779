/**
 * What every local transform engine (DuckDB here, local Spark in spark.ts) is asked to do, and the
 * checks on that request that come before any SQL or path is built from it.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { TransformFailedError } from '../../core/errors';
import { checkPlan, type TransformPlan } from '../../core/plan';
import { STAGING_SUCCESS } from '../../core/staging';

/** One transform of one version of one source file. */
export interface TransformRequest {
  /** The compiled plan (staging's plan.json); checked with core/plan `checkPlan` before use. */
  readonly plan: TransformPlan;
  /** When given, must equal `plan.dataset` (guards against a plan from another dataset). */
  readonly dataset?: string;
  /** core/layout `sourceIdOf(key)`: names every output object of this file. */
  readonly sourceId: string;
  /** core/layout `versionTagOf(...)`: recorded in the manifest. */
  readonly versionTag: string;
  /** Local folder of the staging prefix: `part-NNNNN.jsonl` files and `_SUCCESS`. */
  readonly stagingDir: string;
  /** Local folder that is the lake bucket: lake key `k` lives at `<lakeDir>/<k>`. */
  readonly lakeDir: string;
}

/** sourceIdOf output: lower-case stem, `-`, 12 hex. Held to that shape because it becomes a file name. */
const SOURCE_ID = /^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$/;
const VERSION_TAG = /^[A-Za-z0-9_-]{1,64}$/;
const PART_FILE = /^part-\d{5}\.jsonl$/;

/**
 * Checks a request and lists its staging part files (sorted). Refuses a staging prefix without
 * `_SUCCESS`: the validate step writes it last, so without it the parts may be incomplete.
 */
export function checkRequest(request: TransformRequest): { plan: TransformPlan; parts: string[] } {
  const plan = checkPlan(request.plan, `transform of ${request.sourceId}`);
  if (request.dataset !== undefined && request.dataset !== plan.dataset) {
    throw new TransformFailedError(
      `transform of ${request.sourceId}: the plan is for dataset "${plan.dataset}", the request for "${request.dataset}". Fix: pass the plan compiled from the ${request.dataset} contract`,
    );
  }
  if (!SOURCE_ID.test(request.sourceId)) {
    throw new TransformFailedError(
      `transform: source id ${JSON.stringify(request.sourceId)} is not a core/layout sourceIdOf() id. Fix: derive it with sourceIdOf(key)`,
    );
  }
  if (!VERSION_TAG.test(request.versionTag)) {
    throw new TransformFailedError(
      `transform of ${request.sourceId}: version tag ${JSON.stringify(request.versionTag)} is not a core/layout versionTagOf() tag. Fix: derive it with versionTagOf(...)`,
    );
  }
  if (!existsSync(path.join(request.stagingDir, STAGING_SUCCESS))) {
    throw new TransformFailedError(
      `transform of ${request.sourceId}: staging folder ${request.stagingDir} has no ${STAGING_SUCCESS} marker, so the validate step did not finish writing it. Fix: re-run the validate step for this file (the original is untouched), then the transform`,
    );
  }
  const parts = readdirSync(request.stagingDir)
    .filter((f) => PART_FILE.test(f))
    .sort()
    .map((f) => path.join(request.stagingDir, f));
  return { plan, parts };
}
