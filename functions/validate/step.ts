/**
 * The Validate state's step, free of AWS: `createValidateStep(ports)` calls
 * {@link validateObject} and records the row, byte and duration metrics.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { FileRejectedError } from '../../core/errors';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import { checkLandingKey } from '../../core/layout';
import {
  DEFAULT_TRANSFORM_LAMBDA_MAX_BYTES,
  transformEngineFor,
  type ValidateInput,
  type ValidateStepResult,
} from '../../core/steps';
import { validateObject, type ValidateDeps } from './validate';

export type ValidateStep = (input: ValidateInput) => Promise<ValidateStepResult>;

export interface ValidatePorts extends ValidateDeps {
  /**
   * Staging bytes up to which the transform runs in the Transform Lambda; above, the Glue job
   * (the TransformEngine Choice reads the result's `transformEngine`).
   * @default core/steps DEFAULT_TRANSFORM_LAMBDA_MAX_BYTES
   */
  readonly transformLambdaMaxBytes?: number | undefined;
}

export function createValidateStep(ports: ValidatePorts): ValidateStep {
  const maxBytes = ports.transformLambdaMaxBytes ?? DEFAULT_TRANSFORM_LAMBDA_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new Error(
      `validate step: transformLambdaMaxBytes is ${String(maxBytes)}. Fix: a whole number of bytes ≥ 0 (0 sends every file to Glue)`,
    );
  }
  return async (input) => {
    const started = Date.now();
    const keyCheck = checkLandingKey(input.source.key);
    bindRun({
      runId: input.runId,
      objectKey: input.source.key,
      ...(keyCheck.ok && { dataset: keyCheck.dataset }),
    });
    try {
      const result = await validateObject(ports, input);
      metrics.addMetric('RowsRead', MetricUnit.Count, result.rowsRead);
      metrics.addMetric('RowsValid', MetricUnit.Count, result.rowsValid);
      metrics.addMetric('RowsRejected', MetricUnit.Count, result.rowsRejected);
      metrics.addMetric('BytesRead', MetricUnit.Bytes, result.bytesRead);
      metrics.addMetric('FilesRejected', MetricUnit.Count, 0);
      const routed: ValidateStepResult = {
        ...result,
        // Every staging format is read by both engines; the size routed on is the rows' JSON Lines bytes.
        transformEngine: transformEngineFor(result.stagingBytes, maxBytes),
        transformLambdaMaxBytes: maxBytes,
      };
      logger.info('validated', { result: routed });
      return routed;
    } catch (e) {
      if (e instanceof FileRejectedError) {
        metrics.addMetric('FilesRejected', MetricUnit.Count, 1);
        logger.warn('file rejected', { reason: e.reason, error: e.message, details: e.details });
      }
      throw e;
    } finally {
      metrics.addMetric('ValidateDuration', MetricUnit.Milliseconds, Date.now() - started);
    }
  };
}
