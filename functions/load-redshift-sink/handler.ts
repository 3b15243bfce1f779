/**
 * LoadRedshiftSink Lambda: the AWS entry around `createLoadRedshiftSinkStep` (step.ts): the run's
 * objects on S3, the Redshift Data API on the workgroup or cluster the contract names, COPY with
 * the contract's `copyRoleArn` or the stack's COPY role (REDSHIFT_COPY_ROLE_ARN).
 */
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { S3Client } from '@aws-sdk/client-s3';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { RedshiftDataSink, RedshiftDataSqlRunner } from '../../adapters/aws/redshift-data';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { optionalStepEnv, requireStepEnv } from '../../adapters/aws/step-env';
import { logger, metrics } from '../../core/instrumentation';
import { tracer } from '../../core/tracer';
import type { SinkStepInput } from '../../sinks/load';
import { createLoadRedshiftSinkStep, type LoadRedshiftSinkResult } from './step';

const s3 = tracer.captureAWSv3Client(new S3Client({}));
const redshiftData = tracer.captureAWSv3Client(new RedshiftDataClient({}));
const store = new S3ObjectStore(s3);

const step = createLoadRedshiftSinkStep({
  store,
  schemasDir: optionalStepEnv('schemasDir'),
  // The stack sets REDSHIFT_COPY_ROLE_ARN only when some sink uses its COPY role: read it then.
  warehouse: {
    load: (run, table, target) =>
      new RedshiftDataSink({
        store,
        runnerFor: (t) => new RedshiftDataSqlRunner(redshiftData, t),
        defaultCopyRoleArn: target.copyRoleArn ?? requireStepEnv('redshiftCopyRole'),
      }).load(run, table, target),
  },
});

export const handler = middy<SinkStepInput, LoadRedshiftSinkResult>(step)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
