/**
 * The steps on their AWS wiring, against moto (versioned S3 buckets, a DynamoDB ledger, a Glue
 * crawler, Athena): the same scenarios as the local tests, on real S3 semantics (versions, delete
 * markers) — and every AWS call a step makes is recorded and checked against the IAM needs its
 * handler declares, so what the stack grants (infra tests: granted == declared) covers what the
 * code really does (here: used ⊆ declared, resource and prefix included).
 */
import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateCrawlerCommand,
  CreateDatabaseCommand,
  CreateTableCommand,
  GlueClient,
} from '@aws-sdk/client-glue';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { AthenaQueryEngine } from '../../adapters/aws/athena-query-engine';
import { DynamoDbLedger } from '../../adapters/aws/dynamodb-ledger';
import { GlueCatalog } from '../../adapters/aws/glue-catalog';
import { S3ObjectStore, type S3ObjectStoreOptions } from '../../adapters/aws/s3-object-store';
import { encodeEventKey, type S3ObjectCreatedEvent } from '../../core/events';
import { logger } from '../../core/instrumentation';
import { lake } from '../../core/layout';
import type { IamNeeds, IamResourceName } from '../../core/steps';
import { claimObject } from '../../functions/claim/claim';
import { iamNeeds as claimNeeds } from '../../functions/claim/iam';
import { quarantineObject } from '../../functions/quarantine/quarantine';
import { iamNeeds as quarantineNeeds } from '../../functions/quarantine/iam';
import { archiveObject } from '../../functions/archive/archive';
import { iamNeeds as archiveNeeds } from '../../functions/archive/iam';
import { startCrawl } from '../../functions/start-crawl/start-crawl';
import { iamNeeds as startCrawlNeeds } from '../../functions/start-crawl/iam';
import { pollCrawl } from '../../functions/poll-crawl/poll-crawl';
import { iamNeeds as pollCrawlNeeds } from '../../functions/poll-crawl/iam';
import { checkStillLatest } from '../../functions/check-still-latest/check-still-latest';
import { iamNeeds as checkStillLatestNeeds } from '../../functions/check-still-latest/iam';
import { verifyOutput } from '../../functions/verify/verify';
import { iamNeeds as verifyNeeds } from '../../functions/verify/iam';
import { registerPartitions } from '../../functions/register-partitions/register-partitions';
import { iamNeeds as registerPartitionsNeeds } from '../../functions/register-partitions/iam';
import { findContract } from '../../core/contract';
import { compilePlan } from '../../core/plan';
import { tableSchemaOf } from '../../core/table-schema';
import { createLedgerTable, motoGlueClient, startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';

const LANDING = 'serverless-etl-landing';
const LAKE = 'serverless-etl-lake';
const TABLE = 'serverless-etl-ledger';
const CRAWLER = 'serverless-etl-curated';
const RESOURCE_OF: Record<string, IamResourceName> = {
  [LANDING]: 'landingBucket',
  [LAKE]: 'lakeBucket',
  [TABLE]: 'ledgerTable',
  [CRAWLER]: 'glueCrawler',
  primary: 'athenaWorkGroup',
  serverless_etl: 'glueDatabase',
};

interface Use {
  readonly on: IamResourceName;
  readonly action: string;
  readonly key?: string;
}

/** The IAM actions one SDK call needs (S3's own authorisation table, trimmed to what we call). */
function actionsOf(service: string, command: string, input: Record<string, unknown>): Use[] {
  const on = (name: unknown) => RESOURCE_OF[String(name)] ?? (`unknown:${String(name)}` as IamResourceName);
  const versioned = input.VersionId !== undefined;
  switch (`${service}:${command}`) {
    case 's3:HeadObject':
    case 's3:GetObject':
      return [
        {
          on: on(input.Bucket),
          action: versioned ? 's3:GetObjectVersion' : 's3:GetObject',
          key: String(input.Key),
        },
      ];
    case 's3:PutObject':
      return [{ on: on(input.Bucket), action: 's3:PutObject', key: String(input.Key) }];
    case 's3:DeleteObject':
      return [
        {
          on: on(input.Bucket),
          action: versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject',
          key: String(input.Key),
        },
      ];
    case 's3:CopyObject': {
      const m = /^([^/]+)\/([^?]+)(\?versionId=.*)?$/.exec(String(input.CopySource))!;
      return [
        {
          on: on(m[1]),
          action: m[3] ? 's3:GetObjectVersion' : 's3:GetObject',
          key: decodeURIComponent(m[2]!),
        },
        { on: on(input.Bucket), action: 's3:PutObject', key: String(input.Key) },
      ];
    }
    case 's3:UploadPartCopy': {
      const m = /^([^/]+)\/([^?]+)(\?versionId=.*)?$/.exec(String(input.CopySource))!;
      return [
        {
          on: on(m[1]),
          action: m[3] ? 's3:GetObjectVersion' : 's3:GetObject',
          key: decodeURIComponent(m[2]!),
        },
        { on: on(input.Bucket), action: 's3:PutObject', key: String(input.Key) },
      ];
    }
    case 's3:CreateMultipartUpload':
    case 's3:UploadPart':
    case 's3:CompleteMultipartUpload':
      return [{ on: on(input.Bucket), action: 's3:PutObject', key: String(input.Key) }];
    case 's3:AbortMultipartUpload':
      return [{ on: on(input.Bucket), action: 's3:AbortMultipartUpload', key: String(input.Key) }];
    case 's3:ListObjectsV2':
      return [{ on: on(input.Bucket), action: 's3:ListBucket', key: String(input.Prefix ?? '') }];
    case 'dynamodb:PutItem':
    case 'dynamodb:GetItem':
    case 'dynamodb:UpdateItem':
      return [{ on: on(input.TableName), action: `dynamodb:${command}` }];
    case 'glue:StartCrawler':
    case 'glue:GetCrawler':
      return [{ on: on(input.Name), action: `glue:${command}` }];
    case 'glue:GetTable':
    case 'glue:BatchCreatePartition':
      return [{ on: on(input.DatabaseName), action: `glue:${command}` }];
    case 'athena:StartQueryExecution':
      return [{ on: on(input.WorkGroup), action: 'athena:StartQueryExecution' }];
    case 'athena:GetQueryExecution':
    case 'athena:GetQueryResults':
    case 'athena:StopQueryExecution':
      return [{ on: 'athenaWorkGroup', action: `athena:${command}` }];
    default:
      return [{ on: 'stateMachine', action: `unmapped:${service}:${command}` }];
  }
}

/** Records every command a client sends, as IAM uses. */
function recorder() {
  const uses: Use[] = [];
  const record = <C extends { middlewareStack: { add: (...a: never[]) => void } }>(
    client: C,
    service: string,
  ): C => {
    (client.middlewareStack as unknown as { add: (m: unknown, o: unknown) => void }).add(
      (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) =>
        async (args: { input: Record<string, unknown> }) => {
          uses.push(...actionsOf(service, (context.commandName ?? '').replace(/Command$/, ''), args.input));
          return next(args);
        },
      { step: 'initialize', name: 'recordIamUse' },
    );
    return client;
  };
  return { uses, record };
}

/** Every use is covered by a declared need: same resource, same action, key under a declared prefix. */
function uncovered(uses: readonly Use[], needs: IamNeeds): Use[] {
  return uses.filter(
    (u) =>
      !needs.some(
        (n) =>
          n.on === u.on &&
          n.actions.includes(u.action) &&
          (n.prefixes === undefined || u.key === undefined || n.prefixes.some((p) => u.key!.startsWith(p))),
      ),
  );
}

const run = requirePythonSide('moto', 'steps on AWS wiring');
(run ? describe : describe.skip)('steps on their AWS wiring (moto)', () => {
  let moto: MotoServer;
  let s3: S3Client;
  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    moto = await startMoto();
    s3 = new S3Client(moto.clientConfig);
    for (const bucket of [LANDING, LAKE]) {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await s3.send(
        new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
      );
    }
    await createLedgerTable(new DynamoDBClient(moto.clientConfig), TABLE);
  });
  afterAll(async () => moto?.stop());

  function wiring(storeOptions: S3ObjectStoreOptions = {}) {
    const rec = recorder();
    return {
      uses: rec.uses,
      store: new S3ObjectStore(rec.record(new S3Client(moto.clientConfig), 's3'), storeOptions),
      ledger: new DynamoDbLedger(rec.record(new DynamoDBClient(moto.clientConfig), 'dynamodb'), TABLE),
      catalog: new GlueCatalog(rec.record(new GlueClient(moto.clientConfig), 'glue')),
      query: new AthenaQueryEngine(rec.record(new AthenaClient(moto.clientConfig), 'athena'), {
        workGroup: 'primary',
        pollIntervalMs: 10,
      }),
    };
  }

  async function land(key: string, body: string): Promise<S3ObjectCreatedEvent> {
    const info = await new S3ObjectStore(s3).put(LANDING, key, body);
    return {
      version: '0',
      id: 'e-1',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '123456789012',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [],
      detail: {
        version: '0',
        bucket: { name: LANDING },
        object: {
          key: encodeEventKey(key),
          size: info.size,
          etag: info.etag,
          'version-id': info.versionId!,
          sequencer: '0061',
        },
        'request-id': 'r',
        requester: '123456789012',
        reason: 'PutObject',
      },
    };
  }

  async function versionsOf(key: string) {
    const out = await s3.send(new ListObjectVersionsCommand({ Bucket: LANDING, Prefix: key }));
    return { versions: out.Versions?.length ?? 0, deleteMarkers: out.DeleteMarkers?.length ?? 0 };
  }

  test('claim then quarantine: the original version survives behind a delete marker; calls stay within the declared IAM needs', async () => {
    const key = 'incoming/registrations/june (final).csv';
    const event = await land(key, 'registration_id\nREG-00000001\n');
    const w = wiring();

    const claim = await claimObject({ runId: 'run-q', event }, w);
    const claimUses = w.uses.splice(0);
    const first = await quarantineObject(
      {
        runId: 'run-q',
        detail: event.detail,
        rejection: {
          Error: 'FileRejectedError',
          Cause: JSON.stringify({ errorMessage: 'HEADER_MISMATCH: 9 columns missing' }),
        },
        lakeBucket: LAKE,
      },
      w,
    );
    const second = await quarantineObject(
      {
        runId: 'run-q',
        detail: event.detail,
        rejection: { Error: 'FileRejectedError', Cause: 'HEADER_MISMATCH: 9 columns missing' },
        lakeBucket: LAKE,
      },
      w,
    );

    expect(claim.status).toBe('CLAIMED');
    expect(second.quarantined).toEqual(first.quarantined);
    expect(await versionsOf(key)).toEqual({ versions: 1, deleteMarkers: 1 });
    const copy = await s3.send(new GetObjectCommand({ Bucket: LAKE, Key: first.quarantined.key }));
    expect(await copy.Body!.transformToString()).toBe('registration_id\nREG-00000001\n');
    expect((await w.ledger.get({ bucket: LANDING, key, versionTag: claim.versionTag }))?.status).toBe(
      'REJECTED',
    );
    expect(uncovered(claimUses, claimNeeds)).toEqual([]);
    expect(uncovered(w.uses, quarantineNeeds)).toEqual([]);
  });

  test('archive: moved once, second run harmless; calls stay within the declared IAM needs', async () => {
    const key = 'incoming/registrations/july.csv';
    const event = await land(key, 'a,b\n1,2\n');
    const w = wiring();
    const claim = await claimObject({ runId: 'run-a', event }, w);
    const claimUses = w.uses.splice(0);
    const input = {
      runId: 'run-a',
      source: claim.source,
      dataset: 'registrations',
      sourceId: claim.sourceId,
      versionTag: claim.versionTag,
      lakeBucket: LAKE,
      counts: { rowsRead: 1, rowsValid: 1, rowsRejected: 0, rowsOut: 1 },
    };

    await archiveObject(input, w);
    const again = await archiveObject(input, w);

    expect(again.originalRemoved).toBe(true);
    expect(await versionsOf(key)).toEqual({ versions: 1, deleteMarkers: 1 });
    expect(uncovered(claimUses, claimNeeds)).toEqual([]);
    expect(uncovered(w.uses, archiveNeeds)).toEqual([]);
  });

  test('archive and quarantine by multipart copy (files over 5 GB) stay within the declared IAM needs', async () => {
    // The threshold lowered by the option, so a small file takes the multipart path.
    const multipart = { multipartCopyThreshold: 0 };
    const archived = await land('incoming/registrations/august.csv', 'a,b\n1,2\n');
    const w = wiring(multipart);
    const claim = await claimObject({ runId: 'run-m', event: archived }, w);
    w.uses.splice(0);
    await archiveObject(
      {
        runId: 'run-m',
        source: claim.source,
        dataset: 'registrations',
        sourceId: claim.sourceId,
        versionTag: claim.versionTag,
        lakeBucket: LAKE,
        counts: { rowsRead: 1, rowsValid: 1, rowsRejected: 0, rowsOut: 1 },
      },
      w,
    );
    const archiveUses = w.uses.splice(0);
    const rejected = await land('incoming/registrations/september.csv', 'x\n');
    await claimObject({ runId: 'run-n', event: rejected }, w);
    w.uses.splice(0);
    await quarantineObject(
      {
        runId: 'run-n',
        detail: rejected.detail,
        rejection: { Error: 'FileRejectedError', Cause: 'HEADER_ONLY: no data rows' },
        lakeBucket: LAKE,
      },
      w,
    );

    for (const uses of [archiveUses, w.uses]) {
      expect(uses.map((u) => u.action)).not.toContain('unmapped:s3:UploadPartCopy');
      expect(uses.filter((u) => u.action === 's3:PutObject').length).toBeGreaterThanOrEqual(3);
    }
    expect(uncovered(archiveUses, archiveNeeds)).toEqual([]);
    expect(uncovered(w.uses, quarantineNeeds)).toEqual([]);
  });

  test('catalog and verify calls stay within their declared IAM needs', async () => {
    await new GlueClient(moto.clientConfig).send(
      new CreateCrawlerCommand({
        Name: CRAWLER,
        Role: 'arn:aws:iam::123456789012:role/crawler',
        DatabaseName: 'serverless_etl',
        Targets: { S3Targets: [{ Path: `s3://${LAKE}/curated/` }] },
      }),
    );
    const w = wiring();
    const started = await startCrawl({ runId: 'run-c', dataset: 'registrations', crawlerName: CRAWLER }, w);
    const catalogUses = w.uses.splice(0);
    // Only the calls matter here (test/steps/crawl.test.ts covers the outcomes): moto's GetCrawler
    // answer does not deserialize in this SDK ("Expected real number, got implicit NaN"), so the
    // poll fails after its call was made and recorded.
    await pollCrawl(
      { runId: 'run-c', dataset: 'registrations', crawlerName: CRAWLER, requestedAt: started.requestedAt },
      w,
    ).catch(() => undefined);
    const pollUses = w.uses.splice(0);
    await new S3ObjectStore(s3).put(
      LAKE,
      lake.manifest('registrations', 'aug-aaaaaaaaaaaa'),
      JSON.stringify({
        versionTag: 'v',
        rowsIn: 1,
        rowsOut: 1,
        duplicatesDropped: 0,
        partitions: ['2026-08'],
        objects: [lake.curatedObject('registrations', 'event_date_month', '2026-08', 'aug-aaaaaaaaaaaa')],
      }),
    );
    // moto runs no SQL: queue the answers of the two verification queries.
    const answer = (name: string, value: string) => ({
      rows: [{ Data: [{ VarCharValue: name }] }, { Data: [{ VarCharValue: value }] }],
      column_info: [{ Name: name, Label: name, Type: 'varchar' }],
    });
    await fetch(`${moto.endpoint}/moto-api/static/athena/query-results`, {
      method: 'POST',
      body: JSON.stringify({
        results: [answer('rows:total', '1'), answer('duplicate_keys', '0')],
      }),
    });

    await verifyOutput(
      {
        runId: 'run-c',
        source: {
          bucket: LANDING,
          key: 'incoming/registrations/aug.csv',
          size: 1,
          etag: 'e',
          sequencer: '0061',
        },
        dataset: 'registrations',
        sourceId: 'aug-aaaaaaaaaaaa',
        versionTag: 'v',
        rowsValid: 1,
        lakeBucket: LAKE,
        database: 'serverless_etl',
      },
      w,
    );

    expect(catalogUses.map((u) => u.action)).toContain('glue:StartCrawler');
    expect(uncovered(catalogUses, startCrawlNeeds)).toEqual([]);
    expect(pollUses.map((u) => u.action)).toContain('glue:GetCrawler');
    expect(uncovered(pollUses, pollCrawlNeeds)).toEqual([]);
    expect(w.uses.map((u) => u.action)).toEqual(
      expect.arrayContaining(['athena:StartQueryExecution', 'athena:GetQueryResults']),
    );
    expect(uncovered(w.uses, verifyNeeds)).toEqual([]);
  });

  test('RegisterPartitions (GetTable, BatchCreatePartition, the manifest) stays within its declared IAM needs', async () => {
    const admin = motoGlueClient(moto);
    const plan = compilePlan(findContract('event_sessions')!);
    const schema = tableSchemaOf(plan);
    await admin.send(new CreateDatabaseCommand({ DatabaseInput: { Name: 'serverless_etl' } }));
    await admin.send(
      new CreateTableCommand({
        DatabaseName: 'serverless_etl',
        TableInput: {
          Name: plan.table,
          PartitionKeys: schema.partitionKeys.map((k) => ({ Name: k.name, Type: k.type })),
          StorageDescriptor: {
            Location: `s3://${LAKE}/${lake.curatedTablePrefix('event_sessions')}`,
            Columns: schema.columns.map((c) => ({ Name: c.name, Type: c.type })),
          },
        },
      }),
    );
    await new S3ObjectStore(s3).put(
      LAKE,
      lake.manifest('event_sessions', 'sep-bbbbbbbbbbbb'),
      JSON.stringify({ versionTag: 'v', rowsIn: 1, rowsOut: 1, partitions: ['2024-09-11'], objects: [] }),
    );
    const rec = recorder();
    const store = new S3ObjectStore(rec.record(new S3Client(moto.clientConfig), 's3'));
    const registry = new GlueCatalog(rec.record(motoGlueClient(moto), 'glue'));

    const result = await registerPartitions(
      {
        runId: 'run-p',
        dataset: 'event_sessions',
        sourceId: 'sep-bbbbbbbbbbbb',
        lakeBucket: LAKE,
        database: 'serverless_etl',
      },
      { store, registry },
    );

    expect(result).toMatchObject({ schemaChanged: false, registered: 1 });
    expect(rec.uses.map((u) => u.action)).toEqual(
      expect.arrayContaining(['glue:GetTable', 'glue:BatchCreatePartition', 's3:GetObject']),
    );
    expect(uncovered(rec.uses, registerPartitionsNeeds)).toEqual([]);
  });

  test('verify standing down for a newer version (ledger read, STALE recorded) stays within its declared IAM needs', async () => {
    const key = 'incoming/registrations/september.csv';
    const w = wiring();
    const older = await claimObject({ runId: 'run-old', event: await land(key, 'a\n1\n') }, w);
    const newerEvent = await land(key, 'a\n2\n');
    const newer = await claimObject(
      {
        runId: 'run-new',
        event: {
          ...newerEvent,
          detail: { ...newerEvent.detail, object: { ...newerEvent.detail.object, sequencer: '0062' } },
        },
      },
      w,
    );
    // The newer version's output is in place (its run published first).
    await new S3ObjectStore(s3).put(
      LAKE,
      lake.manifest('registrations', older.sourceId),
      // rowsOut 0: no Athena query is needed to see that this output is not the older version's.
      JSON.stringify({
        versionTag: newer.versionTag,
        rowsIn: 1,
        rowsOut: 0,
        duplicatesDropped: 1,
        partitions: [],
        objects: [],
      }),
    );
    w.uses.splice(0);

    const result = await verifyOutput(
      {
        runId: 'run-old',
        source: older.source,
        dataset: 'registrations',
        sourceId: older.sourceId,
        versionTag: older.versionTag,
        rowsValid: 1,
        lakeBucket: LAKE,
        database: 'serverless_etl',
      },
      w,
    );

    expect(result).toMatchObject({ status: 'SUPERSEDED', latestVersionTag: newer.versionTag });
    expect((await w.ledger.get({ bucket: LANDING, key, versionTag: older.versionTag }))?.status).toBe(
      'STALE',
    );
    expect(w.uses.map((u) => u.action)).toEqual(
      expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:UpdateItem']),
    );
    expect(uncovered(w.uses, verifyNeeds)).toEqual([]);
  });

  test('CheckStillLatest standing down for a newer version stays within its declared IAM needs', async () => {
    const key = 'incoming/registrations/october.csv';
    const w = wiring();
    const older = await claimObject({ runId: 'run-old', event: await land(key, 'a\n1\n') }, w);
    const newerEvent = await land(key, 'a\n2\n');
    const newer = await claimObject(
      {
        runId: 'run-new',
        event: {
          ...newerEvent,
          detail: { ...newerEvent.detail, object: { ...newerEvent.detail.object, sequencer: '0062' } },
        },
      },
      w,
    );
    w.uses.splice(0);

    const result = await checkStillLatest(
      { runId: 'run-old', source: older.source, versionTag: older.versionTag },
      w,
    );

    expect(result).toEqual({ status: 'SUPERSEDED', latestVersionTag: newer.versionTag });
    expect(w.uses.map((u) => u.action)).toEqual(
      expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:UpdateItem']),
    );
    expect(uncovered(w.uses, checkStillLatestNeeds)).toEqual([]);
  });

  test('the recorder does catch an undeclared use (the check can fail)', () => {
    expect(
      uncovered([{ on: 'lakeBucket', action: 's3:PutObject', key: 'curated/x' }], archiveNeeds),
    ).toHaveLength(1);
  });
});
