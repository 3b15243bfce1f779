/**
 * LoadDynamoDbSink Lambda: the AWS entry around `createLoadDynamoDbSinkStep` (step.ts): the run's
 * objects on S3, the sink's DynamoDB table (the contract's `table`, or the one the stack made for
 * the dataset: SINK_TABLES). Clients come from the environment, each traced; the shared Logger,
 * Metrics and Tracer are attached with Middy as Powertools documents it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { DynamoDbItemTable } from '../../adapters/aws/dynamodb-item-table';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { optionalStepEnv } from '../../adapters/aws/step-env';
import { SinkLoadFailedError } from '../../core/errors';
import { logger, metrics } from '../../core/instrumentation';
import { tracer } from '../../core/tracer';
import type { SinkStepInput } from '../../sinks/load';
import { createLoadDynamoDbSinkStep, type LoadDynamoDbSinkResult } from './step';

const s3 = tracer.captureAWSv3Client(new S3Client({}));
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));
/** The tables the stack made, by dataset. */
const stackTables = JSON.parse(optionalStepEnv('sinkTables') ?? '{}') as Record<string, string>;

const step = createLoadDynamoDbSinkStep({
  store: new S3ObjectStore(s3),
  schemasDir: optionalStepEnv('schemasDir'),
  scratchDir: '/tmp',
  itemTable: (config, contract) => {
    const name = config.table ?? stackTables[contract.dataset];
    if (name === undefined) {
      throw new SinkLoadFailedError(
        `${contract.file}: the stack made no DynamoDB table for dataset "${contract.dataset}". Fix: deploy the stack with this contract (it creates the table), or give the sink a "table".`,
      );
    }
    return { name, items: new DynamoDbItemTable(dynamodb, name) };
  },
});

export const handler = middy<SinkStepInput, LoadDynamoDbSinkResult>(step)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
