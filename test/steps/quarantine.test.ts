/**
 * Quarantine scenarios on a tmp-dir lake: the original moves next to a reason.json, the ledger
 * says REJECTED, running twice is harmless, unsafe keys never reach a path, and the original is
 * only removed once its copy exists.
 */
import type { S3ObjectCreatedEvent } from '../../core/events';
import { logger } from '../../core/instrumentation';
import { sourceIdOf } from '../../core/layout';
import type { ObjectStore } from '../../core/ports';
import { createQuarantineStep } from '../../functions/quarantine/step';
import {
  parseRejection,
  quarantineObject,
  type QuarantineInput,
} from '../../functions/quarantine/quarantine';
import { LAKE, LANDING, fixture, readText, tmpLake, type TmpLake } from './landing';

const KEY = 'incoming/registrations/2026/march sign-ups.csv';
let lake: TmpLake;
beforeAll(() => logger.setLogLevel('SILENT'));
beforeEach(() => (lake = tmpLake()));
afterEach(() => lake.remove());

const inputFor = (event: S3ObjectCreatedEvent, cause: string): QuarantineInput => ({
  runId: 'run-1',
  detail: event.detail,
  rejection: { Error: 'FileRejectedError', Cause: cause },
  lakeBucket: LAKE,
});

describe('quarantine', () => {
  test('a file rejected by Validate moves to quarantine/<dataset>/ with a reason.json; the ledger says REJECTED', async () => {
    const { event, info } = await lake.land(KEY, fixture('bad-header.csv'));
    const cause = JSON.stringify({
      errorType: 'FileRejectedError',
      errorMessage: 'HEADER_MISMATCH: line 1: column "amount" is missing',
      trace: [],
    });

    const result = await createQuarantineStep({ store: lake.store, ledger: lake.ledger })(
      inputFor(event, cause),
    );

    expect(result.quarantined.key).toMatch(
      new RegExp(`^quarantine/registrations/${sourceIdOf(KEY)}/[0-9a-f]{12}/march sign-ups\\.csv$`),
    );
    expect(await readText(lake.store, LAKE, result.quarantined.key)).toBe(
      fixture('bad-header.csv').toString(),
    );
    expect(await lake.store.head({ bucket: LANDING, key: KEY })).toBeUndefined();
    const reason = JSON.parse(await readText(lake.store, LAKE, result.reasonFile.key));
    expect(reason).toMatchObject({
      code: 'HEADER_MISMATCH',
      message: 'line 1: column "amount" is missing',
      runId: 'run-1',
      original: { bucket: LANDING, key: KEY, versionId: info.versionId },
      fix: expect.any(String),
    });
    expect(result.notice).toMatchObject({
      status: 'REJECTED',
      reason: 'HEADER_MISMATCH',
      file: { key: KEY },
      quarantined: `s3://${LAKE}/${result.quarantined.key}`,
    });
    // What NotifyRejected publishes as is: valid JSON even though the message quotes a column.
    expect(result.message).toContain('"amount"');
    expect(JSON.parse(result.noticeText)).toEqual(result.notice);
    const versionTag = result.quarantined.key.split('/')[3]!;
    expect(await lake.ledger.get({ bucket: LANDING, key: KEY, versionTag })).toMatchObject({
      status: 'REJECTED',
      detail: 'HEADER_MISMATCH',
    });
  });

  test('running it twice is fine: same place, one copy, the original version still readable', async () => {
    const { event, info } = await lake.land(KEY, fixture('bad-header.csv'));
    const input = inputFor(event, 'TOO_MANY_BAD_ROWS: 12 of 20 rows are invalid (60% > 5%)');

    const first = await quarantineObject(input, { store: lake.store, ledger: lake.ledger });
    const second = await quarantineObject(input, { store: lake.store, ledger: lake.ledger });

    expect(second.quarantined).toEqual(first.quarantined);
    expect(second.originalRemoved).toBe(true);
    const keys: string[] = [];
    for await (const o of lake.store.list(LAKE, 'quarantine/')) keys.push(o.key);
    expect(keys).toEqual([first.quarantined.key, first.reasonFile.key].sort());
    expect(await readText(lake.store, LANDING, KEY, info.versionId)).toBe(
      fixture('bad-header.csv').toString(),
    );
  });

  test('a key that is not allowed goes to quarantine/_unrouted/ named by hash only, never by its text', async () => {
    const nasty = "incoming/registrations/x'; DROP TABLE t; --.csv";
    const { event } = await lake.land(nasty, 'a,b\n1,2\n');

    const result = await quarantineObject(
      inputFor(event, 'KEY_NOT_ALLOWED: key contains the character "\'"'),
      {
        store: lake.store,
        ledger: lake.ledger,
      },
    );

    expect(result.quarantined.key).toMatch(/^quarantine\/_unrouted\/[a-z0-9-]+\/[0-9a-f]{12}\/original$/);
    expect(result.quarantined.key).not.toContain("'");
    const reason = JSON.parse(await readText(lake.store, LAKE, result.reasonFile.key));
    expect(reason.original.key).toBe(nasty);
  });

  test('an unknown dataset also goes to _unrouted/', async () => {
    const { event } = await lake.land('incoming/invoices/march.csv', 'a\n1\n');

    const result = await quarantineObject(
      inputFor(event, 'UNKNOWN_DATASET: no contract for dataset "invoices"'),
      {
        store: lake.store,
        ledger: lake.ledger,
      },
    );

    expect(result.quarantined.key).toMatch(/^quarantine\/_unrouted\//);
  });

  test('the original stays in landing when the copy fails', async () => {
    const { event } = await lake.land(KEY, fixture('bad-header.csv'));
    const failingCopy: ObjectStore = Object.assign(Object.create(lake.store) as ObjectStore, {
      copy: () => Promise.reject(new Error('SlowDown')),
    });

    await expect(
      quarantineObject(inputFor(event, 'MALFORMED_CSV: line 3: unclosed quote'), {
        store: failingCopy,
        ledger: lake.ledger,
      }),
    ).rejects.toThrow('SlowDown');

    expect(await readText(lake.store, LANDING, KEY)).toBe(fixture('bad-header.csv').toString());
  });

  test('a newer upload of the same key is left in landing for its own run', async () => {
    const { event } = await lake.land(KEY, fixture('bad-header.csv'));
    await lake.store.put(LANDING, KEY, 'registration_id\nREG-00000002\n');

    const result = await quarantineObject(inputFor(event, 'HEADER_MISMATCH: bad header'), {
      store: lake.store,
      ledger: lake.ledger,
    });

    expect(result.originalRemoved).toBe(false);
    expect(await readText(lake.store, LANDING, KEY)).toBe('registration_id\nREG-00000002\n');
    expect(await readText(lake.store, LAKE, result.quarantined.key)).toBe(
      fixture('bad-header.csv').toString(),
    );
  });

  test.each([
    ['plain text (local runtime)', 'EMPTY_FILE: the file has 0 bytes', 'EMPTY_FILE'],
    ['Lambda JSON envelope', JSON.stringify({ errorMessage: 'HEADER_ONLY: no data rows' }), 'HEADER_ONLY'],
    ['no reason code', 'something else went wrong', 'UNCLASSIFIED'],
  ])('parses the reason from a %s Cause', (_what, cause, reason) => {
    expect(parseRejection({ Error: 'FileRejectedError', Cause: cause }).reason).toBe(reason);
  });
});
