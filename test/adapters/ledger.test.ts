/**
 * One behaviour, two ledgers: the folder-backed LocalLedger and the DynamoDB ledger against a
 * moto server. First write wins, a retried run keeps its claim, an older version never replaces
 * a newer one, and outcomes only move a claim in progress.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LocalLedger } from '../../adapters/local/ledger';
import { DynamoDbLedger } from '../../adapters/aws/dynamodb-ledger';
import { sequencerOrderKey } from '../../core/events';
import type { Ledger, LedgerClaim } from '../../core/ports';
import { createLedgerTable, startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';

const claimOf = (over: Partial<LedgerClaim> = {}): LedgerClaim => ({
  bucket: 'landing',
  key: 'incoming/registrations/march.csv',
  versionTag: 'aaaaaaaaaaaa',
  versionId: 'v1',
  runId: 'run-1',
  sequencerKey: sequencerOrderKey('00617F08299329D189'),
  claimedAt: '2026-11-22T08:00:00.000Z',
  ...over,
});

function ledgerContract(name: string, make: () => Promise<Ledger>) {
  describe(name, () => {
    let ledger: Ledger;
    beforeEach(async () => (ledger = await make()));

    test('the first claim of a version wins; another run claiming it sees DUPLICATE with the winner', async () => {
      const first = await ledger.claim(claimOf());
      const second = await ledger.claim(claimOf({ runId: 'run-2' }));

      expect(first.outcome).toBe('CLAIMED');
      expect(second).toMatchObject({ outcome: 'DUPLICATE', record: { runId: 'run-1', status: 'CLAIMED' } });
    });

    test('the same run claiming again (a retried task) keeps its claim', async () => {
      await ledger.claim(claimOf());
      const again = await ledger.claim(claimOf());

      expect(again.outcome).toBe('CLAIMED');
    });

    test('an older version arriving after a newer one is STALE and does not replace it', async () => {
      await ledger.claim(
        claimOf({
          versionTag: 'bbbbbbbbbbbb',
          runId: 'run-new',
          sequencerKey: sequencerOrderKey('00617F0829A'),
        }),
      );

      const older = await ledger.claim(
        claimOf({ runId: 'run-old', sequencerKey: sequencerOrderKey('00617F08299') }),
      );
      const newest = await ledger.claim(
        claimOf({
          versionTag: 'cccccccccccc',
          runId: 'run-newest',
          sequencerKey: sequencerOrderKey('00617F0829B0'),
        }),
      );

      expect(older).toEqual({
        outcome: 'STALE',
        latest: { versionTag: 'bbbbbbbbbbbb', sequencerKey: sequencerOrderKey('00617F0829A') },
      });
      expect((await ledger.get(claimOf()))?.status).toBe('STALE');
      expect(newest.outcome).toBe('CLAIMED');
      expect(await ledger.latest(claimOf())).toEqual({
        versionTag: 'cccccccccccc',
        sequencerKey: sequencerOrderKey('00617F0829B0'),
        runId: 'run-newest',
      });
    });

    test('a newer version after an older one is claimed normally', async () => {
      await ledger.claim(claimOf({ sequencerKey: sequencerOrderKey('0061') }));
      const newer = await ledger.claim(
        claimOf({ versionTag: 'bbbbbbbbbbbb', runId: 'run-2', sequencerKey: sequencerOrderKey('00610001') }),
      );
      expect(newer.outcome).toBe('CLAIMED');
    });

    test('settle moves CLAIMED to its outcome once; a final status is never overwritten', async () => {
      await ledger.claim(claimOf());

      const done = await ledger.settle(claimOf(), 'SUCCEEDED', 'run-1');
      const later = await ledger.settle(claimOf(), 'REJECTED', 'run-1', 'HEADER_MISMATCH');

      expect(done.status).toBe('SUCCEEDED');
      expect(later.status).toBe('SUCCEEDED');
      expect((await ledger.get(claimOf()))?.status).toBe('SUCCEEDED');
    });

    test('a FAILED run that is redriven and then succeeds ends SUCCEEDED', async () => {
      await ledger.claim(claimOf());

      await ledger.settle(claimOf(), 'FAILED', 'run-1', 'FAILED');
      const redriven = await ledger.settle(claimOf(), 'SUCCEEDED', 'run-1');

      expect(redriven.status).toBe('SUCCEEDED');
    });

    test('settling a version that was never claimed (rejected by Claim) records the outcome', async () => {
      const rejected = await ledger.settle(
        claimOf({ versionTag: 'dddddddddddd' }),
        'REJECTED',
        'run-9',
        'KEY_NOT_ALLOWED',
      );

      expect(rejected).toMatchObject({ status: 'REJECTED', runId: 'run-9', detail: 'KEY_NOT_ALLOWED' });
      expect((await ledger.claim(claimOf({ versionTag: 'dddddddddddd', runId: 'run-10' }))).outcome).toBe(
        'DUPLICATE',
      );
    });
  });
}

const tmpDirs: string[] = [];
afterAll(() => tmpDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

ledgerContract('LocalLedger', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ledger-'));
  tmpDirs.push(dir);
  return new LocalLedger(dir);
});

const withMoto = requirePythonSide('moto', 'DynamoDbLedger');
(withMoto ? describe : describe.skip)('against moto', () => {
  let moto: MotoServer;
  let client: DynamoDBClient;
  let n = 0;
  beforeAll(async () => {
    moto = await startMoto();
    client = new DynamoDBClient(moto.clientConfig);
  });
  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  ledgerContract('DynamoDbLedger', async () => {
    const table = `ledger-${++n}`;
    await client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
    await createLedgerTable(client, table);
    return new DynamoDbLedger(client, table);
  });
});
