/**
 * csv-parse, configured from a contract's CSV dialect, yielding array records (the fast mode).
 *
 * Two facts the pipeline needs are not in csv-parse's public array output, and asking for them
 * publicly is expensive (`info: true` / `cast` build several objects per record or per field):
 *  - whether an empty field was quoted (`""` = empty string) or not (`` = null);
 *  - the physical line a record starts on (csv-parse's `info.lines` counts a CRLF inside a quoted
 *    field twice, and is the record's end, not its start).
 * So its internal per-field method is wrapped (a few property reads), and records are taken
 * straight from its internal `parse(chunk, end, push)` while its counters describe them.
 * {@link CsvRecordReader} checks those internals exist and test/validate covers the results, so
 * a csv-parse upgrade that changes them fails loudly instead of mis-reading files.
 */
import { Parser, type CsvError } from 'csv-parse';
import type { CsvDialect } from '../core/contract';

/** Stands in for a quoted empty field (`""`) in a record. */
export const QUOTED_EMPTY: unique symbol = Symbol('quoted empty field');
export type Cell = string | typeof QUOTED_EMPTY;

/** What csv-parse keeps internally and we read (checked at construction). */
interface CsvParseApi {
  info: { lines: number; empty_lines: number; bytes: number };
  state: { record: Cell[]; wasQuoting: boolean; field: { length: number } };
  __onField(): unknown;
}

/** Tracks physical lines as csv-parse reports records. */
export class LineTracker {
  /** csv-parse's line count at the end of the previous record. */
  private prevEnd = 0;
  private prevEmpty = 0;
  /** How far csv-parse's count has run ahead of physical lines (CRLFs inside quoted fields). */
  drift = 0;

  /** Physical line where the next record (or an unterminated one) starts. */
  nextRecordStart(info: { empty_lines: number }): number {
    return this.prevEnd + 1 + (info.empty_lines - this.prevEmpty) - this.drift;
  }

  /** Physical line of csv-parse's current position (for its error messages). */
  physical(csvParseLine: number): number {
    return csvParseLine - this.drift;
  }

  onRecord(info: { lines: number; empty_lines: number }, record: Cell[]): number {
    const startCp = this.prevEnd + 1 + (info.empty_lines - this.prevEmpty);
    const start = startCp - this.drift;
    if (info.lines > startCp) {
      // The record spans lines: csv-parse counted each CRLF inside its fields as two.
      for (const cell of record) {
        if (typeof cell !== 'string') continue;
        for (let i = cell.indexOf('\r\n'); i !== -1; i = cell.indexOf('\r\n', i + 2)) this.drift++;
      }
    }
    this.prevEnd = info.lines;
    this.prevEmpty = info.empty_lines;
    return start;
  }
}

export interface RecordReaderOptions {
  /** Longest record in bytes before the file is MALFORMED_CSV (protects memory). */
  readonly maxRecordBytes: number;
}

/** Called for each record: its cells and the 1-based physical line it starts on. */
export type OnRecord = (cells: Cell[], line: number) => void;

/**
 * A csv-parse error reduced to what a rejection needs, as plain data (it crosses from the parsing
 * worker thread to the main thread, where an Error's own fields would not survive).
 */
export interface ParseFailure {
  /** csv-parse's error code, e.g. CSV_QUOTE_NOT_CLOSED. */
  readonly code: string;
  readonly message: string;
  /** Physical line of csv-parse's position when it failed. */
  readonly line: number;
  /** Physical line where the unfinished record started. */
  readonly recordStart: number;
  /** 0-based field index csv-parse was in, when it says. */
  readonly column?: number;
}

/** Malformed CSV, as a {@link ParseFailure}: what the record sources fail with. */
export class ParseFailureError extends Error {
  constructor(readonly failure: ParseFailure) {
    super(failure.message);
    this.name = 'ParseFailureError';
  }
}

/** Describes a csv-parse error with the physical lines of {@link LineTracker}. */
export function parseFailureOf(e: CsvError, lines: LineTracker): ParseFailure {
  const info = e as unknown as { lines?: number; column?: number | string | null; empty_lines?: number };
  return {
    code: e.code,
    message: e.message,
    line: lines.physical(info.lines ?? 0),
    recordStart: lines.nextRecordStart({ empty_lines: info.empty_lines ?? 0 }),
    ...(typeof info.column === 'number' && { column: info.column }),
  };
}

/**
 * csv-parse for one file, fed chunk by chunk. Records are handed to a callback synchronously
 * while a chunk is parsed — no object-mode stream between parser and validator, whose per-record
 * cost was a large share of the step's time.
 *
 * Dialect: UTF-8 BOM skipped, CRLF/LF/CR (even mixed) end records, blank lines skipped, a quote
 * inside an unquoted field is data with `relaxQuotes` (else malformed), rows of any length passed
 * through (the caller checks the length: short and long rows are row errors, never padded or
 * truncated).
 */
export class CsvRecordReader {
  readonly lines = new LineTracker();
  /** Quoted empty fields seen so far (lets a caller skip looking for them in most records). */
  quotedEmpties = 0;
  private readonly api: CsvParseApi & {
    parse(
      chunk: Buffer | undefined,
      end: boolean,
      push: (record: Cell[]) => void,
      close: () => void,
    ): Error | undefined;
  };

  constructor(dialect: CsvDialect, options: RecordReaderOptions) {
    const parser = new Parser({
      delimiter: dialect.delimiter,
      quote: dialect.quote,
      escape: dialect.escape,
      bom: true,
      record_delimiter: ['\r\n', '\n', '\r'],
      relax_column_count: true,
      skip_empty_lines: true,
      max_record_size: options.maxRecordBytes,
      // A quote inside an unquoted field (37.8"N) is data, when the contract says so.
      relax_quotes: dialect.relaxQuotes,
    });
    const api = (parser as unknown as { api?: CsvRecordReader['api'] }).api;
    if (
      !api ||
      typeof api.parse !== 'function' ||
      typeof api.__onField !== 'function' ||
      typeof api.state?.wasQuoting !== 'boolean' ||
      typeof api.info?.empty_lines !== 'number'
    ) {
      throw new Error(
        'csv-parse internals changed (api.parse/__onField/state/info): update csv/csv-records.ts',
      );
    }
    const onField = api.__onField;
    const countQuotedEmpty = () => this.quotedEmpties++;
    api.__onField = function (this: CsvParseApi) {
      const quotedEmpty = this.state.wasQuoting && this.state.field.length === 0;
      const err = onField.call(this);
      if (quotedEmpty && err === undefined) {
        this.state.record[this.state.record.length - 1] = QUOTED_EMPTY;
        countQuotedEmpty();
      }
      return err;
    };
    this.api = api;
  }

  /** csv-parse's counters (for error positions). */
  get info(): CsvParseApi['info'] {
    return this.api.info;
  }

  /**
   * Parses one chunk (or, with `undefined`, the end of the file), calling `onRecord` for each
   * complete record. Throws csv-parse's CsvError for malformed CSV; exceptions from `onRecord`
   * propagate unchanged.
   */
  feed(chunk: Buffer | undefined, onRecord: OnRecord): void {
    const err = this.api.parse(
      chunk,
      chunk === undefined,
      (record) => onRecord(record, this.lines.onRecord(this.api.info, record)),
      () => undefined,
    );
    if (err !== undefined) throw err;
  }
}
