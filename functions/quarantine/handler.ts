/**
 * Quarantine Lambda: `createHandler(deps)` for any wiring, `handler` wired to S3 and DynamoDB
 * from the environment on first use.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDbLedger } from '../../adapters/aws/dynamodb-ledger';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { optionalStepEnv, requireStepEnv } from '../../adapters/aws/step-env';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import {
  quarantineObject,
  type QuarantineDeps,
  type QuarantineInput,
  type QuarantineResult,
} from './quarantine';

export { iamNeeds } from './iam';

export function createHandler(deps: QuarantineDeps): (input: QuarantineInput) => Promise<QuarantineResult> {
  return async (input) => {
    bindRun({ runId: input.runId, objectKey: input.detail.object.key });
    try {
      const result = await quarantineObject(input, deps);
      logger.warn('file quarantined', { reason: result.reason, quarantined: result.quarantined.key });
      metrics.addDimension('reason', result.reason);
      metrics.addMetric('FilesRejected', MetricUnit.Count, 1);
      return result;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

let wired: ((input: QuarantineInput) => Promise<QuarantineResult>) | undefined;
export const handler = (input: QuarantineInput): Promise<QuarantineResult> =>
  (wired ??= createHandler({
    store: new S3ObjectStore(new S3Client({})),
    ledger: new DynamoDbLedger(new DynamoDBClient({}), requireStepEnv('ledgerTable')),
    ...(optionalStepEnv('schemasDir') !== undefined && { schemasDir: optionalStepEnv('schemasDir')! }),
  }))(input);
