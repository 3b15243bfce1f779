/**
 * One landing-file rule (core/layout LANDING_SUFFIX: `.csv` in any case) shared by the key
 * allowlist, the EventBridge trigger pattern, reconcile and the local watcher; and event key
 * decoding checked against the documented S3 → EventBridge "Object Created" event.
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
  LANDING_SUFFIX,
  triggerKeyPattern,
} from '../../core/layout';
import { isTriggerKey as reconcileIsTriggerKey } from '../../functions/reconcile/reconcile';
import { isTriggerName } from '../../local/landing-files';

/** EventBridge `wildcard` semantics: `*` matches any run of characters (also `/`), the rest literally. */
function wildcardMatches(pattern: string, value: string): boolean {
  const re = pattern
    .split('*')
    .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${re}$`, 's').test(value);
}

const patternMatches = (key: string) => triggerKeyPattern().some((p) => wildcardMatches(p.wildcard, key));

describe('one landing suffix rule, case-insensitive', () => {
  const accepted = ['x.csv', 'x.Csv', 'X.CSV', 'y.cSv', 'z.csV', 'a b.CsV'];
  const refused = ['x.txt', 'x.csv.gz', 'x.cs', 'csv', 'x.csvx', 'x.c\u0455v', 'x.\uff43sv'];

  test.each(accepted)('%s passes the allowlist, the trigger pattern, reconcile and watch', (name) => {
    const key = `${LANDING_PREFIX}registrations/${name}`;
    expect(hasLandingSuffix(name)).toBe(true);
    expect(checkLandingKey(key)).toMatchObject({ ok: true, fileName: name });
    expect(patternMatches(key)).toBe(true);
    expect(isTriggerKey(key)).toBe(true);
    expect(reconcileIsTriggerKey(key)).toBe(true);
    expect(isTriggerName(name)).toBe(true);
  });

  test.each(refused)('%s is refused by every one of them', (name) => {
    const key = `${LANDING_PREFIX}registrations/${name}`;
    expect(hasLandingSuffix(name)).toBe(false);
    expect(checkLandingKey(key)).toMatchObject({ ok: false });
    expect(patternMatches(key)).toBe(false);
    expect(isTriggerKey(key)).toBe(false);
    expect(isTriggerName(name)).toBe(false);
  });

  test('the trigger pattern lists every case spelling of the suffix once, under incoming/ only', () => {
    const wildcards = triggerKeyPattern().map((p) => p.wildcard);
    expect(wildcards).toHaveLength(2 ** LANDING_SUFFIX.replace(/[^a-z]/gi, '').length);
    expect(new Set(wildcards.map((w) => w.toLowerCase()))).toEqual(new Set([`${LANDING_PREFIX}*.csv`]));
    expect(new Set(wildcards).size).toBe(wildcards.length);
    expect(patternMatches('elsewhere/registrations/x.csv')).toBe(false);
    expect(patternMatches('curated/registrations/x.CSV')).toBe(false);
    expect(patternMatches(`${LANDING_PREFIX}a/b/c/deep.Csv`)).toBe(true);
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
