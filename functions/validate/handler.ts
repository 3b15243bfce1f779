/**
 * Validate Lambda: parse the state input, call {@link validateObject}, record metrics, return.
 * `createHandler(deps)` is what the local runtime calls with the local object store; `handler` is
 * the same wired to S3 from the environment (LAKE_BUCKET), the client created once, lazily.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { FileRejectedError } from '../../core/errors';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import { checkLandingKey } from '../../core/layout';
import type { ValidateInput, ValidateResult } from '../../core/steps';
import { validateObject, type ValidateDeps } from './validate';

export { iamNeeds } from './iam';

export type ValidateHandler = (input: ValidateInput) => Promise<ValidateResult>;

export function createHandler(deps: ValidateDeps): ValidateHandler {
  return async (input) => {
    const started = Date.now();
    const keyCheck = checkLandingKey(input.source.key);
    bindRun({
      runId: input.runId,
      objectKey: input.source.key,
      ...(keyCheck.ok && { dataset: keyCheck.dataset }),
    });
    try {
      const result = await validateObject(deps, input);
      metrics.addMetric('RowsRead', MetricUnit.Count, result.rowsRead);
      metrics.addMetric('RowsValid', MetricUnit.Count, result.rowsValid);
      metrics.addMetric('RowsRejected', MetricUnit.Count, result.rowsRejected);
      metrics.addMetric('BytesRead', MetricUnit.Bytes, result.bytesRead);
      metrics.addMetric('FilesRejected', MetricUnit.Count, 0);
      logger.info('validated', { result });
      return result;
    } catch (e) {
      if (e instanceof FileRejectedError) {
        metrics.addMetric('FilesRejected', MetricUnit.Count, 1);
        logger.warn('file rejected', { reason: e.reason, error: e.message, details: e.details });
      }
      throw e;
    } finally {
      metrics.addMetric('ValidateDuration', MetricUnit.Milliseconds, Date.now() - started);
      metrics.publishStoredMetrics();
    }
  };
}

let wired: ValidateHandler | undefined;

/** The Lambda entry point (AWS adapters; LAKE_BUCKET names the lake bucket, SCHEMAS_DIR optional). */
export const handler: ValidateHandler = async (input) => {
  if (!wired) {
    const lakeBucket = process.env.LAKE_BUCKET;
    if (!lakeBucket) throw new Error('LAKE_BUCKET is not set: the stack must pass the lake bucket name');
    // SCHEMAS_DIR: where the bundle ships the contracts (default: core/contract DEFAULT_SCHEMAS_DIR).
    const schemasDir = process.env.SCHEMAS_DIR;
    wired = createHandler({
      store: new S3ObjectStore(new S3Client({})),
      lakeBucket,
      ...(schemasDir && { schemasDir }),
    });
  }
  return wired(input);
};
