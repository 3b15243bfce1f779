/**
 * The DynamoDB sink end to end from curated Parquet: against moto's DynamoDB (conditional PutItem,
 * throttling retried) and against the local stand-in, with one set of scenarios.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  ScanCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { DynamoDbItemTable } from '../../adapters/aws/dynamodb-item-table';
import { LocalObjectStore } from '../../adapters/local/object-store';
import { LocalItemTable } from '../../adapters/local/sink-tables';
import { TransientDependencyError } from '../../core/errors';
import type { DynamoDbSinkConfig } from '../../core/sinks';
import { loadDynamoDbSink } from '../../sinks/dynamodb';
import type { ItemTable } from '../../sinks/ports';
import { PAYMENTS, orderKey, putCuratedRun, row } from './fixture';
import { startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';
import { DuckDBInstance } from '@duckdb/node-api';

const CONFIG: DynamoDbSinkConfig = { type: 'dynamodb', table: 'payments', key: ['id'] };

/** Items by id, each as plain attribute → value text (what a GetItem shows). */
type Items = Record<string, Record<string, string | boolean>>;

interface Backend {
  items: ItemTable;
  read(): Promise<Items>;
}

function sinkBehaviour(name: string, backend: () => Promise<Backend>) {
  describe(name, () => {
    let home: string;
    let store: LocalObjectStore;
    let b: Backend;
    beforeEach(async () => {
      home = mkdtempSync(path.join(tmpdir(), 'sink-ddb-'));
      store = new LocalObjectStore(home);
      b = await backend();
    });
    afterEach(() => rmSync(home, { recursive: true, force: true }));
    const load = async (version: string, order: number | null, rows: ReturnType<typeof row>[]) =>
      loadDynamoDbSink(
        { store, items: b.items },
        await putCuratedRun(
          store,
          'lake',
          { sourceId: 'march-aaaaaaaaaaaa', versionTag: version, order },
          rows,
        ),
        PAYMENTS,
        CONFIG,
        { scratchDir: home },
      );

    test('items keyed by id: exact decimal digits, ISO timestamps, dates as text, nulls left out', async () => {
      const result = await load('111111111111', 1, [
        row({ id: 'p1' }),
        row({
          id: 'p2',
          note: 'x',
          settled: false,
          event_date: '2026-03-02',
          paid_at: '2026-03-02T23:59:59.000001+02:00',
        }),
      ]);

      expect(result).toMatchObject({ sink: 'dynamodb', rows: 2, written: 2, skippedNewer: 0 });
      const items = await b.read();
      expect(items.p1).toEqual({
        id: 'p1',
        amount: '12345678901234567890.0123456789',
        paid_at: '2026-03-01T10:15:30.123456Z',
        settled: true,
        event_date: '2026-03-01',
        _source_id: 'march-aaaaaaaaaaaa',
        _source_version: '111111111111',
        _source_order: orderKey(1),
        _run_id: 'run-111111111111',
      });
      expect(items.p2).toMatchObject({
        note: 'x',
        settled: false,
        event_date: '2026-03-02',
        paid_at: '2026-03-02T21:59:59.000001Z',
      });
    });

    test('a rerun of the same version writes the same items again', async () => {
      await load('111111111111', 1, [row({ id: 'p1' })]);
      const before = await b.read();

      const again = await load('111111111111', 1, [row({ id: 'p1' })]);

      expect(again).toMatchObject({ written: 1, skippedNewer: 0 });
      expect(await b.read()).toEqual(before);
    });

    test('an older version loaded after a newer one loses item by item', async () => {
      await load('222222222222', 2, [row({ id: 'p1', note: 'newer' })]);

      const older = await load('111111111111', 1, [
        row({ id: 'p1', note: 'older' }),
        row({ id: 'p2', note: 'older' }),
      ]);

      expect(older).toMatchObject({ written: 1, skippedNewer: 1 });
      const items = await b.read();
      expect(items.p1).toMatchObject({ note: 'newer', _source_version: '222222222222' });
      expect(items.p2).toMatchObject({ note: 'older' });
    });

    test('a newer version replaces the items of an older one', async () => {
      await load('111111111111', 1, [row({ id: 'p1', note: 'older' })]);

      await load('222222222222', 2, [row({ id: 'p1', amount: '0.0000000001' })]);

      const items = await b.read();
      expect(items.p1).toMatchObject({ amount: '0.0000000001', _source_version: '222222222222' });
      expect(items.p1).not.toHaveProperty('note');
    });
  });
}

const plain = (item: Record<string, AttributeValue>) =>
  Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.BOOL ?? v.N ?? v.S ?? '?']));

const run = requirePythonSide('moto', 'DynamoDB sink against moto');
(run ? describe : describe.skip)('DynamoDB sink against moto', () => {
  let moto: MotoServer;
  let client: DynamoDBClient;
  beforeAll(async () => {
    moto = await startMoto();
    client = new DynamoDBClient(moto.clientConfig);
  }, 60_000);
  afterAll(async () => moto?.stop());
  beforeEach(async () => {
    await client.send(new DeleteTableCommand({ TableName: 'payments' })).catch(() => undefined);
    await client.send(
      new CreateTableCommand({
        TableName: 'payments',
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      }),
    );
  });

  const read = async (): Promise<Items> => {
    const out = await client.send(new ScanCommand({ TableName: 'payments', ConsistentRead: true }));
    return Object.fromEntries((out.Items ?? []).map((i) => [i.id!.S!, plain(i)]));
  };

  sinkBehaviour('on moto', async () => ({ items: new DynamoDbItemTable(client, 'payments'), read }));

  /** Fails the first `n` PutItem requests with DynamoDB's throttling error, before they are sent. */
  function throttled(n: number): DynamoDBClient {
    const c = new DynamoDBClient({ ...moto.clientConfig, maxAttempts: 1 });
    let left = n;
    c.middlewareStack.add(
      (next) => async (args) => {
        if (left > 0) {
          left--;
          throw Object.assign(new Error('Throughput exceeds the current capacity of your table'), {
            name: 'ProvisionedThroughputExceededException',
            $metadata: { httpStatusCode: 400 },
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'injectThrottling' },
    );
    return c;
  }

  test('throttled writes are retried with backoff and land', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'sink-ddb-'));
    try {
      const store = new LocalObjectStore(home);
      const items = new DynamoDbItemTable(throttled(5), 'payments', { baseDelayMs: 1, concurrency: 2 });
      const r = await putCuratedRun(
        store,
        'lake',
        { sourceId: 'march-aaaaaaaaaaaa', versionTag: '111111111111', order: 1 },
        [row({ id: 'p1' }), row({ id: 'p2' }), row({ id: 'p3' })],
      );

      const result = await loadDynamoDbSink({ store, items }, r, PAYMENTS, CONFIG, { scratchDir: home });

      expect(result).toMatchObject({ written: 3, retried: 5 });
      expect(Object.keys(await read()).sort()).toEqual(['p1', 'p2', 'p3']);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('writes still throttled after the bounded attempts fail as TransientDependencyError (the state retries)', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'sink-ddb-'));
    try {
      const store = new LocalObjectStore(home);
      const items = new DynamoDbItemTable(throttled(100), 'payments', { baseDelayMs: 1, maxAttempts: 3 });
      const r = await putCuratedRun(
        store,
        'lake',
        { sourceId: 'march-aaaaaaaaaaaa', versionTag: '111111111111', order: 1 },
        [row({ id: 'p1' })],
      );

      const loading = loadDynamoDbSink({ store, items }, r, PAYMENTS, CONFIG, { scratchDir: home });

      await expect(loading).rejects.toThrow(TransientDependencyError);
      await expect(loading).rejects.toThrow(/still throttled after 3 attempts/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test("a table whose key is not the contract's is a SinkLoadFailedError that says so", async () => {
    await client.send(new DeleteTableCommand({ TableName: 'payments' }));
    await client.send(
      new CreateTableCommand({
        TableName: 'payments',
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'payment_no', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'payment_no', AttributeType: 'N' }],
      }),
    );
    const home = mkdtempSync(path.join(tmpdir(), 'sink-ddb-'));
    try {
      const store = new LocalObjectStore(home);
      const r = await putCuratedRun(
        store,
        'lake',
        { sourceId: 'march-aaaaaaaaaaaa', versionTag: '111111111111', order: 1 },
        [row({ id: 'p1' })],
      );

      const loading = loadDynamoDbSink(
        { store, items: new DynamoDbItemTable(client, 'payments') },
        r,
        PAYMENTS,
        CONFIG,
        { scratchDir: home },
      );

      await expect(loading).rejects.toMatchObject({
        name: 'SinkLoadFailedError',
        message: expect.stringMatching(/key schema must be the contract's primary key/),
      });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('DynamoDB sink stand-in (local)', () => {
  let sinks: string;
  beforeEach(() => (sinks = mkdtempSync(path.join(tmpdir(), 'sink-standin-'))));
  afterEach(() => rmSync(sinks, { recursive: true, force: true }));

  sinkBehaviour('local Parquet table', async () => {
    const items = new LocalItemTable(sinks, 'payments', ['id']);
    return {
      items,
      async read() {
        const instance = await DuckDBInstance.create(':memory:');
        const c = await instance.connect();
        try {
          const reader = await c.runAndReadAll(`SELECT * FROM read_parquet('${items.file}')`);
          return Object.fromEntries(
            reader
              .getRowObjectsJson()
              .map((r) => [
                r.id as string,
                Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null)) as Record<
                  string,
                  string | boolean
                >,
              ]),
          );
        } finally {
          c.closeSync();
          instance.closeSync();
        }
      },
    };
  });
});
