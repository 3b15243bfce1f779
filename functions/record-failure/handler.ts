/**
 * Record-failure Lambda (target of the execution-status EventBridge rule, not a Task state):
 * `createHandler(deps)` for any wiring, `handler` wired to DynamoDB on first use.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDbLedger } from '../../adapters/aws/dynamodb-ledger';
import { requireStepEnv } from '../../adapters/aws/step-env';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import type { LedgerRecord } from '../../core/ports';
import { recordFailure, type ExecutionStatusChange, type RecordFailureDeps } from './record-failure';

export { iamNeeds } from './iam';

export function createHandler(
  deps: RecordFailureDeps,
): (event: ExecutionStatusChange) => Promise<LedgerRecord | undefined> {
  return async (event) => {
    bindRun({ runId: event.detail.name });
    try {
      const record = await recordFailure(event, deps);
      // settle() leaves a REJECTED record alone (rejected runs also end FAILED, at the Fail
      // state); only a record that really is FAILED counts as a failed run.
      if (record?.status === 'FAILED') {
        logger.warn('run failed', { status: event.detail.status, ledgerStatus: record.status });
        metrics.addMetric('RunsFailed', MetricUnit.Count, 1);
      }
      return record;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

let wired: ((event: ExecutionStatusChange) => Promise<LedgerRecord | undefined>) | undefined;
export const handler = (event: ExecutionStatusChange): Promise<LedgerRecord | undefined> =>
  (wired ??= createHandler({
    ledger: new DynamoDbLedger(new DynamoDBClient({}), requireStepEnv('ledgerTable')),
  }))(event);
