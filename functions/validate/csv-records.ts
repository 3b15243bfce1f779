/**
 * csv-parse, configured from a contract's CSV dialect, yielding array records (the fast mode).
 *
 * Two facts the pipeline needs are not in csv-parse's public array output, and asking for them
 * publicly is expensive (`info: true` / `cast` build several objects per record or per field):
 *  - whether an empty field was quoted (`""` = empty string) or not (`` = null);
 *  - the physical line a record starts on (csv-parse's `info.lines` counts a CRLF inside a quoted
 *    field twice, and is the record's end, not its start).
 * So two of its internal per-field/per-record methods are wrapped (a few property reads each).
 * {@link createRecordParser} checks those internals exist and test/validate covers the results,
 * so a csv-parse upgrade that changes them fails loudly instead of mis-reading files.
 */
import { parse, type Parser } from 'csv-parse';
import type { CsvDialect } from '../../core/contract';

/** Stands in for a quoted empty field (`""`) in a record. */
export const QUOTED_EMPTY: unique symbol = Symbol('quoted empty field');
export type Cell = string | typeof QUOTED_EMPTY;
/** A record as the parser yields it: the cells, then the 1-based physical start line (a number). */
export type RawRecord = (Cell | number)[];

/** What csv-parse keeps internally and we read (checked at construction). */
interface CsvParseApi {
  info: { lines: number; empty_lines: number; bytes: number };
  state: { record: Cell[]; wasQuoting: boolean; field: { length: number } };
  __onField(): unknown;
  __onRecord(push: unknown): unknown;
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

export interface RecordParserOptions {
  /** Longest record in bytes before the file is MALFORMED_CSV (protects memory). */
  readonly maxRecordBytes: number;
}

/**
 * A csv-parse stream for this dialect: UTF-8 BOM skipped, CRLF/LF/CR (even mixed) end records,
 * blank lines skipped, rows of any length passed through (the caller checks the length: short
 * and long rows are row errors, never padded or truncated). Each record is an array of cells
 * followed by its start line.
 */
export function createRecordParser(
  dialect: CsvDialect,
  options: RecordParserOptions,
): { parser: Parser; lines: LineTracker } {
  const parser = parse({
    delimiter: dialect.delimiter,
    quote: dialect.quote,
    escape: dialect.escape,
    bom: true,
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: options.maxRecordBytes,
  });
  const api = (parser as unknown as { api?: CsvParseApi }).api;
  if (
    !api ||
    typeof api.__onField !== 'function' ||
    typeof api.__onRecord !== 'function' ||
    typeof api.state?.wasQuoting !== 'boolean' ||
    typeof api.info?.empty_lines !== 'number'
  ) {
    throw new Error(
      'csv-parse internals changed (api.__onField/__onRecord/state/info): update functions/validate/csv-records.ts',
    );
  }
  const lines = new LineTracker();
  const onField = api.__onField;
  const onRecord = api.__onRecord;
  api.__onField = function (this: CsvParseApi) {
    const quotedEmpty = this.state.wasQuoting && this.state.field.length === 0;
    const err = onField.call(this);
    if (quotedEmpty && err === undefined) this.state.record[this.state.record.length - 1] = QUOTED_EMPTY;
    return err;
  };
  api.__onRecord = function (this: CsvParseApi, push: unknown) {
    const record = this.state.record;
    (record as RawRecord).push(lines.onRecord(this.info, record));
    return onRecord.call(this, push);
  };
  return { parser, lines };
}
