/**
 * The scan kernel (csv/kernel/scan.c through csv/scan-kernel.ts) against the JavaScript scanner it
 * replaces (checked-fast-path.ts `CheckedScanner`), record by record: generated hostile and
 * well-formed CSV over every column type and rule the kernel's table holds, cut into blocks at
 * random, both scanners fed the same blocks. Good records (their chunk-file bytes and counts),
 * records for the JavaScript checker (line, bytes, cells), declines (words and line), lines,
 * widths and formula counts must agree. One difference is allowed, by design: a text cell with a
 * doubled quote in a column with text rules goes to the JavaScript checker from the kernel (it
 * decides over the decoded text, which the kernel does not make), where the JavaScript scanner may
 * decide it itself.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mulberry32, registrationsCsvText } from '../../bench/registrations-generator';
import { DEFAULT_SCHEMAS_DIR, type DatasetContract } from '../../core/contract';
import { byteChecksFor, columnProgramsFor, jsonLengthsFor } from '../../csv/byte-checks';
import { CheckedScanner } from '../../csv/checked-fast-path';
import { SCAN_KERNEL_SHA256 } from '../../csv/kernel/scan-wasm';
import type { Cell } from '../../csv/csv-records';
import { loadCompiledContract, RowChecker, type CompiledContract } from '../../csv/row-checker';
import { KernelScanner, kernelUnsupported } from '../../csv/scan-kernel';

const rnd = mulberry32(20261207);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

function contractOf(
  columns: DatasetContract['columns'],
  properties: Record<string, unknown>,
  csv: { delimiter: string; quote: string } = { delimiter: ',', quote: '"' },
): DatasetContract {
  return {
    dataset: 't',
    columns,
    rowSchema: { type: 'object', properties, required: columns.filter((c) => c.required).map((c) => c.name) },
    csv: { ...csv, escape: csv.quote },
  } as unknown as DatasetContract;
}

/** Every column type and every rule the kernel's table holds. */
const ALL_KINDS = contractOf(
  [
    { name: 'id', source: 'id', type: 'string', required: true },
    { name: 'code', source: 'code', type: 'string', required: false },
    { name: 'tag', source: 'tag', type: 'string', required: false },
    { name: 'mail', source: 'mail', type: 'string', required: false },
    { name: 'kind', source: 'kind', type: 'string', required: true },
    { name: 'note', source: 'note', type: 'string', required: false },
    { name: 'n', source: 'n', type: 'integer', required: false },
    { name: 'amount', source: 'amount', type: 'decimal', precision: 6, scale: 2, required: false },
    { name: 'ratio', source: 'ratio', type: 'double', required: false },
    { name: 'flag', source: 'flag', type: 'boolean', required: false },
    { name: 'day', source: 'day', type: 'date', required: false },
    { name: 'at', source: 'at', type: 'timestamp', required: false },
    { name: 'local', source: 'local', type: 'timestamp', defaultTimezone: 'Europe/Berlin', required: false },
  ] as unknown as DatasetContract['columns'],
  {
    id: { type: 'string', pattern: '^R-[0-9]{3}$' },
    code: { type: 'string', pattern: '^[A-Z]{1,3}[0-9]*$' },
    tag: { type: 'string', minLength: 2, maxLength: 5 },
    mail: { type: 'string', format: 'email' },
    kind: { type: 'string', enum: ['a', 'bb', 'é', '', 'ab', 'q"'] },
    note: { type: 'string', maxLength: 12 },
    n: { type: 'integer', minimum: -50, exclusiveMaximum: 1000 },
    amount: { type: 'number', minimum: 0, maximum: 9999.99 },
    ratio: { type: 'number', exclusiveMinimum: -1 },
    flag: { type: 'boolean' },
    day: { type: 'string', format: 'date' },
    at: { type: 'string', format: 'date-time' },
    local: { type: 'string', format: 'date-time' },
  },
);

/** Per column, values to write; the first two of each are valid, for records that pass whole. */
const VALUES: Record<string, readonly string[]> = {
  id: ['R-001', 'R-999', 'R-01', 'R-0001', 'r-001', 'R-00a', '', 'R-001 '],
  code: ['A', 'ABC12', 'ABC12x', 'ABCD', 'A1x', 'x', '', 'AB-1', 'Z9x9'],
  tag: ['ab', 'abcde', 'a', 'abcdef', 'éé', 'ééééé', 'éééééé', ''],
  mail: ['a@b.c', 'x.y+z@example.com', '@b.c', 'a@', 'a@-b.c', 'a@b-.c', 'a@b..c', 'é@b.c', 'a@b', ''],
  kind: ['q"', 'bb', 'a', 'é', 'ab', 'b', 'A', 'abc', ''],
  note: [
    'plain',
    '=1+1',
    '+x',
    '-',
    '@me',
    'a\\b',
    'tab\there',
    'ünïcödé',
    'twelve chars',
    'thirteen char',
    '',
  ],
  n: ['0', '-50', '-51', '999', '1000', '-0', '007', '+5', '1e3', '12345678901234567', '1.0', ''],
  amount: ['0', '0.5', '12.34', '9999.99', '10000', '-0.01', '1.234', '1.', '.5', '00.1', '9999.999', ''],
  ratio: ['0', '-0.5', '-1', '-0.999999999999999', '3.14159', '1e5', 'NaN', '123456789012345.6', ''],
  flag: ['true', 'false', 'TRUE', 'False', '0', '1', 'yes', 't', '2', ''],
  day: ['2024-02-29', '9999-12-31', '2023-02-29', '2024-13-01', '0001-01-01', '0000-01-01', '2024-1-01', ''],
  at: [
    '2024-02-07T06:42:08Z',
    '2024-02-07 06:42:08',
    '2024-02-07T06:42:08.123456Z',
    '2024-02-07T06:42:08.1234567Z',
    '2024-02-07T24:00:00Z',
    '2024-02-07T06:42:08+14:00',
    '2024-02-07T06:42:08+15:00',
    '2024-02-07T06:42:08-03:30',
    '0001-01-01T00:00:00Z',
    '2024-02-07T06:42',
    '',
  ],
  // 02:30 on 2024-10-27 happens twice in Berlin: an ambiguous local time, which the report counts.
  local: [
    '2024-02-07T06:42:08Z',
    '2024-02-07T06:42:08+01:00',
    '2024-02-07T06:42:08',
    '2024-10-27T02:30:00',
    '',
  ],
};

/** A cell as it may appear in a file: as it is, quoted, quoted with a doubled quote or a line break. */
function writeCell(value: string, delimiter: string, quote: string, clean = false): string {
  const r = clean ? rnd() * 0.8 : rnd();
  const needs = value.includes(delimiter) || value.includes(quote) || /[\r\n]/.test(value);
  if (r < 0.6 && !needs) return value;
  const escaped = value.replaceAll(quote, quote + quote);
  if (r < 0.8) return quote + escaped + quote;
  if (r < 0.9) return `${quote}${escaped}${quote}${quote}q${quote}${quote}${quote}`; // a doubled quote
  return quote + escaped + (rnd() < 0.5 ? '\r\n' : '\n') + 'more' + quote; // a line break inside
}

/** A file over ALL_KINDS: mostly records of the header's width; some shorter, longer, or broken. */
function hostileFile(rows: number, dialect: { delimiter: string; quote: string }, broken: boolean): string {
  const names = ALL_KINDS.columns.map((c) => c.source);
  const lines = [names.join(dialect.delimiter)];
  for (let r = 0; r < rows; r++) {
    // Valid records, valid but for one cell (each check alone decides), or any values.
    const kind = rnd();
    const odd = kind < 0.3 ? -1 : kind < 0.8 ? Math.floor(rnd() * names.length) : undefined;
    let cells = names.map((n, k) =>
      odd !== undefined && k !== odd
        ? writeCell(VALUES[n]![Math.floor(rnd() * 2)]!, dialect.delimiter, dialect.quote, true)
        : writeCell(pick(VALUES[n]!), dialect.delimiter, dialect.quote, odd !== undefined),
    );
    const shape = rnd();
    if (shape < 0.03) cells = cells.slice(0, -1);
    else if (shape < 0.06) cells = [...cells, 'extra'];
    lines.push(cells.join(dialect.delimiter));
  }
  if (broken) {
    const at = 1 + Math.floor(rnd() * rows);
    lines[at] = pick([
      `${lines[at]}\r`, // a CR alone before the LF that joins
      `x${dialect.quote}y${dialect.delimiter}${lines[at]}`, // a quote inside an unquoted field
      `${dialect.quote}a${dialect.quote}b${dialect.delimiter}${lines[at]}`, // text after a closing quote
      '', // a blank line
    ]);
  }
  const eol = rnd() < 0.5 ? '\r\n' : '\n';
  const text = lines.join(eol);
  return rnd() < 0.5 ? text + eol : text;
}

interface Seen {
  readonly events: string[];
  readonly output: Buffer[];
  /** The kernel's records for the JavaScript checker, with the columns it says failed (bits). */
  readonly failing: { cells: Cell[]; line: number; failing: number }[];
  totals: { rows: number; bytes: number; json: number; longest: number };
  declined: string | undefined;
  line: number;
  width: number;
  records: number;
  good: number;
  formulaCells: number;
}

/** Feeds `bytes` in blocks of `piece()` bytes to one scanner, as validateBody does. */
function runScanner(
  which: 'js' | 'kernel',
  contract: DatasetContract,
  sourceIndex: readonly number[],
  bytes: Buffer,
  piece: () => number,
  samplesFull: boolean,
): Seen {
  const events: string[] = [];
  const output: Buffer[] = [];
  const totals = { rows: 0, bytes: 0, json: 0, longest: 0 };
  const jsonPerRow = 17;
  const formulas = { formulaSamplesFull: samplesFull };
  let scanner: CheckedScanner | KernelScanner;
  const failing: Seen['failing'] = [];
  const onFailing = (
    buf: Buffer,
    start: number,
    end: number,
    line: number,
    fields: number,
    failingColumns: number,
  ) => {
    if (scanner instanceof KernelScanner)
      failing.push({ cells: scanner.cells(buf, fields, start, end)!, line, failing: failingColumns });
    else expect(failingColumns).toBe(0);
    events.push(
      `other ${line} ${JSON.stringify(buf.toString('utf8', start, end))} ${JSON.stringify(
        // The kernel's cells as validateBody asks for them: cut from the record decoded once where ASCII.
        scanner instanceof KernelScanner
          ? scanner.cells(buf, fields, start, end)
          : scanner.cells(buf, fields),
      )}`,
    );
  };
  if (which === 'js') {
    scanner = new CheckedScanner(
      contract.csv,
      byteChecksFor(contract).columns!,
      sourceIndex,
      1 << 16,
      jsonLengthsFor(contract),
      jsonPerRow,
      Uint8Array.from(contract.columns, (c) => (c.type === 'string' ? 1 : 0)),
      formulas,
      (buf, start, end, line, json) => {
        // What ChunkWriter.add writes and counts.
        output.push(
          Buffer.from(`${line}${contract.csv.delimiter}`),
          Buffer.from(buf.subarray(start, end)),
          Buffer.from('\n'),
        );
        const need = end - start + 24;
        totals.rows++;
        totals.bytes += need;
        totals.json += json;
        totals.longest = Math.max(totals.longest, need);
        events.push(`good ${line}`);
      },
      onFailing,
    );
  } else {
    scanner = new KernelScanner(
      contract.csv,
      columnProgramsFor(contract).columns!,
      sourceIndex,
      1 << 16,
      jsonPerRow,
      formulas,
      (out, rows, chunkBytes, json, longest) => {
        output.push(Buffer.from(out));
        totals.rows += rows;
        totals.bytes += chunkBytes;
        totals.json += json;
        totals.longest = Math.max(totals.longest, longest);
        // Good records' lines, from the bytes written: the first field of each line of output.
        let at = 0;
        while (at < out.length) {
          const comma = out.indexOf(contract.csv.delimiter, at);
          events.push(`good ${out.toString('latin1', at, comma)}`);
          at = nextRecord(out, comma + 1, contract.csv.quote);
        }
      },
      onFailing,
    );
  }
  let carry = Buffer.alloc(0);
  const feed = (block: Buffer, final: boolean): boolean => {
    let buf: Buffer;
    let used: number;
    if (scanner instanceof KernelScanner) {
      buf = scanner.join(carry, block);
      used = scanner.scanEnded(buf, final);
      buf = buf.subarray(0, buf.length - 1);
    } else {
      buf = Buffer.concat([carry, block]);
      used = scanner.scan(buf, final);
    }
    if (used < 0) return false;
    carry = Buffer.from(buf.subarray(used));
    return true;
  };
  let ok = true;
  for (let at = 0; ok && at < bytes.length;) {
    const next = Math.min(bytes.length, at + piece());
    ok = feed(bytes.subarray(at, next), false);
    at = next;
  }
  if (ok) feed(Buffer.alloc(0), true);
  // The instance goes back to the idle ones: the next kernel scanner reuses it (another contract,
  // dialect and table), as file after file does in a warm container.
  if (scanner instanceof KernelScanner) scanner.release();
  const { declined, line, width, records, good, formulaCells } = scanner;
  return { events, output, failing, totals, declined, line, width, records, good, formulaCells };
}

/** Where the chunk-file record starting at `at` ends (after its LF; line breaks inside quotes skipped). */
function nextRecord(out: Buffer, at: number, quote: string): number {
  const q = quote.charCodeAt(0);
  let inQuotes = false;
  for (let i = at; i < out.length; i++) {
    if (out[i] === q) inQuotes = !inQuotes;
    else if (out[i] === 10 && !inQuotes) return i + 1;
  }
  return out.length;
}

/**
 * The two scanners' results, which must be equal but for the allowed difference (module comment):
 * a record the JavaScript scanner found good that the kernel gave to the JavaScript checker must
 * hold a doubled quote.
 */
function expectSame(js: Seen, kernel: Seen): void {
  expect(kernel.declined).toEqual(js.declined);
  expect(kernel.width).toBe(js.width);
  expect(kernel.records).toBe(js.records);
  if (js.declined !== undefined) return; // what was written before a decline is thrown away
  expect(kernel.line).toBe(js.line);
  const kernelOther = new Map(
    kernel.events.filter((e) => e.startsWith('other')).map((e) => [e.split(' ')[1]!, e] as const),
  );
  const jsGood = new Set(js.events.filter((e) => e.startsWith('good')).map((e) => e.split(' ')[1]!));
  const moved = [...kernelOther.keys()].filter((line) => jsGood.has(line));
  for (const line of moved) expect(kernelOther.get(line)!).toMatch(/""|''/);
  // The kernel reports good records when it writes its output (after the block), the JavaScript
  // scanner as it finds them: each kind's order is compared, not their interleaving.
  const goods = (seen: Seen) => seen.events.filter((e) => e.startsWith('good'));
  const others = (seen: Seen) => seen.events.filter((e) => e.startsWith('other'));
  if (moved.length === 0) {
    expect(goods(kernel)).toEqual(goods(js));
    expect(others(kernel)).toEqual(others(js));
    expect(Buffer.concat(kernel.output).equals(Buffer.concat(js.output))).toBe(true);
    expect(kernel.totals).toEqual(js.totals);
    expect(kernel.good).toBe(js.good);
    expect(kernel.formulaCells).toBe(js.formulaCells);
  } else {
    // The rest agree: the JavaScript scanner's events without the moved records' "good".
    const movedSet = new Set(moved);
    expect(goods(kernel)).toEqual(goods(js).filter((e) => !movedSet.has(e.split(' ')[1]!)));
    expect(others(kernel).filter((e) => !movedSet.has(e.split(' ')[1]!))).toEqual(others(js));
    expect(kernel.good).toBe(js.good - moved.length);
  }
}

test('every column type and rule: the kernel decides each record as the JavaScript scanner does', () => {
  const { columns } = columnProgramsFor(ALL_KINDS);
  expect(kernelUnsupported(columns!)).toBeUndefined();
  const sourceIndex = ALL_KINDS.columns.map((_, i) => i);
  let compared = 0;
  let goodRecords = 0;
  let declines = 0;
  let movedFiles = 0;
  for (let file = 0; file < 80; file++) {
    const broken = file % 4 === 3;
    const bytes = Buffer.from(hostileFile(40 + Math.floor(rnd() * 200), ALL_KINDS.csv, broken), 'utf8');
    const size = pick([3, 17, 64, 1000, bytes.length]);
    const samplesFull = file % 2 === 0;
    // One block schedule, replayed for both.
    const pieces = Array.from({ length: bytes.length + 2 }, () => 1 + Math.floor(rnd() * size));
    const schedule = () => {
      let k = 0;
      return () => pieces[k++]!;
    };
    const js = runScanner('js', ALL_KINDS, sourceIndex, bytes, schedule(), samplesFull);
    const kernel = runScanner('kernel', ALL_KINDS, sourceIndex, bytes, schedule(), samplesFull);
    expectSame(js, kernel);
    compared += js.records;
    goodRecords += js.good;
    if (js.declined) declines++;
    if (kernel.good !== js.good) movedFiles++;
  }
  // The generator reaches what it is for: many records, several declines, good and other records.
  expect(compared).toBeGreaterThan(8_000);
  expect(goodRecords).toBeGreaterThan(1_000);
  expect(declines).toBeGreaterThan(8);
  expect(movedFiles).toBeGreaterThan(0);
});

test('another dialect (semicolon, single quote) and a column order that differs from the contract', () => {
  const dialect = { delimiter: ';', quote: "'" };
  const contract = { ...ALL_KINDS, csv: { ...dialect, escape: "'" } } as DatasetContract;
  const n = contract.columns.length;
  // The file's columns reversed: contract column i is field n-1-i.
  const sourceIndex = contract.columns.map((_, i) => n - 1 - i);
  for (let file = 0; file < 40; file++) {
    const text = hostileFile(60, dialect, file % 5 === 4)
      .split(/(?<=\n)/)
      .map((l) => l)
      .join('');
    const bytes = Buffer.from(text, 'utf8');
    const pieces = Array.from({ length: bytes.length + 2 }, () => 1 + Math.floor(rnd() * 97));
    const schedule = () => {
      let k = 0;
      return () => pieces[k++]!;
    };
    expectSame(
      runScanner('js', contract, sourceIndex, bytes, schedule(), true),
      runScanner('kernel', contract, sourceIndex, bytes, schedule(), true),
    );
  }
});

test('the registrations contract on generated files with invalid rows, formulas and CRLF: identical', () => {
  const { contract } = loadCompiledContract('registrations', DEFAULT_SCHEMAS_DIR)!;
  for (const seed of [1, 2, 3]) {
    const text = registrationsCsvText({ rows: 4000, seed, invalidShare: 0.05 }).text.replaceAll('\n', () =>
      rnd() < 0.2 ? '\r\n' : '\n',
    );
    const bytes = Buffer.from(text, 'utf8');
    const header = text.slice(0, text.search(/\r?\n/)).split(',');
    const sourceIndex = contract.columns.map((c) => header.indexOf(c.source));
    const pieces = Array.from({ length: bytes.length + 2 }, () => 1 + Math.floor(rnd() * 8192));
    const schedule = () => {
      let k = 0;
      return () => pieces[k++]!;
    };
    const js = runScanner('js', contract, sourceIndex, bytes, schedule(), seed !== 2);
    const kernel = runScanner('kernel', contract, sourceIndex, bytes, schedule(), seed !== 2);
    expectSame(js, kernel);
    expect(js.good).toBeGreaterThan(3000);
  }
});

test('a contract with a text rule that has no byte form stays with the JavaScript scanner', () => {
  const contract = contractOf(
    [
      { name: 'region', source: 'region', type: 'string', required: true },
    ] as unknown as DatasetContract['columns'],
    { region: { type: 'string', pattern: '^(north|south)$' } },
  );
  const { columns } = columnProgramsFor(contract);
  expect(kernelUnsupported(columns!)).toMatch(/column "region": a text rule with no byte form/);
  expect(
    () =>
      new KernelScanner(
        contract.csv,
        columns!,
        [0],
        1024,
        0,
        { formulaSamplesFull: true },
        () => 0,
        () => 0,
      ),
  ).toThrow(/cannot check/);
});

test('a released scanner cannot scan (its instance serves another file)', () => {
  const { contract } = loadCompiledContract('registrations', DEFAULT_SCHEMAS_DIR)!;
  const make = () =>
    new KernelScanner(
      contract.csv,
      columnProgramsFor(contract).columns!,
      contract.columns.map((_, i) => i),
      1024,
      0,
      { formulaSamplesFull: true },
      () => undefined,
      () => undefined,
    );
  const first = make();
  const buf = first.join(Buffer.alloc(0), Buffer.from('a,b\n'));
  first.release();
  expect(() => first.scanEnded(buf, false)).toThrow(/released/);
  const second = make();
  expect(second.scanEnded(second.join(Buffer.alloc(0), Buffer.from('a,b\n')), false)).toBe(4);
  expect(second.width).toBe(2);
  second.release();
});

test('the committed kernel module is built from the committed scan.c', () => {
  // scripts/build-kernel.sh --check (run by .ci/run, which installs clang) rebuilds it byte for byte;
  // this catches an edit of scan.c without a rebuild wherever the tests run.
  const source = readFileSync(path.join(__dirname, '../../csv/kernel/scan.c'));
  expect(createHash('sha256').update(source).digest('hex')).toBe(SCAN_KERNEL_SHA256);
});

/**
 * The kernel's failing records through RowChecker.checkFailing (only the columns it names; then
 * check when that answers undefined, as RecordValidator.onFailingRecord does) and through check:
 * the same errors, formula samples and notes.
 */
function expectFailingColumnsExplain(compiled: CompiledContract, sourceIndex: readonly number[], seen: Seen) {
  const header = {
    sourceIndex,
    width: sourceIndex.length,
    names: compiled.contract.columns.map((c) => c.source),
  };
  const masked = new RowChecker(compiled, header, compiled.contract.csv.delimiter, 5);
  const whole = new RowChecker(compiled, header, compiled.contract.csv.delimiter, 5);
  let explained = 0;
  let several = 0;
  for (const r of seen.failing) {
    const errors = masked.checkFailing(r.cells, r.line, r.failing);
    const expected = whole.check(r.cells, r.line);
    if (errors !== undefined) {
      explained++;
      if ((r.failing & (r.failing - 1)) !== 0) several++;
      expect({ line: r.line, errors }).toEqual({ line: r.line, errors: expected });
    } else
      expect({ line: r.line, outcome: masked.check(r.cells, r.line) }).toEqual({
        line: r.line,
        outcome: expected,
      });
  }
  expect(masked.formulaSamples).toEqual(whole.formulaSamples);
  expect(masked.formulaCellCount).toBe(whole.formulaCellCount);
  expect(masked.notes).toEqual(whole.notes);
  return { explained, several };
}

test("the columns the kernel names for a failing record give the whole record's errors", () => {
  // ALL_KINDS as a version-2 contract file, compiled as the validate step compiles it.
  const dir = mkdtempSync(path.join(tmpdir(), 'kernel-failing-'));
  try {
    const properties = ALL_KINDS.rowSchema.properties as Record<string, Record<string, unknown>>;
    const columns = ALL_KINDS.columns.map((c) => {
      const { type: _jsonType, ...rules } = properties[c.name]!;
      const spec = c as unknown as Record<string, unknown>;
      return {
        name: c.name,
        type: c.type,
        required: c.required,
        ...(spec.precision !== undefined && { precision: spec.precision, scale: spec.scale }),
        ...(spec.defaultTimezone !== undefined && { timezone: spec.defaultTimezone }),
        ...rules,
      };
    });
    writeFileSync(
      path.join(dir, 'all_kinds.schema.json'),
      JSON.stringify({ version: 2, format: 'csv', columns, rejectThreshold: 1 }),
    );
    const compiled = loadCompiledContract('all_kinds', dir)!;
    expect(kernelUnsupported(columnProgramsFor(compiled.contract).columns!)).toBeUndefined();
    const n = compiled.contract.columns.length;
    const inOrder = compiled.contract.columns.map((_, i) => i);
    // Every other file read with the fields reversed (contract column i is field n-1-i): a column's
    // bit is its contract index, not its field's.
    const reversed = inOrder.map((i) => n - 1 - i);
    let explained = 0;
    let several = 0;
    for (let file = 0; file < 40; file++) {
      const sourceIndex = file % 4 < 2 ? inOrder : reversed;
      const bytes = Buffer.from(hostileFile(150, ALL_KINDS.csv, false), 'utf8');
      const seen = runScanner(
        'kernel',
        compiled.contract,
        sourceIndex,
        bytes,
        () => 1 + Math.floor(rnd() * 4096),
        file % 2 === 0,
      );
      const r = expectFailingColumnsExplain(compiled, sourceIndex, seen);
      explained += r.explained;
      several += r.several;
    }
    // Most failing records are explained by their columns alone, some by several columns.
    expect(explained).toBeGreaterThan(1_000);
    expect(several).toBeGreaterThan(200);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the same on the registrations contract and its generated invalid rows', () => {
  const compiled = loadCompiledContract('registrations', DEFAULT_SCHEMAS_DIR)!;
  const text = registrationsCsvText({ rows: 6000, seed: 4, invalidShare: 0.08 }).text;
  const header = text.slice(0, text.indexOf('\n')).split(',');
  const sourceIndex = compiled.contract.columns.map((c) => header.indexOf(c.source));
  const seen = runScanner('kernel', compiled.contract, sourceIndex, Buffer.from(text), () => 65536, false);
  const { explained } = expectFailingColumnsExplain(compiled, sourceIndex, seen);
  expect(explained).toBeGreaterThan(200);
});
