/**
 * One behaviour, two source ledgers: the folder-backed LocalSourceLedger and the DynamoDB one
 * against a moto server. Claims are conditional (exactly one of racing claimers wins; a live lease
 * of another owner is respected, an expired one is taken over; DONE is final), only the owner
 * completes, releases or gives up a period, and the bookmark moves only forward from where the
 * caller saw it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbSourceLedger, SOURCE_LEDGER_TABLE_KEYS } from '../../adapters/aws/dynamodb-source-ledger';
import { LocalSourceLedger } from '../../adapters/local/source-ledger';
import { SourceLeaseLostError } from '../../core/errors';
import type { SourceLedger } from '../../core/ports';
import { startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';

const SOURCE = 'github-events';
const P1 = '2024-01-01T00:00:00Z';
const P2 = '2024-01-01T01:00:00Z';
const P3 = '2024-01-01T02:00:00Z';
const T0 = Date.parse('2026-12-05T09:00:00Z');
const LANDED = {
  key: 'incoming/github_events/github-events-2024-01-01-00.json.gz',
  bytes: 1234,
  etag: 'abc',
};

/** A ledger whose clock the test moves. */
type Make = (clock: { now: number }) => Promise<SourceLedger>;

function sourceLedgerContract(name: string, make: () => Promise<Make>) {
  describe(name, () => {
    let at: Make;
    let clock: { now: number };
    let ledger: SourceLedger;
    beforeEach(async () => {
      at = await make();
      clock = { now: T0 };
      ledger = await at(clock);
    });

    test('a first claim wins; another owner is refused while the lease lives; the owner may claim again', async () => {
      expect(await ledger.get(SOURCE, P1)).toBeUndefined();

      expect(await ledger.claim(SOURCE, P1, 'inv-a', T0 + 60_000)).toBe(true);
      expect(await ledger.claim(SOURCE, P1, 'inv-b', T0 + 60_000)).toBe(false);
      expect(await ledger.claim(SOURCE, P1, 'inv-a', T0 + 120_000)).toBe(true);

      expect(await ledger.get(SOURCE, P1)).toMatchObject({
        source: SOURCE,
        period: P1,
        status: 'CLAIMED',
        owner: 'inv-a',
        leaseUntilMs: T0 + 120_000,
        attempts: 0,
      });
    });

    test('of eight invocations racing for one period exactly one wins', async () => {
      const racers = await Promise.all(Array.from({ length: 8 }, () => at(clock)));
      const won = await Promise.all(racers.map((l, i) => l.claim(SOURCE, P2, `inv-${i}`, T0 + 60_000)));

      expect(won.filter(Boolean)).toHaveLength(1);
      const winner = `inv-${won.indexOf(true)}`;
      expect((await ledger.get(SOURCE, P2))!.owner).toBe(winner);
    });

    test('an expired lease is taken over; the old owner can then neither complete nor release it', async () => {
      expect(await ledger.claim(SOURCE, P1, 'inv-a', T0 + 1000)).toBe(true);
      clock.now = T0 + 999;
      expect(await ledger.claim(SOURCE, P1, 'inv-b', T0 + 60_000)).toBe(false);
      clock.now = T0 + 1000;
      expect(await ledger.claim(SOURCE, P1, 'inv-b', T0 + 60_000)).toBe(true);

      await expect(ledger.complete(SOURCE, P1, 'inv-a', LANDED)).rejects.toThrow(SourceLeaseLostError);
      await ledger.release(SOURCE, P1, 'inv-a', 'HTTP 503'); // lost: ignored
      await expect(ledger.markMissing(SOURCE, P1, 'inv-a', 'HTTP 404')).rejects.toThrow(SourceLeaseLostError);
      expect(await ledger.get(SOURCE, P1)).toMatchObject({ status: 'CLAIMED', owner: 'inv-b', attempts: 0 });

      await ledger.complete(SOURCE, P1, 'inv-b', LANDED);
      expect(await ledger.get(SOURCE, P1)).toMatchObject({ status: 'DONE', owner: 'inv-b', landed: LANDED });
    });

    test('DONE is final: no claim succeeds, whatever the lease or owner', async () => {
      await ledger.claim(SOURCE, P1, 'inv-a', T0 + 1000);
      await ledger.complete(SOURCE, P1, 'inv-a', { ...LANDED, versionId: 'v1' });
      clock.now = T0 + 10_000_000;

      expect(await ledger.claim(SOURCE, P1, 'inv-a', T0 + 20_000_000)).toBe(false);
      expect(await ledger.claim(SOURCE, P1, 'inv-b', T0 + 20_000_000)).toBe(false);
      const record = (await ledger.get(SOURCE, P1))!;
      expect(record.status).toBe('DONE');
      expect(record.landed).toEqual({ ...LANDED, versionId: 'v1' });
      expect(record.leaseUntilMs).toBeUndefined();
    });

    test('a release with an error counts an attempt and keeps the error; without one (not published yet) it does not', async () => {
      await ledger.claim(SOURCE, P1, 'inv-a', T0 + 1000);
      await ledger.release(SOURCE, P1, 'inv-a', 'HTTP 503 Service Unavailable');
      expect(await ledger.get(SOURCE, P1)).toMatchObject({
        status: 'RELEASED',
        attempts: 1,
        lastError: 'HTTP 503 Service Unavailable',
      });

      // A released period is free for anyone at once, and the claim keeps the count.
      expect(await ledger.claim(SOURCE, P1, 'inv-b', T0 + 60_000)).toBe(true);
      expect((await ledger.get(SOURCE, P1))!.attempts).toBe(1);
      await ledger.release(SOURCE, P1, 'inv-b');
      expect(await ledger.get(SOURCE, P1)).toMatchObject({ status: 'RELEASED', attempts: 1 });
      await ledger.claim(SOURCE, P1, 'inv-c', T0 + 60_000);
      await ledger.release(SOURCE, P1, 'inv-c', 'HTTP 500');
      expect(await ledger.get(SOURCE, P1)).toMatchObject({ attempts: 2, lastError: 'HTTP 500' });
    });

    test('MISSING counts the attempt, keeps the reason, and may be claimed again (an explicit re-pull)', async () => {
      await ledger.claim(SOURCE, P3, 'inv-a', T0 + 1000);
      await ledger.markMissing(SOURCE, P3, 'inv-a', 'HTTP 404 six times');
      expect(await ledger.get(SOURCE, P3)).toMatchObject({
        status: 'MISSING',
        attempts: 1,
        lastError: 'HTTP 404 six times',
      });
      expect(await ledger.claim(SOURCE, P3, 'inv-b', T0 + 60_000)).toBe(true);
    });

    test('only the owner completes a period that was never claimed by it', async () => {
      await expect(ledger.complete(SOURCE, P2, 'inv-a', LANDED)).rejects.toThrow(SourceLeaseLostError);
      expect(await ledger.get(SOURCE, P2)).toBeUndefined();
    });

    test('the bookmark starts absent and moves only from the value the caller saw', async () => {
      expect(await ledger.bookmark(SOURCE)).toBeUndefined();
      expect(await ledger.advance(SOURCE, P1, P2)).toBe(false); // there is none yet

      expect(await ledger.advance(SOURCE, undefined, P1)).toBe(true);
      expect(await ledger.advance(SOURCE, undefined, P2)).toBe(false); // someone set it first
      expect(await ledger.advance(SOURCE, P1, P2)).toBe(true);
      expect(await ledger.advance(SOURCE, P1, P3)).toBe(false); // stale view
      expect(await ledger.bookmark(SOURCE)).toBe(P2);
      expect(await ledger.bookmark('other-source')).toBeUndefined();
    });

    test('of invocations racing to move the bookmark from the same value exactly one wins', async () => {
      await ledger.advance(SOURCE, undefined, P1);
      const racers = await Promise.all(Array.from({ length: 6 }, () => at(clock)));
      const moved = await Promise.all(racers.map((l) => l.advance(SOURCE, P1, P2)));

      expect(moved.filter(Boolean)).toHaveLength(1);
      expect(await ledger.bookmark(SOURCE)).toBe(P2);
    });

    test('a period that is not YYYY-MM-DDTHH:00:00Z is refused before any write', async () => {
      await expect(ledger.claim(SOURCE, '2024-01-01', 'inv-a', T0)).rejects.toThrow(/not a period/);
      await expect(ledger.advance(SOURCE, undefined, '2024-01-01T00:30:00Z')).rejects.toThrow(/not a period/);
    });
  });
}

describe('DynamoDbSourceLedger only', () => {
  test('the bookmark never moves backwards or stays in place, even when the caller saw it right', async () => {
    // No client call is made for these: the adapter refuses before writing.
    const ledger = new DynamoDbSourceLedger(
      { send: () => Promise.reject(new Error('no call')) } as never,
      't',
    );
    expect(await ledger.advance(SOURCE, P2, P1)).toBe(false);
    expect(await ledger.advance(SOURCE, P2, P2)).toBe(false);
  });

  test('a throttled or failing table surfaces as TransientDependencyError (the pull retries next time)', async () => {
    const failing = new DynamoDbSourceLedger(
      {
        send: () =>
          Promise.reject(
            Object.assign(new Error('Rate exceeded'), {
              name: 'ThrottlingException',
              $metadata: { httpStatusCode: 400 },
            }),
          ),
      } as never,
      'bookmarks-x',
    );
    await expect(failing.claim(SOURCE, P1, 'inv-a', T0)).rejects.toMatchObject({
      name: 'TransientDependencyError',
    });
    await expect(failing.bookmark(SOURCE)).rejects.toMatchObject({ name: 'TransientDependencyError' });
  });
});

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

sourceLedgerContract('LocalSourceLedger', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'etl-source-ledger-'));
  roots.push(root);
  return async (clock) => new LocalSourceLedger(root, () => clock.now);
});

/** Creates the bookmarks table with the schema the adapter (and the stack) use. */
async function createSourceLedgerTable(client: DynamoDBClient, TableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName,
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
}

const runDynamo = requirePythonSide('moto', 'DynamoDbSourceLedger');
(runDynamo ? describe : describe.skip)('DynamoDbSourceLedger (moto)', () => {
  let moto: MotoServer;
  let client: DynamoDBClient;
  let tables = 0;
  beforeAll(async () => {
    moto = await startMoto();
    client = new DynamoDBClient(moto.clientConfig);
  });
  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  sourceLedgerContract('DynamoDbSourceLedger', async () => {
    const table = `bookmarks-${++tables}`;
    await createSourceLedgerTable(client, table);
    // Each ledger its own client, as separate Lambda invocations would have.
    return async (clock) =>
      new DynamoDbSourceLedger(new DynamoDBClient(moto.clientConfig), table, { now: () => clock.now });
  });
});
