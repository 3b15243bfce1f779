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
import type { IamNeeds } from '../../core/steps';
import {
  quarantineObject,
  type QuarantineDeps,
  type QuarantineInput,
  type QuarantineResult,
} from './quarantine';

export const iamNeeds: IamNeeds = [
  {
    on: 'landingBucket',
    actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:DeleteObject'],
    prefixes: ['incoming/'],
    why: 'copy the original version, then remove it from landing',
  },
  {
    on: 'landingBucket',
    actions: ['s3:ListBucket'],
    prefixes: ['incoming/'],
    why: 'HEAD of a missing key answers 404, not 403',
  },
  {
    on: 'lakeBucket',
    actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject'],
    prefixes: ['quarantine/'],
    why: 'write the copy and reason.json, check the copy (put reads back the version it wrote)',
  },
  {
    on: 'lakeBucket',
    actions: ['s3:ListBucket'],
    prefixes: ['quarantine/'],
    why: 'HEAD of a missing copy answers 404, not 403',
  },
  {
    on: 'ledgerTable',
    actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
    why: 'record REJECTED',
  },
];

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
