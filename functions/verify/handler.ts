/**
 * Verify Lambda: `createHandler(deps)` for any wiring (locally: LocalQueryEngine over the lake
 * folder), `handler` wired to Athena and S3 from the environment on first use.
 */
import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { AthenaQueryEngine } from '../../adapters/aws/athena-query-engine';
import { DynamoDbLedger } from '../../adapters/aws/dynamodb-ledger';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { optionalStepEnv, requireStepEnv } from '../../adapters/aws/step-env';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import { verifyOutput, type VerifyDeps, type VerifyInput, type VerifyResult } from './verify';

export { iamNeeds } from './iam';

export function createHandler(deps: VerifyDeps): (input: VerifyInput) => Promise<VerifyResult> {
  return async (input) => {
    bindRun({ runId: input.runId, dataset: input.dataset });
    try {
      const result = await verifyOutput(input, deps);
      if (result.status === 'SUPERSEDED') {
        logger.info('superseded: a newer version owns the output', {
          sourceId: input.sourceId,
          latestVersionTag: result.latestVersionTag,
        });
        metrics.addMetric('VerifySuperseded', MetricUnit.Count, 1);
        return result;
      }
      logger.info('output verified', {
        sourceId: input.sourceId,
        rowsOut: result.rowsOut,
        checks: result.checks,
      });
      metrics.addMetric('FilesVerified', MetricUnit.Count, 1);
      return result;
    } catch (e) {
      if ((e as Error).name === 'VerificationFailedError')
        metrics.addMetric('VerificationFailures', MetricUnit.Count, 1);
      throw e;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

let wired: ((input: VerifyInput) => Promise<VerifyResult>) | undefined;
export const handler = (input: VerifyInput): Promise<VerifyResult> =>
  (wired ??= createHandler({
    store: new S3ObjectStore(new S3Client({})),
    ledger: new DynamoDbLedger(new DynamoDBClient({}), requireStepEnv('ledgerTable')),
    query: new AthenaQueryEngine(new AthenaClient({}), {
      workGroup: requireStepEnv('athenaWorkGroup'),
      ...(optionalStepEnv('athenaResultsBucket') !== undefined && {
        outputLocation: `s3://${optionalStepEnv('athenaResultsBucket')!}/verify/`,
      }),
    }),
    ...(optionalStepEnv('schemasDir') !== undefined && { schemasDir: optionalStepEnv('schemasDir')! }),
  }))(input);
