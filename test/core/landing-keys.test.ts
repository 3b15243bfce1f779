/**
 * One landing-file rule (core/layout LANDING_SUFFIXES: `.csv`, `.jsonl`, `.json`, each optionally
 * `.gz`, in any ASCII case) shared by the key allowlist, reconcile and the local watcher; the
 * EventBridge trigger pattern matches every key under incoming/ (a superset: Claim's allowlist
 * refuses the rest); and event key decoding checked against the documented S3 → EventBridge
 * "Object Created" event.
 *
 * The event fixture (test/fixtures/events/s3-object-created.json) is the "Object created" example
 * of the Amazon S3 User Guide page "EventBridge event message structure" (ev-events), verbatim.
 * Its key is `example-key`; the encoding of other keys is the one the S3 "Event message
 * structure" page documents for event payloads ("red flower.jpg" becomes "red+flower.jpg"), i.e.
 * form encoding: space → `+`, `+` → `%2B`, `%` → `%25`, non-ASCII → UTF-8 `%XX` bytes. The
 * encoded keys below are written out by hand, not produced by our encoder.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  decodeEventKey,
  encodeEventKey,
  objectCreatedEventFor,
  sourceObjectOf,
  type S3ObjectCreatedEvent,
} from '../../core/events';
import {
  checkLandingKey,
  hasLandingSuffix,
  isTriggerKey,
  LANDING_PREFIX,
  LANDING_SUFFIXES,
  landingContentType,
  landingFileOf,
  sourceIdOf,
  triggerKeyPattern,
} from '../../core/layout';
import { isTriggerKey as reconcileIsTriggerKey } from '../../functions/reconcile/reconcile';
import { isTriggerName } from '../../local/landing-files';

/** EventBridge `prefix` (case-sensitive) and `wildcard` matching, the matchers the pattern may use. */
function matcherMatches(m: Record<string, unknown>, value: string): boolean {
  if (typeof m.prefix === 'string') return value.startsWith(m.prefix);
  if (typeof m.wildcard === 'string') {
    const re = m.wildcard
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    return new RegExp(`^${re}$`, 's').test(value);
  }
  throw new Error(`matcher not modelled: ${JSON.stringify(m)}`);
}

const patternMatches = (key: string) =>
  triggerKeyPattern().some((p) => matcherMatches(p as Record<string, unknown>, key));

/** Every ASCII case spelling of a text. */
function spellings(text: string): string[] {
  let out = [''];
  for (const ch of text) {
    const l = ch.toLowerCase();
    const u = ch.toUpperCase();
    out = out.flatMap((p) => (l === u ? [p + ch] : [p + l, p + u]));
  }
  return out;
}

describe('one landing suffix rule, case-insensitive', () => {
  const accepted = [
    'x.csv',
    'x.Csv',
    'X.CSV',
    'y.cSv',
    'z.csV',
    'a b.CsV',
    'x.csv.gz',
    'x.CSV.GZ',
    'e.jsonl',
    'e.JsonL',
    'e.jsonl.gz',
    'e.JSONL.Gz',
    'a.json',
    'a.JSON',
    'a.json.gz',
    'a.Json.gZ',
  ];
  const refused = [
    'x.txt',
    'x.gz',
    'x.csv.zip',
    'x.cs',
    'csv',
    'x.csvx',
    'x.c\u0455v',
    'x.\uff43sv',
    'x.json5',
    'x.jsonl.gz.tmp',
    'x.ndjson.gz',
    'x.js\u1d0fn',
    'x.tar.gz',
  ];

  test.each(accepted)('%s passes the allowlist, the trigger pattern, reconcile and watch', (name) => {
    const key = `${LANDING_PREFIX}registrations/${name}`;
    expect(hasLandingSuffix(name)).toBe(true);
    expect(checkLandingKey(key)).toMatchObject({ ok: true, fileName: name });
    expect(patternMatches(key)).toBe(true);
    expect(isTriggerKey(key)).toBe(true);
    expect(reconcileIsTriggerKey(key)).toBe(true);
    expect(isTriggerName(name)).toBe(true);
  });

  test.each(refused)(
    '%s is refused by the allowlist, reconcile and watch (the rule leaves it to Claim)',
    (name) => {
      const key = `${LANDING_PREFIX}registrations/${name}`;
      expect(hasLandingSuffix(name)).toBe(false);
      const check = checkLandingKey(key);
      expect(check).toMatchObject({ ok: false });
      expect(check.ok ? '' : check.problem).toMatch(/does not end in \.csv, \.csv\.gz, \.jsonl/);
      expect(isTriggerKey(key)).toBe(false);
      expect(reconcileIsTriggerKey(key)).toBe(false);
      expect(isTriggerName(name)).toBe(false);
      // Under incoming/ the rule starts a run, and Claim refuses it as KEY_NOT_ALLOWED (quarantined, notified).
      expect(patternMatches(key)).toBe(true);
    },
  );

  test('every case spelling of every suffix: the allowlist, reconcile and the rule agree', () => {
    let n = 0;
    for (const suffix of LANDING_SUFFIXES)
      for (const spelled of spellings(suffix)) {
        const key = `${LANDING_PREFIX}events/2024/day${spelled}`;
        expect([isTriggerKey(key), reconcileIsTriggerKey(key), patternMatches(key)]).toEqual([
          true,
          true,
          true,
        ]);
        expect(checkLandingKey(key)).toMatchObject({ ok: true, format: landingFileOf(key)!.format });
        n++;
      }
    expect(n).toBe(8 + 32 + 32 + 128 + 16 + 64);
  });

  test('format and gzip from the name; the dataset is the folder; the stem drops every suffix', () => {
    expect(landingFileOf('Events.JSONL.gz')).toEqual({
      format: 'jsonl',
      gzip: true,
      suffix: '.JSONL.gz',
      stem: 'Events',
    });
    expect(landingFileOf('a.json')).toMatchObject({ format: 'json', gzip: false, stem: 'a' });
    expect(landingFileOf('a.csv.GZ')).toMatchObject({ format: 'csv', gzip: true, stem: 'a' });
    expect(landingFileOf('a.jsonl.csv')).toMatchObject({ format: 'csv', stem: 'a.jsonl' });
    expect(checkLandingKey('incoming/github-events/2015/01/day.jsonl.gz')).toEqual({
      ok: true,
      dataset: 'github-events',
      fileName: 'day.jsonl.gz',
      format: 'jsonl',
      gzip: true,
    });
    expect(sourceIdOf('incoming/e/Day 1.JSONL.GZ')).toMatch(/^day-1-[0-9a-f]{12}$/);
    expect(['a.CSV', 'a.jsonl', 'a.json', 'a.json.GZ', 'a.txt'].map(landingContentType)).toEqual([
      'text/csv',
      'application/x-ndjson',
      'application/json',
      'application/gzip',
      'application/octet-stream',
    ]);
    // .csv keys keep the source id they always had
    expect(sourceIdOf('incoming/registrations/march sign-ups.csv')).toMatch(/^march-sign-ups-[0-9a-f]{12}$/);
  });

  test('the trigger pattern is the incoming/ prefix: nothing outside it, deep keys inside it', () => {
    expect(triggerKeyPattern()).toEqual([{ prefix: LANDING_PREFIX }]);
    expect(patternMatches('elsewhere/registrations/x.csv')).toBe(false);
    expect(patternMatches('curated/registrations/x.CSV')).toBe(false);
    expect(patternMatches('Incoming/registrations/x.csv')).toBe(false);
    expect(patternMatches(`${LANDING_PREFIX}a/b/c/deep.Jsonl.GZ`)).toBe(true);
    // Pattern size: far below EventBridge's 2,048-character limit.
    expect(JSON.stringify(triggerKeyPattern()).length).toBeLessThan(100);
  });
});

describe('event key decoding against the documented EventBridge "Object Created" event', () => {
  const documented = JSON.parse(
    readFileSync(path.join(__dirname, '..', 'fixtures', 'events', 's3-object-created.json'), 'utf8'),
  ) as S3ObjectCreatedEvent;
  const withKey = (key: string): S3ObjectCreatedEvent => ({
    ...documented,
    detail: { ...documented.detail, object: { ...documented.detail.object, key } },
  });

  test('the documented sample itself', () => {
    expect(sourceObjectOf(documented)).toEqual({
      bucket: 'amzn-s3-demo-bucket1',
      key: 'example-key',
      versionId: 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
      size: 5,
      etag: 'b1946ac92492d2347c6235b4d2611184',
      sequencer: '617f08299329d189',
    });
  });

  const cases: [string, string][] = [
    ['incoming/registrations/red+flower.csv', 'incoming/registrations/red flower.csv'],
    ['incoming/registrations/c%2B%2B+notes.csv', 'incoming/registrations/c++ notes.csv'],
    ['incoming/registrations/100%25+done.csv', 'incoming/registrations/100% done.csv'],
    ['incoming/registrations/5%3A00.csv', 'incoming/registrations/5:00.csv'],
    [
      'incoming/registrations/Caf%C3%A9+Men%C3%BC+%E6%9D%B1%E4%BA%AC.csv',
      'incoming/registrations/Café Menü 東京.csv',
    ],
    ['incoming/registrations/%F0%9F%93%8A+report.CSV', 'incoming/registrations/📊 report.CSV'],
  ];

  test.each(cases)('%s decodes to %s, which the allowlist accepts', (encoded, key) => {
    const source = sourceObjectOf(withKey(encoded));
    expect(source.key).toBe(key);
    expect(checkLandingKey(source.key)).toMatchObject({ ok: true });
  });

  test.each(cases)('the local event builder writes %s for %s (same shape as S3)', (encoded, key) => {
    const event = objectCreatedEventFor(
      'amzn-s3-demo-bucket1',
      { key, size: 5, etag: 'b1946ac92492d2347c6235b4d2611184' },
      {
        id: documented.id,
        account: documented.account,
        region: documented.region,
        time: new Date(documented.time),
        sequencer: '617f08299329d189',
        requestId: 'N4N7GDK58NMKJ12R',
        requester: '123456789012',
      },
    );
    expect(event.detail.object.key).toBe(encoded);
    expect(Object.keys(event).sort()).toEqual(Object.keys(documented).sort());
    expect(Object.keys(event.detail).sort()).toEqual(
      Object.keys(documented.detail)
        .filter((k) => k !== 'source-ip-address')
        .sort(),
    );
    expect(decodeEventKey(encodeEventKey(key))).toBe(key);
  });

  test('a stray % that is not an escape is kept, so the key reaches the allowlist instead of crashing', () => {
    expect(decodeEventKey('incoming/registrations/100%+sure.csv')).toBe(
      'incoming/registrations/100% sure.csv',
    );
    expect(decodeEventKey('incoming/registrations/bad%E6.csv')).toBe('incoming/registrations/bad%E6.csv');
  });
});
