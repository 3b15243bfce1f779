/**
 * Every class under "Files" and "Object keys" in the bad-inputs catalogue (docs/bad-inputs.md),
 * dropped into the landing bucket and run through the WHOLE local pipeline (the real ASL: Claim →
 * Validate → Transform on DuckDB → Catalog → Verify → Archive, or → Quarantine).
 * test/validate/bad-inputs checks the validate step's messages in detail; this suite checks the
 * end-to-end promise:
 *
 *  - the outcome: processed correctly (rows in the lake are the right ones), or REJECTED with a
 *    reason code and a message naming the file, line or field;
 *  - nothing lost: the original bytes still exist, byte-identical, in archive/ or quarantine/;
 *  - no partial output: a rejected file has no curated object and no manifest; a processed file's
 *    rows in the table are exactly the rows its manifest reports.
 *
 * All cases run once in one home (a few at a time, like `etl watch`), then each is asserted.
 */
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { LocalNotifier } from '../../adapters/local/notifier';
import { sourceIdOf } from '../../core/layout';
import type { RunRecord } from '../../local/run-record';
import { fixture, inBatches, ReliabilityHome, type Landed } from './support';

const SESSIONS_HEADER = 'session_id,event_id,session_date,title,speaker,room,capacity,starts_at';
const BASE = fixture('event_sessions/base.csv').toString('utf8');
const BASE_LINES = BASE.trimEnd().split('\n');
/** base.csv with its header replaced. */
const withHeader = (header: string) => [header, ...BASE_LINES.slice(1)].join('\n') + '\n';
/** base.csv with physical line `n` (1 = header) replaced. */
const withLine = (n: number, line: string) =>
  BASE_LINES.map((l, i) => (i === n - 1 ? line : l)).join('\n') + '\n';
const fieldsOf = (n: number) => BASE_LINES[n - 1]!.split(',');

type Expect =
  | {
      readonly status: 'SUCCEEDED';
      readonly rowsRead: number;
      readonly rowsRejected: number;
      readonly rowsOut: number;
      /** Row-level rejects: [line, reason code, column?] */
      readonly rejects?: readonly (readonly [number, string, string?])[];
      /** Extra checks on the rows the lake now holds for this file. */
      readonly rows?: (rows: Record<string, unknown>[]) => void;
    }
  | { readonly status: 'REJECTED'; readonly reason: string; readonly message: RegExp };

interface Case {
  /** The class, in BAD_INPUTS.md's words. */
  readonly name: string;
  readonly key: string;
  readonly bytes: () => Buffer | string;
  readonly expect: Expect;
}

const bySessionId = (rows: Record<string, unknown>[]) =>
  Object.fromEntries(rows.map((r) => [String(r.session_id), r]));

/** A real Parquet file, written once by DuckDB (the lake's own engine) for the "Parquet named .csv" case. */
let parquetBytes: Buffer;

const FILE_CASES: readonly Case[] = [
  // 0-byte file; whitespace only; header only
  {
    name: '0-byte file',
    key: 'incoming/event_sessions/empty.csv',
    bytes: () => '',
    expect: { status: 'REJECTED', reason: 'EMPTY_FILE', message: /empty\.csv.*0 bytes/ },
  },
  {
    name: 'whitespace only',
    key: 'incoming/event_sessions/blank.csv',
    bytes: () => '  \n\t\r\n   \n',
    expect: { status: 'REJECTED', reason: 'EMPTY_FILE', message: /blank\.csv.*only whitespace/ },
  },
  {
    name: 'header only (no data rows)',
    key: 'incoming/event_sessions/header-only.csv',
    bytes: () => `${SESSIONS_HEADER}\n`,
    expect: { status: 'REJECTED', reason: 'HEADER_ONLY', message: /header-only\.csv/ },
  },
  // encodings
  {
    name: 'UTF-8 BOM before the header',
    key: 'incoming/event_sessions/bom.csv',
    bytes: () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(BASE)]),
    expect: {
      status: 'SUCCEEDED',
      rowsRead: 20,
      rowsRejected: 0,
      rowsOut: 20,
      // The BOM did not become part of the first column's name: session_id is filled in.
      rows: (rows) => expect(rows.map((r) => r.session_id).sort()[0]).toBe('SES-000001'),
    },
  },
  {
    name: 'UTF-16 file',
    key: 'incoming/event_sessions/utf16.csv',
    bytes: () => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(BASE, 'utf16le')]),
    expect: { status: 'REJECTED', reason: 'UNREADABLE_ENCODING', message: /UTF-16.*UTF-8/s },
  },
  {
    name: 'Latin-1 bytes (0xE9)',
    key: 'incoming/event_sessions/latin1.csv',
    bytes: () => Buffer.from(withLine(3, fieldsOf(3).with(4, 'Ren\xe9').join(',')), 'latin1'),
    expect: { status: 'REJECTED', reason: 'UNREADABLE_ENCODING', message: /0xE9.*line 3/s },
  },
  {
    name: 'a stray 0xFF',
    key: 'incoming/event_sessions/stray-ff.csv',
    bytes: () =>
      Buffer.concat([Buffer.from(BASE_LINES.slice(0, 7).join('\n') + '\n'), Buffer.from([0xff, 0x0a])]),
    expect: { status: 'REJECTED', reason: 'UNREADABLE_ENCODING', message: /0xFF.*line 8/s },
  },
  {
    name: 'a NUL byte',
    key: 'incoming/event_sessions/nul.csv',
    bytes: () => withLine(4, fieldsOf(4).with(3, 'Talk\u0000four').join(',')),
    expect: { status: 'REJECTED', reason: 'UNREADABLE_ENCODING', message: /NUL byte.*line 4/s },
  },
  // line endings
  ...(
    [
      ['CRLF line endings', 'crlf.csv', (t: string) => t.replace(/\n/g, '\r\n')],
      ['lone CR line endings', 'cr.csv', (t: string) => t.replace(/\n/g, '\r')],
      [
        'mixed line endings in one file',
        'mixed.csv',
        (t: string) =>
          t
            .split('\n')
            .map((l, i) => l + ['\n', '\r\n', '\r'][i % 3])
            .join('')
            .trimEnd() + '\n',
      ],
    ] as const
  ).map(([name, file, convert]): Case => ({
    name,
    key: `incoming/event_sessions/${file}`,
    bytes: () => convert(BASE),
    expect: {
      status: 'SUCCEEDED',
      rowsRead: 20,
      rowsRejected: 0,
      rowsOut: 20,
      // Same rows as the LF original: no stray \r glued to the last column or the next key.
      rows: (rows) => {
        const s = bySessionId(rows);
        expect(Object.keys(s).sort()).toEqual(
          BASE_LINES.slice(1)
            .map((l) => l.split(',')[0])
            .sort(),
        );
        expect(s['SES-000003']).toMatchObject({ room: 'Lab 1', title: 'Talk number 3', capacity: '35' });
        expect(String(s['SES-000020']!.starts_at)).toMatch(/^2024-09-10 /);
      },
    },
  })),
  // quoting
  {
    name: 'quoted field with embedded newline (LF and CRLF); embedded delimiter and quotes',
    key: 'incoming/event_sessions/quoted-fields.csv',
    bytes: () => fixture('event_sessions/quoted-fields.csv'),
    expect: {
      status: 'SUCCEEDED',
      rowsRead: 3,
      rowsRejected: 0,
      rowsOut: 3,
      rows: (rows) =>
        expect(Object.fromEntries(rows.map((r) => [r.session_id, r.title]))).toEqual({
          'SES-000101': 'Line one\nline two',
          'SES-000102': 'CRLF one\r\nCRLF two',
          'SES-000103': 'Commas, "quotes", and more',
        }),
    },
  },
  {
    name: 'unclosed quote',
    key: 'incoming/event_sessions/unclosed.csv',
    bytes: () => withLine(6, fieldsOf(6).with(3, '"Never closed').join(',')),
    expect: { status: 'REJECTED', reason: 'MALFORMED_CSV', message: /line 6.*never closed/s },
  },
  {
    name: '"a"b (text after a closing quote)',
    key: 'incoming/event_sessions/text-after-quote.csv',
    bytes: () => withLine(5, fieldsOf(5).with(3, '"a"b').join(',')),
    expect: { status: 'REJECTED', reason: 'MALFORMED_CSV', message: /line 5.*column "title"/s },
  },
  // row shape
  {
    name: 'short row and long row, never silently truncated',
    key: 'incoming/event_sessions/short-long.csv',
    bytes: () =>
      BASE_LINES.map((l, i) =>
        i === 4 ? l.split(',').slice(0, 6).join(',') : i === 9 ? `${l},extra,fields` : l,
      ).join('\n') + '\n',
    expect: {
      status: 'SUCCEEDED',
      rowsRead: 20,
      rowsRejected: 2,
      rowsOut: 18,
      rejects: [
        [5, 'SHORT_ROW'],
        [10, 'LONG_ROW'],
      ],
      // Neither row reached the lake padded or cut: their keys are simply absent.
      rows: (rows) => {
        const ids = rows.map((r) => r.session_id);
        expect(ids).not.toContain('SES-000004');
        expect(ids).not.toContain('SES-000009');
      },
    },
  },
  // headers
  {
    name: 'duplicate header names',
    key: 'incoming/event_sessions/dup-header.csv',
    bytes: () => withHeader(SESSIONS_HEADER.replace('speaker', 'title')),
    expect: { status: 'REJECTED', reason: 'HEADER_MISMATCH', message: /"title" appears twice/ },
  },
  {
    name: 'blank header name',
    key: 'incoming/event_sessions/blank-header.csv',
    bytes: () => withHeader(SESSIONS_HEADER.replace('room', '')),
    expect: { status: 'REJECTED', reason: 'HEADER_MISMATCH', message: /column 6 has a blank name/ },
  },
  {
    name: 'header named __proto__',
    key: 'incoming/event_sessions/proto-header.csv',
    bytes: () =>
      BASE_LINES.map((l, i) => `${l},${i === 0 ? '__proto__' : '"{""polluted"":true}"'}`).join('\n') + '\n',
    expect: { status: 'REJECTED', reason: 'HEADER_MISMATCH', message: /unknown column\(s\) "__proto__"/ },
  },
  {
    name: 'header named constructor',
    key: 'incoming/event_sessions/constructor-header.csv',
    bytes: () => withHeader(SESSIONS_HEADER.replace('speaker', 'constructor')),
    // The contract column it displaced is named; "constructor" is just an unknown name.
    expect: { status: 'REJECTED', reason: 'HEADER_MISMATCH', message: /missing column\(s\) "speaker"/ },
  },
  {
    name: 'headers in a different order than the contract (anyOrder contract)',
    key: 'incoming/event_sessions/reordered.csv',
    bytes: () => {
      // Swap two whole columns, header and values alike.
      const swap = (l: string) => {
        const f = l.split(',');
        [f[3], f[6]] = [f[6]!, f[3]!];
        return f.join(',');
      };
      return BASE_LINES.map(swap).join('\n') + '\n';
    },
    expect: {
      status: 'SUCCEEDED',
      rowsRead: 20,
      rowsRejected: 0,
      rowsOut: 20,
      rows: (rows) =>
        expect(bySessionId(rows)['SES-000007']).toMatchObject({ title: 'Talk number 7', capacity: '55' }),
    },
  },
  {
    name: 'headers in a different order than the contract (exact contract)',
    key: 'incoming/sponsor_payments/reordered.csv',
    bytes: () => {
      const lines = fixture('sponsor_payments/payments.csv').toString('utf8').trimEnd().split('\n');
      return lines.map((l) => l.replace(/^([^,]*),([^,]*),/, '$2,$1,')).join('\n') + '\n';
    },
    expect: {
      status: 'REJECTED',
      reason: 'HEADER_MISMATCH',
      message: /column 1 is "sponsor".*expects "payment_id"/s,
    },
  },
  {
    name: 'header with extra columns',
    key: 'incoming/event_sessions/extra-column.csv',
    bytes: () => BASE_LINES.map((l, i) => `${l},${i === 0 ? 'comment' : 'x'}`).join('\n') + '\n',
    expect: { status: 'REJECTED', reason: 'HEADER_MISMATCH', message: /unknown column\(s\) "comment"/ },
  },
  {
    name: 'header with missing columns',
    key: 'incoming/event_sessions/missing-column.csv',
    bytes: () => BASE_LINES.map((l) => l.split(',').slice(0, 7).join(',')).join('\n') + '\n',
    expect: { status: 'REJECTED', reason: 'HEADER_MISMATCH', message: /missing column\(s\) "starts_at"/ },
  },
  {
    name: 'header names differing only in case',
    key: 'incoming/event_sessions/case-header.csv',
    bytes: () => withHeader(SESSIONS_HEADER.replace('session_id', 'Session_ID')),
    expect: {
      status: 'REJECTED',
      reason: 'HEADER_MISMATCH',
      message: /column 1 is named "Session_ID".*rename it to exactly "session_id"/s,
    },
  },
  {
    name: 'header names differing only in surrounding spaces',
    key: 'incoming/event_sessions/spaced-header.csv',
    bytes: () => withHeader(SESSIONS_HEADER.replace('room', ' room ')),
    expect: { status: 'REJECTED', reason: 'HEADER_MISMATCH', message: /column 6 is named " room "/ },
  },
  // sizes
  {
    name: 'a 2 MiB field',
    key: 'incoming/event_sessions/big-field.csv',
    bytes: () =>
      withLine(
        12,
        fieldsOf(12)
          .with(3, 'x'.repeat(2 * 1024 * 1024))
          .join(','),
      ),
    expect: {
      // The contract caps titles at 200 characters: the row is rejected by name, the file is processed.
      status: 'SUCCEEDED',
      rowsRead: 20,
      rowsRejected: 1,
      rowsOut: 19,
      rejects: [[12, 'SCHEMA_VIOLATION', 'title']],
    },
  },
  {
    name: '10,000 columns',
    key: 'incoming/event_sessions/wide.csv',
    bytes: () => {
      const header = Array.from({ length: 10_000 }, (_, i) => `c${i}`).join(',');
      return `${header}\n${Array.from({ length: 10_000 }, () => '1').join(',')}\n`;
    },
    expect: { status: 'REJECTED', reason: 'HEADER_MISMATCH', message: /10000 columns/ },
  },
  {
    name: 'a single line of 50 MB with no newline',
    key: 'incoming/event_sessions/long-line.csv',
    bytes: () => Buffer.concat([Buffer.from(`${SESSIONS_HEADER}\n`), Buffer.alloc(50 * 1024 * 1024, 'a')]),
    expect: { status: 'REJECTED', reason: 'MALFORMED_CSV', message: /line 2 is longer than \d+ bytes/ },
  },
  // values
  {
    name: 'thousands separators, NaN, Infinity, 1e309, integers past 2^53 (row-level, 10% contract)',
    key: 'incoming/event_sessions/numbers.csv',
    bytes: () => fixture('event_sessions/numbers.csv'),
    expect: {
      status: 'SUCCEEDED',
      rowsRead: 60,
      rowsRejected: 5,
      rowsOut: 55,
      rejects: [
        [2, 'THOUSANDS_SEPARATOR', 'capacity'],
        [3, 'NOT_A_NUMBER', 'capacity'],
        [4, 'NOT_A_NUMBER', 'capacity'],
        [5, 'NOT_AN_INTEGER', 'capacity'],
        [6, 'SCHEMA_VIOLATION', 'capacity'],
      ],
    },
  },
  {
    name: 'a decimal comma and thousands separators (all-or-nothing contract)',
    key: 'incoming/sponsor_payments/decimal-comma.csv',
    bytes: () => fixture('sponsor_payments/decimal-comma.csv'),
    expect: {
      status: 'REJECTED',
      reason: 'TOO_MANY_BAD_ROWS',
      message: /decimal-comma\.csv.*2 of 3 rows.*line 2, column "amount"/s,
    },
  },
  {
    name: 'integers past 2^53 kept exactly (int64 column)',
    key: 'incoming/sponsor_payments/payments.csv',
    bytes: () => fixture('sponsor_payments/payments.csv'),
    expect: {
      status: 'SUCCEEDED',
      rowsRead: 5,
      rowsRejected: 0,
      rowsOut: 4,
      rows: (rows) =>
        expect(Object.fromEntries(rows.map((r) => [r.payment_id, r.bank_txn_id]))).toEqual({
          'PAY-00000001': '9007199254740993',
          'PAY-00000002': null,
          'PAY-00000003': '18446744073709551',
          'PAY-00000004': '9223372036854775807',
        }),
    },
  },
  {
    name: 'dates that do not exist, timestamps with and without zone, far past and far future',
    key: 'incoming/event_sessions/dates.csv',
    bytes: () => fixture('event_sessions/dates.csv'),
    expect: {
      status: 'SUCCEEDED',
      rowsRead: 30,
      rowsRejected: 2,
      rowsOut: 28,
      rejects: [
        [2, 'INVALID_DATE', 'session_date'],
        [7, 'NONEXISTENT_LOCAL_TIME', 'starts_at'],
      ],
      rows: (rows) => {
        const s = bySessionId(rows);
        expect(String(s['SES-000302']!.starts_at)).toBe('2024-09-12 04:30:00+00'); // +05:30 → UTC
        expect(String(s['SES-000303']!.starts_at)).toBe('2024-09-12 09:00:00+00'); // Berlin CEST → UTC
        expect(s['SES-000304']).toMatchObject({ session_date: '0001-01-01' });
        expect(s['SES-000305']).toMatchObject({ session_date: '9999-12-31' });
        expect(String(s['SES-000305']!.starts_at)).toMatch(/^9999-12-31 23:59:59\.999999/);
      },
    },
  },
  {
    name: 'cells beginning with =, +, -, @, tab or CR (formula injection)',
    key: 'incoming/event_sessions/formula-cells.csv',
    bytes: () => fixture('event_sessions/formula-cells.csv'),
    expect: {
      status: 'SUCCEEDED',
      rowsRead: 7,
      rowsRejected: 0,
      rowsOut: 7,
      rows: (rows) =>
        expect(rows.map((r) => r.title).sort()).toEqual(
          ['=1+2', '+49 30 1234', '-minus', '@SUM(A1)', '\tTAB', '\rCR', 'plain title'].sort(),
        ),
    },
  },
  // not CSV at all
  {
    name: 'a gzip file named .csv',
    key: 'incoming/event_sessions/gzipped.csv',
    bytes: () => gzipSync(BASE),
    expect: { status: 'REJECTED', reason: 'BINARY_CONTENT', message: /gzip.*decompress/s },
  },
  {
    name: 'a Parquet file named .csv',
    key: 'incoming/event_sessions/parquet.csv',
    bytes: () => parquetBytes,
    expect: { status: 'REJECTED', reason: 'BINARY_CONTENT', message: /Parquet/ },
  },
  {
    name: 'a binary file named .csv',
    key: 'incoming/event_sessions/noise.csv',
    bytes: () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)),
    expect: { status: 'REJECTED', reason: 'BINARY_CONTENT', message: /noise\.csv/ },
  },
  {
    name: 'the same rows twice in one file (duplicate primary keys)',
    key: 'incoming/event_sessions/duplicate-keys.csv',
    bytes: () => fixture('event_sessions/duplicate-keys.csv'),
    expect: {
      status: 'SUCCEEDED',
      rowsRead: 5,
      rowsRejected: 0,
      rowsOut: 3,
      rows: (rows) => {
        expect(rows.map((r) => r.session_id).sort()).toEqual(['SES-000501', 'SES-000502', 'SES-000503']);
        // The contract's dedupe order: the latest start wins.
        expect(String(bySessionId(rows)['SES-000503']!.starts_at)).toBe('2024-09-12 15:00:00+00');
      },
    },
  },
];

const ok = (rows = 20): Expect => ({ status: 'SUCCEEDED', rowsRead: rows, rowsRejected: 0, rowsOut: rows });
const keyNotAllowed = (message: RegExp): Expect => ({
  status: 'REJECTED',
  reason: 'KEY_NOT_ALLOWED',
  message,
});

const KEY_CASES: readonly Case[] = [
  ...(
    [
      ['a key with spaces', 'incoming/event_sessions/red flower.csv'],
      ['a key with +', 'incoming/event_sessions/a+b.csv'],
      ['a key with %2F', 'incoming/event_sessions/a%2Fb.csv'],
      ['a key with : and =', 'incoming/event_sessions/at=2024-09-12T10:00.csv'],
      ['a key with unicode', 'incoming/event_sessions/Zoë_Übersicht.csv'],
      ['a key with emoji', 'incoming/event_sessions/🎉 party.csv'],
      [
        'a 1024-byte key',
        `incoming/event_sessions/${'k'.repeat(1024 - 'incoming/event_sessions/'.length - 4)}.csv`,
      ],
    ] as const
  ).map(([name, key]): Case => ({ name, key, bytes: () => BASE, expect: ok() })),
  ...(
    [
      ["a key with '", "incoming/event_sessions/o'brien.csv", /character "'"/],
      ['a key with ;', 'incoming/event_sessions/a;DROP TABLE event_sessions.csv', /character ";"/],
      ['a key with --', 'incoming/event_sessions/a--b.csv', /"--"/],
      ['a key with ../', 'incoming/event_sessions/../../../etc/passwd.csv', /"\.\." segment/],
      ['a key with \\', 'incoming/event_sessions/..\\..\\x.csv', /character "\\\\"/],
      [
        'a key with control characters',
        'incoming/event_sessions/bell\u0007\nnewline.csv',
        /control characters/,
      ],
      ['a "folder" marker key ending in /', 'incoming/event_sessions/folder/', /folder marker/],
      ['a key outside incoming/', 'uploads/event_sessions/a.csv', /outside incoming\//],
    ] as const
  ).map(([name, key, message]): Case => ({ name, key, bytes: () => BASE, expect: keyNotAllowed(message) })),
  {
    name: 'a key for a dataset with no contract',
    key: 'incoming/no_such_dataset/a.csv',
    bytes: () => BASE,
    expect: {
      status: 'REJECTED',
      reason: 'UNKNOWN_DATASET',
      message: /no contract for dataset "no_such_dataset"/,
    },
  },
];

const CASES = [...FILE_CASES, ...KEY_CASES];

interface Outcome {
  readonly landed: Landed;
  readonly record: RunRecord;
}

const home = new ReliabilityHome('etl-bad-inputs-');
const outcomes = new Map<string, Outcome>();

beforeAll(async () => {
  const out = path.join(home.root, 'made.parquet');
  // `etl query` (home.query) is read-only, so the Parquet file is written with DuckDB directly.
  const duck = await DuckDBInstance.create(':memory:');
  const connection = await duck.connect();
  try {
    await connection.run(
      `COPY (SELECT 'SES-000001' AS session_id, 42 AS capacity) TO '${out.replace(/'/g, "''")}' (FORMAT parquet)`,
    );
  } finally {
    connection.closeSync();
    duck.closeSync();
  }
  parquetBytes = readFileSync(out);
  expect(parquetBytes.subarray(0, 4).toString()).toBe('PAR1');

  // Land everything first: a put racing another run's Archive of the last object in the same
  // landing folder fails (GAP-5, see hostile-keys.test.ts), which is not what this suite is about.
  const landed = new Map<string, Landed>();
  for (const c of CASES) landed.set(c.name, await home.land(c.key, c.bytes()));
  await inBatches(CASES, 3, async (c) => {
    const record = await home.run(landed.get(c.name)!.event);
    outcomes.set(c.name, { landed: landed.get(c.name)!, record });
  });
}, 300_000);
afterAll(() => home.dispose());

const datasetOf = (key: string) => /^incoming\/([^/]+)\//.exec(key)?.[1] ?? '';

describe.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
  test('outcome as documented, original kept byte for byte, no partial output', async () => {
    const { landed, record } = outcomes.get(c.name)!;
    const dataset = datasetOf(c.key);

    if (c.expect.status === 'REJECTED') {
      expect({
        status: record.displayStatus,
        endState: record.endState,
        reason: record.rejection?.reason,
      }).toEqual({
        status: 'REJECTED',
        endState: 'FileRejected',
        reason: c.expect.reason,
      });
      expect(record.rejection!.message).toMatch(c.expect.message);
      // The original is in quarantine, byte for byte, and nothing of it reached the table.
      expect(home.originalLocations(record, landed)).toContain(record.outputs.quarantine);
      expect(record.outputs.quarantine).toContain(`${path.sep}quarantine${path.sep}`);
      if (dataset) expect(home.outputsOfKey(dataset, c.key)).toEqual([]);
      return;
    }

    const e = c.expect;
    expect({ status: record.displayStatus, endState: record.endState, error: record.error }).toEqual({
      status: 'SUCCEEDED',
      endState: 'Succeeded',
      error: undefined,
    });
    expect(record.counts).toMatchObject({
      rowsRead: e.rowsRead,
      rowsRejected: e.rowsRejected,
      rowsWritten: e.rowsOut,
    });
    expect(home.originalLocations(record, landed)).toEqual([record.outputs.archive]);
    // Exactly this file's rows are visible, under names built from its safe id only.
    const rows = await home.rowsOfKey(dataset, c.key);
    expect(rows).toHaveLength(e.rowsOut);
    for (const k of home.outputsOfKey(dataset, c.key))
      expect(k).toMatch(
        /^(curated\/[a-z_]+\/[a-z_]+=\d{4}-\d{2}-\d{2}\/|manifests\/[a-z_]+\/)[a-z0-9-]+-[0-9a-f]{12}\.(snappy\.parquet|json)$/,
      );
    if (e.rejects) {
      const lines = readFileSync(record.outputs.rejects!, 'utf8').trim().split('\n');
      const rejects = lines.map((l) => JSON.parse(l) as { line: number; reason: string; column?: string });
      expect(rejects.map((r) => [r.line, r.reason])).toEqual(e.rejects.map((r) => [r[0], r[1]]));
      e.rejects.forEach(([, , column], i) => column && expect(rejects[i]!.column).toBe(column));
    }
    e.rows?.(rows);
  });
});

test('no header or cell value polluted Object.prototype', () => {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(outcomes.get('header named __proto__')!.record.displayStatus).toBe('REJECTED');
});

test('every REJECTED run announced itself once in the outbox, with its reason in the subject', async () => {
  const notices = await new LocalNotifier({ outboxFile: home.home.outboxFile }).read();
  const rejected = [...outcomes.values()].filter((o) => o.record.displayStatus === 'REJECTED');
  expect(rejected.length).toBeGreaterThan(20);
  for (const { record } of rejected) {
    const mine = notices.filter((n) => n.message.includes(record.runId));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      subject: `serverless-etl REJECTED: ${record.rejection!.reason}`,
      attributes: { status: 'REJECTED', reason: record.rejection!.reason },
    });
  }
});

test('every notice in the outbox is valid JSON equal to the notice of its run, even when the message or key holds a quote, backslash or control character', async () => {
  // Archive and Quarantine return the notice as JSON text (noticeText) and Notify/NotifyRejected
  // publish it as is: no States.JsonToString, whose local implementation (aws-local-stepfunctions
  // 3.0.0) strips every backslash. Was GAP-1, see docs/reliability.md.
  const notices = await new LocalNotifier({ outboxFile: home.home.outboxFile }).read();
  const url = (l: { bucket: string; key: string }) => `s3://${l.bucket}/${l.key}`;
  let rejected = 0;
  let succeeded = 0;
  for (const { landed, record } of outcomes.values()) {
    const mine = notices.filter((n) => n.message.includes(record.runId));
    expect({ runId: record.runId, notices: mine.length }).toEqual({ runId: record.runId, notices: 1 });
    const published = JSON.parse(mine[0]!.message) as Record<string, unknown>;
    const file = {
      bucket: home.home.landingBucket,
      key: landed.key,
      ...(landed.info.versionId !== undefined && { versionId: landed.info.versionId }),
    };
    if (record.displayStatus === 'REJECTED') {
      rejected++;
      // reason.json is written by the same step from the same values.
      const reason = JSON.parse(readFileSync(record.outputs.reasonFile!, 'utf8')) as {
        fix: string;
        quarantined: { bucket: string; key: string };
      };
      const reasonFile = {
        bucket: reason.quarantined.bucket,
        key: `${reason.quarantined.key.slice(0, reason.quarantined.key.lastIndexOf('/') + 1)}reason.json`,
      };
      expect(published).toEqual({
        status: 'REJECTED',
        runId: record.runId,
        reason: record.rejection!.reason,
        message: record.rejection!.message,
        file,
        quarantined: url(reason.quarantined),
        reasonFile: url(reasonFile),
        fix: reason.fix,
      });
    } else {
      succeeded++;
      expect(published).toMatchObject({
        status: 'SUCCEEDED',
        runId: record.runId,
        dataset: record.dataset,
        file,
        counts: { rowsRead: record.counts.rowsRead, rowsOut: record.counts.rowsWritten },
      });
    }
  }
  expect({ rejected: rejected > 20, succeeded: succeeded > 10 }).toEqual({ rejected: true, succeeded: true });
  // The cases that broke the local message: a quoted key in the message, a backslash, control characters.
  const byName = (name: string) => {
    const { record } = outcomes.get(name)!;
    return JSON.parse(notices.find((n) => n.message.includes(record.runId))!.message) as {
      message: string;
      file: { key: string };
    };
  };
  expect(byName('0-byte file').message).toContain('"incoming/event_sessions/empty.csv"');
  expect(byName('a key with \\').file.key).toBe('incoming/event_sessions/..\\..\\x.csv');
  expect(byName('a key with control characters').file.key).toBe(
    outcomes.get('a key with control characters')!.landed.key,
  );
});

test('etl query sees exactly the rows of the processed files, per dataset (nothing partial, nothing extra)', async () => {
  const expected = new Map<string, number>();
  for (const { record } of outcomes.values()) {
    if (record.displayStatus !== 'SUCCEEDED') continue;
    expected.set(record.dataset!, (expected.get(record.dataset!) ?? 0) + record.counts.rowsWritten!);
  }
  expect([...expected.keys()].sort()).toEqual(['event_sessions', 'sponsor_payments']);
  for (const [dataset, rows] of expected) {
    const [{ n }] = await home.query<{ n: string }>(`SELECT count(*) AS n FROM ${dataset}`);
    expect(Number(n)).toBe(rows);
  }
  // And no source id outside the processed files owns an object.
  const owners = new Set(home.curatedObjects().map((k) => k.slice(k.lastIndexOf('/') + 1)));
  const processed = new Set(
    [...outcomes.values()]
      .filter((o) => o.record.displayStatus === 'SUCCEEDED')
      .map((o) => `${sourceIdOf(o.landed.key)}.snappy.parquet`),
  );
  expect([...owners].sort()).toEqual([...processed].sort());
});
