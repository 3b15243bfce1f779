/**
 * Claim Lambda: `createHandler(deps)` for any wiring (the local runtime passes a LocalLedger),
 * `handler` wired to DynamoDB from the environment on first use.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDbLedger } from '../../adapters/aws/dynamodb-ledger';
import { optionalStepEnv, requireStepEnv } from '../../adapters/aws/step-env';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import type { ClaimInput, ClaimResult, IamNeeds } from '../../core/steps';
import { claimObject, type ClaimDeps } from './claim';

export const iamNeeds: IamNeeds = [
  {
    on: 'ledgerTable',
    actions: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
    why: 'first-write-wins claim of bucket/key/version, latest-version check',
  },
];

export function createHandler(deps: ClaimDeps): (input: ClaimInput) => Promise<ClaimResult> {
  return async (input) => {
    bindRun({ runId: input.runId, objectKey: input.event.detail.object.key });
    try {
      const result = await claimObject(input, deps);
      bindRun({ runId: input.runId, dataset: result.dataset, objectKey: result.source.key });
      logger.info('claim decided', { status: result.status, versionTag: result.versionTag });
      metrics.addMetric(
        `Claim${result.status[0]}${result.status.slice(1).toLowerCase()}`,
        MetricUnit.Count,
        1,
      );
      return result;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

let wired: ((input: ClaimInput) => Promise<ClaimResult>) | undefined;
export const handler = (input: ClaimInput): Promise<ClaimResult> =>
  (wired ??= createHandler({
    ledger: new DynamoDbLedger(new DynamoDBClient({}), requireStepEnv('ledgerTable')),
    ...(optionalStepEnv('schemasDir') !== undefined && { schemasDir: optionalStepEnv('schemasDir')! }),
  }))(input);
