/**
 * Source definitions, periods and URL templates: what loads, what is refused and how the error
 * names the file, the field and the fix.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  findSourceDefinition,
  landingKeyOf,
  listSources,
  parseSourceDefinition,
  SourceDefinitionError,
} from '../../sources/definition';
import {
  countPeriods,
  newestDuePeriod,
  nextPeriod,
  parseTime,
  periodContaining,
  periodLabel,
  periodsBetween,
  previousPeriod,
} from '../../sources/periods';
import { expandTemplate, templateExtension, templateProblem } from '../../sources/url-template';

const GH = 'https://data.gharchive.org/{yyyy}-{MM}-{dd}-{H}.csv';
const valid = { version: 1, dataset: 'events', cadence: 'hourly', start: '2024-01-01T00:00:00Z', url: GH };
const parse = (def: unknown, file = 'gh.source.json') => parseSourceDefinition(JSON.stringify(def), file);
const problemOf = (def: unknown, file?: string) => {
  try {
    parse(def, file);
  } catch (e) {
    expect(e).toBeInstanceOf(SourceDefinitionError);
    return (e as Error).message;
  }
  throw new Error('expected a SourceDefinitionError');
};

describe('periods (UTC)', () => {
  test('next/previous across a month, a leap day and a year end, in both cadences', () => {
    expect(nextPeriod('2024-02-28T23:00:00Z', 'hourly')).toBe('2024-02-29T00:00:00Z');
    expect(nextPeriod('2024-02-29T00:00:00Z', 'daily')).toBe('2024-03-01T00:00:00Z');
    expect(nextPeriod('2024-12-31T23:00:00Z', 'hourly')).toBe('2025-01-01T00:00:00Z');
    expect(previousPeriod('2025-01-01T00:00:00Z', 'daily')).toBe('2024-12-31T00:00:00Z');
  });

  test('the newest due period waits for the period end plus the publish delay', () => {
    const start = '2024-01-01T00:00:00Z';
    const at = (iso: string) => Date.parse(iso);
    expect(newestDuePeriod(start, 'hourly', 0, at('2024-01-01T00:59:59Z'))).toBeUndefined();
    expect(newestDuePeriod(start, 'hourly', 0, at('2024-01-01T01:00:00Z'))).toBe(start);
    expect(newestDuePeriod(start, 'hourly', 15 * 60_000, at('2024-01-01T03:14:00Z'))).toBe(
      '2024-01-01T01:00:00Z',
    );
    expect(newestDuePeriod(start, 'hourly', 15 * 60_000, at('2024-01-01T03:15:00Z'))).toBe(
      '2024-01-01T02:00:00Z',
    );
    expect(newestDuePeriod(start, 'daily', 0, at('2024-01-03T10:00:00Z'))).toBe('2024-01-02T00:00:00Z');
  });

  test('ranges, counts, labels and the times a user types', () => {
    expect([...periodsBetween('2024-01-01T22:00:00Z', '2024-01-02T01:00:00Z', 'hourly')]).toEqual([
      '2024-01-01T22:00:00Z',
      '2024-01-01T23:00:00Z',
      '2024-01-02T00:00:00Z',
      '2024-01-02T01:00:00Z',
    ]);
    expect(countPeriods('2024-01-02T00:00:00Z', '2024-01-01T00:00:00Z', 'hourly')).toBe(0);
    expect(countPeriods('2024-01-01T00:00:00Z', '2024-01-31T00:00:00Z', 'daily')).toBe(31);
    expect(periodLabel('2024-01-01T05:00:00Z', 'hourly')).toBe('2024-01-01-05');
    expect(periodLabel('2024-01-01T00:00:00Z', 'daily')).toBe('2024-01-01');
    expect(parseTime('2024-01-01')).toBe(Date.UTC(2024, 0, 1));
    expect(parseTime('2024-01-01T05')).toBe(Date.UTC(2024, 0, 1, 5));
    expect(parseTime('2024-01-01-05')).toBe(Date.UTC(2024, 0, 1, 5));
    expect(parseTime('2024-01-01T05:30+02:00')).toBe(Date.UTC(2024, 0, 1, 3, 30));
    expect(parseTime('2024-02-30')).toBeUndefined();
    expect(parseTime('yesterday')).toBeUndefined();
    expect(periodContaining(Date.UTC(2024, 0, 1, 5, 59), 'hourly')).toBe('2024-01-01T05:00:00Z');
    expect(periodContaining(Date.UTC(2024, 0, 1, 5, 59), 'daily')).toBe('2024-01-01T00:00:00Z');
  });
});

describe('URL templates', () => {
  test('GH Archive style: {H} is the hour without a leading zero', () => {
    expect(
      expandTemplate('https://data.gharchive.org/{yyyy}-{MM}-{dd}-{H}.json.gz', '2024-03-07T05:00:00Z'),
    ).toBe('https://data.gharchive.org/2024-03-07-5.json.gz');
    expect(expandTemplate('https://x.test/{yyyy}/{M}/{d}/{HH}.jsonl', '2024-03-07T15:00:00Z')).toBe(
      'https://x.test/2024/3/7/15.jsonl',
    );
    expect(templateExtension('https://data.gharchive.org/{yyyy}-{MM}-{dd}-{H}.json.gz')).toBe('.json.gz');
    expect(templateExtension('https://x.test/{yyyy}{MM}{dd}?format=csv')).toBeUndefined();
  });

  test('refused: unknown placeholders, hours in a daily source, a URL that repeats across periods', () => {
    expect(templateProblem('https://x.test/{yyyy}-{MM}-{dd}-{hh}.gz', 'hourly')).toMatch(
      /unknown placeholder \{hh\}/,
    );
    expect(templateProblem('https://x.test/{yyyy}-{MM}-{dd}-{H}.gz', 'daily')).toMatch(
      /daily source cannot use an hour/,
    );
    expect(templateProblem('https://x.test/{yyyy}-{MM}-{dd}.gz', 'hourly')).toMatch(/lacks \{HH\} or \{H\}/);
    expect(templateProblem('ftp://x.test/{yyyy}-{MM}-{dd}.gz', 'daily')).toMatch(/not http/);
    expect(templateProblem('{yyyy}-{MM}-{dd}.gz', 'daily')).toMatch(/not an absolute URL/);
    expect(templateProblem('https://x.test/{yyyy}-{MM}-{dd}}.gz', 'daily')).toMatch(/"\{" or "\}"/);
  });
});

describe('definitions', () => {
  test('a minimal definition loads with its defaults; the name is the file stem', () => {
    const def = parse(valid, 'some/dir/gh-hours.source.json');
    expect(def).toMatchObject({
      name: 'gh-hours',
      file: 'gh-hours.source.json',
      dataset: 'events',
      cadence: 'hourly',
      start: '2024-01-01T00:00:00Z',
      publishDelayMs: 0,
      maxPeriodsPerRun: 24,
      retries: 3,
      timeoutMs: 60_000,
      missingAfterAttempts: 6,
      extension: '.csv',
      headers: {},
    });
    expect(landingKeyOf(def, '2024-01-01T05:00:00Z')).toBe('incoming/events/gh-hours-2024-01-01-05.csv');
  });

  test('a start with a zone is read in it; secret headers are kept as references', () => {
    const def = parse({
      ...valid,
      start: '2024-01-01T02:00+02:00',
      headers: {
        Authorization: { secret: 'arch/token', field: 'token', prefix: 'Bearer ' },
        'User-Agent': 'me',
      },
    });
    expect(def.start).toBe('2024-01-01T00:00:00Z');
    expect(def.headers.Authorization).toEqual({ secret: 'arch/token', field: 'token', prefix: 'Bearer ' });
  });

  test.each([
    [
      { ...valid, cadance: 'hourly' },
      /gh\.source\.json#\/cadance: unknown field\. Fix: remove it or correct its spelling \(allowed: .*cadence/,
    ],
    [
      { ...valid, cadence: 'weekly' },
      /#\/cadence: not an allowed value\. Fix: use one of \["hourly","daily"\]/,
    ],
    [{ ...valid, url: undefined }, /#\/url: missing\. Fix: add this field/],
    [{ ...valid, version: 2 }, /#\/version: unsupported value\. Fix: set it to 1/],
    [
      { ...valid, start: '2024-01-01T05:30:00Z' },
      /#\/start: 2024-01-01T05:30:00.000Z is not the start of an hour/,
    ],
    [
      { ...valid, cadence: 'daily', url: 'https://x.test/{yyyy}{MM}{dd}.csv', start: '2024-01-01T05:00:00Z' },
      /not the start of a UTC day/,
    ],
    [{ ...valid, start: 'soon' }, /#\/start: "soon" is not a time/],
    [{ ...valid, dataset: 'My Events' }, /#\/dataset: "My Events" is not a dataset name/],
    [
      { ...valid, url: 'https://x.test/{yyyy}-{MM}-{dd}-{HH}' },
      /#\/extension: the URL has no file extension/,
    ],
    [
      { ...valid, headers: { Authorization: 'Bearer abc' } },
      /#\/headers\/Authorization: a credential written into the definition\. Fix: store it in Secrets Manager/,
    ],
    [
      { ...valid, headers: { 'X-Key': { secret: 'a', fieldd: 'b' } } },
      /#\/headers\/X-Key\/fieldd: unknown field/,
    ],
    [{ ...valid, headers: { 'X-Key': 5 } }, /#\/headers\/X-Key: must be a string or \{"secret"/],
    [{ ...valid, retries: -1 }, /#\/retries: must be >= 0/],
    [
      { ...valid, extension: '.exe' },
      /#\/extension: its files would land as incoming\/events\/gh-2024-01-01-00\.exe, which the pipeline refuses/,
    ],
  ])('refused with file#pointer and fix: %j', (def, message) => {
    expect(problemOf(def)).toMatch(message);
  });

  test('file names: not JSON, a bad source name, a wrong suffix', () => {
    expect(() => parseSourceDefinition('{"version": 1,', 'gh.source.json')).toThrow(
      /gh\.source\.json#\/: not valid JSON/,
    );
    expect(problemOf(valid, 'GH Events.source.json')).toMatch(/"GH Events" is not a valid source name/);
    expect(problemOf(valid, 'gh.json')).toMatch(/does not end in \.source\.json/);
  });

  test('found by name beside the contracts; an unknown name lists the ones there are', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'etl-sources-'));
    try {
      writeFileSync(path.join(dir, 'hours.source.json'), JSON.stringify(valid));
      writeFileSync(path.join(dir, 'events.schema.json'), '{}');
      expect(listSources(dir)).toEqual(['hours']);
      expect(findSourceDefinition(dir, 'hours').name).toBe('hours');
      expect(() => findSourceDefinition(dir, 'hourz')).toThrow(
        /hourz\.source\.json#\/: no such source .* Fix: use one of: hours/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
