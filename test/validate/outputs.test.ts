/**
 * What the validate step leaves in the lake: staging parts + plan.json + `_SUCCESS` written last,
 * rejects.jsonl and report.json; re-runs replace only their own outputs; rejected files leave no
 * staging behind; and the real registrations contract end to end.
 */
import { Readable } from 'node:stream';
import { FileRejectedError } from '../../core/errors';
import { compilePlan } from '../../core/plan';
import { findContract } from '../../core/contract';
import type { ObjectInfo, ObjectRef, ObjectStore, PutOptions } from '../../core/ports';
import { validateObject } from '../../functions/validate/validate';
import { fixture, LAKE, TestLake, TEST_SCHEMAS } from './harness';

const HEADER = 'id,name,email,score,ratio,active,signup_date,seen_at,note';

/** Records the order objects are completed in, around a real store. */
class RecordingStore implements ObjectStore {
  readonly completed: string[] = [];
  constructor(private readonly inner: ObjectStore) {}
  get(ref: ObjectRef) {
    return this.inner.get(ref);
  }
  head(ref: ObjectRef) {
    return this.inner.head(ref);
  }
  async put(
    bucket: string,
    key: string,
    body: Buffer | string | Readable,
    options?: PutOptions,
  ): Promise<ObjectInfo> {
    const info = await this.inner.put(bucket, key, body, options);
    this.completed.push(key);
    return info;
  }
  copy(source: ObjectRef, bucket: string, key: string) {
    return this.inner.copy(source, bucket, key);
  }
  delete(ref: ObjectRef) {
    return this.inner.delete(ref);
  }
  list(bucket: string, prefix: string) {
    return this.inner.list(bucket, prefix);
  }
}

let lake: TestLake;
// The streaming path's outputs (JSON Lines staging, its readers); the fast paths' staging is held
// equal to it by test/validate/sql-fast-path*.test.ts.
beforeEach(() => (lake = new TestLake({ fastPath: false })));
afterEach(async () => {
  await lake.expectLandingIntact();
  lake.dispose();
});

test('a valid file: canonical rows in order, plan.json from the contract, _SUCCESS written last', async () => {
  const store = new RecordingStore(lake.store);
  const source = await lake.upload('incoming/people/ok.csv', fixture('people.csv'));

  const result = await validateObject(
    { store, lakeBucket: LAKE, schemasDir: TEST_SCHEMAS, fastPath: false },
    { runId: 'r1', source },
  );

  expect(result).toMatchObject({
    dataset: 'people',
    rowsRead: 3,
    rowsValid: 3,
    rowsRejected: 0,
    rejectRatio: 0,
  });
  expect(result.rejects).toBeUndefined();
  expect(result.bytesRead).toBe(fixture('people.csv').length);
  const prefix = result.staging.key;
  expect(store.completed.at(-1)).toBe(`${prefix}_SUCCESS`);
  expect(store.completed.indexOf(`${prefix}part-00000.jsonl`)).toBeLessThan(
    store.completed.indexOf(`${prefix}_SUCCESS`),
  );
  expect(await lake.keys(prefix)).toEqual([
    `${prefix}_SUCCESS`,
    `${prefix}part-00000.jsonl`,
    `${prefix}plan.json`,
  ]);
  expect(await lake.json(`${prefix}plan.json`)).toEqual(compilePlan(findContract('people', TEST_SCHEMAS)!));
  const lines = (await lake.text(`${prefix}part-00000.jsonl`)).split('\n');
  expect(lines[0]).toBe(
    '{"id":"1","name":"Ada","email":"ada@example.com","score":"12.50","ratio":"0.25","active":"true",' +
      '"signup_date":"2024-03-01","seen_at":"2024-03-01T09:00:00.000000Z","note":"first","_line":2}',
  );
  // Zoë: no email (null), score 3 → 3.00, 1e-3 → 0.001, FALSE → false, Berlin winter time → UTC-1h
  expect(JSON.parse(lines[1]!)).toMatchObject({
    name: 'Zoë',
    email: null,
    score: '3.00',
    ratio: '0.001',
    active: 'false',
    seen_at: '2024-03-02T09:00:00.000000Z',
    note: 'likes "quotes", commas',
  });
  const report = await lake.json<Record<string, unknown>>(result.report.key);
  expect(report).toMatchObject({
    status: 'VALID',
    counts: { rowsRead: 3, rowsValid: 3 },
    staging: result.staging,
  });
});

test('rows below the threshold are rejected one by one; the file passes; rejects name line, column and reason', async () => {
  const rows = Array.from({ length: 9 }, (_, i) => `${i + 1},P${i},,,,,2024-03-0${i + 1},,`);
  rows[4] = '5,P4,,12.345,,,2024-03-05,,';
  const result = await lake.validate(
    await lake.upload('incoming/people/some-bad.csv', `${HEADER}\n${rows.join('\n')}\n`),
  );

  expect(result).toMatchObject({ rowsRead: 9, rowsValid: 8, rowsRejected: 1 });
  expect(result.rejectRatio).toBeCloseTo(1 / 9);
  expect(await lake.jsonLines(result.rejects!.key)).toEqual([
    {
      line: 6,
      column: 'score',
      value: '12.345',
      reason: 'DECIMAL_TOO_MANY_FRACTION_DIGITS',
      message: expect.stringMatching(/never rounded silently/),
    },
  ]);
  const report = await lake.json<{ reasons: Record<string, number>; firstErrors: unknown[] }>(
    result.report.key,
  );
  expect(report.reasons).toEqual({ DECIMAL_TOO_MANY_FRACTION_DIGITS: 1 });
  expect(report.firstErrors).toHaveLength(1);
});

test('too many bad rows: TOO_MANY_BAD_ROWS, no staging, rejects and report kept for the data owner', async () => {
  const rows = ['1,Ada,,,,,2024-03-01,,', '2,Bob,,,,,not-a-date,,', '3,Cy,,,,,2024-13-01,,'];
  const err = await lake.rejection('incoming/people_strict/bad.csv', `${HEADER}\n${rows.join('\n')}\n`);

  expect(err).toBeInstanceOf(FileRejectedError);
  expect(err.reason).toBe('TOO_MANY_BAD_ROWS');
  expect(err.message).toMatch(/2 of 3 rows/);
  expect(err.message).toContain('incoming/people_strict/bad.csv');
  await lake.expectNoStaging();
  const rejects = await lake.jsonLines((err.details.rejects as { key: string }).key);
  expect(rejects.map((r) => r.reason)).toEqual(['INVALID_DATE', 'INVALID_DATE']);
  const report = await lake.json<{ status: string }>((err.details.report as { key: string }).key);
  expect(report.status).toBe('REJECTED');
});

test('staging rolls over into several parts when asked, all listed before _SUCCESS', async () => {
  const rows = Array.from({ length: 3000 }, (_, i) => `${i + 1},Person ${i},,,,,2024-03-01,,`).join('\n');
  const source = await lake.upload('incoming/people/many.csv', `${HEADER}\n${rows}\n`);

  const result = await lake.validate(source, { limits: { partChars: 64 * 1024 } });

  const keys = await lake.keys(result.staging.key);
  const parts = keys.filter((k) => k.endsWith('.jsonl'));
  expect(parts.length).toBeGreaterThan(2);
  const all = (await Promise.all(parts.map((k) => lake.jsonLines<{ id: string }>(k)))).flat();
  expect(all.map((r) => r.id)).toEqual(Array.from({ length: 3000 }, (_, i) => String(i + 1)));
});

test('a re-run of the same version replaces its outputs; another file keeps its own', async () => {
  const source = await lake.upload('incoming/people/again.csv', fixture('people.csv'));
  const other = await lake.validate(await lake.upload('incoming/people/other.csv', fixture('people.csv')));
  const first = await lake.validate(source, { limits: { partChars: 100 } }); // three tiny parts

  const second = await lake.validate(source);

  expect(second.staging).toEqual(first.staging);
  expect((await lake.keys(second.staging.key)).filter((k) => k.endsWith('.jsonl'))).toEqual([
    `${second.staging.key}part-00000.jsonl`,
  ]);
  expect(await lake.keys(other.staging.key)).toContain(`${other.staging.key}_SUCCESS`);
});

test('a file rejected mid-way (malformed after valid rows) leaves no staging parts', async () => {
  const rows = Array.from({ length: 2000 }, (_, i) => `${i + 1},Person ${i},,,,,2024-03-01,,`).join('\n');
  const err = await lake.rejection(
    'incoming/people/late-break.csv',
    `${HEADER}\n${rows}\n2001,"unclosed,,,,,2024-03-01,,\n`,
    {
      limits: { partChars: 16 * 1024 },
    },
  );
  expect(err.reason).toBe('MALFORMED_CSV');
  expect(err.message).toMatch(/line 2002/);
  await lake.expectNoStaging();
});

test('the shipped registrations contract: a sample validates end to end', async () => {
  const csv = [
    'registration_id,event_id,event_date,attendee_email,ticket_type,amount,currency,quantity,registered_at,notes',
    'REG-00000001,EVT-0001,2024-05-01,a@example.com,vip,12.5,EUR,1,2024-04-01T10:00:00Z,"hello, ""world"""',
    'REG-00000002,EVT-0001,2024-05-01,b@example.com,general,0,EUR,2,2024-04-01 10:00:00+02:00,',
  ].join('\r\n');
  const source = await lake.upload('incoming/registrations/sample.csv', csv);

  const result = await validateObject(
    { store: lake.store, lakeBucket: LAKE, fastPath: false },
    { runId: 'r', source },
  );

  expect(result).toMatchObject({ dataset: 'registrations', rowsValid: 2, rowsRejected: 0 });
  const rows = await lake.jsonLines(`${result.staging.key}part-00000.jsonl`);
  // Staging is keyed by each column's output name: the file's "notes" is staged as attendee_notes.
  expect(rows[0]).toMatchObject({ amount: '12.50', quantity: '1', attendee_notes: 'hello, "world"' });
  expect(rows[1]).toMatchObject({ registered_at: '2024-04-01T08:00:00.000000Z', attendee_notes: null });
  expect(rows[0]).not.toHaveProperty('notes');
});

test('string cells are escaped in staging exactly as JSON.stringify escapes them', async () => {
  const weird = [
    'say "hi"',
    'back\\slash',
    'tab\there',
    'ctl\u0001x',
    'emoji 😀 pair',
    'line\u2028sep',
    'plain é',
  ];
  const csv = `${HEADER}\n${weird.map((w, i) => `${i + 1},"${w.replaceAll('"', '""')}",,,,,2024-03-01,,`).join('\n')}\n`;

  const result = await lake.validate(await lake.upload('incoming/people/escapes.csv', csv));

  const text = await lake.text(`${result.staging.key}part-00000.jsonl`);
  const names = text
    .trimEnd()
    .split('\n')
    .map((line) => /"name":("(?:[^"\\]|\\.)*")/.exec(line)![1]);
  expect(names).toEqual(weird.map((w) => JSON.stringify(w)));
});

describe('which CSV reader reads the file', () => {
  const rows = Array.from(
    { length: 50 },
    (_, i) => `${i + 1},"Person, ${i}",p${i}@example.com,,,,2024-03-01,,`,
  );

  test('a well-formed file is read by the fast splitter alone (report.json csv.reader)', async () => {
    const source = await lake.upload('incoming/people/fast.csv', `${HEADER}\n${rows.join('\n')}\n`);

    const result = await lake.validate(source);

    expect(result.rowsValid).toBe(50);
    expect((await lake.json(result.report.key)).csv).toEqual({ reader: 'splitter' });
  });

  test('a file the splitter leaves to csv-parse is read again from the start: same outputs, no row twice', async () => {
    // Over the limit as written (200 doubled quotes: 400 bytes) is the splitter's cue to step
    // aside; csv-parse counts the value (200 quotes) and reads it. Both passes stage in parts of
    // 2 KiB, so parts of the first pass would show as duplicates if they were left behind.
    const long = `51,"${'""'.repeat(200)}",long@example.com,,,,2024-03-01,,`;
    const text = `${HEADER}\n${rows.join('\n')}\n${long}\n52,Last,last@example.com,,,,2024-03-01,,\n`;
    const opts = { limits: { maxRecordBytes: 300, partChars: 2048 } };
    const first = await lake.validate(await lake.upload('incoming/people/left.csv', text), opts);

    expect(first.rowsValid).toBe(52);
    const report = await lake.json(first.report.key);
    expect(report.csv).toEqual({
      reader: 'csv-parse',
      splitterLeft: { line: 52, why: 'a record longer than 300 bytes' },
    });
    const staged: Record<string, unknown>[] = [];
    for await (const o of lake.store.list(LAKE, first.staging.key))
      if (o.key.endsWith('.jsonl')) staged.push(...(await lake.jsonLines(o.key)));
    expect(staged.map((r) => r._line)).toEqual(Array.from({ length: 52 }, (_, i) => i + 2));
    expect(staged[50]).toMatchObject({ id: '51', name: '"'.repeat(200) });
  });

  test('malformed CSV is judged by csv-parse on the second pass: the same message as csv-parse alone gives', async () => {
    const err = await lake.rejection(
      'incoming/people/inch.csv',
      `${HEADER}\n${rows.join('\n')}\n51,5" screen,s@example.com,,,,2024-03-01,,\n`,
    );

    expect(err.reason).toBe('MALFORMED_CSV');
    expect(err.message).toContain('line 52 has a quote inside an unquoted field (column "name")');
    expect((await lake.json((err.details.report as { key: string }).key)).csv).toEqual({
      reader: 'csv-parse',
      splitterLeft: { line: 52, why: 'a quote inside an unquoted field' },
    });
    await lake.expectNoStaging();
  });
});
