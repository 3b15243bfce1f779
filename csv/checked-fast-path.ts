/**
 * The validate step's checked fast path: "JavaScript checks the bytes, DuckDB only converts".
 *
 * One JavaScript pass over the local file (after the {@link ByteInspector}: binary, BOM, NUL,
 * UTF-8) splits each record into fields where they lie in the bytes — no strings — and runs the
 * contract's per-column byte checks (byte-checks.ts) on them:
 *  - a record of the header's width whose every cell passes is copied, bytes as they are, into
 *    the current chunk file, after its line number as one more first field;
 *  - every other record (a cell a check cannot vouch for, a doubled quote, another field count)
 *    is split by the usual path's splitter and goes, in line order, through the same
 *    {@link RecordValidator} as on the usual path: the same row errors, messages, lines, formula
 *    cells and counts. The rows it accepts after all are staged with its canonical values.
 * Once a chunk file holds about `chunkBytes`, DuckDB turns it into a Parquet staging part on its
 * threads (one statement: read every field as text, CAST each to its staging type, `_line` from
 * the first field) while this thread checks the next bytes. DuckDB never decides a row: its
 * row count must equal the records copied, and a cast it refuses fails the statement.
 *
 * Compared with the SQL fast path (sql-validate.ts, still used when a contract has a rule the byte
 * checks lack): no table of every row, no predicate pass, no line index or order samples (the line
 * travels with the row), one DuckDB statement per chunk.
 *
 * Whatever does not add up — a record the splitter would leave to csv-parse, a blank line, a quote
 * inside an unquoted field, a DuckDB error or a row count that differs — makes it decline: the
 * caller deletes what was written and validates the file the usual way from its first byte.
 */
import { closeSync, createReadStream, openSync, writeSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { FileRejectedError } from '../core/errors';
import { LINE_COLUMN } from '../core/plan';
import {
  CELL_NON_ASCII,
  CELL_QUOTED,
  cellChecksOf,
  formulaAt,
  jsonLengthsFor,
  POW10,
  type CellCheck,
  type ColumnProgram,
  type JsonLength,
} from './byte-checks';
import { csvStagingSelectSql } from '../core/staging';
import { QUOTED_EMPTY, type Cell } from './csv-records';
import { ByteInspector, UnreadableBytesError } from './inspect-bytes';
import { RecordValidator } from './record-validator';
import {
  cellsOf,
  DeclineFastPathError,
  JsonLinesFile,
  openPassDuckdb,
  ParquetStaging,
  checkHeaderRecord,
  stageCheckedRowsOn,
  type FastValidateInput,
  type FastValidateResult,
} from './sql-validate';
import { sqlString } from './sql-checks';
import { KernelScanner, kernelUnsupported } from './scan-kernel';
import { ScanProgress, type OnFailingRecord } from './scan-progress';

const LF = 10;
const CR = 13;
const EMPTY = Buffer.alloc(0);
/** "00" to "99" as ASCII bytes, two per number. */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, k) =>
  k % 2 === 0 ? 48 + Math.floor(k / 20) : 48 + ((k >> 1) % 10),
);
/**
 * Byte classes outside quotes: ordinary, above ASCII, JSON-escaped (controls, backslash), and the
 * ones that end or open a field.
 */
const NORMAL = 0;
/** HIGH and ESCAPED are the bits 1 and 2: the loop over an unquoted field adds `c >> 1` escapes. */
const HIGH = 1;
const ESCAPED = 2;
const SPECIAL = 3;

/** Most fields a record may have before the byte checks give it to the JavaScript checker. */
const MAX_FIELDS = 4096;

/** Decimal digits of a positive whole number below 10^15. */
const digitsOf = (v: number): number => {
  let d = 1;
  while (v >= POW10[d]!) d++;
  return d;
};

/** One record that goes to the JavaScript checker: its cells (or bytes, no line end) and first line. */
interface Failing {
  readonly cells: Cell[] | undefined;
  readonly bytes: Buffer | undefined;
  readonly start: number;
  readonly line: number;
  /** The columns that failed (OnFailingRecord), or 0. */
  readonly failing: number;
}

/** A record's cells: where each field starts and ends in the buffer, its flags, doubled quotes, escapes. */
type Fields = Int32Array;
/** All the byte checks of one record: -1 when one fails, else how many text cells look like formulas. */
type RecordCheck = (buf: Buffer, starts: Fields, ends: Fields, flags: Uint8Array, pairs: Fields) => number;
/** The JSON Lines bytes of a good record's values. */
type RecordJson = (buf: Buffer, starts: Fields, ends: Fields, flags: Uint8Array, escapes: Fields) => number;

/**
 * The per-column checks and JSON lengths of a contract as ONE function each, generated with a
 * direct call per column (a loop over an array of closures calls through one megamorphic site,
 * which V8 cannot inline; here each site sees one function). Only column and field numbers go
 * into the generated text; the functions are passed in.
 * @internal exported for its tests
 */
export function compileRecordChecks(
  checks: readonly CellCheck[],
  jsonLengths: readonly JsonLength[],
  sourceIndex: readonly number[],
  isText: Uint8Array,
): { check: RecordCheck; json: RecordJson } {
  const cols = checks.map((_, c) => c);
  for (const f of sourceIndex) if (!Number.isSafeInteger(f) || f < 0) throw new Error(`field ${f}`);
  const field = (c: number) => `starts[${sourceIndex[c]}], ends[${sourceIndex[c]}]`;
  const checkBody = [
    'let formulas = 0;',
    ...cols.map(
      (c) =>
        `if (!check${c}(buf, ${field(c)}, flags[${sourceIndex[c]}], pairs[${sourceIndex[c]}])) return -1;` +
        (isText[c] === 1 ? ` if (formulaAt(buf, ${field(c)})) formulas++;` : ''),
    ),
    'return formulas;',
  ].join('\n');
  const jsonBody = `return ${cols.map((c) => `json${c}(buf, ${field(c)}, flags[${sourceIndex[c]}], escapes[${sourceIndex[c]}])`).join(' + ') || '0'};`;
  const names = [...cols.map((c) => `check${c}`), ...cols.map((c) => `json${c}`), 'formulaAt'];
  // Generated from numbers only (above): no contract text reaches the code.
  const make = new Function(
    ...names,
    `return [function (buf, starts, ends, flags, pairs) {\n${checkBody}\n}, function (buf, starts, ends, flags, escapes) {\n${jsonBody}\n}];`,
  ) as (...fns: unknown[]) => [RecordCheck, RecordJson];
  const [check, json] = make(...checks, ...jsonLengths, formulaAt);
  return { check, json };
}

/**
 * Where the formula-looking text cells of good records go (the report's count and samples;
 * the RowChecker): while its samples are not all taken, a record holding one is checked by
 * JavaScript, which samples it in line order; after that the scanner only counts them
 * ({@link CheckedScanner.formulaCells}), and the caller adds its count to the checker's.
 */
export interface FormulaCells {
  readonly formulaSamplesFull: boolean;
}

/**
 * Splits records and fields over the bytes as the usual path's splitter does (RFC 4180 with the
 * contract's delimiter and quote, the quote doubled inside quotes; LF or CRLF line ends, line breaks
 * inside quotes counted as the JavaScript readers count them), checks the good ones and copies them.
 * Feed it whole buffers; it consumes complete records only and returns where the first incomplete
 * one starts (the caller carries those bytes over to the next buffer).
 * @internal exported for its tests
 */
export class CheckedScanner extends ScanProgress {
  private readonly cls = new Uint8Array(256);
  private readonly quote: number;
  private readonly quoteChar: string;
  private readonly doubledQuote: string;
  private readonly delimiter: number;
  private readonly starts = new Int32Array(MAX_FIELDS);
  private readonly ends = new Int32Array(MAX_FIELDS);
  private readonly flags = new Uint8Array(MAX_FIELDS);
  private readonly pairs = new Int32Array(MAX_FIELDS);
  private readonly escapes = new Int32Array(MAX_FIELDS);
  private readonly record: ReturnType<typeof compileRecordChecks>;

  constructor(
    dialect: { readonly delimiter: string; readonly quote: string },
    checks: readonly CellCheck[],
    /** Per contract column, its field in the record. */
    sourceIndex: readonly number[],
    private readonly maxRecordBytes: number,
    jsonLengths: readonly JsonLength[],
    /** JSON Lines bytes of a staged row besides its values: keys, punctuation, `_line` key. */
    private readonly jsonPerRow: number,
    /** Per contract column, 1 for text (its cells may look like formulas). */
    isText: Uint8Array,
    private readonly formulas: FormulaCells,
    /** A good record [start, end) (no line end) on line `line`; `json`: its bytes as JSON Lines staging. */
    private readonly onGood: (buf: Buffer, start: number, end: number, line: number, json: number) => void,
    /** A record for the JavaScript checker ({@link cells} reads its fields until the next record). */
    private readonly onFailing: OnFailingRecord,
  ) {
    super();
    this.record = compileRecordChecks(checks, jsonLengths, sourceIndex, isText);
    this.quote = dialect.quote.charCodeAt(0);
    this.quoteChar = dialect.quote;
    this.doubledQuote = dialect.quote + dialect.quote;
    this.delimiter = dialect.delimiter.charCodeAt(0);
    for (let b = 0x80; b < 256; b++) this.cls[b] = HIGH;
    for (let b = 0; b < 0x20; b++) this.cls[b] = ESCAPED;
    this.cls[92] = ESCAPED;
    for (const b of [this.delimiter, this.quote, LF, CR]) this.cls[b] = SPECIAL;
  }

  private decline(why: string, line: number): number {
    this.declined ??= `${why} (line ${line})`;
    return -1;
  }

  /**
   * The cells of the record just split (call it from `onFailing`: the next record overwrites them),
   * as the usual path's splitter gives them — text decoded per field, a quoted field's doubled
   * quotes made single, `""` the QUOTED_EMPTY mark — with no second split of its bytes; undefined
   * for a record of more than MAX_FIELDS fields (the caller splits those).
   */
  cells(buf: Buffer, fields: number): Cell[] | undefined {
    if (fields > MAX_FIELDS) return undefined;
    const { starts, ends, flags, pairs } = this;
    // Pushed, not `new Array(fields)`: a packed array, as the splitter's, so the checker's reads of
    // cells see one kind of array whichever reader split the record.
    const cells: Cell[] = [];
    for (let f = 0; f < fields; f++) {
      const start = starts[f]!;
      const end = ends[f]!;
      if ((flags[f]! & CELL_QUOTED) === 0) cells.push(buf.toString('utf8', start, end));
      else if (start === end) cells.push(QUOTED_EMPTY);
      else {
        const text = buf.toString('utf8', start, end);
        cells.push(pairs[f]! > 0 ? text.replaceAll(this.doubledQuote, this.quoteChar) : text);
      }
    }
    return cells;
  }

  /**
   * Consumes the complete records of `buf` (all of them when `final`); returns the offset of the
   * first record not complete, or -1 once declined. Copies `buf` once to end it with the sentinel
   * {@link scanEnded} needs; the byte pass gives its blocks to that directly.
   */
  scan(buf: Buffer, final: boolean): number {
    const ended = Buffer.allocUnsafe(buf.length + 1);
    buf.copy(ended, 0);
    ended[buf.length] = LF;
    return this.scanEnded(ended, final);
  }

  /**
   * {@link scan} of the bytes of `buf` but its last, which must be a line feed that is not part of
   * the input: a sentinel, so that the loop over an unquoted field's bytes stops at the end of the
   * buffer without testing for it at every byte.
   */
  scanEnded(buf: Buffer, final: boolean): number {
    const { cls, quote, delimiter, starts, ends, flags, pairs, escapes } = this;
    const checkRecord = this.record.check;
    const jsonOf = this.record.json;
    const n = buf.length - 1;
    if (buf[n] !== LF) throw new Error('scanEnded: the buffer must end with a sentinel line feed');
    let i = 0;
    while (i < n) {
      const recordStart = i;
      let line = this.line;
      let fields = 0;
      let end: number;
      let next: number;
      for (;;) {
        let start: number;
        let stop: number;
        let flag = 0;
        let doubled = 0;
        let escaped = 0;
        if (buf[i] === quote) {
          flag = CELL_QUOTED;
          start = ++i;
          for (;;) {
            const q = buf.indexOf(quote, i);
            if (q === -1) {
              if (!final) return recordStart;
              return this.decline('a quoted field left open at the end', this.line);
            }
            for (let j = i; j < q; j++) {
              const x = buf[j]!;
              if (x < 0x20 || x === 92) {
                escaped++;
                if (x === LF) {
                  if (j === 0 || buf[j - 1] !== CR) line++;
                } else if (x === CR) line++;
              } else if (x >= 0x80) flag |= CELL_NON_ASCII;
            }
            if (q + 1 === n && !final) return recordStart;
            if (buf[q + 1] === quote) {
              doubled++;
              i = q + 2;
              continue;
            }
            stop = q;
            i = q + 1;
            break;
          }
          if (i < n) {
            const x = buf[i]!;
            if (x !== delimiter && x !== LF && x !== CR)
              return this.decline('text after a closing quote', line);
          }
        } else {
          start = i;
          // Stops at a delimiter, quote or line end: at the latest the sentinel at n.
          let c = cls[buf[i]!]!;
          for (;;) {
            while (c === NORMAL) c = cls[buf[++i]!]!;
            if (c === SPECIAL) break;
            // HIGH or ESCAPED, without a branch: an operation first reached after the loop was
            // optimised (the first backslash of a file, say) throws the optimised code away.
            flag |= (c & HIGH) * CELL_NON_ASCII;
            escaped += c >> 1;
            c = cls[buf[++i]!]!;
          }
          if (i < n && buf[i] === quote) return this.decline('a quote inside an unquoted field', line);
          stop = i;
        }
        if (fields < MAX_FIELDS) {
          starts[fields] = start;
          ends[fields] = stop;
          flags[fields] = flag;
          pairs[fields] = doubled;
          escapes[fields] = escaped;
        }
        fields++;
        if (i === n) {
          if (!final) return recordStart;
          end = next = n;
          break;
        }
        const c = buf[i]!;
        if (c === delimiter) {
          i++;
          continue;
        }
        if (c === LF) {
          end = i;
          next = i + 1;
          break;
        }
        // CR: only as CRLF (the byte after the last is the sentinel, not the input's)
        if (i + 1 === n && !final) return recordStart;
        if (i + 1 === n || buf[i + 1] !== LF) return this.decline('a line ending in CR alone', line);
        end = i;
        next = i + 2;
        break;
      }
      if (fields === 1 && ends[0] === starts[0] && flags[0] === 0 && end !== n)
        return this.decline('a blank line', this.line);
      if (end - recordStart > this.maxRecordBytes)
        return this.decline(`a record longer than ${this.maxRecordBytes} bytes`, this.line);
      const first = this.line;
      this.line = line + (end === n && next === n ? 0 : 1);
      i = next;
      if (this.width < 0) {
        // The header (checked by the caller): its width, and it must be one line.
        if (line !== first) return this.decline('a header spanning several lines', first);
        this.width = fields;
        continue;
      }
      this.records++;
      const formulas = fields === this.width ? checkRecord(buf, starts, ends, flags, pairs) : -1;
      if (formulas >= 0) {
        if (formulas > 0) {
          // Sampled by the JavaScript checker, in line order, until the samples are all taken.
          if (!this.formulas.formulaSamplesFull) {
            this.onFailing(buf, recordStart, end, first, fields, 0);
            continue;
          }
        }
        // Counted on every good record (mostly + 0): an operation first reached once the loop is
        // optimised (the samples full) would throw its optimised code away.
        this.formulaCells += formulas;
        this.good++;
        const json = this.jsonPerRow + jsonOf(buf, starts, ends, flags, escapes) + digitsOf(first);
        this.onGood(buf, recordStart, end, first, json);
      } else this.onFailing(buf, recordStart, end, first, fields, 0);
    }
    return n;
  }
}

/** Good records with their line as a first field, written to chunk files of about `chunkBytes`. */
class ChunkWriter {
  private out = Buffer.allocUnsafe(1024 * 1024);
  private used = 0;
  /** The open chunk file's descriptor, -1 when none is (a number either way: one field shape). */
  private fd = -1;
  private n = 0;
  /** The open chunk: its file, records and bytes. */
  file = '';
  rows = 0;
  bytes = 0;
  /** JSON Lines bytes of the chunk's rows as staging. */
  json = 0;
  /** The longest line written to the chunk (line number, delimiter and line end included). */
  longest = 0;

  constructor(
    private readonly workDir: string,
    private readonly delimiter: number,
  ) {}

  /** Good records the scan kernel wrote as chunk-file bytes (`line,record\n` each), and their counts. */
  addOutput(bytes: Buffer, rows: number, chunkBytes: number, json: number, longest: number): void {
    if (this.fd === -1) this.makeRoom(0);
    this.flush();
    writeSync(this.fd, bytes, 0, bytes.length);
    this.rows += rows;
    this.bytes += chunkBytes;
    this.json += json;
    if (longest > this.longest) this.longest = longest;
  }

  add(buf: Buffer, start: number, end: number, line: number, json: number): void {
    const need = end - start + 24;
    // One call for the rare cases (a full buffer, a new chunk file), reached by the first record:
    // its code is optimised with them, not thrown away at the first flush.
    if (this.used + need > this.out.length || this.fd === -1) this.makeRoom(need);
    const out = this.out;
    let at = this.used + digitsOf(line);
    const digitsEnd = at;
    // Two digits a step (lines stay below 2^31: the step takes no file that long).
    let v = line;
    while (v >= 100) {
      const q = (v / 100) | 0;
      const r = (v - q * 100) << 1;
      out[--at] = DIGIT_PAIRS[r + 1]!;
      out[--at] = DIGIT_PAIRS[r]!;
      v = q;
    }
    if (v >= 10) {
      out[at - 1] = DIGIT_PAIRS[(v << 1) + 1]!;
      out[at - 2] = DIGIT_PAIRS[v << 1]!;
    } else out[at - 1] = 48 + v;
    let used = digitsEnd;
    out[used++] = this.delimiter;
    used += buf.copy(out, used, start, end);
    out[used++] = LF;
    this.used = used;
    this.rows++;
    this.bytes += need;
    this.json += json;
    if (need > this.longest) this.longest = need;
  }

  /** Room for `need` bytes in the buffer, and a chunk file open. */
  private makeRoom(need: number): void {
    if (this.used + need > this.out.length) {
      this.flush();
      if (need > this.out.length) this.out = Buffer.allocUnsafe(need * 2);
    }
    if (this.fd === -1) {
      this.file = path.join(this.workDir, `checked-${this.n}.csv`);
      this.fd = openSync(this.file, 'w');
    }
  }

  private flush(): void {
    if (this.used === 0 || this.fd === -1) return;
    writeSync(this.fd, this.out, 0, this.used);
    this.used = 0;
  }

  /** Closes the open chunk; undefined when it holds no record. */
  close(): { n: number; file: string; rows: number; json: number; longest: number } | undefined {
    if (this.fd === -1) return undefined;
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
    const chunk = { n: this.n++, file: this.file, rows: this.rows, json: this.json, longest: this.longest };
    this.rows = this.bytes = this.json = this.longest = 0;
    return chunk;
  }
}

/**
 * Bytes of good records per chunk file. Smaller than the SQL path's chunks: DuckDB only converts
 * here, so a chunk costs it little, and the last chunk's conversion is all that runs after the
 * byte pass ends.
 */
export const CHECKED_CHUNK_BYTES = 8 * 1024 * 1024;

/** Bytes of the first chunk: DuckDB waits for it, cold, with nothing else to do. */
const FIRST_CHUNK_BYTES = 2 * 1024 * 1024;

/** Chunks cut and not yet converted before the read waits. */
const CHUNKS_AHEAD = 2;

/**
 * Validates a local CSV file with the byte checks and DuckDB's conversion (module comment).
 * @throws DeclineFastPathError when the file must be read the usual way (nothing usable written)
 */
export async function validateChecked(
  input: FastValidateInput,
  programs: readonly ColumnProgram[],
): Promise<FastValidateResult> {
  const { file, compiled, limits, workDir } = input;
  const jsStaged = new JsonLinesFile(path.join(workDir, 'checked-rows.jsonl'));
  const validator = new RecordValidator(compiled, input.key, limits, jsStaged, input.openRejects);
  try {
    const fd = openSync(file, 'r');
    try {
      checkHeaderRecord(fd, validator, compiled, limits);
    } finally {
      closeSync(fd);
    }
    return await validateBody(input, programs, validator, jsStaged);
  } catch (e) {
    await validator.rejects?.abort();
    throw e;
  } finally {
    jsStaged.close();
  }
}

async function validateBody(
  input: FastValidateInput,
  programs: readonly ColumnProgram[],
  validator: RecordValidator,
  jsStaged: JsonLinesFile,
): Promise<FastValidateResult> {
  const { file, compiled, limits, workDir } = input;
  const { contract } = compiled;
  const header = validator.header!;
  const chunkBytes = input.chunkBytes ?? CHECKED_CHUNK_BYTES;
  // One DuckDB thread beside this thread's byte pass: two DuckDB threads took CPU from the byte pass
  // (100 MB bench file, measured when the byte pass was the slower side: the whole pass 1.62–1.65 s
  // with one, 1.82–1.91 s with two). The instance opens on DuckDB's side while the pass starts.
  // CSV staging (one core; both engines read it): the chunk files are the staging parts, and DuckDB
  // is never opened here.
  const csvStaging = input.csvStaging === true;
  const duck = csvStaging
    ? undefined
    : openPassDuckdb(input, 1).then(async (d) => {
        await d.connection.run(`SET TimeZone = 'UTC'`);
        return d;
      });
  // Awaited by the first conversion and at the end; this keeps an early failure from going unhandled.
  duck?.catch(() => undefined);
  const pool = duck && new ConnectionPool(duck.then((d) => d.connection));
  let chunksCut = 0;
  let longestLine = 0;
  const staging = new ParquetStaging(input.store, input.bucket, input.stagingPrefix, input.onDone);
  const inspector = new ByteInspector();
  const writer = new ChunkWriter(workDir, contract.csv.delimiter.charCodeAt(0));
  let failing: Failing[] = [];
  const onFailing: OnFailingRecord = (buf, start, end, line, fields, failingColumns) => {
    const cells =
      scanner instanceof KernelScanner ? scanner.cells(buf, fields, start, end) : scanner.cells(buf, fields);
    failing.push({
      cells,
      bytes: cells ? undefined : Buffer.from(buf.subarray(start, end)),
      start,
      line,
      failing: failingColumns,
    });
  };
  // {"name":…,…,"_line":N}\n less the values and N's digits
  const jsonPerRow =
    contract.columns.reduce((n, c) => n + JSON.stringify(c.name).length + 2, 0) +
    JSON.stringify(LINE_COLUMN).length +
    4;
  // The scan kernel (scan-kernel.ts) where the contract's rules all have its byte forms; the
  // JavaScript scanner (its checks compiled only then) otherwise, or when ETL_SCAN_KERNEL=0 (for
  // comparing the two).
  const scanner: CheckedScanner | KernelScanner =
    process.env.ETL_SCAN_KERNEL !== '0' && kernelUnsupported(programs) === undefined
      ? new KernelScanner(
          contract.csv,
          programs,
          header.sourceIndex,
          limits.maxRecordBytes,
          jsonPerRow,
          validator.checker!,
          (bytes, rows, chunkBytes, json, longest) =>
            writer.addOutput(bytes, rows, chunkBytes, json, longest),
          onFailing,
        )
      : new CheckedScanner(
          contract.csv,
          cellChecksOf(programs),
          header.sourceIndex,
          limits.maxRecordBytes,
          jsonLengthsFor(contract),
          jsonPerRow,
          Uint8Array.from(contract.columns, (c) => (c.type === 'string' ? 1 : 0)),
          validator.checker!,
          (buf, start, end, line, json) => writer.add(buf, start, end, line, json),
          onFailing,
        );
  let staged = 0;
  /** Parts DuckDB has written; once the byte pass is over, each goes up as soon as it is written. */
  const converted: number[] = [];
  let passOver = false;
  const trace = {
    scan: 0,
    failing: 0,
    convert: 0,
    wait: 0,
    firstConvert: 0,
    scanEnd: 0,
    duckEnd: 0,
    at: Date.now(),
  };
  let jsonLinesBytes = 0;
  let failed: unknown;
  const pending: Promise<void>[] = [];
  let settled = 0;
  const convert = (chunk: NonNullable<ReturnType<ChunkWriter['close']>>) => {
    chunksCut++;
    if (!pool) {
      // CSV staging: the chunk file is the part, uploaded (moved, in the local lake) as it is.
      const part = staging.parts.push(chunk.file) - 1;
      staged += chunk.rows;
      jsonLinesBytes += chunk.json;
      longestLine = Math.max(longestLine, chunk.longest);
      staging.uploadNow(part);
      return;
    }
    const parquet = path.join(workDir, `good-${chunk.n}.parquet`);
    const part = staging.parts.push(parquet) - 1;
    const done = pool.submit(async (connection) => {
      if (failed !== undefined) return;
      try {
        const t = Date.now();
        trace.firstConvert ||= t - trace.at;
        const rows = await convertChunk(connection, input, header.sourceIndex, header.width, chunk, parquet);
        trace.convert += Date.now() - t;
        if (rows !== chunk.rows)
          throw new DeclineFastPathError(
            `DuckDB read ${rows} rows of chunk ${chunk.n}, ${chunk.rows} were copied`,
          );
        staged += rows;
        jsonLinesBytes += chunk.json;
        await fs.rm(chunk.file, { force: true });
        converted.push(part);
        if (passOver) staging.uploadNow(part);
      } catch (e) {
        failed ??=
          e instanceof DeclineFastPathError
            ? e
            : new DeclineFastPathError(`DuckDB: ${(e as Error).message.split('\n')[0]}`);
      }
    });
    pending.push(done.finally(() => void settled++));
  };
  const checkFailing = async () => {
    const batch = failing;
    failing = [];
    for (const r of batch) {
      const cells = r.cells ?? cellsOf(r.bytes!, compiled, limits, r.start, r.start + r.bytes!.length);
      validator.onFailingRecord(cells, r.line, r.failing);
      const wait = validator.takeWait();
      if (wait) await wait;
    }
  };
  let carry: Buffer | undefined;
  // The unfinished record and the next block, in one buffer kept for the whole pass (a copy per
  // block, no allocation: the scanner's offsets die with the block, good records are copied out
  // and failing ones copied off).
  // (The scan kernel joins them in its own memory: no buffer here then.)
  let work = scanner instanceof KernelScanner ? EMPTY : Buffer.allocUnsafe(2 * 1024 * 1024 + 64 * 1024);
  /** The carry and the next block in `work`, then the scanner's sentinel line feed. */
  const joined = (head: Buffer, block: Buffer): Buffer => {
    if (scanner instanceof KernelScanner) return scanner.join(head, block);
    const n = head.length + block.length;
    if (n + 1 > work.length) work = Buffer.allocUnsafe(n * 2);
    // head may already lie in `work` (the carry of the last block): copyWithin-safe order
    head.copy(work, 0);
    block.copy(work, head.length);
    work[n] = LF;
    return work.subarray(0, n + 1);
  };
  const scan = (ended: Buffer, final: boolean) => {
    const used = scanner.scanEnded(ended, final);
    if (scanner.declined !== undefined) throw new DeclineFastPathError(scanner.declined);
    const n = ended.length - 1;
    carry = used < n ? ended.subarray(used, n) : undefined;
    if (carry && carry.length > limits.maxRecordBytes + 2)
      throw new DeclineFastPathError(
        `a record longer than ${limits.maxRecordBytes} bytes (line ${scanner.line})`,
      );
  };
  // A chunk is cut once the good records copied into it reach `chunkBytes` (ChunkWriter.bytes).
  const sink = new Writable({
    highWaterMark: 1024 * 1024,
    write(block: Buffer, _enc, cb) {
      const run = async () => {
        const buf = joined(carry ?? EMPTY, block);
        let t = Date.now();
        scan(buf, false);
        trace.scan += Date.now() - t;
        t = Date.now();
        await checkFailing();
        trace.failing += Date.now() - t;
        if (failed !== undefined) throw failed;
        // The first chunk is cut small, so DuckDB starts sooner.
        const first = chunksCut === 0 && duck !== undefined;
        if (writer.bytes >= (first ? Math.min(chunkBytes, FIRST_CHUNK_BYTES) : chunkBytes)) {
          if (first) await duck; // its failure ends the pass here
          convert(writer.close()!);
          t = Date.now();
          if (pending.length - settled > CHUNKS_AHEAD) await pending[settled];
          trace.wait += Date.now() - t;
        }
      };
      run().then(() => cb(), cb);
    },
    final(cb) {
      const run = async () => {
        scan(joined(carry ?? EMPTY, EMPTY), true);
        carry = undefined;
        await checkFailing();
      };
      run().then(() => cb(), cb);
    },
  });
  try {
    try {
      await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), inspector, sink);
    } catch (e) {
      if (e instanceof UnreadableBytesError)
        throw new DeclineFastPathError(`${e.reason} at byte ${e.byteOffset}`);
      throw e;
    }
    trace.scanEnd = Date.now() - trace.at;
    passOver = true;
    // This thread has nothing left but waiting for DuckDB's last chunks: upload what is converted
    // (during the byte pass the upload's hashing took CPU from it and from DuckDB: slower).
    for (const part of converted) staging.uploadNow(part);
    // ... and its core is free: the chunks still waiting convert two at a time, beside the rows
    // the JavaScript checker staged (complete now).
    if (pool) pool.add((await duck!).instance.connect());
    const last = writer.close();
    if (last) convert(last);
    jsStaged.close();
    if (jsStaged.rows > 0 && !pool) {
      // CSV staging: the JavaScript checker's rows are a JSON Lines part beside the CSV parts.
      staging.uploadNow(staging.parts.push(jsStaged.file) - 1);
    } else if (jsStaged.rows > 0 && pool) {
      const checkedPart = path.join(workDir, 'checked.parquet');
      const part = staging.parts.push(checkedPart) - 1;
      pending.push(
        pool.submit(async (connection) => {
          if (failed !== undefined) return;
          try {
            await stageCheckedRowsOn(connection, input, jsStaged.file, checkedPart);
            staging.uploadNow(part);
          } catch (e) {
            failed ??= new DeclineFastPathError(`DuckDB: ${(e as Error).message.split('\n')[0]}`);
          }
        }),
      );
    }
    await Promise.all(pending);
    trace.duckEnd = Date.now() - trace.at;
    if (failed !== undefined) throw failed;
    if (scanner.records === 0) throw new DeclineFastPathError('no data records');
    if (scanner.width !== header.width) throw new DeclineFastPathError('the header splits differently');
  } catch (e) {
    writer.close();
    await Promise.all(pending);
    // No part may land after the caller clears the staging prefix.
    await staging.settle();
    if (e instanceof DeclineFastPathError || e instanceof FileRejectedError) throw e;
    throw new DeclineFastPathError(`DuckDB: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    if (scanner instanceof KernelScanner) scanner.release();
    await pool?.closeAll();
    (await duck?.catch(() => undefined))?.instance.closeSync();
  }
  validator.rowsRead += staged;
  validator.checker!.countFormulaCells(scanner.formulaCells);
  validator.rowsValid += staged;
  if (process.env.ETL_FASTPATH_TRACE)
    console.error(
      `checked fast path: ${Date.now() - trace.at} ms, phases (ms) ${JSON.stringify({ ...trace, jsRows: jsStaged.rows })}`,
    );
  staging.jsonLinesBytes = jsonLinesBytes + jsStaged.bytes;
  const stagingCsv = csvStaging
    ? {
        delimiter: contract.csv.delimiter,
        quote: contract.csv.quote,
        fields: header.width,
        columnFields: Object.fromEntries(contract.columns.map((c, i) => [c.name, header.sourceIndex[i]!])),
        maxLineBytes: longestLine,
        rows: staged + jsStaged.rows,
      }
    : undefined;
  return { inspector, validator, staging, sqlRows: staged, ...(stagingCsv && { stagingCsv }) };
}

/**
 * DuckDB connections of one instance, each running one conversion at a time: a job waits for a free
 * one. Two connections convert two chunks at once, each on its own thread, even at `threads` 1
 * (two chunks of the 100 MB bench file: 86–99 ms against 154–163 ms one after the other).
 * @internal exported for its tests
 */
export class ConnectionPool {
  private readonly all: Promise<DuckDBConnection>[] = [];
  private readonly free: DuckDBConnection[] = [];
  private readonly waiting: ((c: DuckDBConnection) => void)[] = [];

  constructor(first: Promise<DuckDBConnection>) {
    this.add(first);
  }

  /** Adds a connection once it is open (one that fails to open is never used). */
  add(connection: Promise<DuckDBConnection>): void {
    this.all.push(connection);
    connection.then(
      (c) => this.release(c),
      () => undefined,
    );
  }

  private release(connection: DuckDBConnection): void {
    const next = this.waiting.shift();
    if (next) next(connection);
    else this.free.push(connection);
  }

  /**
   * Runs `job` on the next free connection; jobs handle their own errors. Submit only once the first
   * connection is open (its jobs would wait for it forever).
   */
  async submit(job: (c: DuckDBConnection) => Promise<void>): Promise<void> {
    const connection = this.free.pop() ?? (await new Promise<DuckDBConnection>((r) => this.waiting.push(r)));
    try {
      await job(connection);
    } finally {
      this.release(connection);
    }
  }

  async closeAll(): Promise<void> {
    for (const c of await Promise.allSettled(this.all)) if (c.status === 'fulfilled') c.value.closeSync();
  }
}

/**
 * Rows per row group of the staging parts: DuckDB's Parquet writer holds a row group in memory
 * until it is full, and at the default 122,880 rows that was ≈ 40 MB of the validate peak (1 GB
 * bench file: 314 MB at the default, 304 MB at 16,384, same speed).
 */
const STAGING_ROW_GROUP_ROWS = 16_384;

/** DuckDB reads one chunk file (line, then the record's fields) and writes its Parquet part. */
async function convertChunk(
  connection: DuckDBConnection,
  input: FastValidateInput,
  sourceIndex: readonly number[],
  width: number,
  chunk: { readonly file: string; readonly longest: number },
  parquet: string,
): Promise<number> {
  const { columns, csv } = input.compiled.contract;
  const select = csvStagingSelectSql(
    [chunk.file],
    { delimiter: csv.delimiter, quote: csv.quote, fields: width, maxLineBytes: chunk.longest },
    columns.map((c, i) => ({ name: c.name, field: sourceIndex[i]!, type: c })),
    // Sized to the chunk's longest line, not the largest record the contract allows (16 MiB by
    // default, a 32 MiB buffer per chunk).
    1024 * 1024,
  );
  const result = await connection.runAndReadAll(
    `COPY (${select}) TO ${sqlString(parquet)} (FORMAT parquet, ROW_GROUP_SIZE ${STAGING_ROW_GROUP_ROWS})`,
  );
  const [[count]] = result.getRows() as [[bigint]];
  return Number(count);
}
