/**
 * The Claim state's step, free of AWS: `createClaimStep(ports)` returns what the Lambda (and the
 * local runtime) calls with the state's input. Logs the decision and counts it by status.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import type { ClaimInput, ClaimResult } from '../../core/steps';
import { claimObject, type ClaimDeps } from './claim';

export function createClaimStep(ports: ClaimDeps): (input: ClaimInput) => Promise<ClaimResult> {
  return async (input) => {
    bindRun({ runId: input.runId, objectKey: input.event.detail.object.key });
    const result = await claimObject(input, ports);
    bindRun({ runId: input.runId, dataset: result.dataset, objectKey: result.source.key });
    logger.info('claim decided', { status: result.status, versionTag: result.versionTag });
    metrics.addMetric(`Claim${result.status[0]}${result.status.slice(1).toLowerCase()}`, MetricUnit.Count, 1);
    return result;
  };
}
