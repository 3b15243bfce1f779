/**
 * Transform Lambda: the AWS entry around `createTransformStep` (step.ts): the DuckDB engine over
 * the lake bucket through the SDK's S3 client (adapters/aws/s3-object-store.ts) — never DuckDB's
 * httpfs, which downloads an extension at run time and a Lambda without internet cannot. Staging
 * is copied into /tmp (the function's ephemeral storage), DuckDB writes its Parquet there, and the
 * objects and manifest are uploaded. DuckDB gets 80% of the function's memory and every vCPU.
 * Clients come from the environment, each traced; the shared Logger, Metrics and Tracer are
 * attached with Middy as Powertools documents it.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { logger, metrics } from '../../core/instrumentation';
import { tracer } from '../../core/tracer';
import { createTransformStep, engineOptionsFor, type TransformInput, type TransformStepResult } from './step';

const s3 = tracer.captureAWSv3Client(new S3Client({}));

const step = createTransformStep({
  store: new S3ObjectStore(s3),
  scratchDir: process.env.TRANSFORM_SCRATCH_DIR ?? '/tmp',
  engineOptions: engineOptionsFor(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE),
});

export const handler = middy<TransformInput, TransformStepResult>(step)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
