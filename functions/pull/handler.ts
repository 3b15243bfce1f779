/**
 * Pull Lambda, invoked by one EventBridge Scheduler schedule per source definition
 * (infra/constructs/source-pulls.ts) with `{"source": "<name>"}`: the AWS entry around
 * `createPullStep` (step.ts), on S3 (streaming multipart upload into the landing bucket), the
 * DynamoDB bookmarks table and Secrets Manager. Clients come from the environment, each traced; the
 * shared Logger, Metrics and Tracer are attached with Middy as Powertools documents it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { DynamoDbSourceLedger } from '../../adapters/aws/dynamodb-source-ledger';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { SecretsManagerResolver } from '../../adapters/aws/secrets-manager-resolver';
import { requireStepEnv } from '../../adapters/aws/step-env';
import { logger, metrics } from '../../core/instrumentation';
import { tracer } from '../../core/tracer';
import { createPullStep, type PullInput, type PullStepResult } from './step';

const s3 = tracer.captureAWSv3Client(new S3Client({}));
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));
const secrets = tracer.captureAWSv3Client(new SecretsManagerClient({}));

const step = createPullStep({
  store: new S3ObjectStore(s3),
  ledger: new DynamoDbSourceLedger(dynamodb, requireStepEnv('sourceLedgerTable')),
  landingBucket: requireStepEnv('landingBucket'),
  secrets: new SecretsManagerResolver(secrets),
  // The source definitions travel beside the contracts in the bundle.
  sourcesDir: requireStepEnv('schemasDir'),
});

export const handler = middy<PullInput, PullStepResult, Error, Context>((input, context) =>
  step(input, context),
)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
