/**
 * Claim Lambda: `createHandler(deps)` for any wiring (the local runtime passes a LocalLedger),
 * `handler` wired to DynamoDB from the environment on first use.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDbLedger } from '../../adapters/aws/dynamodb-ledger';
import { optionalStepEnv, requireStepEnv } from '../../adapters/aws/step-env';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import type { ClaimInput, ClaimResult } from '../../core/steps';
import { claimObject, recheckClaim, type ClaimDeps, type RecheckInput, type RecheckResult } from './claim';

export { iamNeeds } from './iam';

type ClaimStepInput = ClaimInput | RecheckInput;
type ClaimStepResult<I> = I extends RecheckInput ? RecheckResult : ClaimResult;

/** One function, two states: Claim (the event) and CheckStillLatest (`action: "recheck"`). */
export function createHandler(
  deps: ClaimDeps,
): <I extends ClaimStepInput>(input: I) => Promise<ClaimStepResult<I>> {
  const run = async (input: ClaimStepInput): Promise<ClaimResult | RecheckResult> => {
    if ('action' in input && input.action === 'recheck') {
      bindRun({ runId: input.runId, objectKey: input.source.key });
      const result = await recheckClaim(input, deps);
      logger.info('claim rechecked', { status: result.status, latestVersionTag: result.latestVersionTag });
      if (result.status === 'SUPERSEDED') metrics.addMetric('ClaimSuperseded', MetricUnit.Count, 1);
      return result;
    }
    const claim = input as ClaimInput;
    bindRun({ runId: claim.runId, objectKey: claim.event.detail.object.key });
    const result = await claimObject(claim, deps);
    bindRun({ runId: claim.runId, dataset: result.dataset, objectKey: result.source.key });
    logger.info('claim decided', { status: result.status, versionTag: result.versionTag });
    metrics.addMetric(`Claim${result.status[0]}${result.status.slice(1).toLowerCase()}`, MetricUnit.Count, 1);
    return result;
  };
  return async <I extends ClaimStepInput>(input: I) => {
    try {
      return (await run(input)) as ClaimStepResult<I>;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

let wired: ReturnType<typeof createHandler> | undefined;
export const handler = <I extends ClaimStepInput>(input: I): Promise<ClaimStepResult<I>> =>
  (wired ??= createHandler({
    ledger: new DynamoDbLedger(new DynamoDBClient({}), requireStepEnv('ledgerTable')),
    ...(optionalStepEnv('schemasDir') !== undefined && { schemasDir: optionalStepEnv('schemasDir')! }),
  }))(input);
