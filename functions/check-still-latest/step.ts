/** The CheckStillLatest state's step, free of AWS: `createCheckStillLatestStep(ports)`. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import {
  checkStillLatest,
  type CheckStillLatestDeps,
  type CheckStillLatestInput,
  type CheckStillLatestResult,
} from './check-still-latest';

export function createCheckStillLatestStep(
  ports: CheckStillLatestDeps,
): (input: CheckStillLatestInput) => Promise<CheckStillLatestResult> {
  return async (input) => {
    bindRun({ runId: input.runId, objectKey: input.source.key });
    const result = await checkStillLatest(input, ports);
    logger.info('claim rechecked', { status: result.status, latestVersionTag: result.latestVersionTag });
    if (result.status === 'SUPERSEDED') metrics.addMetric('ClaimSuperseded', MetricUnit.Count, 1);
    return result;
  };
}
