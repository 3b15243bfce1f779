/**
 * The validate Lambda handler: local wiring (what the local runtime calls) with metrics and log
 * keys, and the AWS wiring (`handler`, S3 from the environment) against a moto server.
 */
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { FileRejectedError } from '../../core/errors';
import { logger, metrics } from '../../core/instrumentation';
import { createHandler } from '../../functions/validate/handler';
import { startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';
import { fixture, LAKE, TestLake, TEST_SCHEMAS } from './harness';

let lake: TestLake;
let added: [string, string, number][];
beforeEach(() => {
  lake = new TestLake();
  added = [];
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

test('the handler returns the ValidateResult, records row/byte/duration metrics and run log keys', async () => {
  const handle = createHandler({ store: lake.store, lakeBucket: LAKE, schemasDir: TEST_SCHEMAS });
  const source = await lake.upload('incoming/people/h.csv', fixture('people.csv'));

  const result = await handle({ runId: 'exec-123', source });

  expect(result).toMatchObject({ dataset: 'people', rowsRead: 3, rowsValid: 3, rowsRejected: 0 });
  expect(metric('RowsRead')).toEqual(['RowsRead', MetricUnit.Count, 3]);
  expect(metric('RowsValid')).toEqual(['RowsValid', MetricUnit.Count, 3]);
  expect(metric('RowsRejected')).toEqual(['RowsRejected', MetricUnit.Count, 0]);
  expect(metric('BytesRead')).toEqual(['BytesRead', MetricUnit.Bytes, fixture('people.csv').length]);
  expect(metric('FilesRejected')).toEqual(['FilesRejected', MetricUnit.Count, 0]);
  expect(metric('ValidateDuration')?.[1]).toBe(MetricUnit.Milliseconds);
  expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
  expect(logger.getPersistentLogAttributes()).toMatchObject({
    dataset: 'people',
    runId: 'exec-123',
    objectKey: 'incoming/people/h.csv',
  });
});

test('a rejected file: FileRejectedError reaches the state machine, FilesRejected = 1 is recorded', async () => {
  const handle = createHandler({ store: lake.store, lakeBucket: LAKE, schemasDir: TEST_SCHEMAS });
  const source = await lake.upload('incoming/people/empty.csv', '');

  const error = await handle({ runId: 'exec-456', source }).catch((e: unknown) => e);

  expect(error).toBeInstanceOf(FileRejectedError);
  expect((error as FileRejectedError).name).toBe('FileRejectedError');
  expect((error as FileRejectedError).reason).toBe('EMPTY_FILE');
  expect(metric('FilesRejected')).toEqual(['FilesRejected', MetricUnit.Count, 1]);
  expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
  await lake.expectLandingIntact();
});

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
    const handle = createHandler({ store, lakeBucket: 'lake', schemasDir: TEST_SCHEMAS });

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
    const { handler } = await import('../../functions/validate/handler');

    const result = await handler({
      runId: 'exec-env',
      source: {
        bucket: 'landing',
        key: 'incoming/registrations/env.csv',
        versionId: put.versionId,
        size: put.size,
        etag: put.etag,
      },
    });

    expect(result).toMatchObject({ dataset: 'registrations', rowsValid: 1 });
    expect(await store.head({ bucket: 'lake', key: `${result.staging.key}_SUCCESS` })).toBeDefined();
  });
});
