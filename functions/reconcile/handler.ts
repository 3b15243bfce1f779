/**
 * Reconcile Lambda, invoked by the EventBridge Scheduler schedule (infra/pipeline-stack.ts): the AWS
 * entry around `createReconcileStep` (step.ts), on S3, the DynamoDB ledger and Step Functions.
 * Clients come from the environment, each traced; the shared Logger, Metrics and Tracer are
 * attached with Middy as Powertools documents it (core/instrumentation.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { DynamoDbLedger } from '../../adapters/aws/dynamodb-ledger';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { requireStepEnv } from '../../adapters/aws/step-env';
import { logger, metrics } from '../../core/instrumentation';
import { tracer } from '../../core/tracer';
import type { ReconcileInput, ReconcileResult } from './reconcile';
import { regionAndAccountOf, SfnRunStarter } from './sfn-run-starter';
import { createReconcileStep } from './step';

const s3 = tracer.captureAWSv3Client(new S3Client({}));
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));
const sfn = tracer.captureAWSv3Client(new SFNClient({}));
const stateMachineArn = requireStepEnv('stateMachine');

const step = createReconcileStep({
  store: new S3ObjectStore(s3),
  ledger: new DynamoDbLedger(dynamodb, requireStepEnv('ledgerTable')),
  starter: new SfnRunStarter(sfn, stateMachineArn),
  landingBucket: requireStepEnv('landingBucket'),
  ...regionAndAccountOf(stateMachineArn),
});

export const handler = middy<ReconcileInput | undefined, ReconcileResult>(step)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
