/**
 * RegisterPartitions Lambda: the AWS entry around `createRegisterPartitionsStep` (step.ts): the
 * manifest on S3, the table and its partitions in the Glue Data Catalog.
 * Clients come from the environment, each traced; the shared Logger, Metrics and Tracer are
 * attached with Middy as Powertools documents it (core/instrumentation.ts).
 */
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { GlueCatalog } from '../../adapters/aws/glue-catalog';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { optionalStepEnv } from '../../adapters/aws/step-env';
import { logger, metrics } from '../../core/instrumentation';
import { tracer } from '../../core/tracer';
import type { RegisterPartitionsInput, RegisterPartitionsResult } from './register-partitions';
import { createRegisterPartitionsStep } from './step';

const glue = tracer.captureAWSv3Client(new GlueClient({}));
const s3 = tracer.captureAWSv3Client(new S3Client({}));

const step = createRegisterPartitionsStep({
  store: new S3ObjectStore(s3),
  registry: new GlueCatalog(glue),
  schemasDir: optionalStepEnv('schemasDir'),
});

export const handler = middy<RegisterPartitionsInput, RegisterPartitionsResult>(step)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
