/**
 * The validate step: the factory (what the local runtime calls) with metrics and log keys, and the
 * Lambda entry (`handler`: S3 from the environment, Powertools middleware) against a moto server.
 */
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { FileRejectedError } from '../../core/errors';
import { metrics } from '../../core/instrumentation';
import { createValidateStep } from '../../functions/validate/step';
import { startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';
import { fixture, LAKE, TestLake, TEST_SCHEMAS } from './harness';

let lake: TestLake;
let added: [string, string, number][];
let stdout: jest.SpiedFunction<typeof process.stdout.write>;
beforeEach(() => {
  lake = new TestLake();
  added = [];
  // The Logger writes JSON lines to stdout: read them back.
  stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  jest.spyOn(metrics, 'addMetric').mockImplementation((name, unit, value) => {
    added.push([name, unit, value]);
    return metrics;
  });
  jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
});
afterEach(() => {
  jest.restoreAllMocks();
  lake.dispose();
});

const metric = (name: string) => added.find(([n]) => n === name);
const logLines = () =>
  stdout.mock.calls
    .map(([chunk]) => String(chunk))
    .filter((line) => line.startsWith('{"level"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

test('the handler returns the ValidateResult, records row/byte/duration metrics and run log keys', async () => {
  const handle = createValidateStep({ store: lake.store, lakeBucket: LAKE, schemasDir: TEST_SCHEMAS });
  const source = await lake.upload('incoming/people/h.csv', fixture('people.csv'));

  const result = await handle({ runId: 'exec-123', source });

  expect(result).toMatchObject({ dataset: 'people', rowsRead: 3, rowsValid: 3, rowsRejected: 0 });
  expect(metric('RowsRead')).toEqual(['RowsRead', MetricUnit.Count, 3]);
  expect(metric('RowsValid')).toEqual(['RowsValid', MetricUnit.Count, 3]);
  expect(metric('RowsRejected')).toEqual(['RowsRejected', MetricUnit.Count, 0]);
  expect(metric('BytesRead')).toEqual(['BytesRead', MetricUnit.Bytes, fixture('people.csv').length]);
  expect(metric('FilesRejected')).toEqual(['FilesRejected', MetricUnit.Count, 0]);
  expect(metric('ValidateDuration')?.[1]).toBe(MetricUnit.Milliseconds);
  // The Lambda entry's logMetrics middleware flushes them, never the step.
  expect(metrics.publishStoredMetrics).not.toHaveBeenCalled();
  expect(logLines().find((l) => l.message === 'validated')).toMatchObject({
    dataset: 'people',
    runId: 'exec-123',
    objectKey: 'incoming/people/h.csv',
  });
});

test('a rejected file: FileRejectedError reaches the state machine, FilesRejected = 1 is recorded', async () => {
  const handle = createValidateStep({ store: lake.store, lakeBucket: LAKE, schemasDir: TEST_SCHEMAS });
  const source = await lake.upload('incoming/people/empty.csv', '');

  const error = await handle({ runId: 'exec-456', source }).catch((e: unknown) => e);

  expect(error).toBeInstanceOf(FileRejectedError);
  expect((error as FileRejectedError).name).toBe('FileRejectedError');
  expect((error as FileRejectedError).reason).toBe('EMPTY_FILE');
  expect(metric('FilesRejected')).toEqual(['FilesRejected', MetricUnit.Count, 1]);
  expect(metrics.publishStoredMetrics).not.toHaveBeenCalled();
  await lake.expectLandingIntact();
});

/** What Lambda passes as the context (the fields Powertools reads). */
function lambdaContext(awsRequestId: string): Context {
  return {
    awsRequestId,
    functionName: 'serverless-etl-validate',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:serverless-etl-validate',
    memoryLimitInMB: '1769',
    logGroupName: '/aws/lambda/serverless-etl-validate',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 60_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

const runS3 = requirePythonSide('moto', 'validate handler on S3');
(runS3 ? describe : describe.skip)('on S3 (moto)', () => {
  let moto: MotoServer;
  let s3: S3Client;
  const saved = { ...process.env };
  beforeAll(async () => {
    moto = await startMoto();
    s3 = new S3Client(moto.clientConfig);
    for (const Bucket of ['landing', 'lake']) {
      await s3.send(new CreateBucketCommand({ Bucket }));
      await s3.send(
        new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }),
      );
    }
  });
  afterAll(async () => {
    process.env = saved;
    s3?.destroy();
    await moto?.stop();
  });

  test('validateObject streams a multi-part file from S3 and writes staging parts with Upload', async () => {
    const store = new S3ObjectStore(s3);
    const header = 'id,name,email,score,ratio,active,signup_date,seen_at,note';
    const rows = Array.from(
      { length: 40000 },
      (_, i) => `${i + 1},Person ${i},p${i}@example.com,${i % 999}.5,0.5,true,2024-03-01,,`,
    );
    const put = await store.put('landing', 'incoming/people/s3.csv', `${header}\n${rows.join('\n')}\n`);
    // The JSON Lines path (streamed multi-part Upload); the DuckDB fast path would stage Parquet.
    const handle = createValidateStep({
      store,
      lakeBucket: 'lake',
      schemasDir: TEST_SCHEMAS,
      fastPath: false,
    });

    const result = await handle({
      runId: 'exec-s3',
      source: {
        bucket: 'landing',
        key: 'incoming/people/s3.csv',
        versionId: put.versionId,
        size: put.size,
        etag: put.etag,
      },
    });

    expect(result.rowsValid).toBe(40000);
    const keys: string[] = [];
    for await (const o of store.list('lake', result.staging.key)) keys.push(o.key);
    expect(keys).toEqual([
      `${result.staging.key}_SUCCESS`,
      `${result.staging.key}part-00000.jsonl`,
      `${result.staging.key}plan.json`,
    ]);
    const staged = await store.head({ bucket: 'lake', key: `${result.staging.key}part-00000.jsonl` });
    expect(staged!.size).toBeGreaterThan(5 * 1024 * 1024); // more than one multipart part
    expect((await store.head({ bucket: 'landing', key: 'incoming/people/s3.csv' }))!.versionId).toBe(
      put.versionId,
    );
  });

  test('`handler` wires S3 from the environment (LAKE_BUCKET) and creates its client once', async () => {
    process.env.LAKE_BUCKET = 'lake';
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    process.env.AWS_REGION = 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID = 'testing';
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
    const store = new S3ObjectStore(s3);
    const csv =
      'registration_id,event_id,event_date,attendee_email,ticket_type,amount,currency,quantity,registered_at,notes\nREG-00000001,EVT-0001,2024-05-01,a@example.com,vip,12.5,EUR,1,2024-04-01T10:00:00Z,\n';
    const put = await store.put('landing', 'incoming/registrations/env.csv', csv);
    // As Lambda sets it; Powertools reads it when the Logger is created, so load the entry afresh.
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
    jest.resetModules();
    const { handler } = await import('../../functions/validate/handler');
    const fresh = await import('../../core/instrumentation');
    const flush = jest.spyOn(fresh.metrics, 'publishStoredMetrics').mockImplementation(() => fresh.metrics);
    const input = {
      runId: 'exec-env',
      source: {
        bucket: 'landing',
        key: 'incoming/registrations/env.csv',
        versionId: put.versionId,
        size: put.size,
        etag: put.etag,
      },
    };

    const result = await handler(input, lambdaContext('request-1'));
    const again = await handler(input, lambdaContext('request-2'));

    expect(result).toMatchObject({ dataset: 'registrations', rowsValid: 1 });
    expect(again).toMatchObject({ dataset: 'registrations', rowsValid: 1 });
    expect(await store.head({ bucket: 'lake', key: `${result.staging.key}_SUCCESS` })).toBeDefined();
    // Powertools middleware: metrics flushed once per invocation, and every log line carries the
    // invocation's request id and whether it was a cold start.
    expect(flush).toHaveBeenCalledTimes(2);
    const validated = logLines().filter((l) => l.message === 'validated');
    expect(validated.map((l) => [l.function_request_id, l.cold_start, l.runId])).toEqual([
      ['request-1', true, 'exec-env'],
      ['request-2', false, 'exec-env'],
    ]);
  });
});
