/**
 * Every class under "Files" and "Object keys" in BAD_INPUTS.md, fed through the validate step with
 * the local object store: the documented outcome, and the landing object still there, unchanged.
 */
import { gzipSync } from 'node:zlib';
import { FileRejectedError } from '../../core/errors';
import { ContractError } from '../../core/errors';
import { fixture, TestLake } from './harness';

type Row = Record<string, string | number | null>;
const HEADER = 'id,name,email,score,ratio,active,signup_date,seen_at,note';
const VALID = fixture('people.csv');

let lake: TestLake;
beforeEach(() => (lake = new TestLake()));
afterEach(async () => {
  // Whatever happened, nothing that was uploaded is lost or changed.
  await lake.expectLandingIntact();
  lake.dispose();
});

/**
 * The two ways a small CSV is read: the default (the checked fast path writing CSV staging, for a
 * contract its byte checks cover, as every contract here is) and the streaming path (JSON Lines
 * staging). Every test that reads staged rows runs on both, with the same expectations: the same
 * rejects, reasons, lines and staged values. (test/validate/sql-fast-path.test.ts holds the
 * Parquet-staging fast path equal to the streaming one.)
 */
const PATHS = [
  { path: 'default path', fastPath: undefined },
  { path: 'streaming path', fastPath: false },
] as const;
type Path = (typeof PATHS)[number];

/** The rows `path` stages for the file, canonical (TestLake.stagedRows). */
async function stagedRows(key: string, bytes: Buffer | string, { fastPath }: Path): Promise<Row[]> {
  return lake.stagedRows(await lake.validate(await lake.upload(key, bytes), { fastPath }));
}

describe('empty and header-only files', () => {
  test('a 0-byte file is EMPTY_FILE', async () => {
    const err = await lake.rejection('incoming/people/empty.csv', fixture('empty.csv'));
    expect(err.reason).toBe('EMPTY_FILE');
    expect(err.message).toContain('incoming/people/empty.csv');
    expect(err.message).toMatch(/0 bytes/);
    await lake.expectNoStaging();
  });

  test('a whitespace-only file is EMPTY_FILE', async () => {
    const err = await lake.rejection('incoming/people/blank.csv', fixture('whitespace-only.csv'));
    expect(err.reason).toBe('EMPTY_FILE');
    expect(err.message).toMatch(/only whitespace/);
  });

  test('a header without rows is HEADER_ONLY, and the report says so', async () => {
    const err = await lake.rejection('incoming/people/h.csv', fixture('header-only.csv'));
    expect(err.reason).toBe('HEADER_ONLY');
    const report = await lake.json<{ status: string; rejection: { reason: string } }>(
      (err.details.report as { key: string }).key,
    );
    expect(report).toMatchObject({ status: 'REJECTED', rejection: { reason: 'HEADER_ONLY' } });
    await lake.expectNoStaging();
  });
});

describe('encodings', () => {
  test.each(PATHS)('a UTF-8 BOM before the header is skipped ($path)', async (p) => {
    const rows = await stagedRows('incoming/people/bom.csv', fixture('bom.csv'), p);
    expect(rows).toEqual([expect.objectContaining({ id: '1', name: 'Ada', _line: 2 })]);
  });

  test('a UTF-16 file (with BOM) is UNREADABLE_ENCODING and says to save as UTF-8', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(VALID.toString('utf8'), 'utf16le')]);
    const err = await lake.rejection('incoming/people/u16.csv', utf16);
    expect(err.reason).toBe('UNREADABLE_ENCODING');
    expect(err.message).toMatch(/UTF-16/);
    expect(err.message).toMatch(/save the file as UTF-8/);
  });

  test('a UTF-16 file without BOM is UNREADABLE_ENCODING too', async () => {
    const err = await lake.rejection(
      'incoming/people/u16nobom.csv',
      Buffer.from(VALID.toString('utf8'), 'utf16le'),
    );
    expect(err.reason).toBe('UNREADABLE_ENCODING');
  });

  test('a Latin-1 é (0xE9) names the byte offset, the line and the likely encoding', async () => {
    const latin1 = Buffer.from(`${HEADER}\n1,Ada,,,,,2024-03-01,,ok\n2,Ren\xe9,,,,,2024-03-02,,\n`, 'latin1');
    const err = await lake.rejection('incoming/people/latin1.csv', latin1);
    expect(err.reason).toBe('UNREADABLE_ENCODING');
    expect(err.message).toMatch(/0xE9/);
    expect(err.message).toMatch(/on line 3/);
    expect(err.message).toMatch(/Latin-1/);
    expect(err.details).toMatchObject({ line: 3, byteOffset: latin1.indexOf(0xe9) });
    await lake.expectNoStaging();
  });

  test('a stray 0xFF deep in a large file is found across stream chunks', async () => {
    const rows = Array.from({ length: 20000 }, (_, i) => `${i + 1},Name ${i},,,,,2024-03-01,,`).join('\n');
    const bytes = Buffer.concat([
      Buffer.from(`${HEADER}\n${rows}\n`),
      Buffer.from([0xff]),
      Buffer.from('\n'),
    ]);
    const err = await lake.rejection('incoming/people/ff.csv', bytes);
    expect(err.reason).toBe('UNREADABLE_ENCODING');
    expect(err.details).toMatchObject({ line: 20002, byteOffset: bytes.length - 2 });
  });

  test('a NUL byte is UNREADABLE_ENCODING with its offset', async () => {
    const bytes = Buffer.from(`${HEADER}\n1,A\u0000da,,,,,2024-03-01,,\n`);
    const err = await lake.rejection('incoming/people/nul.csv', bytes);
    expect(err.reason).toBe('UNREADABLE_ENCODING');
    expect(err.message).toMatch(/NUL byte/);
    expect(err.details).toMatchObject({ line: 2, byteOffset: bytes.indexOf(0) });
  });

  test('a multi-byte character split across chunks is fine', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `${i + 1},Zoë 😀 ${i},,,,,2024-03-01,,`).join('\n');
    const result = await lake.validate(await lake.upload('incoming/people/utf8.csv', `${HEADER}\n${rows}\n`));
    expect(result.rowsValid).toBe(5000);
  });
});

describe('line endings and quoting', () => {
  test.each(
    (
      [
        ['CRLF', 'crlf.csv', [2, 3]],
        ['lone CR', 'cr.csv', [2, 3]],
        ['mixed', 'mixed-endings.csv', [2, 3, 4, 5]],
      ] as const
    ).flatMap(([name, file, lines]) => PATHS.map((p) => [name, file, lines, p] as const)),
  )('%s line endings give the same rows with physical line numbers (%#)', async (_name, file, lines, p) => {
    const rows = await stagedRows(`incoming/people/${file}`, fixture(file), p);
    expect(rows.map((r) => r._line)).toEqual(lines);
    expect(rows[0]).toMatchObject({ id: '1', name: 'Ada', note: null });
  });

  test.each(PATHS)(
    'quoted newlines (LF and CRLF), delimiters and quotes are kept inside the field ($path)',
    async (p) => {
      const rows = await stagedRows('incoming/people/q.csv', fixture('quoted-newlines.csv'), p);
      expect(rows.map((r) => [r.name, r.note, r._line])).toEqual([
        ['Ada\nLovelace', 'line one\r\nline two', 2],
        ['Bob, "the builder"', 'x', 5],
        ['Cy', 'a,b;c', 6],
      ]);
    },
  );

  test('an unclosed quote is MALFORMED_CSV naming the line where the record starts', async () => {
    const err = await lake.rejection('incoming/people/uq.csv', fixture('unclosed-quote.csv'));
    expect(err.reason).toBe('MALFORMED_CSV');
    expect(err.message).toMatch(/line 3/);
    expect(err.message).toMatch(/never closed/);
    await lake.expectNoStaging();
  });

  test('"a"b (text after a closing quote) is MALFORMED_CSV with line, column and the fix', async () => {
    const err = await lake.rejection('incoming/people/ab.csv', fixture('text-after-quote.csv'));
    expect(err.reason).toBe('MALFORMED_CSV');
    expect(err.message).toMatch(/line 3/);
    expect(err.message).toMatch(/column "name"/);
    expect(err.message).toMatch(/"a""b"/);
  });

  test.each(PATHS)(
    'short and long rows are row errors, never padded or truncated ($path)',
    async ({ fastPath }) => {
      const result = await lake.validate(
        await lake.upload('incoming/people/sl.csv', fixture('short-long-rows.csv')),
        { fastPath },
      );
      expect(result).toMatchObject({ rowsRead: 4, rowsValid: 2, rowsRejected: 2 });
      const rejects = await lake.jsonLines(result.rejects!.key);
      expect(rejects.map((r) => [r.line, r.reason])).toEqual([
        [3, 'SHORT_ROW'],
        [4, 'LONG_ROW'],
      ]);
      expect(rejects[0]!.message).toMatch(/has 7 fields but the header has 9/);
      const rows = await lake.stagedRows(result);
      expect(rows.map((r) => r.id)).toEqual(['1', '4']);
    },
  );
});

describe('headers', () => {
  const withHeader = (header: string, dataset = 'people') =>
    [
      `incoming/${dataset}/h.csv`,
      `${header}\n${VALID.toString('utf8').split('\n').slice(1).join('\n')}`,
    ] as const;

  test('duplicate header names are HEADER_MISMATCH naming both positions', async () => {
    const err = await lake.rejection(
      ...withHeader('id,name,email,score,ratio,active,signup_date,seen_at,name'),
    );
    expect(err.reason).toBe('HEADER_MISMATCH');
    expect(err.message).toMatch(/"name" appears twice \(columns 2 and 9\)/);
  });

  test('a blank header name is HEADER_MISMATCH', async () => {
    const err = await lake.rejection(...withHeader('id,name,email,score,,active,signup_date,seen_at,note'));
    expect(err.reason).toBe('HEADER_MISMATCH');
    expect(err.message).toMatch(/column 5 has a blank name/);
  });

  test.each(PATHS)(
    '__proto__ / constructor headers are just unknown names, and pollute nothing ($path)',
    async ({ fastPath }) => {
      const err = await lake.rejection(
        ...withHeader('id,name,email,score,ratio,active,signup_date,seen_at,note,__proto__', 'people_any'),
      );
      expect(err.reason).toBe('HEADER_MISMATCH');
      expect(err.message).toMatch(/unknown column\(s\) "__proto__"/);
      const rows = [
        'id,constructor,name,email,score,ratio,active,signup_date,seen_at,note,__proto__',
        '1,"{""polluted"":true}",Ada,,,,,2024-03-01,,,"{""polluted"":true}"',
      ].join('\n');
      const result = await lake.validate(await lake.upload('incoming/people_extra/proto.csv', rows), {
        fastPath,
      });
      expect(result.rowsValid).toBe(1);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      const [row] = await lake.stagedRows(result);
      expect(Object.keys(row!)).toEqual([...HEADER.split(','), '_line']);
    },
  );

  test.each(PATHS)(
    'a different column order is fine for anyOrder, HEADER_MISMATCH for exact ($path)',
    async ({ fastPath }) => {
      const reordered = 'name,id,email,score,ratio,active,signup_date,seen_at,note';
      const body = `${reordered}\nAda,1,,,,,2024-03-01,,\n`;
      const ok = await lake.validate(await lake.upload('incoming/people_any/r.csv', body), { fastPath });
      expect(ok.rowsValid).toBe(1);
      expect((await lake.stagedRows(ok))[0]).toMatchObject({
        id: '1',
        name: 'Ada',
      });
      const err = await lake.rejection('incoming/people/r.csv', body);
      expect(err.reason).toBe('HEADER_MISMATCH');
      expect(err.message).toMatch(
        /column 1 is "name" but the contract \(header policy "exact"\) expects "id"/,
      );
    },
  );

  test('missing columns are named; extra columns are allowed only by extraAllowed', async () => {
    const missing = await lake.rejection(
      ...withHeader('id,name,email,score,ratio,active,signup_date,seen_at'),
    );
    expect(missing.reason).toBe('HEADER_MISMATCH');
    expect(missing.message).toMatch(/missing column\(s\) "note"/);
    const extraHeader = `${HEADER},comment`;
    const extraBody = `${extraHeader}\n1,Ada,,,,,2024-03-01,,,ignored\n`;
    const extra = await lake.rejection('incoming/people_any/x.csv', extraBody);
    expect(extra.message).toMatch(/unknown column\(s\) "comment"/);
    const allowed = await lake.validate(await lake.upload('incoming/people_extra/x.csv', extraBody));
    expect(allowed.rowsValid).toBe(1);
  });

  test.each([
    ['case', 'ID,name,email,score,ratio,active,signup_date,seen_at,note', 1, 'ID', 'id'],
    ['spaces', 'id,name ,email,score,ratio,active,signup_date,seen_at,note', 2, 'name ', 'name'],
  ])(
    'a header differing only in %s names the column and the exact name to use',
    async (_what, header, column, got, want) => {
      const err = await lake.rejection(...withHeader(header as string));
      expect(err.reason).toBe('HEADER_MISMATCH');
      expect(err.message).toContain(`column ${column} is named ${JSON.stringify(got)}`);
      expect(err.message).toContain(`rename it to exactly ${JSON.stringify(want)}`);
    },
  );
});

describe('size limits', () => {
  test.each(PATHS)('a 2 MiB field within limits is processed ($path)', async (p) => {
    const big = 'x'.repeat(2 * 1024 * 1024);
    const rows = await stagedRows(
      'incoming/people/big-field.csv',
      `${HEADER}\n1,Ada,,,,,2024-03-01,,${big}\n`,
      p,
    );
    expect((rows[0]!.note as string).length).toBe(big.length);
  });

  test('10,000 columns is HEADER_MISMATCH, not a crash', async () => {
    const header = Array.from({ length: 10000 }, (_, i) => `c${i}`).join(',');
    const err = await lake.rejection('incoming/people_extra/wide.csv', `${header}\n${'1,'.repeat(9999)}1\n`);
    expect(err.reason).toBe('HEADER_MISMATCH');
    expect(err.message).toMatch(/10000 columns/);
  });

  test('a single 50 MB line with no newline is MALFORMED_CSV, quickly', async () => {
    const line = Buffer.alloc(50 * 1024 * 1024, 'a');
    const started = Date.now();
    // A 4 MiB limit (the default is 16 MiB) keeps this test quick: parsing stops at the limit.
    const err = await lake.rejection(
      'incoming/people/long-line.csv',
      Buffer.concat([Buffer.from(`${HEADER}\n`), line]),
      {
        limits: { maxRecordBytes: 4 * 1024 * 1024 },
      },
    );
    expect(err.reason).toBe('MALFORMED_CSV');
    expect(err.message).toMatch(/line 2 is longer than 4194304 bytes/);
    expect(Date.now() - started).toBeLessThan(20000);
    await lake.expectNoStaging();
  });
});

describe('values', () => {
  test('thousands separators and decimal commas are row errors saying what to write', async () => {
    const result = await lake
      .validate(
        await lake.upload('incoming/people_semicolon/dc.csv', fixture('semicolon-decimal-comma.csv')),
        {},
      )
      .catch((e: FileRejectedError) => e);
    // 2 of 3 rows are bad: above people_semicolon's 50% threshold
    expect(result).toBeInstanceOf(FileRejectedError);
    const rejects = await lake.jsonLines(
      ((result as FileRejectedError).details.rejects as { key: string }).key,
    );
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [2, 'DECIMAL_COMMA'],
      [3, 'THOUSANDS_SEPARATOR'],
    ]);
    expect(rejects[0]!.message).toContain('write "12.50"');
    expect(rejects[1]!.message).toContain('write "1234.50"');
  });

  test.each(PATHS)(
    'NaN, Infinity, 1e309 and integers past int64 are rejected; past 2^53 is kept exactly ($path)',
    async ({ fastPath }) => {
      const result = await lake.validate(await lake.upload('incoming/people/n.csv', fixture('numbers.csv')), {
        fastPath,
      });
      const rejects = await lake.jsonLines(result.rejects!.key);
      expect(rejects.map((r) => [r.line, r.reason])).toEqual([
        [2, 'NOT_A_NUMBER'],
        [3, 'NOT_A_NUMBER'],
        [4, 'NUMBER_OUT_OF_RANGE'],
        [7, 'INTEGER_OUT_OF_RANGE'],
      ]);
      const rows = await lake.stagedRows(result);
      expect(rows.map((r) => [r.id, r.ratio])).toEqual([
        ['4', '1e+308'],
        ['9007199254740993', null],
        ['10', '-0.5'],
        ['11', '0.1'],
        ['12', '0'],
      ]);
    },
  );

  test.each(PATHS)(
    'dates that do not exist are rejected; far past/future and zones are converted to UTC ($path)',
    async ({ fastPath }) => {
      const result = await lake.validate(await lake.upload('incoming/people/d.csv', fixture('dates.csv')), {
        fastPath,
      });
      const rejects = await lake.jsonLines(result.rejects!.key);
      expect(rejects.map((r) => [r.line, r.reason])).toEqual([
        [2, 'INVALID_DATE'],
        [5, 'NONEXISTENT_LOCAL_TIME'],
        [8, 'INVALID_DATE'],
      ]);
      expect(rejects[0]!.message).toMatch(/February 2024 has 29 days/);
      expect(rejects[1]!.message).toMatch(/does not exist in Europe\/Berlin/);
      const rows = await lake.stagedRows(result);
      expect(rows.map((r) => [r.id, r.seen_at])).toEqual([
        ['2', '0001-01-01T00:00:00.000000Z'],
        ['3', '9999-12-31T23:59:59.999999Z'],
        ['5', '2024-10-27T00:30:00.000000Z'], // ambiguous: the earlier instant (CEST)
        ['6', '2024-07-01T17:00:00.000000Z'],
      ]);
      const report = await lake.json<{ ambiguousLocalTimes: number }>(result.report.key);
      expect(report.ambiguousLocalTimes).toBe(1);
    },
  );

  test.each(PATHS)(
    'formula-looking cells are stored unchanged, counted and listed; negative numbers are not ($path)',
    async ({ fastPath }) => {
      const result = await lake.validate(
        await lake.upload('incoming/people/f.csv', fixture('formula-cells.csv')),
        { fastPath },
      );
      expect(result.rowsValid).toBe(7);
      const rows = await lake.stagedRows(result);
      expect(rows.map((r) => r.note)).toEqual([
        '=1+2',
        '+49 30 1234',
        '-minus',
        '@SUM(A1)',
        '\tTAB',
        '\rCR',
        'plain',
      ]);
      // "-8" is a name (string column) so it is flagged; -1.50 and -2 are numbers and are not.
      expect(result.formulaCells).toBe(7);
      const report = await lake.json<{
        formulaCells: { count: number; cells: { line: number; column: string }[] };
      }>(result.report.key);
      expect(report.formulaCells.cells.map((c) => [c.line, c.column])).toEqual([
        [2, 'note'],
        [3, 'note'],
        [4, 'note'],
        [5, 'note'],
        [6, 'note'],
        [7, 'note'],
        [9, 'name'], // the quoted CR above is a line break: this row starts on line 9
      ]);
    },
  );

  test.each(PATHS)(
    'empty cell = null; quoted "" = empty string for strings, null otherwise; required empty = row error ($path)',
    async ({ fastPath }) => {
      const result = await lake.validate(
        await lake.upload('incoming/people/qe.csv', fixture('quoted-empty.csv')),
        { fastPath },
      );
      // row 1: name is "" — an empty string is present, but minLength 1 rejects it
      const rejects = await lake.jsonLines(result.rejects!.key);
      expect(rejects).toEqual([
        expect.objectContaining({ line: 2, column: 'name', reason: 'SCHEMA_VIOLATION' }),
      ]);
      const rows = await lake.stagedRows(result);
      expect(rows).toEqual([expect.objectContaining({ id: '2', email: null, score: null, note: null })]);
      const blank = await lake.validate(
        await lake.upload(
          'incoming/people/qe2.csv',
          `${HEADER}\n1,Ada,,"",,,2024-03-01,,""\n2,,,,,,2024-03-02,,\n`,
        ),
        { fastPath },
      );
      const [ada] = await lake.stagedRows(blank);
      expect(ada).toMatchObject({ score: null, note: '' });
      expect((await lake.jsonLines(blank.rejects!.key))[0]).toMatchObject({
        line: 3,
        column: 'name',
        reason: 'REQUIRED_EMPTY',
      });
    },
  );

  test.each(PATHS)(
    "the same rows twice are both staged (dedupe is the transform's job), with their own lines ($path)",
    async (p) => {
      const rows = await stagedRows('incoming/people/dup.csv', fixture('duplicate-rows.csv'), p);
      expect(rows.map((r) => [r.id, r._line])).toEqual([
        ['1', 2],
        ['1', 3],
      ]);
    },
  );
});

describe('binary content named .csv', () => {
  test('a gzip file is BINARY_CONTENT and says to decompress it', async () => {
    const err = await lake.rejection('incoming/people/g.csv', gzipSync(VALID));
    expect(err.reason).toBe('BINARY_CONTENT');
    expect(err.message).toMatch(/gzip/);
    expect(err.message).toMatch(/decompress/);
  });

  test('a Parquet file is BINARY_CONTENT', async () => {
    const parquet = Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(200, 7), Buffer.from('PAR1')]);
    const err = await lake.rejection('incoming/people/p.csv', parquet);
    expect(err.reason).toBe('BINARY_CONTENT');
    expect(err.message).toMatch(/Parquet/);
  });

  test('other binary is BINARY_CONTENT', async () => {
    const noise = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256));
    const err = await lake.rejection('incoming/people/noise.csv', noise);
    expect(err.reason).toBe('BINARY_CONTENT');
  });
});

describe('object keys', () => {
  test.each([
    ['spaces', 'incoming/people/red flower.csv'],
    ['plus', 'incoming/people/a+b.csv'],
    ['%2F', 'incoming/people/a%2Fb.csv'],
    ['colon and equals', 'incoming/people/at=2024-03-01T10:00.csv'],
    ['unicode', 'incoming/people/Zoë_Übersicht.csv'],
    ['emoji', 'incoming/people/🎉 party.csv'],
  ])('a key with %s is processed, and outputs are named by a safe id', async (_what, key) => {
    const result = await lake.validate(await lake.upload(key, VALID));
    expect(result.rowsValid).toBe(3);
    expect(result.staging.key).toMatch(/^staging\/people\/[a-z0-9-]+-[0-9a-f]{12}\/[0-9a-f]{12}\/$/);
  });

  test('a 1024-byte key is processed', async () => {
    const key = `incoming/people/${'k'.repeat(1024 - 'incoming/people/'.length - 4)}.csv`;
    expect(Buffer.byteLength(key)).toBe(1024);
    const result = await lake.validate(await lake.upload(key, VALID));
    expect(result.rowsValid).toBe(3);
  });

  test.each([
    ["'", "incoming/people/o'brien.csv", /character "'"/],
    [';', 'incoming/people/a;b.csv', /character ";"/],
    ['--', 'incoming/people/a--b.csv', /"--"/],
    ['../', 'incoming/people/../../etc/passwd.csv', /"\.\." segment|empty, "\." or "\.\."/],
    ['\\', 'incoming/people/a\\b.csv', /character "\\\\"/],
    ['control characters', 'incoming/people/a\u0007b.csv', /control characters/],
    ['a folder marker', 'incoming/people/folder/', /folder marker/],
    ['outside incoming/', 'uploads/people/a.csv', /outside incoming\//],
    ['over 1024 bytes', `incoming/people/${'k'.repeat(1100)}.csv`, /over S3's 1024/],
  ])('a key with %s is KEY_NOT_ALLOWED before it reaches any path or prefix', async (_what, key, problem) => {
    const err = await lake.rejection(key, VALID);
    expect(err.reason).toBe('KEY_NOT_ALLOWED');
    expect(err.message).toMatch(problem);
    expect(err.message).toMatch(/Fix: /);
    expect(await lake.keys('')).toEqual([]); // nothing written to the lake at all
  });

  test('a dataset with no contract is UNKNOWN_DATASET listing the known ones', async () => {
    const err = await lake.rejection('incoming/nobody/a.csv', VALID);
    expect(err.reason).toBe('UNKNOWN_DATASET');
    expect(err.message).toMatch(/no contract for dataset "nobody"/);
    expect(err.message).toMatch(/people/);
  });

  test('a broken contract is a ContractError (pipeline fault), not a rejection of the file', async () => {
    const source = await lake.upload('incoming/broken/a.csv', 'id,day\n1,2024-01-01\n');
    await expect(lake.validate(source)).rejects.toBeInstanceOf(ContractError);
  });
});
