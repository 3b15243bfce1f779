/**
 * The CSV engine's record validator: checks records as a reader hands them over (the header first,
 * then rows), writes canonical rows to staging and row errors to rejects, and counts. It knows
 * nothing of Lambda or S3: outputs go through the {@link ObjectStore} port (writers.ts).
 *
 * Used by the validate step (functions/validate) on one thread ({@link CsvValidationSink}) or two
 * (parallel.ts).
 */
import { Writable } from 'node:stream';
import { CsvError } from 'csv-parse';
import type { CsvDialect } from '../core/contract';
import { rejectionOf, type FileRejectedError } from '../core/errors';
import {
  CsvRecordReader,
  ParseFailureError,
  parseFailureOf,
  QUOTED_EMPTY,
  type Cell,
  type ParseFailure,
} from './csv-records';
import { csvReaderOf, type CsvReader, type CsvReaderKind } from './csv-splitter';
import { checkHeader, type HeaderMapping } from './header';
import { RowChecker, type CompiledContract } from './row-checker';
import { detached, objectArray, type RowError } from './row-errors';
import type { ObjectTextWriter, StagingWriter } from './writers';

/** Safety limits; each one turns a hostile or broken file into a clear rejection. */
export interface ValidateLimits {
  /** Longest CSV record (bytes) before MALFORMED_CSV. A 2 MiB field is fine. @default 16 MiB */
  readonly maxRecordBytes: number;
  /** Widest header accepted before HEADER_MISMATCH. @default 1000 */
  readonly maxHeaderColumns: number;
  /** Start a new staging part after this many characters. @default 256 MiB */
  readonly partChars: number;
  /** Row errors and formula cells listed in report.json. @default 100 */
  readonly reportSampleSize: number;
  /** Lines written to rejects.jsonl; later row errors are only counted. @default 1,000,000 */
  readonly maxRejectLines: number;
}

export const DEFAULT_LIMITS: ValidateLimits = {
  maxRecordBytes: 16 * 1024 * 1024,
  maxHeaderColumns: 1000,
  partChars: 256 * 1024 * 1024,
  reportSampleSize: 100,
  maxRejectLines: 1_000_000,
};

/** How the file was split into records (report.json `csv`). */
export interface CsvReport {
  /**
   * 'checked': the checked fast path read it (checked-fast-path.ts: the scan kernel's byte checks;
   * staging as CSV, or converted to Parquet by DuckDB); 'duckdb': the SQL fast path (sql-validate.ts:
   * DuckDB reads and checks). On both the JavaScript checker decided the rejects.
   */
  readonly reader: CsvReaderKind | 'checked' | 'duckdb';
  /** A fast path was tried and left the file to the usual readers, for this reason. */
  readonly fastPathLeft?: string;
  /** The fast splitter met something it leaves to csv-parse here; the file was read again. */
  readonly splitterLeft?: { readonly line: number; readonly why: string };
}

/**
 * Checks records as a source hands them over: the header first, then rows; counts them and writes
 * staging lines and row errors. Writes that must be waited for are gathered; the source waits on
 * {@link takeWait} before it asks for more input (backpressure).
 */
export class RecordValidator {
  header: HeaderMapping | undefined;
  checker: RowChecker | undefined;
  rowsRead = 0;
  rowsValid = 0;
  rowsRejected = 0;
  rejectLines = 0;
  rowErrors = 0;
  readonly reasons = new Map<string, number>();
  readonly firstErrors: RowError[] = objectArray();
  private wait: Promise<unknown> | undefined;
  /**
   * Made at once (it stores nothing until written to): a writer opened at the first row error put
   * a "first reject" case inside the row loop, which the optimised code of a warm process's next
   * file met once and was thrown away for (`--trace-deopt`).
   */
  private readonly rejectsWriter: ObjectTextWriter;

  constructor(
    private readonly compiled: CompiledContract,
    private readonly fileKey: string,
    private readonly limits: ValidateLimits,
    private readonly staging: Pick<StagingWriter, 'write'>,
    openRejects: () => ObjectTextWriter,
  ) {
    this.rejectsWriter = openRejects();
  }

  /** The row errors' object, once a row error was written to it (undefined while none was). */
  get rejects(): ObjectTextWriter | undefined {
    return this.rejectsWriter.chars > 0 ? this.rejectsWriter : undefined;
  }

  /** The writes to wait for before more input is taken (undefined: none). */
  takeWait(): Promise<unknown> | undefined {
    const wait = this.wait;
    this.wait = undefined;
    return wait;
  }

  private later(wait: Promise<unknown> | undefined): void {
    if (wait) this.wait = this.wait ? Promise.all([this.wait, wait]) : wait;
  }

  readonly onRecord = (cells: Cell[], line: number): void => {
    if (!this.header) {
      // Lines holding only spaces before the header are blank lines, not a header.
      if (cells.every((c) => c !== QUOTED_EMPTY && c.trim() === '')) return;
      this.header = checkHeader(
        this.compiled.contract,
        cells,
        this.fileKey,
        line,
        this.limits.maxHeaderColumns,
      );
      this.checker = new RowChecker(
        this.compiled,
        this.header,
        this.compiled.contract.csv.delimiter,
        this.limits.reportSampleSize,
      );
      return;
    }
    this.rowsRead++;
    const outcome = this.checker!.check(cells, line);
    if (typeof outcome === 'string') {
      this.rowsValid++;
      this.later(this.staging.write(outcome));
      return;
    }
    this.rejectRow(outcome);
  };

  /**
   * A data record the scan kernel found failing in the columns `failing` names (OnFailingRecord):
   * as {@link onRecord}, checking those columns first (RowChecker.checkFailing).
   */
  onFailingRecord(cells: Cell[], line: number, failing: number): void {
    if (failing === 0 || !this.checker) return this.onRecord(cells, line);
    const errors = this.checker.checkFailing(cells, line, failing);
    if (errors === undefined) return this.onRecord(cells, line);
    this.rowsRead++;
    this.rejectRow(errors);
  }

  /**
   * Input without a header row (JSON): the cells of every row are the contract's columns, in
   * contract order. Call once, before the first row; `names` are what row errors call the columns.
   */
  useContractColumns(names: readonly string[]): void {
    const width = this.compiled.contract.columns.length;
    this.header = { sourceIndex: Array.from({ length: width }, (_, i) => i), width, names };
    this.checker = new RowChecker(this.compiled, this.header, ',', this.limits.reportSampleSize);
  }

  /** A row the reader already found bad (JSON: not JSON, not an object, a wrong JSON type). */
  readonly onBadRow = (errors: RowError[]): void => {
    this.rowsRead++;
    this.rejectRow(errors);
  };

  private rejectRow(outcome: readonly RowError[]): void {
    this.rowsRejected++;
    let text = '';
    for (const err of outcome) {
      this.rowErrors++;
      this.reasons.set(err.reason, (this.reasons.get(err.reason) ?? 0) + 1);
      if (this.firstErrors.length < this.limits.reportSampleSize) this.firstErrors.push(detached(err));
      if (this.rejectLines < this.limits.maxRejectLines) {
        this.rejectLines++;
        text += `${JSON.stringify(err)}\n`;
      }
    }
    if (text) this.later(this.rejectsWriter.write(text));
  }
}

/**
 * Receives the checked bytes, parses them in this thread and hands each record to the
 * {@link RecordValidator}. It only asks for the next chunk once the outputs of this one are
 * accepted (backpressure). Malformed CSV fails it with a {@link ParseFailureError}; a file the
 * splitter leaves to csv-parse, with {@link LeaveToCsvParseError}.
 */
export class CsvValidationSink extends Writable {
  private readonly reader: CsvReader;

  constructor(
    dialect: CsvDialect,
    maxRecordBytes: number,
    private readonly validator: RecordValidator,
    kind: CsvReaderKind,
  ) {
    super({ highWaterMark: 256 * 1024 });
    this.reader = csvReaderOf(kind, dialect, maxRecordBytes);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.feed(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.feed(undefined, callback);
  }

  async close(): Promise<void> {}

  private feed(chunk: Buffer | undefined, callback: (error?: Error | null) => void): void {
    try {
      this.reader.feed(chunk, this.validator.onRecord);
    } catch (e) {
      return callback(
        e instanceof CsvError && this.reader instanceof CsvRecordReader
          ? new ParseFailureError(parseFailureOf(e, this.reader.lines))
          : (e as Error),
      );
    }
    const wait = this.validator.takeWait();
    if (wait) wait.then(() => callback(), callback);
    else callback();
  }
}

/** The record source of one run: parsing here, or in a worker thread (parallel.ts). */
export interface RecordSource extends Writable {
  /** Stops the parsing thread, if any. */
  close(): Promise<void>;
}

const CSV_FIXES: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'close the quoted field, and write a quote inside a quoted field as two quotes ("")',
  CSV_INVALID_CLOSING_QUOTE: 'quote the whole field and double the quotes inside it, e.g. "a""b" for a"b',
  INVALID_OPENING_QUOTE:
    'quote the whole field and double the quotes inside it, e.g. "5"" screen" for 5" screen; or, when such quotes are data (37.8"N), set "relaxQuotes": true under "csv" in the contract',
  CSV_MAX_RECORD_SIZE:
    'check for a missing line break or an unclosed quote; records must be shorter than the limit',
};

/** Turns csv-parse's error into a rejection with the physical line and what to do. */
export function malformedCsv(
  f: ParseFailure,
  key: string,
  header: HeaderMapping | undefined,
  limits: ValidateLimits,
): FileRejectedError {
  let line = f.line;
  let problem: string;
  switch (f.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      line = f.recordStart;
      problem = `the record starting on line ${line} opens a quoted field that is never closed`;
      break;
    case 'CSV_INVALID_CLOSING_QUOTE':
      problem = `line ${line} has text right after a closing quote (like "a"b)`;
      break;
    case 'INVALID_OPENING_QUOTE':
      problem = `line ${line} has a quote inside an unquoted field`;
      break;
    case 'CSV_MAX_RECORD_SIZE':
      line = f.recordStart;
      problem = `the record starting on line ${line} is longer than ${limits.maxRecordBytes} bytes`;
      break;
    default:
      problem = `line ${line}: ${f.message}`;
  }
  const columnName = f.column !== undefined && header ? header.names[f.column] : undefined;
  if (columnName !== undefined) problem += ` (column ${JSON.stringify(columnName)})`;
  return rejectionOf(
    'MALFORMED_CSV',
    key,
    problem,
    CSV_FIXES[f.code] ?? 'save the file as standard CSV (RFC 4180)',
    {
      line,
      ...(columnName !== undefined && { column: columnName }),
      csvError: f.code,
    },
  );
}
