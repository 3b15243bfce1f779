/**
 * functions/pull on its AWS wiring, against moto (versioned landing bucket, the bookmarks table,
 * Secrets Manager) and a loopback origin shaped like GH Archive (test/support/archive-server.ts):
 * the step the schedule invokes with {source} pulls every due period once into
 * incoming/<dataset>/ with the secret header, leaves the newest (404) for next time without a
 * failure, counts failures in the metric the stack alarms on, and two overlapping invocations
 * never fetch a period twice. Every AWS call it makes is checked against functions/pull/iam.ts.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDbSourceLedger, SOURCE_LEDGER_TABLE_KEYS } from '../../adapters/aws/dynamodb-source-ledger';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { SecretsManagerResolver } from '../../adapters/aws/secrets-manager-resolver';
import { logger, metrics } from '../../core/instrumentation';
import type { IamResourceName } from '../../core/steps';
import { iamNeeds } from '../../functions/pull/iam';
import { createPullStep, type PullContext } from '../../functions/pull/step';
import { startArchiveServer, type ArchiveServer } from '../support/archive-server';
import { resetMoto, startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';

const LANDING = 'serverless-etl-landing';
const TABLE = 'serverless-etl-source-bookmarks';
const HOUR = 3_600_000;
const START = Date.UTC(2026, 0, 1, 0);
/** Four hours ended; the fifth (START + 4h) is the newest due, and the origin has not published it. */
const NOW = START + 5 * HOUR + 10 * 60_000;

interface Use {
  readonly on: IamResourceName | 'unknown';
  readonly action: string;
  readonly key?: string;
}

/** The IAM action of each call the pull makes (S3's authorisation table for these commands). */
function useOf(command: string, input: Record<string, unknown>): Use {
  switch (command) {
    case 'HeadObject':
    case 'GetObject':
      return { on: 'sourceLanding', action: 's3:GetObject', key: String(input.Key) };
    case 'PutObject':
    case 'CreateMultipartUpload':
    case 'UploadPart':
    case 'CompleteMultipartUpload':
      return { on: 'sourceLanding', action: 's3:PutObject', key: String(input.Key) };
    case 'AbortMultipartUpload':
      return { on: 'sourceLanding', action: 's3:AbortMultipartUpload', key: String(input.Key) };
    case 'GetItem':
    case 'UpdateItem':
    case 'PutItem':
      return {
        on: input.TableName === TABLE ? 'sourceLedgerTable' : 'unknown',
        action: `dynamodb:${command}`,
      };
    case 'GetSecretValue':
      return { on: 'sourceSecrets', action: 'secretsmanager:GetSecretValue', key: String(input.SecretId) };
    default:
      return { on: 'unknown', action: command };
  }
}

function recording<C extends { middlewareStack: unknown }>(client: C, uses: Use[]): C {
  (client.middlewareStack as { add: (m: unknown, o: unknown) => void }).add(
    (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: { input: Record<string, unknown> }) => {
        uses.push(useOf((context.commandName ?? '').replace(/Command$/, ''), args.input));
        return next(args);
      },
    { step: 'initialize', name: 'recordIamUse' },
  );
  return client;
}

const context = (id: string): PullContext => ({
  awsRequestId: id,
  getRemainingTimeInMillis: () => 14 * 60_000,
});

const run = requirePythonSide('moto', 'functions/pull on AWS');
(run ? describe : describe.skip)('functions/pull on its AWS wiring (moto + a loopback origin)', () => {
  let moto: MotoServer;
  let origin: ArchiveServer;
  let sourcesDir: string;
  let uses: Use[];
  const clients: { destroy(): void }[] = [];

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    moto = await startMoto();
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await moto?.stop();
  });
  beforeEach(async () => {
    await resetMoto(moto);
    uses = [];
    const s3 = new S3Client(moto.clientConfig);
    clients.push(s3);
    await s3.send(new CreateBucketCommand({ Bucket: LANDING }));
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: LANDING, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const ddb = new DynamoDBClient(moto.clientConfig);
    clients.push(ddb);
    await ddb.send(
      new CreateTableCommand({
        TableName: TABLE,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: SOURCE_LEDGER_TABLE_KEYS.partitionKey, KeyType: 'HASH' },
          { AttributeName: SOURCE_LEDGER_TABLE_KEYS.sortKey, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: SOURCE_LEDGER_TABLE_KEYS.partitionKey, AttributeType: 'S' },
          { AttributeName: SOURCE_LEDGER_TABLE_KEYS.sortKey, AttributeType: 'S' },
        ],
      }),
    );
    const sm = new SecretsManagerClient(moto.clientConfig);
    clients.push(sm);
    await sm.send(
      new CreateSecretCommand({ Name: 'archive/token', SecretString: JSON.stringify({ token: 'tok-42' }) }),
    );
    origin = await startArchiveServer({ eventsPerHour: 20, faults: { publishedUntilMs: START + 3 * HOUR } });
    sourcesDir = mkdtempSync(path.join(tmpdir(), 'etl-pull-aws-'));
    writeFileSync(
      path.join(sourcesDir, 'archive.source.json'),
      JSON.stringify({
        version: 1,
        dataset: 'github_events',
        cadence: 'hourly',
        start: new Date(START).toISOString(),
        url: origin.template,
        extension: '.jsonl.gz',
        retries: 1,
        headers: { Authorization: { secret: 'archive/token', field: 'token', prefix: 'Bearer ' } },
      }),
    );
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    metrics.clearMetrics();
    metrics.clearDimensions();
    await origin?.close();
    rmSync(sourcesDir, { recursive: true, force: true });
  });

  /** The step as handler.ts builds it, on clients that record their calls; one "invocation" each. */
  function step() {
    const s3 = recording(new S3Client(moto.clientConfig), uses);
    const ddb = recording(new DynamoDBClient(moto.clientConfig), uses);
    const sm = recording(new SecretsManagerClient(moto.clientConfig), uses);
    clients.push(s3, ddb, sm);
    return createPullStep({
      store: new S3ObjectStore(s3),
      ledger: new DynamoDbSourceLedger(ddb, TABLE, { now: () => NOW }),
      landingBucket: LANDING,
      secrets: new SecretsManagerResolver(sm),
      sourcesDir,
      pull: { now: () => NOW, sleep: async () => undefined },
    });
  }

  async function landed(): Promise<string[]> {
    const out = await new S3Client(moto.clientConfig).send(new ListObjectsV2Command({ Bucket: LANDING }));
    return (out.Contents ?? []).map((o) => o.Key!).sort();
  }

  test('pulls every due period once into incoming/<dataset>/ with the secret header; the unpublished newest is not a failure', async () => {
    const result = await step()({ source: 'archive' }, context('req-1'));

    expect(result).toMatchObject({
      source: 'archive',
      dataset: 'github_events',
      owner: 'req-1',
      pulled: 4,
      notYet: 1,
      failures: 0,
      pending: 0,
      bookmarkAfter: new Date(START + 3 * HOUR).toISOString().replace('.000Z', 'Z'),
    });
    expect(await landed()).toEqual(
      [0, 1, 2, 3].map((h) => `incoming/github_events/archive-2026-01-01-0${h}.jsonl.gz`),
    );
    expect(origin.lastHeaders?.authorization).toBe('Bearer tok-42');
    // The EMF record the handler's logMetrics flushes: the metric and exactly the dimension set
    // the stack's PullFailures-<source> alarm watches (service, dataset, source).
    const emf = metrics.serializeMetrics() as unknown as Record<string, unknown> & {
      _aws: {
        CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
      };
    };
    metrics.clearMetrics();
    metrics.clearDimensions();
    const directive = emf._aws.CloudWatchMetrics[0]!;
    expect(directive.Namespace).toBe('ServerlessEtl');
    expect(directive.Dimensions.map((d) => [...d].sort())).toEqual([['dataset', 'service', 'source']]);
    expect(directive.Metrics.map((m) => m.Name).sort()).toEqual([
      'BytesPulled',
      'PeriodsPending',
      'PeriodsPulled',
      'PullFailures',
    ]);
    expect(emf).toMatchObject({
      service: 'serverless-etl',
      dataset: 'github_events',
      source: 'archive',
      PeriodsPulled: 4,
      PullFailures: 0,
      PeriodsPending: 0,
    });
    expect(emf.BytesPulled).toBeGreaterThan(0);
    // Nothing left half-uploaded.
    const mpu = await new S3Client(moto.clientConfig).send(
      new ListMultipartUploadsCommand({ Bucket: LANDING }),
    );
    expect(mpu.Uploads ?? []).toEqual([]);

    // Every call within iamNeeds: landing only under incoming/github_events/, the table, the named secret.
    const declared = (u: Use) => iamNeeds.some((n) => n.on === u.on && n.actions.includes(u.action));
    expect(uses.filter((u) => !declared(u))).toEqual([]);
    for (const u of uses.filter((x) => x.on === 'sourceLanding'))
      expect(u.key).toMatch(/^incoming\/github_events\//);
    expect(new Set(uses.filter((u) => u.on === 'sourceSecrets').map((u) => u.key))).toEqual(
      new Set(['archive/token']),
    );
  });

  test('a period the origin keeps failing is counted in PullFailures (the alarm) and retried by the next invocation', async () => {
    origin.faults.failFirst = new Map([[START + HOUR, 3]]); // 2 attempts in the first run, 1 more in the second
    const failures: number[] = [];
    jest.spyOn(metrics, 'addMetric').mockImplementation((name, _unit, value) => {
      if (name === 'PullFailures') failures.push(value);
      return undefined as never;
    });

    const first = await step()({ source: 'archive' }, context('req-1'));
    expect(first.failures).toBe(1);
    expect(first.periods.find((p) => p.status === 'failed')?.reason).toMatch(/HTTP 500/);

    const second = await step()({ source: 'archive' }, context('req-2'));
    expect(second.failures).toBe(0);
    expect(failures).toEqual([1, 0]);
    expect(await landed()).toHaveLength(4);
    expect(second.bookmarkAfter).toBe(new Date(START + 3 * HOUR).toISOString().replace('.000Z', 'Z'));
  });

  test('two overlapping invocations fetch each period once', async () => {
    let release!: () => void;
    origin.faults.hold = {
      hours: new Set([START, START + HOUR]),
      until: new Promise<void>((r) => (release = r)),
    };
    const a = step()({ source: 'archive' }, context('req-a'));
    const b = step()({ source: 'archive' }, context('req-b'));
    await new Promise((r) => setTimeout(r, 300));
    release();
    const [ra, rb] = await Promise.all([a, b]);

    expect(ra.pulled + rb.pulled).toBe(4);
    for (const h of [0, 1, 2, 3]) expect(origin.requests.get(START + h * HOUR)).toBe(1);
    expect(await landed()).toHaveLength(4);
  });

  test('an operator range ({source, from, to}) pulls exactly those periods; a bad time is refused with the fix', async () => {
    const result = await step()(
      { source: 'archive', from: '2026-01-01T02', to: '2026-01-01T03:00Z' },
      context('req-1'),
    );

    expect(result.periods.map((p) => [p.period, p.status])).toEqual([
      ['2026-01-01T02:00:00Z', 'pulled'],
      ['2026-01-01T03:00:00Z', 'pulled'],
    ]);
    expect(await landed()).toEqual([
      'incoming/github_events/archive-2026-01-01-02.jsonl.gz',
      'incoming/github_events/archive-2026-01-01-03.jsonl.gz',
    ]);
    expect(result.bookmarkAfter).toBeUndefined(); // hours 00 and 01 are not done
    await expect(step()({ source: 'archive', from: 'yesterday' }, context('req-2'))).rejects.toThrow(
      /"from": "yesterday" is not a time\. Fix: write e\.g\. 2026-12-01/,
    );
    await expect(step()({ source: 'archive', from: '2025-12-31' }, context('req-2'))).rejects.toThrow(
      /is before the source's start 2026-01-01T00:00:00Z/,
    );
  });

  test('an event without a source, or naming none beside the contracts, fails the invocation with the fix', async () => {
    await expect(step()({} as never, context('req-1'))).rejects.toThrow(
      /has no "source"\. Fix: invoke it with/,
    );
    await expect(step()({ source: 'nope' }, context('req-1'))).rejects.toThrow(
      /nope\.source\.json#\/: no such source .*Fix: use one of: archive/,
    );
  });
});
