/**
 * functions/transform: the TransformInLambda state's step (the DuckDB engine over an ObjectStore)
 * — the factory on the local folder store (what the local runtime calls), the routing it serves
 * (Validate's transformEngine by staging size), and the Lambda entry (`handler`: S3 from the
 * environment, Powertools middleware) against a moto server.
 */
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { LocalObjectStore } from '../../adapters/local/object-store';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { TransformFailedError } from '../../core/errors';
import { lake as layout } from '../../core/layout';
import type { TransformPlan } from '../../core/plan';
import type { ObjectStore } from '../../core/ports';
import {
  DEFAULT_TRANSFORM_LAMBDA_MAX_BYTES,
  transformEngineFor,
  transformLambdaMaxBytesOf,
  type TransformManifest,
} from '../../core/steps';
import {
  createTransformStep,
  engineOptionsFor,
  type StoreTransformEngine,
  type TransformInput,
} from '../../functions/transform/step';
import { runTransformOnStore } from '../../transform/duckdb';
import { startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';
import { registrationsPlan, staging } from '../transform/lake-fixture';

const LAKE = 'lake';
const SOURCE = 'signups-0123456789ab';
const temps: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Puts a staging fixture and its plan.json where Validate would, and returns the step's input. */
async function stage(
  store: ObjectStore,
  fixture: string,
  extra: { plan?: TransformPlan; versionTag?: string; sourceOrder?: string; withPlan?: boolean } = {},
): Promise<TransformInput> {
  const plan = extra.plan ?? registrationsPlan();
  const versionTag = extra.versionTag ?? 'v1';
  const prefix = layout.stagingPrefix(plan.dataset, SOURCE, versionTag);
  const dir = staging('registrations', fixture);
  for (const file of readdirSync(dir))
    await store.put(LAKE, `${prefix}${file}`, readFileSync(path.join(dir, file)));
  if (extra.withPlan ?? true) await store.put(LAKE, `${prefix}plan.json`, JSON.stringify(plan));
  return {
    runId: 'exec-1',
    dataset: plan.dataset,
    sourceId: SOURCE,
    versionTag,
    sourceOrder: extra.sourceOrder ?? '0'.repeat(63) + '1',
    staging: { bucket: LAKE, key: prefix },
    lakeBucket: LAKE,
  };
}

async function manifestOf(store: ObjectStore, dataset: string): Promise<TransformManifest> {
  return JSON.parse(await text(await store.get({ bucket: LAKE, key: layout.manifest(dataset, SOURCE) })));
}

describe('createTransformStep on the local object store', () => {
  let store: LocalObjectStore;
  let scratchDir: string;
  beforeEach(() => {
    store = new LocalObjectStore(tempDir('transform-step-'));
    scratchDir = tempDir('transform-scratch-');
  });

  test("runs the DuckDB engine on the version's staging with plan.json, publishes objects + manifest, returns the Glue task's fields plus engine", async () => {
    const step = createTransformStep({ store, scratchDir, engineOptions: { threads: 1 } });
    const input = await stage(store, 'many-days');

    const result = await step(input);

    const manifest = await manifestOf(store, 'registrations');
    expect(manifest).toMatchObject({ sourceId: SOURCE, versionTag: 'v1', engine: 'duckdb' });
    expect(manifest.objects.length).toBeGreaterThan(1);
    for (const key of manifest.objects) expect(await store.head({ bucket: LAKE, key })).toBeDefined();
    expect(result).toEqual({
      engine: 'lambda',
      id: expect.stringMatching(/^lambda-exec-1-\d+$/),
      state: 'SUCCEEDED',
      startedOn: expect.any(Number),
      executionTime: expect.any(Number),
      rowsIn: manifest.rowsIn,
      rowsOut: manifest.rowsOut,
      objects: manifest.objects.length,
      partitions: manifest.partitions.length,
      superseded: false,
    });
    expect(result.rowsOut).toBeGreaterThan(0);
    // The scratch folder (the Lambda's /tmp) is left empty for the next invocation.
    expect(readdirSync(path.join(scratchDir, '_tmp'))).toEqual([]);
  });

  test('passes the request runTransformOnStore needs: the staging prefix, sourceOrder, scratch folder and engine options', async () => {
    const calls: Parameters<StoreTransformEngine>[] = [];
    const engine: StoreTransformEngine = async (request, options) => {
      calls.push([request, options]);
      return runTransformOnStore(request, options);
    };
    const step = createTransformStep({
      store,
      scratchDir,
      engine,
      engineOptions: { threads: 1, memoryLimit: '512MB' },
    });
    const input = await stage(store, 'one-day', { sourceOrder: '0'.repeat(63) + '7' });

    await step(input);

    expect(calls).toHaveLength(1);
    const [request, options] = calls[0]!;
    expect(request).toMatchObject({
      lakeBucket: LAKE,
      scratchDir,
      stagingPrefix: input.staging.key,
      dataset: 'registrations',
      sourceId: SOURCE,
      versionTag: 'v1',
      sourceOrder: '0'.repeat(63) + '7',
    });
    expect(request.plan.dataset).toBe('registrations');
    expect(options).toEqual({ threads: 1, memoryLimit: '512MB' });
  });

  test('an older version finds a newer manifest in place: publishes nothing and says superseded', async () => {
    const step = createTransformStep({ store, scratchDir, engineOptions: { threads: 1 } });
    await step(await stage(store, 'one-day', { versionTag: 'v2', sourceOrder: '0'.repeat(63) + '2' }));
    const before = await manifestOf(store, 'registrations');

    const result = await step(
      await stage(store, 'many-days', { versionTag: 'v1', sourceOrder: '0'.repeat(63) + '1' }),
    );

    expect(result).toMatchObject({ engine: 'lambda', superseded: true, objects: 0 });
    expect(await manifestOf(store, 'registrations')).toEqual(before);
  });

  test('no plan.json beside the staging: TransformFailedError naming the object and the fix (never retried)', async () => {
    const step = createTransformStep({ store, scratchDir });
    const input = await stage(store, 'one-day', { withPlan: false });

    const error = await step(input).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TransformFailedError);
    expect((error as Error).message).toContain(`s3://${LAKE}/${input.staging.key}plan.json does not exist`);
    expect((error as Error).message).toContain('Fix: re-run the file from Validate');
  });

  test('staging outside the lake bucket is refused before anything is read', async () => {
    const step = createTransformStep({ store, scratchDir });
    const input = await stage(store, 'one-day');

    await expect(step({ ...input, staging: { bucket: 'landing', key: input.staging.key } })).rejects.toThrow(
      /staging s3:\/\/landing\/.* is not a prefix in the lake bucket lake/,
    );
  });

  test('staging without _SUCCESS fails as the engine says (TransformFailedError)', async () => {
    const step = createTransformStep({ store, scratchDir });
    const input = await stage(store, 'no-success');

    await expect(step(input)).rejects.toBeInstanceOf(TransformFailedError);
  });
});

describe('routing: Validate picks the engine by staging size', () => {
  test('up to and including the threshold → lambda; one byte more → glue; 0 sends everything to glue', () => {
    expect(transformEngineFor(1000, 1000)).toBe('lambda');
    expect(transformEngineFor(1001, 1000)).toBe('glue');
    expect(transformEngineFor(0, 1000)).toBe('lambda');
    expect(transformEngineFor(1, 0)).toBe('glue');
    expect(DEFAULT_TRANSFORM_LAMBDA_MAX_BYTES).toBe(1024 ** 3);
  });

  test('the threshold from the environment: whole bytes, unset = default, anything else refused by name', () => {
    expect(transformLambdaMaxBytesOf(undefined)).toBeUndefined();
    expect(transformLambdaMaxBytesOf(' ')).toBeUndefined();
    expect(transformLambdaMaxBytesOf('52428800')).toBe(52428800);
    expect(() => transformLambdaMaxBytesOf('50MB')).toThrow(
      /TRANSFORM_LAMBDA_MAX_BYTES="50MB" is not a whole number/,
    );
    expect(() => transformLambdaMaxBytesOf('-1', 'ETL_X')).toThrow(/ETL_X/);
  });

  test("DuckDB gets 80% of the function's memory; off Lambda the engine's defaults", () => {
    expect(engineOptionsFor('3008')).toEqual({ memoryLimit: '2406MB' });
    expect(engineOptionsFor(undefined)).toEqual({});
    expect(engineOptionsFor('x')).toEqual({});
  });
});

/** What Lambda passes as the context (the fields Powertools reads). */
function lambdaContext(awsRequestId: string): Context {
  return {
    awsRequestId,
    functionName: 'serverless-etl-transform',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:serverless-etl-transform',
    memoryLimitInMB: '3008',
    logGroupName: '/aws/lambda/serverless-etl-transform',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 840_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

const runS3 = requirePythonSide('moto', 'transform handler on S3');
(runS3 ? describe : describe.skip)('the Lambda entry on S3 (moto)', () => {
  let moto: MotoServer;
  let s3: S3Client;
  const saved = { ...process.env };
  beforeAll(async () => {
    moto = await startMoto();
    s3 = new S3Client(moto.clientConfig);
    await s3.send(new CreateBucketCommand({ Bucket: LAKE }));
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: LAKE, VersioningConfiguration: { Status: 'Enabled' } }),
    );
  });
  afterAll(async () => {
    process.env = saved;
    s3?.destroy();
    await moto?.stop();
  });

  test('`handler` reads staging from S3 through the SDK, publishes objects + manifest there, and is the same engine as the local path', async () => {
    const scratch = tempDir('transform-lambda-tmp-');
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '3008',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      TRANSFORM_SCRATCH_DIR: scratch,
    });
    const s3Store = new S3ObjectStore(s3);
    const input = await stage(s3Store, 'many-days');
    // The same staging through the local path (before the modules are reloaded for the entry).
    const local = new LocalObjectStore(tempDir('transform-twin-'));
    await createTransformStep({
      store: local,
      scratchDir: tempDir('twin-scratch-'),
      engineOptions: { threads: 1 },
    })(await stage(local, 'many-days'));
    jest.resetModules();
    const { handler } = await import('../../functions/transform/handler');
    const fresh = await import('../../core/instrumentation');
    jest.spyOn(fresh.metrics, 'publishStoredMetrics').mockImplementation(() => fresh.metrics);
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);

    const result = await handler(input, lambdaContext('request-1'));
    const again = await handler(input, lambdaContext('request-2')); // a retried invocation converges
    jest.restoreAllMocks();

    const onS3 = await manifestOf(s3Store, 'registrations');
    expect(result).toMatchObject({
      engine: 'lambda',
      state: 'SUCCEEDED',
      rowsOut: onS3.rowsOut,
      superseded: false,
    });
    expect(again).toMatchObject({ rowsOut: onS3.rowsOut, objects: onS3.objects.length });
    const listed: string[] = [];
    for await (const o of s3Store.list(LAKE, layout.curatedTablePrefix('registrations'))) listed.push(o.key);
    expect(listed.sort()).toEqual([...onS3.objects].sort());
    const twin = await manifestOf(local, 'registrations');
    expect({ ...onS3, startedAt: 0, finishedAt: 0, timingsMs: {} }).toEqual({
      ...twin,
      startedAt: 0,
      finishedAt: 0,
      timingsMs: {},
    });
    expect(readdirSync(path.join(scratch, '_tmp'))).toEqual([]);
  }, 120_000);
});
