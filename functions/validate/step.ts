/**
 * The Validate state's step, free of AWS: `createValidateStep(ports)` calls
 * {@link validateObject} and records the row, byte and duration metrics.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { FileRejectedError } from '../../core/errors';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import { checkLandingKey } from '../../core/layout';
import type { ValidateInput, ValidateResult } from '../../core/steps';
import { validateObject, type ValidateDeps } from './validate';

export type ValidateStep = (input: ValidateInput) => Promise<ValidateResult>;

export function createValidateStep(ports: ValidateDeps): ValidateStep {
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
    }
  };
}
