/**
 * The fast splitter (csv/csv-splitter.ts) against csv-parse as configured for the
 * step (csv-records.ts), record by record: cells, quoted-empty marks and physical start lines.
 * Inputs are generated from a seeded random source (the sample generator's mulberry32), so a failure
 * names its case and can be replayed, and fed in random chunk sizes, cutting through
 * CRLFs, doubled quotes and multi-byte characters.
 *
 * The contract tested: whenever the splitter finishes a file, csv-parse reads it too and hands over
 * exactly the same records; when csv-parse finds the file malformed, the splitter must have left it
 * to csv-parse (LeaveToCsvParseError), never accepted it. And on well-formed CSV as spreadsheets
 * and databases write it, the splitter does not leave anything to csv-parse (or it would be no
 * faster).
 */
import { mulberry32 } from '../../bench/registrations-generator';
import type { CsvDialect } from '../../core/contract';
import { CsvRecordReader, QUOTED_EMPTY, type Cell } from '../../csv/csv-records';
import { CsvSplitter, LeaveToCsvParseError, splitterHandles } from '../../csv/csv-splitter';

const DIALECT: CsvDialect = {
  delimiter: ',',
  quote: '"',
  escape: '"',
  encoding: 'utf-8',
  header: 'exact',
  relaxQuotes: false,
};
const SEMICOLON: CsvDialect = { ...DIALECT, delimiter: ';', quote: "'", escape: "'" };
const MAX_RECORD_BYTES = 16 * 1024 * 1024;

type Outcome =
  | { readonly records: readonly (readonly [readonly (string | null)[], number])[] }
  | { readonly failed: string };

/** Cuts bytes into chunks of random sizes (1 byte up to a few hundred), as a stream might. */
function chunksOf(bytes: Buffer, rand: () => number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = rand() < 0.3 ? 1 + Math.floor(rand() * 3) : 1 + Math.floor(rand() * 300);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

const shown = (cells: Cell[]): (string | null)[] => cells.map((c) => (c === QUOTED_EMPTY ? null : c));

function readWith(
  reader: { feed(chunk: Buffer | undefined, on: (c: Cell[], l: number) => void): void },
  chunks: Buffer[],
): Outcome {
  const records: [(string | null)[], number][] = [];
  const on = (cells: Cell[], line: number) => records.push([shown(cells), line]);
  try {
    for (const chunk of chunks) reader.feed(chunk, on);
    reader.feed(undefined, on);
  } catch (e) {
    return {
      failed:
        (e as Error).name === 'LeaveToCsvParseError' ? 'leave' : `csv-parse ${(e as { code?: string }).code}`,
    };
  }
  return { records };
}

function compare(
  input: Buffer,
  dialect: CsvDialect,
  rand: () => number,
): { splitter: Outcome; csvParse: Outcome } {
  const csvParse = readWith(new CsvRecordReader(dialect, { maxRecordBytes: MAX_RECORD_BYTES }), [input]);
  const splitter = readWith(
    new CsvSplitter(dialect, { maxRecordBytes: MAX_RECORD_BYTES }),
    chunksOf(input, rand),
  );
  return { splitter, csvParse };
}

/** Text from pieces that stress CSV: delimiters, quotes, every line break, spaces, wide characters. */
function hostileText(rand: () => number, d: string, q: string): string {
  const pieces = [
    'a',
    'bc',
    d,
    d,
    q,
    q + q,
    `${q}x${q}`,
    '\n',
    '\r\n',
    '\r',
    ' ',
    'é',
    '😀',
    '€',
    '\t',
    '=1+2',
  ];
  let text = rand() < 0.1 ? '\uFEFF' : '';
  const length = Math.floor(rand() * 60);
  for (let i = 0; i < length; i++) text += pieces[Math.floor(rand() * pieces.length)];
  return text;
}

/** Well-formed CSV as a writer produces it: fields quoted only when they need it, quotes doubled. */
function wellFormedText(rand: () => number, d: string, q: string): string {
  const values = [
    '',
    'plain',
    'with space',
    `has${d}delim`,
    `say ${q}hi${q}`,
    'two\nlines',
    'crlf\r\nin',
    'ünï😀',
    ' padded ',
    '-5',
  ];
  const eol = ['\n', '\r\n', '\r'][Math.floor(rand() * 3)]!;
  const rows: string[] = [];
  const width = 1 + Math.floor(rand() * 5);
  for (let r = Math.floor(rand() * 8); r >= 0; r--) {
    const cells: string[] = [];
    for (let c = 0; c < width; c++) {
      const v = values[Math.floor(rand() * values.length)]!;
      const quoted = rand() < 0.2 || /[\r\n]/.test(v) || v.includes(d) || v.includes(q);
      cells.push(quoted ? q + v.split(q).join(q + q) : v);
      if (quoted) cells[c] += q;
    }
    rows.push(cells.join(d));
    if (rand() < 0.1) rows.push(''); // a blank line
  }
  return (rand() < 0.2 ? '\uFEFF' : '') + rows.join(eol) + (rand() < 0.7 ? eol : '');
}

describe('the splitter hands over what csv-parse does', () => {
  test.each([
    ['comma and double quote', DIALECT],
    ['semicolon and single quote', SEMICOLON],
  ])(
    '4,000 hostile inputs (%s): same records, or left to csv-parse; never accepts what csv-parse rejects',
    (_name, dialect) => {
      const rand = mulberry32(2026);
      let finished = 0;
      let left = 0;
      for (let i = 0; i < 4000; i++) {
        const input = Buffer.from(hostileText(rand, dialect.delimiter, dialect.quote), 'utf8');
        const { splitter, csvParse } = compare(input, dialect, rand);
        if ('failed' in splitter) {
          expect({ case: i, failed: splitter.failed }).toEqual({ case: i, failed: 'leave' });
          left++;
          continue;
        }
        expect({ case: i, input: input.toString(), outcome: csvParse }).toEqual({
          case: i,
          input: input.toString(),
          outcome: splitter,
        });
        finished++;
      }
      // Both branches were exercised: many inputs finished, many were left to csv-parse.
      expect(finished).toBeGreaterThan(300);
      expect(left).toBeGreaterThan(500);
    },
  );

  test.each([
    ['comma and double quote', { ...DIALECT, relaxQuotes: true }],
    ['semicolon and single quote', { ...SEMICOLON, relaxQuotes: true }],
  ])(
    'relaxQuotes: 4,000 hostile inputs (%s): a quote inside an unquoted field is data in both readers; same records, or left to csv-parse',
    (_name, dialect) => {
      const rand = mulberry32(2027);
      let finished = 0;
      let quoteInside = 0;
      for (let i = 0; i < 4000; i++) {
        const input = Buffer.from(hostileText(rand, dialect.delimiter, dialect.quote), 'utf8');
        const { splitter, csvParse } = compare(input, dialect, rand);
        const strict = compare(input, { ...dialect, relaxQuotes: false }, rand).splitter;
        if ('failed' in splitter) {
          expect({ case: i, failed: splitter.failed }).toEqual({ case: i, failed: 'leave' });
          continue;
        }
        expect({ case: i, input: input.toString(), outcome: csvParse }).toEqual({
          case: i,
          input: input.toString(),
          outcome: splitter,
        });
        finished++;
        if ('failed' in strict) quoteInside++;
      }
      // Many inputs the strict splitter leaves (a quote inside an unquoted field) are read here.
      expect(finished).toBeGreaterThan(600);
      expect(quoteInside).toBeGreaterThan(200);
    },
  );

  test('relaxQuotes: 37.8"N is one value in both readers; without it csv-parse refuses the line', () => {
    const input = Buffer.from('id,lat\n1,37.8"N\n2,"a ""b"""\n');
    const relaxed = { ...DIALECT, relaxQuotes: true };
    const expected = {
      records: [
        [['id', 'lat'], 1],
        [['1', '37.8"N'], 2],
        [['2', 'a "b"'], 3],
      ],
    };

    expect(compare(input, relaxed, mulberry32(1))).toEqual({ splitter: expected, csvParse: expected });
    expect(compare(input, DIALECT, mulberry32(1))).toEqual({
      splitter: { failed: 'leave' },
      csvParse: { failed: 'csv-parse INVALID_OPENING_QUOTE' },
    });
  });

  test.each([
    ['comma and double quote', DIALECT],
    ['semicolon and single quote', SEMICOLON],
  ])(
    '3,000 well-formed files (%s): the splitter reads every one itself, records identical',
    (_name, dialect) => {
      const rand = mulberry32(7);
      for (let i = 0; i < 3000; i++) {
        const input = Buffer.from(wellFormedText(rand, dialect.delimiter, dialect.quote), 'utf8');
        const { splitter, csvParse } = compare(input, dialect, rand);
        expect({ case: i, input: input.toString(), outcome: splitter }).toEqual({
          case: i,
          input: input.toString(),
          outcome: csvParse,
        });
      }
    },
  );
});

describe('what the splitter leaves to csv-parse', () => {
  const leaves = (text: string) => {
    return () => {
      const splitter = new CsvSplitter(DIALECT, { maxRecordBytes: 300 });
      splitter.feed(Buffer.from(text), () => undefined);
      splitter.feed(undefined, () => undefined);
    };
  };

  test.each([
    [
      'a quote inside an unquoted field',
      'id,name\n1,5" screen\n',
      'leaves line 2 to csv-parse: a quote inside an unquoted field',
    ],
    [
      'text after a closing quote',
      'id,name\n1,"a"b\n',
      'leaves line 2 to csv-parse: text after a closing quote',
    ],
    [
      'a quote never closed',
      'id,name\n1,"open\n2,x\n',
      'leaves line 2 to csv-parse: a quoted field is never closed',
    ],
    [
      'a record near the size limit',
      `id,name\n1,${'x'.repeat(400)}\n`,
      'leaves line 2 to csv-parse: a record longer than 300 bytes',
    ],
  ])('%s', (_name, text, message) => {
    expect(leaves(text)).toThrow(LeaveToCsvParseError);
    expect(leaves(text)).toThrow(message);
  });

  test('a record longer than the limit that never ends is left as soon as it is too long, not at the end', () => {
    const splitter = new CsvSplitter(DIALECT, { maxRecordBytes: 3000 });
    const feed = () => {
      splitter.feed(Buffer.from('id\n"'), () => undefined);
      for (let i = 0; i < 100; i++) splitter.feed(Buffer.from('y'.repeat(50)), () => undefined);
    };
    expect(feed).toThrow('a record longer than 3000 bytes');
  });

  test('dialects beyond one-character delimiters and quote-as-escape are csv-parse only', () => {
    expect(splitterHandles(DIALECT)).toBe(true);
    expect(splitterHandles({ ...DIALECT, delimiter: '||' })).toBe(false);
    expect(splitterHandles({ ...DIALECT, escape: '\\' })).toBe(false);
    expect(splitterHandles({ ...DIALECT, delimiter: '\t' })).toBe(true);
  });
});
