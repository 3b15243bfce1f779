/**
 * CheckStillLatest Lambda: the AWS entry around `createCheckStillLatestStep` (step.ts), the ledger on DynamoDB.
 * Clients come from the environment, each traced; the shared Logger, Metrics and Tracer are
 * attached with Middy as Powertools documents it (core/instrumentation.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { DynamoDbLedger } from '../../adapters/aws/dynamodb-ledger';
import { requireStepEnv } from '../../adapters/aws/step-env';
import { logger, metrics } from '../../core/instrumentation';
import { tracer } from '../../core/tracer';
import type { CheckStillLatestInput, CheckStillLatestResult } from './check-still-latest';
import { createCheckStillLatestStep } from './step';

const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));

const step = createCheckStillLatestStep({
  ledger: new DynamoDbLedger(dynamodb, requireStepEnv('ledgerTable')),
});

export const handler = middy<CheckStillLatestInput, CheckStillLatestResult>(step)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
