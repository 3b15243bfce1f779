/**
 * The checked fast path's byte checks (csv/byte-checks.ts) against the rules they stand for: a
 * cell they pass must pass the JavaScript checker (ajv's RegExp, ajv-formats' email, the coercers
 * and bounds) — generated hostile and well-formed cells, both ways where the check is exact.
 */
import { fastFormats } from 'ajv-formats/dist/formats';
import { mulberry32, registrationsCsvText } from '../../bench/registrations-generator';
import { DEFAULT_SCHEMAS_DIR, type DatasetContract } from '../../core/contract';
import { byteChecksFor, CELL_NON_ASCII, CELL_QUOTED, jsonLengthsFor, patternAt } from '../../csv/byte-checks';
import { CheckedScanner } from '../../csv/checked-fast-path';
import { CsvSplitter } from '../../csv/csv-splitter';
import { coerceDate, coerceInteger, decimalCoercer, timestampCoercer } from '../../csv/coerce';
import { RowProblem } from '../../csv/row-errors';
import { loadCompiledContract } from '../../csv/row-checker';

const rnd = mulberry32(7);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
/** A random string over `alphabet`, 0–`max` characters. */
const word = (alphabet: string, max: number) =>
  Array.from({ length: Math.floor(rnd() * (max + 1)) }, () => pick([...alphabet])).join('');

const cell = (s: string) => {
  const buf = Buffer.from(s, 'utf8');
  return [buf, 0, buf.length, [...s].some((ch) => ch.charCodeAt(0) > 0x7f) ? CELL_NON_ASCII : 0, 0] as const;
};

test('an anchored pattern over bytes matches exactly what its RegExp matches', () => {
  const patterns = [
    '^REG-[0-9]{8}$',
    '^EVT-\\d{4}$',
    '^[A-Z]{2,3}-[a-z0-9_]+$',
    '^a?b*c$',
    '^[A-Za-z]+x\\.y$',
    '^[0-9]{1,3}\\.[0-9]{1,}$',
  ];
  const alphabet = 'REGVT-0123456789ABCXYZabcxy_.é ';
  for (const p of patterns) {
    const matcher = patternAt(p);
    expect(matcher).toBeDefined();
    const re = new RegExp(p, 'u');
    for (let n = 0; n < 20_000; n++) {
      const s =
        n % 3 === 0
          ? word(alphabet, 14)
          : p.startsWith('^REG')
            ? `REG-${word('0123456789a', 9)}`
            : word(alphabet, 8);
      const [buf, start, end] = cell(s);
      expect([s, matcher!(buf, start, end)]).toEqual([s, re.test(s)]);
    }
  }
  // Not anchored, a group, alternation, dot, negated class, three open-ended atoms: left to the RegExp.
  for (const p of ['REG-[0-9]+', '^(a|b)$', '^a.b$', '^[^a]$', '^a?b*c+$'])
    expect(patternAt(p)).toBeUndefined();
});

function contractOf(
  columns: DatasetContract['columns'],
  properties: Record<string, unknown>,
): DatasetContract {
  return {
    dataset: 't',
    columns,
    rowSchema: { type: 'object', properties, required: columns.filter((c) => c.required).map((c) => c.name) },
    csv: { delimiter: ',', quote: '"', escape: '"' },
  } as unknown as DatasetContract;
}

test('email over bytes: a cell it passes passes ajv-formats; on ASCII without quotes it decides as the regex does', () => {
  const checks = byteChecksFor(
    contractOf(
      [{ name: 'e', source: 'e', type: 'string', required: true }] as unknown as DatasetContract['columns'],
      {
        e: { type: 'string', format: 'email' },
      },
    ),
  );
  const check = checks.columns![0]!;
  const email = (fastFormats as Record<string, RegExp>).email!;
  const parts = [
    'a',
    'B',
    '0',
    '.',
    '-',
    '_',
    '+',
    '@',
    '@@',
    'x'.repeat(62),
    'x'.repeat(63),
    'é',
    '!',
    '"',
    ' ',
  ];
  let passed = 0;
  for (let n = 0; n < 50_000; n++) {
    const s =
      n % 2 === 0
        ? Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => pick(parts)).join('')
        : `${word('abc.+-_', 6)}@${word('ab-9.', 10)}${pick(['', '.com', '-', '.', '.x-'])}`;
    const [buf, start, end, flags] = cell(s);
    const ok = check(buf, start, end, flags, 0);
    // A formula-looking text ('=', '+', '-', '@' first) passes as any other: the scanner counts it.
    expect([s, ok]).toEqual([s, email.test(s)]);
    if (ok) passed++;
  }
  expect(passed).toBeGreaterThan(1000);
});

test('numbers, dates and timestamps: what the byte checks pass the coercers accept, within the bounds', () => {
  const columns = [
    { name: 'i', source: 'i', type: 'integer', required: false },
    { name: 'd', source: 'd', type: 'decimal', precision: 8, scale: 2, required: false },
    { name: 'day', source: 'day', type: 'date', required: false },
    { name: 'ts', source: 'ts', type: 'timestamp', required: false },
  ] as unknown as DatasetContract['columns'];
  const checks = byteChecksFor(
    contractOf(columns, {
      i: { type: 'integer', minimum: -5, exclusiveMaximum: 1000 },
      d: { type: 'number', minimum: 0.5, maximum: 999999.99 },
      day: { type: 'string', format: 'date' },
      ts: { type: 'string', format: 'date-time' },
    }),
  ).columns!;
  const decimal = decimalCoercer(8, 2);
  const timestamp = timestampCoercer('UTC', { ambiguousLocalTimes: 0 });
  const digits = '0123456789';
  const gens: (() => string)[] = [
    () => pick(['', '-', '+', '0', '00']) + word(digits, 5) + pick(['', '.', '.5', 'e3', ' ']),
    () => pick(['', '-']) + word(digits, 7) + pick(['', '.', '.0', '.25', '.125', '.9']),
    () =>
      `${pick(['0000', '0001', '2024', '1900', '2000', '9999', '12345'])}-${pick(['00', '01', '02', '12', '13'])}-${pick(['00', '01', '28', '29', '30', '31', '32'])}`,
    () =>
      `${pick(['0001', '0002', '2024', '9998', '9999'])}-${pick(['01', '02', '13'])}-${pick(['01', '29', '30'])}${pick(['T', ' ', 't'])}` +
      `${pick(['00', '23', '24'])}:${pick(['00', '59', '60'])}:${pick(['00', '59', '60'])}${pick(['', '.1', '.123456', '.1234567'])}${pick(['', 'Z', 'z', '+02:00', '-14:59', '+15:00', '+0200'])}`,
  ];
  const accepts: ((s: string) => boolean)[] = [
    (s) => {
      const r = coerceInteger(s);
      return !(r instanceof RowProblem) && Number(r) >= -5 && Number(r) < 1000;
    },
    (s) => {
      const r = decimal(s);
      return !(r instanceof RowProblem) && Number(r) >= 0.5 && Number(r) <= 999999.99;
    },
    (s) => !(coerceDate(s) instanceof RowProblem),
    (s) => !(timestamp(s) instanceof RowProblem),
  ];
  for (let c = 0; c < 4; c++) {
    let passed = 0;
    for (let n = 0; n < 20_000; n++) {
      const s = gens[c]!();
      const [buf, start, end, flags] = cell(s);
      const ok = checks[c]!(buf, start, end, flags | CELL_QUOTED, 0);
      if (s === '') continue;
      if (ok) {
        passed++;
        expect([columns[c]!.name, s, accepts[c]!(s)]).toEqual([columns[c]!.name, s, true]);
      }
    }
    expect(passed).toBeGreaterThan(100);
  }
});

test('enums and lengths on text: the byte check decides exactly as the set and the code-point count do', () => {
  const options = ['', 'ab', 'ac', 'abc', 'b', 'zoë', 'zoe', 'vip', 'volunteer', 'ab'];
  const columns = [
    { name: 'e', source: 'e', type: 'string', required: false },
    { name: 'l', source: 'l', type: 'string', required: false },
  ] as unknown as DatasetContract['columns'];
  const [inEnum, inLength] = byteChecksFor(
    contractOf(columns, {
      e: { type: 'string', enum: options },
      l: { type: 'string', minLength: 2, maxLength: 4 },
    }),
  ).columns!;
  const set = new Set(options);
  const alphabet = 'abcëoz vilp-';
  let hits = 0;
  for (let n = 0; n < 30_000; n++) {
    const s = n % 3 === 0 ? pick(options) + pick(['', '', 'x', 'c']) : word(alphabet, 10);
    const [buf, start, end, flags] = cell(s);
    const e = inEnum!(buf, start, end, flags | CELL_QUOTED, 0);
    expect([s, e]).toEqual([s, set.has(s)]);
    if (e) hits++;
    const length = [...s].length;
    expect([s, inLength!(buf, start, end, flags | CELL_QUOTED, 0)]).toEqual([s, length >= 2 && length <= 4]);
  }
  expect(hits).toBeGreaterThan(5000);
});

test('the scanner gives the same records, lines and verdicts whatever pieces the bytes come in', () => {
  const { contract } = loadCompiledContract('registrations', DEFAULT_SCHEMAS_DIR)!;
  const text = registrationsCsvText({ rows: 3000, seed: 11, invalidShare: 0 }).text.replaceAll('\n', () =>
    rnd() < 0.3 ? '\r\n' : '\n',
  );
  const bytes = Buffer.from(text, 'utf8');
  const header = text.slice(0, text.search(/\r?\n/)).split(',');
  const sourceIndex = contract.columns.map((c) => header.indexOf(c.source));
  const run = (piece: () => number, samplesFrom = 1500) => {
    const seen: string[] = [];
    // The report's samples taken from the 1,500th record on: records with a formula-looking cell
    // go to the JavaScript checker before it, are good and counted after it.
    const formulas = {
      get formulaSamplesFull(): boolean {
        return scanner.records > samplesFrom;
      },
    };
    const scanner = new CheckedScanner(
      contract.csv,
      byteChecksFor(contract).columns!,
      sourceIndex,
      1 << 20,
      jsonLengthsFor(contract),
      0,
      Uint8Array.from(contract.columns, (c) => (c.type === 'string' ? 1 : 0)),
      formulas,
      (buf, start, end, line, json) => seen.push(`good ${line} ${json} ${buf.toString('utf8', start, end)}`),
      (buf, start, end, line) => seen.push(`other ${line} ${buf.toString('utf8', start, end)}`),
    );
    let carry: Buffer | undefined;
    for (let at = 0; at < bytes.length;) {
      const next = Math.min(bytes.length, at + piece());
      const buf = carry ? Buffer.concat([carry, bytes.subarray(at, next)]) : bytes.subarray(at, next);
      const used = scanner.scan(buf, false);
      expect(scanner.declined).toBeUndefined();
      carry = used < buf.length ? buf.subarray(used) : undefined;
      at = next;
    }
    scanner.scan(carry ?? Buffer.alloc(0), true);
    seen.push(`formulas ${scanner.formulaCells}`);
    return seen;
  };
  const whole = run(() => bytes.length);
  const counted = Number(whole.at(-1)!.split(' ')[1]);
  expect(counted).toBeGreaterThan(5);
  // With the samples taken from the start, the records before the 1,500th are good too.
  const others = (seen: string[]) => seen.filter((s) => s.startsWith('other')).length;
  expect(others(whole) - others(run(() => bytes.length, 0))).toBeGreaterThan(5);
  expect(whole.filter((s) => s.startsWith('good')).length).toBeGreaterThan(2000);
  expect(whole.filter((s) => s.startsWith('other')).length).toBeGreaterThan(10);
  // Lines: where the usual path's splitter says each record starts.
  const firstLines: number[] = [];
  const splitter = new CsvSplitter(contract.csv, { maxRecordBytes: 1 << 20 });
  const take = (_cells: unknown, line: number) => void firstLines.push(line);
  splitter.feed(bytes, take);
  splitter.feed(undefined, take);
  firstLines.shift(); // the header
  expect(whole.filter((s) => !s.startsWith('formulas')).map((s) => Number(s.split(' ')[1]))).toEqual(
    firstLines,
  );
  for (const size of [5, 64, 4096]) expect(run(() => 1 + Math.floor(rnd() * size))).toEqual(whole);
});

test('the scanner ends at the end of its bytes: a CR as the last byte declines, a field runs up to the end', () => {
  const { contract } = loadCompiledContract('registrations', DEFAULT_SCHEMAS_DIR)!;
  const header = contract.columns.map((c) => c.source);
  const good = 'REG-10000001,EVT-0001,2024-05-28,a@example.com,vip,1.50,EUR,1,2024-02-07T06:42:08Z,ok';
  const scanner = () => {
    const seen: string[] = [];
    const s = new CheckedScanner(
      contract.csv,
      byteChecksFor(contract).columns!,
      contract.columns.map((_, i) => i),
      1 << 20,
      jsonLengthsFor(contract),
      0,
      Uint8Array.from(contract.columns, (c) => (c.type === 'string' ? 1 : 0)),
      { formulaSamplesFull: true },
      (buf, start, end, line) => seen.push(`good ${line} ${buf.toString('utf8', start, end)}`),
      (buf, start, end, line) => seen.push(`other ${line} ${buf.toString('utf8', start, end)}`),
    );
    return { s, seen };
  };
  const text = `${header.join(',')}\r\n${good}`;
  // The last record without a line end: whole at the end, held back before it.
  const a = scanner();
  expect(a.s.scan(Buffer.from(text), false)).toBe(text.indexOf(good));
  expect(a.s.scan(Buffer.from(good), true)).toBe(good.length);
  expect(a.seen).toEqual([`good 2 ${good}`]);
  // A CR that ends the input is no CRLF, whatever follows the bytes in memory.
  const b = scanner();
  expect(b.s.scan(Buffer.from(`${text}\r`), true)).toBe(-1);
  expect(b.s.declined).toBe('a line ending in CR alone (line 2)');
  expect(b.seen).toEqual([]);
  // Before the end, it waits for the next byte.
  const c = scanner();
  expect(c.s.scan(Buffer.from(`${text}\r`), false)).toBe(text.indexOf(good));
  expect(c.s.declined).toBeUndefined();
  // scanEnded takes only a buffer that ends with its sentinel line feed.
  expect(() => scanner().s.scanEnded(Buffer.from(text), false)).toThrow(/sentinel/);
});
