/**
 * Archive Lambda: the AWS entry around `createArchiveStep` (step.ts), on S3 and the DynamoDB ledger.
 * Clients come from the environment, each traced; the shared Logger, Metrics and Tracer are
 * attached with Middy as Powertools documents it (core/instrumentation.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { DynamoDbLedger } from '../../adapters/aws/dynamodb-ledger';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { requireStepEnv } from '../../adapters/aws/step-env';
import { logger, metrics } from '../../core/instrumentation';
import { tracer } from '../../core/tracer';
import type { ArchiveInput, ArchiveResult } from './archive';
import { createArchiveStep } from './step';

const s3 = tracer.captureAWSv3Client(new S3Client({}));
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));

const step = createArchiveStep({
  store: new S3ObjectStore(s3),
  ledger: new DynamoDbLedger(dynamodb, requireStepEnv('ledgerTable')),
});

export const handler = middy<ArchiveInput, ArchiveResult>(step)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
