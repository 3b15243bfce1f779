/**
 * Record-failure Lambda (target of the execution-status EventBridge rule, not a Task state): the
 * AWS entry around `createRecordFailureStep` (step.ts), the ledger on DynamoDB.
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
import type { LedgerRecord } from '../../core/ports';
import type { ExecutionStatusChange } from './record-failure';
import { createRecordFailureStep } from './step';

const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));

const step = createRecordFailureStep({
  ledger: new DynamoDbLedger(dynamodb, requireStepEnv('ledgerTable')),
});

export const handler = middy<ExecutionStatusChange, LedgerRecord | undefined>(step)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
