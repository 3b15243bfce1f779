/**
 * The validate step on JSON input (issue 14): jsonl and json, gzipped or not, nested paths,
 * JSON-text columns, exact numbers, unicode; row errors with their lines in rejects.jsonl (the CSV
 * shape); and the files rejected as a whole (MALFORMED_JSON, NOT_GZIP, FORMAT_MISMATCH, EMPTY_FILE,
 * BINARY_CONTENT) with their staging cleared and the original left intact.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { FileRejectedError } from '../../core/errors';
import { validateObject, type ValidationReport } from '../../functions/validate/validate';
import { LAKE, TestLake, TEST_SCHEMAS } from './harness';

let lake: TestLake;
beforeEach(() => (lake = new TestLake()));
afterEach(async () => {
  await lake.expectLandingIntact();
  lake.dispose();
});

const EVENTS = [
  {
    id: 2489651045,
    type: 'CreateEvent',
    actor: { id: 665991, login: 'petroav', avatar: { url: 'x' } },
    repo: { id: 28688495, name: 'petroav/6.828' },
    amount: '12.5',
    public: true,
    payload: { ref: 'master', commits: [{ sha: 'a1', message: 'fix: ü 東京 🎉' }] },
    tags: ['a', 'b'],
    meta: { 'a.b': 'dotted key' },
    created_at: '2015-01-01T15:00:00Z',
  },
  {
    id: 2489651051,
    type: 'PushEvent',
    actor: { id: 3854017, login: 'rspt' },
    repo: { name: 'rspt/rspt-theme' },
    amount: 1234567890123456800, // written as 1234567890123456789.25 in the files (jsonl(), jsonArray())
    public: false,
    payload: null,
    created_at: '2015-01-01T16:00:00+01:00',
    extra: { ignored: true },
  },
];

/** The canonical staging line each event must become (core/staging). */
const STAGED = [
  {
    id: '2489651045',
    type: 'CreateEvent',
    actor_login: 'petroav',
    actor_id: '665991',
    repo_name: 'petroav/6.828',
    amount: '12.50',
    public: 'true',
    payload: '{"ref":"master","commits":[{"sha":"a1","message":"fix: ü 東京 🎉"}]}',
    tags: '["a","b"]',
    dotted: 'dotted key',
    created_at: '2015-01-01T15:00:00.000000Z',
  },
  {
    id: '2489651051',
    type: 'PushEvent',
    actor_login: 'rspt',
    actor_id: '3854017',
    repo_name: 'rspt/rspt-theme',
    amount: '1234567890123456789.25',
    public: 'false',
    payload: null,
    tags: null,
    dotted: null,
    created_at: '2015-01-01T15:00:00.000000Z',
  },
];

/** JSON Lines text of the events; the second amount is written as an exact number literal. */
function jsonl(eol = '\n'): string {
  return (
    EVENTS.map((e) => JSON.stringify(e).replace('1234567890123456800', '1234567890123456789.25')).join(eol) +
    eol
  );
}
/** The same events as one pretty-printed array (element 1 starts on line 2, element 2 further down). */
function jsonArray(): string {
  return `[\n${EVENTS.map((e) => JSON.stringify(e, null, 2).replace('1234567890123456800', '1234567890123456789.25')).join(',\n')}\n]\n`;
}

async function staged(result: { staging: { key: string } }): Promise<Record<string, unknown>[]> {
  return lake.jsonLines(`${result.staging.key}part-00000.jsonl`);
}

describe('valid JSON input becomes the canonical staging rows', () => {
  test('jsonl: nested paths, JSON-text columns, exact numbers, unicode, unknown keys ignored', async () => {
    const text = jsonl();
    expect(text).toContain('1234567890123456789.25');
    const result = await lake.validate(await lake.upload('incoming/events/2015-01-01.jsonl', text));
    expect(result).toMatchObject({ rowsRead: 2, rowsValid: 2, rowsRejected: 0 });
    expect(await staged(result)).toEqual(STAGED.map((r, i) => ({ ...r, _line: i + 1 })));
    const report = await lake.json<ValidationReport>(result.report.key);
    expect(report.input).toEqual({ format: 'jsonl', gzip: false });
    expect(report.csv).toBeUndefined();
  });

  test('jsonl.gz (any case): the same rows; BOM, CRLF and blank lines', async () => {
    const text = `\ufeff\n${jsonl('\r\n')}\r\n   \n`;
    const result = await lake.validate(await lake.upload('incoming/events/Day.JSONL.Gz', gzipSync(text)));
    expect(await staged(result)).toEqual(STAGED.map((r, i) => ({ ...r, _line: i + 2 })));
    expect(result.bytesRead).toBe(Buffer.byteLength(text));
    expect((await lake.json<ValidationReport>(result.report.key)).input).toEqual({
      format: 'jsonl',
      gzip: true,
    });
  });

  test('json and json.gz: one array, each row on the line its element starts', async () => {
    const text = jsonArray();
    const second = text.split('\n').findIndex((l, i) => i > 1 && l === '{') + 1;
    expect(second).toBeGreaterThan(2);
    for (const [key, bytes] of [
      ['incoming/events_array/a.json', Buffer.from(text)],
      ['incoming/events_array/a.json.gz', gzipSync(text)],
    ] as const) {
      const result = await lake.validate(await lake.upload(key, bytes));
      expect(await staged(result)).toEqual([
        { ...STAGED[0], _line: 2 },
        { ...STAGED[1], _line: second },
      ]);
    }
  });
});

describe('row errors: line numbers, the CSV rejects shape', () => {
  test('a non-JSON line, a non-object, a wrong JSON type, a wrong scalar type, a missing required value', async () => {
    const lines = [
      JSON.stringify(EVENTS[0]),
      '{"id": 7, "type": "X", "created_at": "2015-01-01T00:00:00Z"', // not JSON (unclosed)
      '[1, 2]',
      JSON.stringify({ ...EVENTS[0], id: 8, actor: { login: { first: 'a' } } }),
      JSON.stringify({ ...EVENTS[0], id: 'nine' }),
      JSON.stringify({ id: 10, created_at: '2015-01-01T00:00:00Z' }),
      JSON.stringify({ ...EVENTS[0], id: 11, amount: 1.005 }),
      JSON.stringify({ ...EVENTS[0], id: 12 }),
    ];
    const result = await lake.validate(await lake.upload('incoming/events/bad.jsonl', lines.join('\n')));
    expect(result).toMatchObject({ rowsRead: 8, rowsValid: 2, rowsRejected: 6 });
    const rejects = await lake.jsonLines<Record<string, unknown>>(result.rejects!.key);
    for (const r of rejects)
      expect(Object.keys(r).sort()).toEqual(['column', 'line', 'message', 'reason', 'value']);
    expect(rejects.map((r) => [r.line, r.reason, r.column])).toEqual([
      [2, 'NOT_JSON', null],
      [3, 'NOT_AN_OBJECT', null],
      [4, 'WRONG_JSON_TYPE', 'actor.login'],
      [5, 'NOT_AN_INTEGER', 'id'],
      [6, 'REQUIRED_EMPTY', 'type'],
      [7, 'DECIMAL_TOO_MANY_FRACTION_DIGITS', 'amount'],
    ]);
    expect(rejects[0]!.message).toMatch(/^line 2 is not JSON \(/);
    expect(rejects[2]!).toMatchObject({ value: '{"first":"a"}' });
    expect(rejects[2]!.message).toMatch(/path "actor.login": an object where a string value is expected/);
    expect((await staged(result)).map((r) => [r.id, r._line])).toEqual([
      ['2489651045', 1],
      ['12', 8],
    ]);
    const report = await lake.json<ValidationReport>(result.report.key);
    expect(report.reasons).toMatchObject({ NOT_JSON: 1, NOT_AN_OBJECT: 1, WRONG_JSON_TYPE: 1 });
  });

  test('null where a column is required; a nested path missing in some objects; an array where an object is expected', async () => {
    const created = '2015-01-01T00:00:00Z';
    const lines = [
      { id: 1, type: null, created_at: created }, // null in a required column
      { id: 2, type: 'A', created_at: created }, // actor, repo, meta missing: nulls
      { id: 3, type: 'A', actor: null, repo: {}, created_at: created }, // null / empty on the way: nulls
      { id: 4, type: 'A', actor: [{ login: 'x' }], created_at: created }, // an array where an object is expected
      { id: 5, type: 'A', actor: 'octocat', created_at: created }, // a string where an object is expected
      { id: 6, type: 'A', actor: { login: ['x'] }, created_at: created }, // an array where a scalar is expected
    ];
    const result = await lake.validate(
      await lake.upload('incoming/events/shapes.jsonl', lines.map((l) => JSON.stringify(l)).join('\n')),
    );
    expect(result).toMatchObject({ rowsRead: 6, rowsValid: 2, rowsRejected: 4 });
    const rejects = await lake.jsonLines<Record<string, unknown>>(result.rejects!.key);
    expect(rejects.map((r) => [r.line, r.reason, r.column, r.value])).toEqual([
      [1, 'REQUIRED_EMPTY', 'type', null],
      [4, 'WRONG_JSON_TYPE', 'actor.login', '[{"login":"x"}]'],
      [4, 'WRONG_JSON_TYPE', 'actor.id', '[{"login":"x"}]'],
      [5, 'WRONG_JSON_TYPE', 'actor.login', '"octocat"'],
      [5, 'WRONG_JSON_TYPE', 'actor.id', '"octocat"'],
      [6, 'WRONG_JSON_TYPE', 'actor.login', '["x"]'],
    ]);
    expect(rejects[1]!.message).toMatch(/"actor" is an array where an object is expected/);
    expect(rejects[5]!.message).toMatch(/an array where a string value is expected/);
    const rows = await staged(result);
    expect(rows.map((r) => [r.id, r.actor_login, r.repo_name, r.dotted])).toEqual([
      ['2', null, null, null],
      ['3', null, null, null],
    ]);
  });

  test('a 20-level deep object: a path 20 keys down reads its leaf, a JSON-text column keeps it whole; thousands of levels are a row error', async () => {
    let deep: unknown = { leaf: 'bottom' };
    for (let i = 19; i >= 1; i--) deep = { [`k${i}`]: deep };
    const deepPath = [...Array.from({ length: 19 }, (_, i) => `k${i + 1}`), 'leaf'].join('.');
    const schemas = path.join(lake.root, 'deep-schemas');
    mkdirSync(schemas);
    writeFileSync(
      path.join(schemas, 'deep.schema.json'),
      JSON.stringify({
        version: 2,
        format: 'jsonl',
        columns: [
          { name: 'id', type: 'integer', required: true },
          { name: 'leaf', path: deepPath, type: 'string', required: true },
          { name: 'whole', path: 'k1', type: 'string', json: true },
        ],
        rejectThreshold: 0.5,
      }),
    );
    const tooDeep = `{"id":3,"k1":${'['.repeat(20000)}${']'.repeat(20000)}}`;
    const text = [
      JSON.stringify({ id: 1, ...(deep as object) }),
      JSON.stringify({ id: 2, ...(deep as object) }),
      tooDeep,
    ].join('\n');
    const result = await lake.validate(await lake.upload('incoming/deep/d.jsonl', text), {
      schemasDir: schemas,
    });
    expect(result).toMatchObject({ rowsRead: 3, rowsValid: 2, rowsRejected: 1 });
    const rows = await staged(result);
    expect(rows[0]!.leaf).toBe('bottom');
    expect(JSON.parse(rows[0]!.whole as string)).toEqual((deep as Record<string, unknown>).k1);
    const [reject] = await lake.jsonLines<Record<string, unknown>>(result.rejects!.key);
    expect(reject).toMatchObject({ line: 3, reason: 'NOT_JSON' });
    expect(reject!.message).toMatch(/nested too deeply/);
  });

  test('a record over the limit is RECORD_TOO_LONG; the file goes on', async () => {
    const big = JSON.stringify({ ...EVENTS[0], id: 3, note: 'x'.repeat(5000) });
    const text = [JSON.stringify(EVENTS[0]), big, JSON.stringify(EVENTS[1])].join('\n');
    const result = await lake.validate(await lake.upload('incoming/events/long.jsonl', text), {
      limits: { maxRecordBytes: 2000 },
    });
    expect(result).toMatchObject({ rowsRead: 3, rowsValid: 2, rowsRejected: 1 });
    const [reject] = await lake.jsonLines<Record<string, unknown>>(result.rejects!.key);
    expect(reject).toMatchObject({ line: 2, reason: 'RECORD_TOO_LONG', column: null });
  });

  test('too many bad rows: TOO_MANY_BAD_ROWS as for CSV', async () => {
    const e = await lake.rejection(
      'incoming/events/worse.jsonl',
      `${JSON.stringify(EVENTS[0])}\nx\ny\nz\nw\nv\nu\n`,
    );
    expect(e.reason).toBe('TOO_MANY_BAD_ROWS');
    await lake.expectNoStaging();
  });
});

describe('files rejected as a whole', () => {
  test.each([
    [
      'a CSV named .jsonl',
      'incoming/events/x.jsonl',
      'id,type\n1,a\n2,b\n',
      'MALFORMED_JSON',
      /none of its 3 lines is JSON \(line 1 reads "id,type"\)/,
    ],
    [
      'an HTML error page named .jsonl.gz',
      'incoming/events/x.jsonl.gz',
      gzipSync('<html>\n<body>503</body>\n</html>\n'),
      'MALFORMED_JSON',
      /none of its 3 lines is JSON/,
    ],
    [
      'one object named .json',
      'incoming/events_array/x.json',
      JSON.stringify(EVENTS[0]),
      'MALFORMED_JSON',
      /starts with an object on line 1, not an array/,
    ],
    [
      'JSON Lines named .json',
      'incoming/events_array/x.json',
      jsonl(),
      'MALFORMED_JSON',
      /starts with an object/,
    ],
    [
      'an array cut short',
      'incoming/events_array/x.json',
      jsonArray().slice(0, -40),
      'MALFORMED_JSON',
      /the file ends/,
    ],
    [
      'plain JSON Lines named .gz',
      'incoming/events/x.jsonl.gz',
      jsonl(),
      'NOT_GZIP',
      /named \.gz but is not gzip data \(it looks like uncompressed JSON\)/,
    ],
    [
      'CSV text named .csv.gz',
      'incoming/events/x.csv.gz',
      'a,b\n',
      'FORMAT_MISMATCH',
      /file name says csv \(gzip\) but dataset "events" reads jsonl/,
    ],
    [
      'truncated gzip',
      'incoming/events/x.jsonl.gz',
      gzipSync(jsonl().repeat(50)).subarray(0, 300),
      'NOT_GZIP',
      /cut short/,
    ],
    [
      'a .jsonl into a json dataset',
      'incoming/events_array/x.jsonl',
      jsonl(),
      'FORMAT_MISMATCH',
      /reads json/,
    ],
    ['an empty .gz (0 bytes)', 'incoming/events/x.jsonl.gz', Buffer.alloc(0), 'EMPTY_FILE', /0 bytes/],
    ['a gzip of nothing', 'incoming/events/x.jsonl.gz', gzipSync(''), 'EMPTY_FILE', /0 bytes/],
    ['whitespace only', 'incoming/events/x.jsonl', ' \n\r\n', 'EMPTY_FILE', /only whitespace/],
    ['an empty array', 'incoming/events_array/x.json', '[ ]\n', 'EMPTY_FILE', /holds no records/],
    [
      'a JSON array file with a trailing comma',
      'incoming/events_array/x.json',
      `[${JSON.stringify(EVENTS[0])},\n]\n`,
      'MALFORMED_JSON',
      /line 2: a comma right before the closing "\]"/,
    ],
    [
      'Parquet named .jsonl',
      'incoming/events/x.jsonl',
      Buffer.from('PAR1\u0000\u0001binary'),
      'BINARY_CONTENT',
      /Parquet/,
    ],
  ])('%s → %s', async (_what, key, bytes, reason, message) => {
    const e = await lake.rejection(key, bytes);
    expect(e.reason).toBe(reason);
    expect(e.message).toMatch(message);
    expect(e.message).toMatch(/Fix: /);
    await lake.expectNoStaging();
  });

  test('a small gzip that decompresses past the file-size limit (a gzip bomb) → FILE_TOO_LARGE, read no further', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20)); // 50 MiB of spaces in ≈ 50 KB
    expect(bomb.length).toBeLessThan(100_000);
    const source = await lake.upload('incoming/events/bomb.jsonl.gz', bomb);
    const e = await validateObject(
      { store: lake.store, lakeBucket: LAKE, schemasDir: TEST_SCHEMAS, maxFileBytes: 1024 * 1024 },
      { runId: 'bomb', source },
    ).catch((err: unknown) => err as FileRejectedError);
    expect(e).toBeInstanceOf(FileRejectedError);
    expect((e as FileRejectedError).reason).toBe('FILE_TOO_LARGE');
    expect((e as FileRejectedError).message).toMatch(/decompresses to more than 1048576 bytes.*Fix: split/);
    await lake.expectNoStaging();
  });

  test('a corrupt gzip stream (flipped bytes) → NOT_GZIP', async () => {
    const gz = Buffer.from(gzipSync(jsonl().repeat(20)));
    gz[gz.length - 6]! ^= 0xff; // the CRC
    const e = await lake.rejection('incoming/events/crc.jsonl.gz', gz);
    expect(e.reason).toBe('NOT_GZIP');
    expect(e.message).toMatch(/corrupt/);
  });
});
