/**
 * Validate Lambda: the AWS entry around `createValidateStep` (step.ts), reading and writing S3
 * (LAKE_BUCKET names the lake bucket; SCHEMAS_DIR where the bundle ships the contracts).
 * Clients come from the environment, each traced; the shared Logger, Metrics and Tracer are
 * attached with Middy as Powertools documents it (core/instrumentation.ts).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { optionalStepEnv, requireStepEnv } from '../../adapters/aws/step-env';
import { VALIDATE_MAX_FILE_BYTES_ENV, validateMaxFileBytesOf } from '../../core/file-size-limit';
import { logger, metrics } from '../../core/instrumentation';
import { tracer } from '../../core/tracer';
import {
  TRANSFORM_LAMBDA_MAX_BYTES_ENV,
  transformLambdaMaxBytesOf,
  type ValidateInput,
  type ValidateStepResult,
} from '../../core/steps';
import { createValidateStep } from './step';

const s3 = tracer.captureAWSv3Client(new S3Client({}));

const step = createValidateStep({
  store: new S3ObjectStore(s3),
  lakeBucket: requireStepEnv('lakeBucket'),
  schemasDir: optionalStepEnv('schemasDir'),
  transformLambdaMaxBytes: transformLambdaMaxBytesOf(process.env[TRANSFORM_LAMBDA_MAX_BYTES_ENV]),
  maxFileBytes: validateMaxFileBytesOf(process.env[VALIDATE_MAX_FILE_BYTES_ENV]),
});

export const handler = middy<ValidateInput, ValidateStepResult>(step)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
