/**
 * Claim Lambda: the AWS entry around `createClaimStep` (step.ts), the ledger on DynamoDB.
 * Clients come from the environment, each traced; the shared Logger, Metrics and Tracer are
 * attached with Middy as Powertools documents it (core/instrumentation.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { DynamoDbLedger } from '../../adapters/aws/dynamodb-ledger';
import { optionalStepEnv, requireStepEnv } from '../../adapters/aws/step-env';
import { logger, metrics } from '../../core/instrumentation';
import { tracer } from '../../core/tracer';
import type { ClaimInput, ClaimResult } from '../../core/steps';
import { createClaimStep } from './step';

const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));

const step = createClaimStep({
  ledger: new DynamoDbLedger(dynamodb, requireStepEnv('ledgerTable')),
  schemasDir: optionalStepEnv('schemasDir'),
});

export const handler = middy<ClaimInput, ClaimResult>(step)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
