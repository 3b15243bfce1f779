/** The Quarantine state's step, free of AWS: `createQuarantineStep(ports)`. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import {
  quarantineObject,
  type QuarantineDeps,
  type QuarantineInput,
  type QuarantineResult,
} from './quarantine';

export function createQuarantineStep(
  ports: QuarantineDeps,
): (input: QuarantineInput) => Promise<QuarantineResult> {
  return async (input) => {
    bindRun({ runId: input.runId, objectKey: input.detail.object.key });
    const result = await quarantineObject(input, ports);
    logger.warn('file quarantined', { reason: result.reason, quarantined: result.quarantined.key });
    metrics.addDimension('reason', result.reason);
    metrics.addMetric('FilesRejected', MetricUnit.Count, 1);
    return result;
  };
}
