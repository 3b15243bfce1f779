/**
 * The validate step's fast CSV reader: a record splitter for well-formed CSV that hands over the
 * same records as {@link CsvRecordReader} (csv-parse) — same cells, same {@link QUOTED_EMPTY}
 * marks, same physical start lines — at several times csv-parse's speed.
 *
 * Why not csv-parse alone: csv-parse walks every byte through a general state machine (comments,
 * trimming, multi-byte delimiters, casting ...) and builds each field in a growable buffer; on one
 * core it alone took more time than everything else the step does, so the step could not reach
 * 60% of csv-parse's throughput. No maintained library gives all of what the step needs (quoted
 * vs unquoted empty fields, physical lines with CRLF inside quotes, strict errors; uDSV and
 * PapaParse's fast mode are lenient and count records, not lines), so the common case is split
 * here, and csv-parse stays the authority for everything else:
 *
 * - Anything the splitter does not handle itself — a quote inside an unquoted field (unless the
 *   contract says `relaxQuotes`: then that quote is data, as csv-parse's `relax_quotes` reads it),
 *   text after a closing quote, a quote left open at the end, a record near the size limit — throws
 *   {@link LeaveToCsvParseError}. The caller then validates the file again from the start with
 *   csv-parse, which either reads it (same records) or reports exactly where it is malformed. Only
 *   malformed or unusual files pay for the second pass.
 * - test/validate/csv-splitter.test.ts compares both readers record by record on generated
 *   hostile inputs, split into random chunk sizes.
 *
 * Dialect (as csv-records.ts configures csv-parse): a UTF-8 BOM at the very start is dropped;
 * CRLF, LF and CR (even mixed) end records; blank lines are skipped; rows of any length are passed
 * through; a quote is written inside a quoted field by doubling it (escape = quote). Dialects it
 * does not cover ({@link splitterHandles}) are read by csv-parse alone.
 *
 * How: record boundaries, quotes and delimiters are found in the bytes (`Buffer.indexOf`, at
 * memchr speed; the delimiter and quote are ASCII, so they never occur inside a multi-byte UTF-8
 * character), and each record is decoded on its own and cut into cells with `indexOf`. Decoding
 * record by record keeps every string V8's one-byte kind unless that record itself holds a
 * character beyond Latin-1 (one such character in a decoded chunk makes the whole chunk, and every
 * cell cut from it, two bytes per character: slower to check, encode and hash), and a cell kept
 * for the report holds on to one record's text, not a chunk's. Input bytes must already be valid
 * UTF-8 (the byte inspector runs first).
 */
import type { CsvDialect } from '../core/contract';
import { CsvRecordReader, QUOTED_EMPTY, type Cell, type OnRecord } from './csv-records';

const LF = 0x0a;
const CR = 0x0d;

/** The input has a shape the splitter leaves to csv-parse (see the module comment). */
export class LeaveToCsvParseError extends Error {
  constructor(
    readonly why: string,
    readonly line: number,
  ) {
    super(`the fast CSV splitter leaves line ${line} to csv-parse: ${why}`);
    this.name = 'LeaveToCsvParseError';
  }
}

const isAsciiChar = (c: string) => c.length === 1 && c.charCodeAt(0) < 0x80;

/** Whether {@link CsvSplitter} reads this dialect (ASCII one-character delimiter and quote = escape). */
export function splitterHandles(dialect: CsvDialect): boolean {
  const { delimiter, quote, escape } = dialect;
  return (
    isAsciiChar(delimiter) &&
    isAsciiChar(quote) &&
    escape === quote &&
    delimiter !== quote &&
    !'\r\n'.includes(delimiter) &&
    !'\r\n'.includes(quote)
  );
}

/** Options of {@link CsvSplitter}. */
export interface CsvSplitterOptions {
  /**
   * csv-parse's `max_record_size`. A record longer than this in bytes as written (quotes and
   * delimiters included, so never shorter than what csv-parse counts) is left to csv-parse, which
   * decides.
   */
  readonly maxRecordBytes: number;
}

/**
 * Splits one file into records, fed chunk by chunk; records are handed to a callback
 * synchronously (like {@link CsvRecordReader.feed}).
 *
 * @example
 * const splitter = new CsvSplitter(contract.csv, { maxRecordBytes: 16 << 20 });
 * for await (const chunk of bytes) splitter.feed(chunk, onRecord);
 * splitter.feed(undefined, onRecord); // the end: the last record may have no line break
 */
export class CsvSplitter {
  /** Quoted empty fields seen so far (lets a caller skip looking for them in most records). */
  quotedEmpties = 0;
  private readonly delimiter: string;
  private readonly delim: number;
  private readonly quote: number;
  private readonly quoteChar: string;
  private readonly doubledQuote: string;
  private readonly maxRecordBytes: number;
  /** A quote inside an unquoted field is data (csv-parse `relax_quotes`). */
  private readonly relaxQuotes: boolean;
  /** Bytes of the unfinished record (from its first byte), carried to the next chunk. */
  private pending: Buffer | undefined;
  /** Parse `pending` again only once it has grown to this length (long records stay linear). */
  private retryAt = 0;
  /** Physical line the next record starts on. */
  private line = 1;
  private atStart = true;
  /** The previous chunk ended right after a CR: an LF opening this one belongs to it. */
  private afterCr = false;

  constructor(dialect: CsvDialect, options: CsvSplitterOptions) {
    if (!splitterHandles(dialect))
      throw new Error(`CsvSplitter cannot read this dialect: ${JSON.stringify(dialect)}`);
    this.delimiter = dialect.delimiter;
    this.delim = dialect.delimiter.charCodeAt(0);
    this.quoteChar = dialect.quote;
    this.quote = dialect.quote.charCodeAt(0);
    this.doubledQuote = dialect.quote + dialect.quote;
    this.maxRecordBytes = options.maxRecordBytes;
    this.relaxQuotes = dialect.relaxQuotes;
  }

  /**
   * Splits one chunk (or, with `undefined`, the end of the file), calling `onRecord` for each
   * complete record with its cells and the physical line it starts on.
   * @throws LeaveToCsvParseError when csv-parse must read this file (see the module comment)
   */
  feed(chunk: Buffer | undefined, onRecord: OnRecord): void {
    const end = chunk === undefined;
    let buf: Buffer;
    if (this.pending === undefined) buf = chunk ?? Buffer.alloc(0);
    else buf = chunk === undefined ? this.pending : Buffer.concat([this.pending, chunk]);
    let from = 0;
    if (this.atStart) {
      // csv-parse drops a UTF-8 byte-order mark only when the file starts with it.
      if (buf.length < 3 && !end && [0xef, 0xbb, 0xbf].slice(0, buf.length).every((b, i) => buf[i] === b)) {
        this.pending = buf.length === 0 ? undefined : buf;
        return;
      }
      this.atStart = false;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) from = 3;
    }
    if (!end && buf.length < this.retryAt) {
      this.pending = buf;
      return;
    }
    const consumed = this.split(buf, from, end, onRecord);
    // A copy: the rest of the chunk is dropped, not kept alive by a view of it.
    this.pending = consumed === buf.length ? undefined : Buffer.from(buf.subarray(consumed));
    const waiting = this.pending?.length ?? 0;
    if (waiting > this.maxRecordBytes)
      throw new LeaveToCsvParseError(`a record longer than ${this.maxRecordBytes} bytes`, this.line);
    // A record still unfinished is parsed again once the input has doubled, not on every chunk.
    this.retryAt = waiting > 64 * 1024 ? 2 * waiting : 0;
  }

  /** Splits the complete records in `buf`; returns how far it got (the unfinished record's start). */
  private split(buf: Buffer, from: number, end: boolean, onRecord: OnRecord): number {
    const n = buf.length;
    const { delim, delimiter, quote } = this;
    let pos = from;
    // Next positions of a quote, LF and CR at or after `pos` (-1: none left), kept monotone.
    let nextQuote = buf.indexOf(quote, pos);
    let nextLf = buf.indexOf(LF, pos);
    let nextCr = buf.indexOf(CR, pos);
    while (pos < n) {
      const c = buf[pos];
      if (this.afterCr) {
        this.afterCr = false;
        if (c === LF) {
          pos++;
          continue;
        }
      }
      // Blank lines are skipped (csv-parse skip_empty_lines); each still counts as a line.
      if (c === LF || c === CR) {
        this.line++;
        pos++;
        this.afterCr = c === CR;
        continue;
      }
      if (nextLf !== -1 && nextLf < pos) nextLf = buf.indexOf(LF, pos);
      if (nextCr !== -1 && nextCr < pos) nextCr = buf.indexOf(CR, pos);
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = buf.indexOf(quote, pos);
      const eol = nextCr === -1 ? nextLf : nextLf === -1 ? nextCr : Math.min(nextLf, nextCr);
      const lineEnd = eol === -1 ? n : eol;
      if (nextQuote === -1 || nextQuote >= lineEnd) {
        // The common case: a record on one line with no quote in it.
        if (eol === -1 && !end) break;
        if (lineEnd - pos > this.maxRecordBytes)
          throw new LeaveToCsvParseError(`a record longer than ${this.maxRecordBytes} bytes`, this.line);
        const text = buf.toString('utf8', pos, lineEnd);
        const cells: Cell[] = [];
        let start = 0;
        for (let at = text.indexOf(delimiter); at !== -1; at = text.indexOf(delimiter, start)) {
          cells.push(text.slice(start, at));
          start = at + 1;
        }
        cells.push(start === 0 ? text : text.slice(start));
        onRecord(cells, this.line);
        this.line++;
        if (eol === -1) return n;
        pos = eol + 1;
        if (buf[eol] === CR) this.afterCr = true;
        continue;
      }
      // A record with a quote in it: field by field.
      const next = this.splitQuoted(buf, pos, end, onRecord, delim, quote);
      if (next === -1) break;
      pos = next;
    }
    return pos;
  }

  /**
   * Splits one record that has a quote somewhere, starting at `start`. Returns where the next
   * record starts, or -1 when the input ends inside this record (more input needed).
   */
  private splitQuoted(
    buf: Buffer,
    start: number,
    end: boolean,
    onRecord: OnRecord,
    delim: number,
    quote: number,
  ): number {
    const n = buf.length;
    const cells: Cell[] = [];
    let lines = 0;
    let quotedEmpties = 0;
    let pos = start;
    const finish = (next: number): number => {
      if (next - start > this.maxRecordBytes)
        throw new LeaveToCsvParseError(`a record longer than ${this.maxRecordBytes} bytes`, this.line);
      this.quotedEmpties += quotedEmpties;
      onRecord(cells, this.line);
      this.line += lines + 1;
      return next;
    };
    for (;;) {
      if (pos < n && buf[pos] === quote) {
        // A quoted field: up to the quote that is not doubled.
        let at = pos + 1;
        let doubled = false;
        let close: number;
        for (;;) {
          const q = buf.indexOf(quote, at);
          if (q === -1 || q + 1 >= n) {
            if (!end) return -1;
            if (q === -1) throw new LeaveToCsvParseError('a quoted field is never closed', this.line);
            close = q;
            break;
          }
          if (buf[q + 1] === quote) {
            doubled = true;
            at = q + 2;
            continue;
          }
          close = q;
          break;
        }
        if (close === pos + 1) {
          cells.push(QUOTED_EMPTY);
          quotedEmpties++;
        } else {
          let value = buf.toString('utf8', pos + 1, close);
          if (doubled) value = value.replaceAll(this.doubledQuote, this.quoteChar);
          lines += physicalBreaks(value);
          cells.push(value);
        }
        const after = close + 1;
        if (after >= n) return finish(n); // the quote closes the file (end is true here)
        const c = buf[after];
        if (c === delim) {
          pos = after + 1;
          continue;
        }
        if (c === LF || c === CR) return this.endRecord(buf, after, finish);
        throw new LeaveToCsvParseError('text after a closing quote', this.line + lines);
      }
      // An unquoted field: up to a delimiter or a line break; a quote in it is data with
      // relaxQuotes (csv-parse's relax_quotes), else csv-parse's to judge.
      let at = pos;
      for (; at < n; at++) {
        const c = buf[at];
        if (c === delim || c === LF || c === CR) break;
        if (c === quote && !this.relaxQuotes)
          throw new LeaveToCsvParseError('a quote inside an unquoted field', this.line + lines);
      }
      if (at === n && !end) return -1;
      cells.push(buf.toString('utf8', pos, at));
      if (at === n) return finish(n);
      if (buf[at] === delim) {
        pos = at + 1;
        continue;
      }
      return this.endRecord(buf, at, finish);
    }
  }

  /** Hands over a record ended by the line break at `at`; returns where the next one starts. */
  private endRecord(buf: Buffer, at: number, finish: (next: number) => number): number {
    if (buf[at] === CR) this.afterCr = true;
    return finish(at + 1);
  }
}

/** Line breaks inside a quoted value, counted as physical lines: CRLF, LF and CR each one. */
function physicalBreaks(value: string): number {
  let count = 0;
  for (let i = value.indexOf('\n'); i !== -1; i = value.indexOf('\n', i + 1)) count++;
  for (let i = value.indexOf('\r'); i !== -1; i = value.indexOf('\r', i + 1))
    if (value.charCodeAt(i + 1) !== LF) count++;
  return count;
}

/**
 * Which reader splits a file into records: this splitter, or csv-parse (csv-records.ts) — for
 * dialects the splitter does not cover, and for a file the splitter left to it.
 */
export type CsvReaderKind = 'splitter' | 'csv-parse';

export type CsvReader = CsvSplitter | CsvRecordReader;

/** A reader of either kind. */
export function csvReaderOf(kind: CsvReaderKind, dialect: CsvDialect, maxRecordBytes: number): CsvReader {
  return kind === 'splitter'
    ? new CsvSplitter(dialect, { maxRecordBytes })
    : new CsvRecordReader(dialect, { maxRecordBytes });
}
