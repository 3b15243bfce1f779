/**
 * Claim (and CheckStillLatest) scenarios with the local ledger: first write wins, duplicates and
 * stale versions end the run early, a version overtaken while it validated stands down, and keys or datasets that cannot be routed are rejected with a reason code.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalLedger } from '../../adapters/local/ledger';
import { FileRejectedError } from '../../core/errors';
import {
  encodeEventKey,
  sequencerOrderKey,
  UNORDERED_SOURCE,
  type S3ObjectCreatedEvent,
} from '../../core/events';
import { sourceIdOf, versionTagOf } from '../../core/layout';
import { checkStillLatest } from '../../functions/check-still-latest/check-still-latest';
import { createCheckStillLatestStep } from '../../functions/check-still-latest/step';
import { claimObject } from '../../functions/claim/claim';
import { createClaimStep } from '../../functions/claim/step';

const BASE = JSON.parse(
  readFileSync(path.join(__dirname, '../fixtures/steps/event-registrations.json'), 'utf8'),
) as S3ObjectCreatedEvent;

function eventFor(
  key: string,
  object: Partial<S3ObjectCreatedEvent['detail']['object']> = {},
): S3ObjectCreatedEvent {
  return {
    ...BASE,
    detail: { ...BASE.detail, object: { ...BASE.detail.object, key: encodeEventKey(key), ...object } },
  };
}

let dir: string;
let ledger: LocalLedger;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'claim-'));
  ledger = new LocalLedger(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('claim', () => {
  test('a new object version is CLAIMED with its dataset, safe source id and version tag', async () => {
    const result = await createClaimStep({ ledger })({ runId: 'run-1', event: BASE });

    expect(result).toEqual({
      status: 'CLAIMED',
      runId: 'run-1',
      dataset: 'registrations',
      source: expect.objectContaining({
        bucket: 'serverless-etl-landing',
        key: 'incoming/registrations/2026/march sign-ups.csv',
      }),
      sourceId: sourceIdOf('incoming/registrations/2026/march sign-ups.csv'),
      versionTag: versionTagOf('v1-3HL4kqtJlcpXroDTDmJ', '9b2cf535f27731c974343645a3985328'),
      // What the ledger orders versions by, carried to the transform as --source_order.
      sourceOrder: sequencerOrderKey(BASE.detail.object.sequencer),
    });
  });

  test('an event without a usable sequencer carries sourceOrder "unordered" (no order check downstream)', async () => {
    const unordered = {
      ...BASE,
      detail: { ...BASE.detail, object: { ...BASE.detail.object, sequencer: '' } },
    };

    const result = await claimObject({ runId: 'run-1', event: unordered }, { ledger });

    expect(result).toMatchObject({ status: 'CLAIMED', sourceOrder: UNORDERED_SOURCE });
  });

  test('the same event delivered twice: the second run is a DUPLICATE', async () => {
    await claimObject({ runId: 'run-1', event: BASE }, { ledger });
    const second = await claimObject({ runId: 'run-2', event: BASE }, { ledger });

    expect(second.status).toBe('DUPLICATE');
  });

  test('concurrent deliveries of one event: exactly one run claims it', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => claimObject({ runId: `run-${i}`, event: BASE }, { ledger })),
    );
    expect(results.filter((r) => r.status === 'CLAIMED')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'DUPLICATE')).toHaveLength(7);
  });

  test('two versions out of order: the older event, arriving second, is STALE', async () => {
    const newer = eventFor('incoming/registrations/2026/march sign-ups.csv', {
      'version-id': 'v2',
      sequencer: '00617F0829A0000000',
    });
    const older = eventFor('incoming/registrations/2026/march sign-ups.csv', {
      'version-id': 'v1',
      sequencer: '00617F08299329D189',
    });

    const first = await claimObject({ runId: 'run-new', event: newer }, { ledger });
    const late = await claimObject({ runId: 'run-old', event: older }, { ledger });

    expect([first.status, late.status]).toEqual(['CLAIMED', 'STALE']);
  });

  test.each([
    ["incoming/registrations/2026/x'; DROP TABLE t; --.csv", /character "'"/],
    ['incoming/registrations/../../etc/passwd.csv', /"\.\." segment/],
    ['outgoing/registrations/march.csv', /outside incoming\//],
    ['incoming/registrations/folder/', /folder marker/],
  ])('key %j is rejected as KEY_NOT_ALLOWED with the problem and the fix', async (key, problem) => {
    const attempt = claimObject({ runId: 'run-1', event: eventFor(key) }, { ledger });

    await expect(attempt).rejects.toThrow(FileRejectedError);
    await expect(attempt).rejects.toMatchObject({
      reason: 'KEY_NOT_ALLOWED',
      message: expect.stringMatching(problem),
    });
    await expect(attempt).rejects.toThrow(/Fix: /);
  });

  test('a dataset without a contract is rejected as UNKNOWN_DATASET, and nothing is claimed', async () => {
    const event = eventFor('incoming/invoices/march.csv');

    await expect(claimObject({ runId: 'run-1', event }, { ledger })).rejects.toMatchObject({
      name: 'FileRejectedError',
      reason: 'UNKNOWN_DATASET',
      message: expect.stringMatching(/^UNKNOWN_DATASET: .*"invoices".*Fix:/),
    });
  });

  test('a newer version claimed while this one validated: the recheck says SUPERSEDED and the ledger says STALE', async () => {
    const key = 'incoming/registrations/2026/march sign-ups.csv';
    const older = eventFor(key, { 'version-id': 'v1', sequencer: '00617F08299329D189' });
    const newer = eventFor(key, { 'version-id': 'v2', sequencer: '00617F0829A0000000' });
    const first = await claimObject({ runId: 'run-old', event: older }, { ledger });
    await claimObject({ runId: 'run-new', event: newer }, { ledger });

    const recheck = await createCheckStillLatestStep({ ledger })({
      runId: 'run-old',
      source: first.source,
      versionTag: first.versionTag,
    });

    expect(recheck).toEqual({
      status: 'SUPERSEDED',
      latestVersionTag: versionTagOf('v2', BASE.detail.object.etag),
    });
    expect(
      (await ledger.get({ bucket: first.source.bucket, key, versionTag: first.versionTag }))?.status,
    ).toBe('STALE');
  });

  test('the newest claimed version rechecks CURRENT', async () => {
    const first = await claimObject({ runId: 'run-1', event: BASE }, { ledger });

    const recheck = await checkStillLatest(
      { runId: 'run-1', source: first.source, versionTag: first.versionTag },
      { ledger },
    );

    expect(recheck).toEqual({ status: 'CURRENT' });
  });

  test('sequencers of different lengths order as S3 documents: right-padded with zeros, then compared as text', () => {
    expect(sequencerOrderKey('00617F0829A') > sequencerOrderKey('00617F08299329D189')).toBe(true);
    expect(sequencerOrderKey('9') > sequencerOrderKey('10')).toBe(true);
    expect(sequencerOrderKey('00617f0829a')).toBe(sequencerOrderKey('00617F0829A0'));
    expect(() => sequencerOrderKey("1'; --")).toThrow(/not 1-64 hex digits/);
  });

  test('a rejected key delivered again is a DUPLICATE once the first delivery was quarantined', async () => {
    const event = eventFor('incoming/registrations/bad;name.csv');
    await expect(claimObject({ runId: 'run-1', event }, { ledger })).rejects.toMatchObject({
      reason: 'KEY_NOT_ALLOWED',
    });
    const first = { bucket: BASE.detail.bucket.name, key: 'incoming/registrations/bad;name.csv' };
    await ledger.settle(
      { ...first, versionTag: versionTagOf(BASE.detail.object['version-id'], BASE.detail.object.etag) },
      'REJECTED',
      'run-1',
      'KEY_NOT_ALLOWED',
    );

    const again = await claimObject({ runId: 'run-2', event }, { ledger });

    expect(again.status).toBe('DUPLICATE');
  });
});
