/**
 * The pull (sources/pull.ts) against a loopback archive server, with the local ledger and the
 * folder object store: every case of issue 14's list, asserted on what landed, what the ledger
 * holds and how many requests the server saw.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { LocalObjectStore } from '../../adapters/local/object-store';
import { LocalSecretResolver } from '../../adapters/local/secrets';
import { LocalSourceLedger } from '../../adapters/local/source-ledger';
import { SecretNotFoundError } from '../../core/errors';
import type { SourcePeriod } from '../../core/ports';
import type { SourceDefinition } from '../../sources/definition';
import { pullSource, type PullOptions, type PullResult } from '../../sources/pull';
import { hourFile, startArchiveServer, type ArchiveServer } from '../support/archive-server';

const H = 3_600_000;
const T0 = Date.UTC(2024, 0, 1); // the source's start
const hour = (n: number) => T0 + n * H;
const period = (n: number): SourcePeriod => `${new Date(hour(n)).toISOString().slice(0, 13)}:00:00Z`;

let server: ArchiveServer;
let dir: string;
let clock: number;
const now = () => clock;

beforeEach(async () => {
  server = await startArchiveServer({ eventsPerHour: 40 });
  dir = mkdtempSync(path.join(tmpdir(), 'etl-pull-'));
  clock = hour(6) + 10 * 60_000; // 06:10: hours 00..05 are due
});
afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function definition(overrides: Partial<SourceDefinition> = {}): SourceDefinition {
  return {
    name: 'github-events',
    file: 'github-events.source.json',
    dataset: 'github_events',
    cadence: 'hourly',
    start: period(0),
    url: server.template,
    headers: {},
    publishDelayMs: 0,
    maxPeriodsPerRun: 24,
    retries: 2,
    timeoutMs: 2000,
    missingAfterAttempts: 3,
    extension: '.jsonl.gz',
    ...overrides,
  };
}

const store = () => new LocalObjectStore(path.join(dir, 'home'));
const ledger = () => new LocalSourceLedger(path.join(dir, 'sources'), now);

function pull(def: SourceDefinition, extra: Partial<PullOptions> = {}): Promise<PullResult> {
  return pullSource({
    definition: def,
    ledger: ledger(),
    store: store(),
    landingBucket: 'landing',
    secrets: new LocalSecretResolver({}, path.join(dir, 'secrets.json')),
    owner: `test-${Math.random().toString(36).slice(2, 8)}`,
    now,
    retryBaseMs: 5,
    ...extra,
  });
}

const statuses = (r: PullResult) =>
  Object.fromEntries(r.periods.map((p) => [p.period.slice(11, 13), p.status]));
const keyOf = (n: number) =>
  `incoming/github_events/github-events-${period(n).slice(0, 10)}-${period(n).slice(11, 13)}.jsonl.gz`;
const landed = async (n: number) => {
  const info = await store().head({ bucket: 'landing', key: keyOf(n) });
  if (!info) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of await store().get({ bucket: 'landing', key: keyOf(n) })) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};
const landingFiles = () => {
  const folder = path.join(dir, 'home', 'landing', 'incoming', 'github_events');
  try {
    return readdirSync(folder).sort();
  } catch {
    return [];
  }
};

test('happy path: every due hour lands once, byte for byte, and the bookmark is the newest', async () => {
  const result = await pull(definition());

  expect(statuses(result)).toEqual({
    '00': 'pulled',
    '01': 'pulled',
    '02': 'pulled',
    '03': 'pulled',
    '04': 'pulled',
    '05': 'pulled',
  });
  expect(result.bookmarkAfter).toBe(period(5));
  expect(result.failures).toBe(0);
  for (let n = 0; n <= 5; n++) {
    const bytes = await landed(n);
    expect(bytes?.equals(hourFile(hour(n), 40))).toBe(true);
    expect(gunzipSync(bytes!).toString('utf8').trim().split('\n')).toHaveLength(40);
    expect(server.requests.get(hour(n))).toBe(1);
    expect(await ledger().get('github-events', period(n))).toMatchObject({
      status: 'DONE',
      landed: { key: keyOf(n), bytes: bytes!.length },
    });
  }
  expect(landingFiles()).toHaveLength(6); // no temp files
  expect(server.lastHeaders?.['accept-encoding']).toBe('identity');
});

test('a rerun pulls nothing again: not on schedule, not with an explicit range over done hours', async () => {
  await pull(definition());
  const again = await pull(definition());
  expect(again.periods).toEqual([]);
  const ranged = await pull(definition(), { range: { from: period(0), to: period(5) } });
  expect(ranged.periods.map((p) => p.status)).toEqual(Array(6).fill('skipped'));
  expect(ranged.periods.map((p) => p.reason)).toEqual(Array(6).fill('DONE'));
  for (let n = 0; n <= 5; n++) expect(server.requests.get(hour(n))).toBe(1);
});

test('404 for the newest hour is "not yet": no failure, retried next time, and then lands', async () => {
  server.faults.publishedUntilMs = hour(4);

  const first = await pull(definition());
  expect(statuses(first)).toMatchObject({ '04': 'pulled', '05': 'not-yet' });
  expect(first.failures).toBe(0);
  expect(first.bookmarkAfter).toBe(period(4));
  expect(await ledger().get('github-events', period(5))).toMatchObject({ status: 'RELEASED', attempts: 0 });
  expect(await landed(5)).toBeUndefined();

  server.faults.publishedUntilMs = hour(5);
  const second = await pull(definition());
  expect(statuses(second)).toEqual({ '05': 'pulled' });
  expect(second.bookmarkAfter).toBe(period(5));
});

test('a 500 then success: retried with backoff in the same invocation, lands once', async () => {
  server.faults.failFirst = new Map([[hour(2), 1]]);
  const pauses: number[] = [];
  const result = await pull(definition(), {
    sleep: async (ms) => void pauses.push(ms),
    random: () => 1,
    retryBaseMs: 1000,
  });
  const p2 = result.periods.find((p) => p.period === period(2))!;
  expect(p2).toMatchObject({ status: 'pulled', requests: 2 });
  expect(pauses).toEqual([1000]);
  expect(result.failures).toBe(0);
  expect((await landed(2))?.equals(hourFile(hour(2), 40))).toBe(true);
});

test('a 500 every time: failed after the retries, nothing landed, later hours still pulled, caught up next time', async () => {
  server.faults.failFirst = new Map([[hour(2), 100]]);
  const result = await pull(definition());
  expect(statuses(result)).toEqual({
    '00': 'pulled',
    '01': 'pulled',
    '02': 'failed',
    '03': 'pulled',
    '04': 'pulled',
    '05': 'pulled',
  });
  expect(result.failures).toBe(1);
  expect(result.periods[2]).toMatchObject({ requests: 3, reason: expect.stringMatching(/HTTP 500/) });
  expect(result.bookmarkAfter).toBe(period(1));
  expect(await landed(2)).toBeUndefined();
  expect(await ledger().get('github-events', period(2))).toMatchObject({
    status: 'RELEASED',
    attempts: 1,
    lastError: expect.stringMatching(/500/),
  });

  server.faults.failFirst = new Map();
  const next = await pull(definition());
  expect(statuses(next)).toEqual({ '02': 'pulled', '03': 'skipped', '04': 'skipped', '05': 'skipped' });
  expect(next.bookmarkAfter).toBe(period(5));
  expect(server.requests.get(hour(3))).toBe(1);
});

test('a truncated gzip is never landed: failed with the reason, retried next time', async () => {
  server.faults.truncatedFile = new Set([hour(3)]);
  const result = await pull(definition());
  expect(result.periods[3]).toMatchObject({
    status: 'failed',
    requests: 3,
    reason: expect.stringMatching(/not a whole gzip stream/),
  });
  expect(await landed(3)).toBeUndefined();
  expect(landingFiles()).toHaveLength(5);
  expect(
    readdirSync(path.join(dir, 'home', 'landing', 'incoming', 'github_events')).some((f) =>
      f.includes('tmp'),
    ),
  ).toBe(false);
});

test('a body cut short of its Content-Length is never landed; the retry lands the whole file', async () => {
  server.faults.abortBody = new Map([[hour(1), 1]]);
  const result = await pull(definition());
  expect(result.periods[1]).toMatchObject({ status: 'pulled', requests: 2 });
  expect((await landed(1))?.equals(hourFile(hour(1), 40))).toBe(true);

  server.faults.abortBody = new Map([[hour(0), 0]]); // every time
  const again = await pull(definition(), { range: { from: period(0), to: period(0) } });
  expect(again.periods[0]).toMatchObject({ status: 'skipped', reason: 'DONE' }); // done before: not fetched
  const fresh = await pull(definition({ name: 'other-source' }), {
    range: { from: period(0), to: period(0) },
  });
  expect(fresh.periods[0]).toMatchObject({
    status: 'failed',
    reason: expect.stringMatching(/terminated|ended after|other side closed/i),
  });
});

test('a slow server within the timeout lands; one slower than the timeout fails without landing', async () => {
  server.faults.slowMs = new Map([[hour(0), 30]]);
  const slow = await pull(definition(), { range: { from: period(0), to: period(0) } });
  expect(slow.periods[0]).toMatchObject({ status: 'pulled', requests: 1 });
  expect((await landed(0))?.equals(hourFile(hour(0), 40))).toBe(true);

  server.faults.slowMs = new Map([[hour(1), 400]]);
  const tooSlow = await pull(definition({ timeoutMs: 150, retries: 1 }), {
    range: { from: period(1), to: period(1) },
  });
  expect(tooSlow.periods[0]).toMatchObject({ status: 'failed', requests: 2, reason: 'no data for 0.15 s' });
  expect(await landed(1)).toBeUndefined();
});

test('overlapping pulls (two invocations at once) pull every hour exactly once between them', async () => {
  server.faults.slowMs = new Map(Array.from({ length: 6 }, (_, n) => [hour(n), 5] as [number, number]));
  const [a, b] = await Promise.all([pull(definition(), { owner: 'a' }), pull(definition(), { owner: 'b' })]);
  const pulledBy = (r: PullResult) => r.periods.filter((p) => p.status === 'pulled').map((p) => p.period);
  expect([...pulledBy(a), ...pulledBy(b)].sort()).toEqual([0, 1, 2, 3, 4, 5].map(period));
  expect(pulledBy(a).filter((p) => pulledBy(b).includes(p))).toEqual([]);
  for (let n = 0; n <= 5; n++) expect(server.requests.get(hour(n))).toBe(1);
  expect(a.failures + b.failures).toBe(0);
  // Whichever finished last, a scheduled pull now finds the bookmark at the newest hour.
  await pull(definition());
  expect(await ledger().bookmark('github-events')).toBe(period(5));
});

test('a live claim of another invocation is skipped; an expired one is taken over', async () => {
  const l = ledger();
  await l.claim('github-events', period(0), 'crashed', clock + 60_000);
  const first = await pull(definition({ maxPeriodsPerRun: 6 }));
  expect(first.periods[0]).toMatchObject({ status: 'skipped', reason: 'claimed by crashed' });
  expect(first.bookmarkAfter).toBeUndefined();

  clock += 2 * 60_000; // its lease ran out
  const second = await pull(definition());
  expect(second.periods[0]).toMatchObject({ status: 'pulled' });
  expect(second.bookmarkAfter).toBe(period(5));
});

test('a period another invocation finishes between our look and our claim counts as done for the bookmark', async () => {
  const real = ledger();
  const racing: typeof real = Object.assign(Object.create(real) as typeof real, {
    claim: async (source: string, p: SourcePeriod, owner: string, lease: number) => {
      if (p === period(0)) {
        await real.claim(source, p, 'other', lease);
        await real.complete(source, p, 'other', { key: keyOf(0), bytes: 1 });
      }
      return real.claim(source, p, owner, lease);
    },
  });
  const result = await pull(definition(), { ledger: racing });
  expect(result.periods[0]).toMatchObject({ status: 'skipped', reason: 'DONE', requests: 0 });
  expect(result.bookmarkAfter).toBe(period(5));
  expect(server.requests.get(hour(0))).toBeUndefined();
});

test('a schedule missed for a day is caught up: bounded per invocation, every hour once, in order', async () => {
  const def = definition({ maxPeriodsPerRun: 24 });
  clock = hour(2) + 60_000;
  expect(statuses(await pull(def))).toEqual({ '00': 'pulled', '01': 'pulled' });

  clock = hour(28) + 60_000; // a day and two hours without a pull: hours 02 .. 27 are due
  const first = await pull(def);
  const hours = (r: PullResult) => r.periods.map((p) => p.period);
  expect(hours(first)).toEqual(Array.from({ length: 24 }, (_, n) => period(n + 2)));
  expect(first.periods.every((p) => p.status === 'pulled')).toBe(true);
  expect(first.pending).toBe(2);
  expect(first.bookmarkAfter).toBe(period(25));
  const second = await pull(def);
  expect(hours(second)).toEqual([period(26), period(27)]);
  expect(second.pending).toBe(0);
  expect(second.bookmarkAfter).toBe(period(27));
  expect((await pull(def)).periods).toEqual([]);
  for (let n = 0; n <= 27; n++) expect(server.requests.get(hour(n))).toBe(1);
});

test('404 for an older hour counts; given up as MISSING after missingAfterAttempts, and the bookmark moves on', async () => {
  server.faults.missing = new Set([hour(2)]);
  const first = await pull(definition());
  expect(first.periods[2]).toMatchObject({ status: 'not-yet', attempts: 1 });
  expect(first.failures).toBe(0);
  expect(first.bookmarkAfter).toBe(period(1));

  const second = await pull(definition());
  expect(statuses(second)).toEqual({ '02': 'not-yet', '03': 'skipped', '04': 'skipped', '05': 'skipped' });

  const third = await pull(definition());
  expect(third.periods[0]).toMatchObject({ status: 'missing', attempts: 3 });
  expect(third.failures).toBe(1);
  expect(third.bookmarkAfter).toBe(period(5));
  expect(await ledger().get('github-events', period(2))).toMatchObject({ status: 'MISSING' });

  // An explicit range tries a MISSING hour again; once published it lands.
  server.faults.missing = new Set();
  const ranged = await pull(definition(), { range: { from: period(2), to: period(2) } });
  expect(ranged.periods[0]).toMatchObject({ status: 'pulled' });
  expect(await ledger().get('github-events', period(2))).toMatchObject({ status: 'DONE' });
});

test('a 403 is not retried within the invocation', async () => {
  server.faults.status = new Map([[hour(0), 403]]);
  const result = await pull(definition(), { range: { from: period(0), to: period(0) } });
  expect(result.periods[0]).toMatchObject({
    status: 'failed',
    requests: 1,
    reason: expect.stringMatching(/HTTP 403/),
  });
});

test('an object an earlier pull landed before dying is recorded without fetching it again', async () => {
  await store().put('landing', keyOf(0), hourFile(hour(0), 40));
  const result = await pull(definition(), { range: { from: period(0), to: period(0) } });
  expect(result.periods[0]).toMatchObject({ status: 'pulled', recovered: true, requests: 0 });
  expect(server.requests.get(hour(0))).toBeUndefined();
});

test('secret header values come from the secret resolver, never from the file; a missing secret stops the pull', async () => {
  const def = definition({
    headers: { Authorization: { secret: 'archive/token', prefix: 'Bearer ' }, 'X-Client': 'etl' },
  });
  const result = await pull(def, {
    range: { from: period(0), to: period(0) },
    secrets: new LocalSecretResolver({ ETL_SECRET_ARCHIVE_TOKEN: 's3cr3t' }, path.join(dir, 'none.json')),
  });
  expect(result.periods[0]?.status).toBe('pulled');
  expect(server.lastHeaders).toMatchObject({ authorization: 'Bearer s3cr3t', 'x-client': 'etl' });

  const missing = pull(def, { range: { from: period(1), to: period(1) } });
  await expect(missing).rejects.toThrow(SecretNotFoundError);
  await expect(missing).rejects.toThrow(/archive\/token.*ETL_SECRET_ARCHIVE_TOKEN/);
  expect(server.requests.get(hour(1))).toBeUndefined();
});

test('the deadline stops claiming more hours and reports them pending', async () => {
  const result = await pull(definition(), { deadlineMs: clock });
  expect(result.periods).toEqual([]);
  expect(result.pending).toBe(6);
  expect(await ledger().get('github-events', period(0))).toBeUndefined();
});
