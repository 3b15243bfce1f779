/**
 * Archive Lambda: `createHandler(deps)` for any wiring, `handler` wired to S3 and DynamoDB from
 * the environment on first use.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDbLedger } from '../../adapters/aws/dynamodb-ledger';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { requireStepEnv } from '../../adapters/aws/step-env';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import { archiveObject, type ArchiveDeps, type ArchiveInput, type ArchiveResult } from './archive';

export { iamNeeds } from './iam';

export function createHandler(deps: ArchiveDeps): (input: ArchiveInput) => Promise<ArchiveResult> {
  return async (input) => {
    bindRun({ runId: input.runId, dataset: input.dataset, objectKey: input.source.key });
    try {
      const result = await archiveObject(input, deps);
      logger.info('original archived', {
        archived: result.archived.key,
        originalRemoved: result.originalRemoved,
      });
      metrics.addMetric('FilesSucceeded', MetricUnit.Count, 1);
      metrics.addMetric('RowsWritten', MetricUnit.Count, input.counts.rowsOut);
      return result;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

let wired: ((input: ArchiveInput) => Promise<ArchiveResult>) | undefined;
export const handler = (input: ArchiveInput): Promise<ArchiveResult> =>
  (wired ??= createHandler({
    store: new S3ObjectStore(new S3Client({})),
    ledger: new DynamoDbLedger(new DynamoDBClient({}), requireStepEnv('ledgerTable')),
  }))(input);
