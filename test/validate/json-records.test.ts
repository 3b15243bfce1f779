/**
 * csv/json-records: JSON Lines and JSON arrays read as streams, with physical line numbers; the
 * same records whatever the chunk boundaries (cut through strings, escapes, brackets and UTF-8).
 */
import { JsonNumber, type JsonValue } from '../../csv/json-flatten';
import { JsonRecordReader, jsonRecords, MalformedJsonError, type JsonFormat } from '../../csv/json-records';

interface Seen {
  records: [JsonValue, number][];
  bad: [number, string, string][];
}

function read(format: JsonFormat, text: string | Buffer, chunkSizes?: () => number, max = 1 << 20): Seen {
  const bytes = Buffer.from(text);
  const reader = new JsonRecordReader(format, max);
  const seen: Seen = { records: [], bad: [] };
  const sink = {
    record: (v: JsonValue, line: number) => seen.records.push([v, line]),
    bad: (line: number, code: string, t: string) => seen.bad.push([line, code, t]),
  };
  for (let i = 0; i < bytes.length;) {
    const n = chunkSizes ? chunkSizes() : bytes.length;
    reader.feed(bytes.subarray(i, i + n), sink);
    i += n;
  }
  reader.feed(undefined, sink);
  return seen;
}

/** A deterministic generator of chunk sizes 1..max. */
function sizes(seed: number, max: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return 1 + (s % max);
  };
}

const plain = (seen: Seen) => JSON.parse(JSON.stringify(seen)) as unknown;

describe('jsonl', () => {
  const text =
    '\ufeff{"id":1,"s":"a\\"b\\\\","n":{"x":[1,{"y":"}"}]}}\r\n' +
    '\n' +
    '   \r\n' +
    '{"id":2,"ü":"東京 🎉","big":12345678901234567890}\n' +
    'not json\n' +
    '[1,2]\n' +
    '{"id":3}';

  test('records with physical lines; BOM, CRLF and blank lines; bad lines reported', () => {
    const seen = read('jsonl', text);
    expect(seen.records.map(([, l]) => l)).toEqual([1, 4, 6, 7]);
    expect(seen.records[0]![0]).toEqual({ id: 1, s: 'a"b\\', n: { x: [1, { y: '}' }] } });
    expect(seen.records[1]![0]).toEqual({ id: 2, ü: '東京 🎉', big: new JsonNumber('12345678901234567890') });
    expect(seen.records[2]![0]).toEqual([1, 2]);
    expect(seen.bad).toEqual([[5, 'NOT_JSON', 'not json']]);
  });

  test('the same whatever the chunk sizes', () => {
    const whole = plain(read('jsonl', text));
    for (let seed = 1; seed <= 200; seed++) expect(plain(read('jsonl', text, sizes(seed, 7)))).toEqual(whole);
  });

  test('a line over the limit is RECORD_TOO_LONG, not held, and the next line is read', () => {
    const long = `{"id":1,"x":"${'y'.repeat(5000)}"}`;
    const seen = read('jsonl', `${long}\n{"id":2}\n`, sizes(3, 300), 1000);
    expect(seen.bad.map(([l, c]) => [l, c])).toEqual([[1, 'RECORD_TOO_LONG']]);
    expect(seen.bad[0]![2].length).toBeLessThanOrEqual(1024);
    expect(seen.records).toEqual([[{ id: 2 }, 2]]);
  });
});

describe('json array', () => {
  const text =
    '\ufeff[\n' +
    '  {"id": 1, "s": "[{,\\"]}", "n": {"x": [1, 2]}},\n' +
    '  {\n    "id": 2,\n    "t": "東京\\n"\n  },\n' +
    '  42, "str", null, true, -1.50e3,\n' +
    '  {"bad": tru},\n' +
    '  {"id": 3}\n' +
    ']\n';

  test('each element with the line it starts on; non-objects handed over; a bad element is NOT_JSON', () => {
    const seen = read('json', text);
    expect(seen.records.map(([v, l]) => [JSON.parse(JSON.stringify(v)), l])).toEqual([
      [{ id: 1, s: '[{,"]}', n: { x: [1, 2] } }, 2],
      [{ id: 2, t: '東京\n' }, 3],
      [42, 7],
      ['str', 7],
      [null, 7],
      [true, 7],
      [{ $number: '-1.50e3' }, 7],
      [{ id: 3 }, 9],
    ]);
    expect(seen.bad).toEqual([[8, 'NOT_JSON', '{"bad": tru}']]);
  });

  test('the same whatever the chunk sizes', () => {
    const whole = plain(read('json', text));
    for (let seed = 1; seed <= 200; seed++) expect(plain(read('json', text, sizes(seed, 5)))).toEqual(whole);
  });

  test('an empty array, whitespace only', () => {
    expect(read('json', ' [ ] \n').records).toEqual([]);
    expect(read('json', ' \n ').records).toEqual([]);
  });

  test('an element over the limit is RECORD_TOO_LONG and the array goes on', () => {
    const seen = read('json', `[{"x":"${'y'.repeat(3000)}"},\n{"id":2}]`, sizes(9, 100), 1000);
    expect(seen.bad.map(([l, c]) => [l, c])).toEqual([[1, 'RECORD_TOO_LONG']]);
    expect(seen.records).toEqual([[{ id: 2 }, 2]]);
  });

  test.each([
    ['{"id": 1}', /starts with an object on line 1, not an array/, 1],
    ['{"id": 1}\n{"id": 2}\n', /starts with an object/, 1],
    ['id,name\n1,a\n', /not JSON: line 1 starts with "id,name/, 1],
    [
      '[{"id": 1}\n{"id": 2}]',
      /line 2: expected "," or "\]" after the array element that starts on line 1/,
      2,
    ],
    ['[{"id": 1},\n{"id": 2}\n', /ends before the array's closing "\]"/, 3],
    [
      '[{"id": 1},\n{"id": "2',
      /ends inside the array element that starts on line 2 \(a string is never closed\)/,
      2,
    ],
    ['[{"id": 1}] x', /more after the array's closing "\]"/, 1],
    ['[{"id": 1},]', /a comma right before the closing/, 1],
    ['[,{"id": 1}]', /a comma before the first element/, 1],
    ['[{"id": 1},,{"id": 1}]', /two commas in a row/, 1],
  ])('not one array: %j', (input, message, line) => {
    let error: unknown;
    try {
      read('json', input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MalformedJsonError);
    expect((error as MalformedJsonError).problem).toMatch(message);
    expect((error as MalformedJsonError).line).toBe(line);
  });
});

test('jsonRecords: an async iterator with the bytes consumed (what etl init samples by)', async () => {
  async function* chunks() {
    yield Buffer.from('{"a":1}\n{"a":');
    yield Buffer.from('2}\nnope\n');
  }
  const items = [];
  for await (const r of jsonRecords(chunks(), 'jsonl')) items.push(r);
  expect(items).toEqual([
    { ok: true, value: { a: 1 }, line: 1, bytes: 13 },
    { ok: true, value: { a: 2 }, line: 2, bytes: 21 },
    expect.objectContaining({ ok: false, code: 'NOT_JSON', line: 3, text: 'nope' }),
  ]);
});
