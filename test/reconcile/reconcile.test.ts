/**
 * The reconcile sweep against a moto server: real S3 (versioned), DynamoDB and Step Functions
 * protocols on loopback. Scenarios: a missed event, versions the ledger knows, a racing second
 * sweep, keys the trigger would not match, the grace period, and a backlog cap.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { DynamoDbLedger } from '../../adapters/aws/dynamodb-ledger';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { versionTagOf } from '../../core/layout';
import type { S3ObjectCreatedEvent } from '../../core/events';
import { reconcileLanding, type ReconcileDeps } from '../../functions/reconcile/reconcile';
import { regionAndAccountOf, SfnRunStarter } from '../../functions/reconcile/sfn-run-starter';
import { acceptMotoTimestamps } from '../remote/moto-stack';
import { createLedgerTable, resetMoto, startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';

const LANDING = 'landing-bucket';
const TABLE = 'ledger';
const HOUR_LATER = () => new Date(Date.now() + 3_600_000);

const withMoto = requirePythonSide('moto', 'reconcile sweep');

(withMoto ? describe : describe.skip)('reconcile sweep (moto)', () => {
  let moto: MotoServer;
  let s3: S3Client;
  let ddb: DynamoDBClient;
  let sfn: SFNClient;
  let stateMachineArn: string;

  beforeAll(async () => {
    moto = await startMoto();
    s3 = new S3Client(moto.clientConfig);
    ddb = new DynamoDBClient(moto.clientConfig);
    sfn = new SFNClient(moto.clientConfig);
    acceptMotoTimestamps(sfn); // moto sends ISO timestamps where AWS sends epoch seconds
  });
  afterAll(async () => {
    s3.destroy();
    ddb.destroy();
    sfn.destroy();
    await moto.stop();
  });

  beforeEach(async () => {
    await resetMoto(moto);
    await s3.send(new CreateBucketCommand({ Bucket: LANDING }));
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: LANDING, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    await createLedgerTable(ddb, TABLE);
    const created = await sfn.send(
      new CreateStateMachineCommand({
        name: 'serverless-etl-pipeline',
        roleArn: 'arn:aws:iam::123456789012:role/pipeline',
        definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }),
      }),
    );
    stateMachineArn = created.stateMachineArn!;
  });

  const deps = (now: () => Date = HOUR_LATER): ReconcileDeps => ({
    store: new S3ObjectStore(s3),
    ledger: new DynamoDbLedger(ddb, TABLE),
    starter: new SfnRunStarter(sfn, stateMachineArn),
    landingBucket: LANDING,
    ...regionAndAccountOf(stateMachineArn),
    now,
  });
  const upload = async (key: string, body = 'registration_id\nREG-00000001\n') =>
    (await s3.send(new PutObjectCommand({ Bucket: LANDING, Key: key, Body: body }))).VersionId!;
  const executions = async () =>
    (await sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions ?? [];

  test('a file nobody claimed gets one execution carrying the event S3 would have sent', async () => {
    const versionId = await upload('incoming/registrations/missed march.csv');

    const result = await reconcileLanding({}, deps());

    expect(result).toMatchObject({ scanned: 1, started: 1 });
    const [execution] = await executions();
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: execution!.executionArn }));
    const event = JSON.parse(described.input!) as S3ObjectCreatedEvent;
    expect(event).toMatchObject({
      source: 'aws.s3',
      'detail-type': 'Object Created',
      detail: {
        bucket: { name: LANDING },
        object: { key: 'incoming/registrations/missed+march.csv', 'version-id': versionId, sequencer: '' },
      },
    });
    expect(execution!.name).toMatch(new RegExp(`^reconcile-${versionTagOf(versionId, '')}-[0-9a-f]{16}$`));
  });

  test('a version the ledger knows is left alone: a run in progress or failed is redriven, not restarted', async () => {
    const key = 'incoming/registrations/claimed.csv';
    const versionId = await upload(key);
    await new DynamoDbLedger(ddb, TABLE).claim({
      bucket: LANDING,
      key,
      versionId,
      versionTag: versionTagOf(versionId, ''),
      runId: 'run-from-the-real-event',
      claimedAt: new Date().toISOString(),
    });

    const result = await reconcileLanding({}, deps());

    expect(result.started).toBe(0);
    expect(result.decisions).toEqual([
      expect.objectContaining({ key, action: 'known', ledgerStatus: 'CLAIMED' }),
    ]);
    expect(await executions()).toHaveLength(0);
  });

  test('a newer version of a claimed key is started (the ledger is per version)', async () => {
    const key = 'incoming/registrations/overwritten.csv';
    const v1 = await upload(key, 'v1\n');
    await new DynamoDbLedger(ddb, TABLE).claim({
      bucket: LANDING,
      key,
      versionId: v1,
      versionTag: versionTagOf(v1, ''),
      runId: 'run-v1',
      claimedAt: new Date().toISOString(),
    });
    const v2 = await upload(key, 'v2\n');

    const result = await reconcileLanding({}, deps());

    expect(result.decisions).toEqual([
      expect.objectContaining({ key, versionTag: versionTagOf(v2, ''), action: 'started' }),
    ]);
  });

  test('a second sweep racing the first starts nothing new', async () => {
    await upload('incoming/registrations/once.csv');

    await reconcileLanding({}, deps());
    const second = await reconcileLanding({}, deps());

    expect(second.started).toBe(0);
    expect(second.decisions[0]).toMatchObject({ action: 'already-started' });
    expect(await executions()).toHaveLength(1);
  });

  test('only keys the trigger rule would match are considered', async () => {
    await upload('incoming/registrations/notes.txt');
    await upload('incoming/registrations/');
    await upload('elsewhere/registrations/x.csv');
    await upload('incoming/registrations/UPPER.CSV');
    await upload('incoming/registrations/mixed.Csv');

    const result = await reconcileLanding({}, deps());

    expect(result.decisions.map((d) => d.key).sort()).toEqual([
      'incoming/registrations/UPPER.CSV',
      'incoming/registrations/mixed.Csv',
    ]);
  });

  test('an upload younger than the grace period waits for its own event', async () => {
    await upload('incoming/registrations/just-now.csv');

    const result = await reconcileLanding(
      { minAgeMinutes: 15 },
      deps(() => new Date()),
    );

    expect(result.decisions).toEqual([expect.objectContaining({ action: 'too-recent' })]);
    expect(await executions()).toHaveLength(0);
  });

  test('a backlog is worked off maxStarts at a time', async () => {
    for (const n of [1, 2, 3]) await upload(`incoming/registrations/backlog-${n}.csv`);

    const first = await reconcileLanding({ maxStarts: 2 }, deps());
    const second = await reconcileLanding({ maxStarts: 2 }, deps());

    expect(first.decisions.map((d) => d.action)).toEqual(['started', 'started', 'deferred']);
    expect(second.decisions.map((d) => d.action)).toEqual(['already-started', 'already-started', 'started']);
    expect(await executions()).toHaveLength(3);
  });
});

test('a malformed state machine ARN is refused with what it should look like', () => {
  expect(() => regionAndAccountOf('serverless-etl-pipeline')).toThrow(/arn:aws:states:<region>:<account>/);
});
