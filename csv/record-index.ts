/**
 * The record index of the DuckDB fast path (sql-validate.ts): one pass over the bytes that finds
 * where each CSV record starts and on which physical line, and how many fields it has — without
 * decoding a single cell. DuckDB reads the cells; this index gives DuckDB's rows back their
 * physical lines (DuckDB counts records, not lines) and says which records DuckDB will reject
 * for their field count, so the row errors name the same lines as the JavaScript path.
 *
 * It reads the dialect the fast splitter reads (ASCII one-character delimiter and quote, escape =
 * quote) and only its plainest form. Anything where DuckDB and the JavaScript readers might
 * disagree, or where the JavaScript path does something special, makes it *decline* (the result
 * carries `declined`), and the caller validates the file the usual way:
 * a UTF-8 BOM, a blank line, a bare CR line end outside quotes, a quote inside an unquoted field,
 * text after a closing quote, a quote left open at the end, a header spanning lines, a record
 * longer than the limit.
 *
 * Line breaks inside quoted fields count as the JavaScript readers count them: CRLF, LF or CR.
 * Memory: the lines of the well-formed records are kept as runs (a new run starts after a record
 * spanning several lines or a rejected one), the records with another field count one by one.
 */
import type { CsvDialect } from '../core/contract';

const LF = 0x0a;
const CR = 0x0d;

/** A record whose field count differs from the header's: DuckDB rejects it, JavaScript explains it. */
export interface OddRecord {
  /** 1-based data record number (the header is record 0). */
  readonly record: number;
  /** Physical line the record starts on. */
  readonly line: number;
  /** Byte offsets of the record, without its line end. */
  readonly start: number;
  readonly end: number;
  readonly fields: number;
  /**
   * More fields than the header, but those past its width all empty and unquoted (`a,b,,`):
   * DuckDB reads the record as a row of the header's width (it drops the empty trailing fields)
   * instead of rejecting it; JavaScript says LONG_ROW. So the
   * record has a place among DuckDB's rows (a run of its own, flagged `runJs`).
   */
  readonly duckdbReads: boolean;
}

export interface RecordIndex {
  /** Why the fast path cannot read this file (the caller reads it the usual way), if it cannot. */
  readonly declined?: string;
  /** The header record's bytes and line. */
  readonly header: { readonly start: number; readonly end: number; readonly line: number };
  /** Fields in the header. */
  readonly width: number;
  /** Data records (not counting the header). */
  readonly records: number;
  /** Data records with the header's field count, in file order: their lines as runs. */
  readonly goodRecords: number;
  /** Run i: `runLength[i]` good records on consecutive lines from `runFirstLine[i]`. */
  readonly runFirstLine: readonly number[];
  readonly runLength: readonly number[];
  /** Run i is one record DuckDB reads but JavaScript must judge (an {@link OddRecord} with `duckdbReads`). */
  readonly runJs: readonly boolean[];
  /** DuckDB's rows: the good records plus the odd ones it reads. */
  readonly duckdbRows: number;
  readonly odd: readonly OddRecord[];
  /**
   * Every {@link SAMPLE_EVERY}th DuckDB row that is a good record (and the last good one): its
   * 0-based DuckDB row and byte offsets. The caller compares these records' cells with DuckDB's
   * row at that position, so a read that did not keep file order is caught, not staged.
   */
  readonly samples: readonly { readonly row: number; readonly start: number; readonly end: number }[];
}

/**
 * A place where the data may be cut into chunks DuckDB reads one at a time: the byte where data
 * record `record` starts (1-based; the header is record 0), with the DuckDB rows before it.
 */
export interface RecordCut {
  readonly offset: number;
  readonly record: number;
  readonly row: number;
}

/** One good record in this many is a {@link RecordIndex} sample (DuckDB vectors are 2,048 rows). */
export const SAMPLE_EVERY = 512;

// Byte classes outside quotes.
const NORMAL = 0;
const DELIM = 1;
const QUOTE = 2;
const NEWLINE = 3;

// States.
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
const QUOTE_IN_QUOTED = 3; // a quote inside a quoted field: doubled (data) or closing
const AFTER_CR = 4; // a record ended at CR: only LF may follow

/** Builds a {@link RecordIndex} from the bytes, chunk by chunk. */
export class RecordIndexer {
  private readonly cls = new Uint8Array(256);
  private readonly quote: number;
  private readonly delimiter: number;
  private state = FIELD_START;
  private offset = 0;
  private line = 1;
  /** Inside a quoted field, the last byte was a CR (a following LF is the same line break). */
  private quotedCr = false;
  private recordStart = 0;
  private recordLine = 1;
  private fields = 1;
  /** Where the current field starts, and whether it opened with a quote. */
  private fieldStart = 0;
  private fieldQuoted = false;
  /** 1-based number of the last field so far in this record that is not empty-and-unquoted. */
  private lastContent = 0;
  private recordNo = 0;
  private width = -1;
  private header = { start: 0, end: 0, line: 1 };
  private goodRecords = 0;
  private readonly runFirstLine: number[] = [];
  private readonly runLength: number[] = [];
  private readonly runJs: boolean[] = [];
  private duckdbRows = 0;
  private nextGoodLine = -1;
  private readonly odd: OddRecord[] = [];
  private readonly samples: { row: number; start: number; end: number }[] = [];
  private lastRow = -1;
  private lastStart = 0;
  private lastEnd = 0;
  private declined: string | undefined;

  /**
   * Cuts so far, in order: the first where the first data record starts, then one at the first
   * record start at least `cutBytes` after the previous cut. Read while feeding (only appended).
   */
  readonly cuts: RecordCut[] = [];
  private cutPending = false;

  constructor(
    dialect: CsvDialect,
    private readonly maxRecordBytes: number,
    private readonly maxOdd = 1_000_000,
    private readonly cutBytes = Number.POSITIVE_INFINITY,
  ) {
    this.quote = dialect.quote.charCodeAt(0);
    this.delimiter = dialect.delimiter.charCodeAt(0);
    this.cls[this.delimiter] = DELIM;
    this.cls[this.quote] = QUOTE;
    this.cls[LF] = NEWLINE;
    this.cls[CR] = NEWLINE;
  }

  /** Why the fast path cannot read this file, once known. */
  get declinedWhy(): string | undefined {
    return this.declined;
  }

  /** The regular samples so far (only appended; {@link RecordIndex.samples} adds the last record). */
  get samplesSoFar(): readonly { readonly row: number; readonly start: number; readonly end: number }[] {
    return this.samples;
  }

  /** The odd records so far (only appended). */
  get oddSoFar(): readonly OddRecord[] {
    return this.odd;
  }

  private cut(): void {
    this.cutPending = false;
    this.cuts.push({ offset: this.recordStart, record: this.recordNo, row: this.duckdbRows });
  }

  private decline(why: string): void {
    this.declined ??= `${why} (line ${this.line})`;
  }

  /** Feeds the next chunk; undefined ends the input. */
  feed(chunk: Buffer | undefined): void {
    if (this.declined !== undefined) return;
    if (chunk === undefined) return this.finish();
    if (this.offset === 0 && chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf)
      return this.decline('a UTF-8 byte-order mark');
    const { cls, quote } = this;
    const n = chunk.length;
    const base = this.offset;
    let state = this.state;
    let i = 0;
    while (i < n) {
      if (state === UNQUOTED) {
        // The hot loop: skip ordinary bytes.
        while (i < n && cls[chunk[i]!] === NORMAL) i++;
        if (i === n) break;
      }
      const b = chunk[i]!;
      switch (state) {
        case FIELD_START:
        case UNQUOTED: {
          const c = cls[b];
          if (c === DELIM) {
            if (base + i !== this.fieldStart || this.fieldQuoted) this.lastContent = this.fields;
            this.fields++;
            state = FIELD_START;
            this.fieldStart = base + i + 1;
            this.fieldQuoted = false;
          } else if (c === QUOTE) {
            if (state === UNQUOTED) {
              this.state = state;
              this.offset = base + i;
              return this.decline('a quote inside an unquoted field');
            }
            state = QUOTED;
            this.fieldQuoted = true;
          } else if (c === NEWLINE) {
            if (state === FIELD_START && this.fields === 1 && base + i === this.recordStart) {
              this.offset = base + i;
              return this.decline('a blank line');
            }
            this.endRecord(base + i);
            this.line++;
            if (b === CR) state = AFTER_CR;
            else {
              state = FIELD_START;
              this.recordStart = this.fieldStart = base + i + 1;
              this.recordLine = this.line;
              if (this.cutPending) this.cut();
            }
          } else state = UNQUOTED;
          i++;
          break;
        }
        case QUOTED: {
          const q = chunk.indexOf(quote, i);
          const stop = q === -1 ? n : q;
          // Count line breaks inside the quoted text as the JavaScript readers do.
          for (let j = i; j < stop; j++) {
            const x = chunk[j]!;
            if (x === LF) {
              if (!this.quotedCr) this.line++;
              this.quotedCr = false;
            } else if (x === CR) {
              this.line++;
              this.quotedCr = true;
            } else this.quotedCr = false;
          }
          i = stop;
          if (q !== -1) {
            this.quotedCr = false;
            state = QUOTE_IN_QUOTED;
            i++;
          }
          break;
        }
        case QUOTE_IN_QUOTED: {
          if (b === quote) {
            state = QUOTED;
            i++;
          } else {
            const c = cls[b];
            if (c === NORMAL || c === QUOTE) {
              this.offset = base + i;
              return this.decline('text after a closing quote');
            }
            state = UNQUOTED; // handled as the delimiter or line end of an unquoted field
          }
          break;
        }
        case AFTER_CR: {
          if (b !== LF) {
            this.offset = base + i;
            return this.decline('a line ending in CR alone');
          }
          state = FIELD_START;
          this.recordStart = this.fieldStart = base + i + 1;
          this.recordLine = this.line;
          if (this.cutPending) this.cut();
          i++;
          break;
        }
      }
      if (this.declined !== undefined) return;
    }
    this.state = state;
    this.offset = base + n;
    if (this.state !== AFTER_CR && this.offset - this.recordStart > this.maxRecordBytes)
      this.decline(`a record longer than ${this.maxRecordBytes} bytes`);
  }

  private endRecord(end: number): void {
    if (end !== this.fieldStart || this.fieldQuoted) this.lastContent = this.fields;
    // DuckDB reads a record whose fields past the header's width are all empty and unquoted.
    const contentWidth = this.lastContent;
    this.lastContent = 0;
    this.fieldQuoted = false;
    if (end - this.recordStart > this.maxRecordBytes) {
      this.decline(`a record longer than ${this.maxRecordBytes} bytes`);
      return;
    }
    const fields = this.fields;
    this.fields = 1;
    if (this.recordNo === 0) {
      if (this.line !== this.recordLine) this.decline('a header spanning several lines');
      this.width = fields;
      this.header = { start: this.recordStart, end, line: this.recordLine };
      this.recordNo = 1;
      this.cutPending = true;
      return;
    }
    const record = this.recordNo++;
    if (end - (this.cuts.at(-1)?.offset ?? 0) >= this.cutBytes) this.cutPending = true;
    if (fields !== this.width) {
      if (this.odd.length >= this.maxOdd) this.decline('too many records with another field count');
      const duckdbReads = fields > this.width && contentWidth <= this.width;
      this.odd.push({ record, line: this.recordLine, start: this.recordStart, end, fields, duckdbReads });
      if (duckdbReads) {
        this.duckdbRows++;
        this.runFirstLine.push(this.recordLine);
        this.runLength.push(1);
        this.runJs.push(true);
        this.nextGoodLine = -1;
      }
      return;
    }
    this.goodRecords++;
    if (this.duckdbRows % SAMPLE_EVERY === 0)
      this.samples.push({ row: this.duckdbRows, start: this.recordStart, end });
    else {
      this.lastRow = this.duckdbRows;
      this.lastStart = this.recordStart;
      this.lastEnd = end;
    }
    this.duckdbRows++;
    if (this.recordLine === this.nextGoodLine) this.runLength[this.runLength.length - 1]!++;
    else {
      this.runFirstLine.push(this.recordLine);
      this.runLength.push(1);
      this.runJs.push(false);
    }
    this.nextGoodLine = this.recordLine + 1;
  }

  private finish(): void {
    switch (this.state) {
      case QUOTED:
        return this.decline('a quoted field left open at the end');
      case AFTER_CR:
        return this.decline('a line ending in CR alone');
      default:
        // The last record has no line end (or the file is empty).
        if (this.offset > this.recordStart || this.fields > 1 || this.state === QUOTE_IN_QUOTED)
          this.endRecord(this.offset);
    }
  }

  result(): RecordIndex {
    return {
      ...(this.declined !== undefined && { declined: this.declined }),
      header: this.header,
      width: this.width,
      records: Math.max(0, this.recordNo - 1),
      goodRecords: this.goodRecords,
      runFirstLine: this.runFirstLine,
      runLength: this.runLength,
      runJs: this.runJs,
      duckdbRows: this.duckdbRows,
      odd: this.odd,
      samples:
        this.lastRow > (this.samples.at(-1)?.row ?? -1)
          ? [...this.samples, { row: this.lastRow, start: this.lastStart, end: this.lastEnd }]
          : this.samples,
    };
  }
}
