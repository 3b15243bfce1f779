/**
 * `etl init`'s engine: reads one CSV file (`.csv.gz`: decompressed as it streams) and proposes a contract v2 for it — the
 * dialect, per column a SQL name, type, nullability and checks, a primary key and a partition —
 * with the reason for every choice. Pure: no AWS, no Lambda, no pipeline state.
 *
 * Reading is the validate step's own: the byte inspector (binary, UTF-16, invalid UTF-8, NUL),
 * then csv-parse through {@link CsvRecordReader} with the dialect found — same records, same
 * `""`-versus-empty distinction, same physical line numbers as `etl run` will see. Values are
 * judged by the validate step's coercion functions (column-profile.ts).
 *
 * Size: a file up to {@link WHOLE_FILE_BYTES} is read in full; of a larger one the first
 * {@link WHOLE_FILE_BYTES} are read (complete records only) and the result says so: types, empty
 * cells and enums are judged on that part only, no enum is proposed, and no key (uniqueness cannot
 * be proven from part of a file). Memory stays bounded: per column a few counters, at most 13
 * distinct values and the days seen; key candidates' values up to {@link KEY_MEMORY_BUDGET}.
 */
import { createReadStream, openSync, readSync, closeSync, statSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CsvError } from 'csv-parse';
import type { CsvDialect } from '../core/contract';
import { landingFileOf } from '../core/layout';
import { CsvRecordReader, QUOTED_EMPTY, parseFailureOf, type Cell } from '../csv/csv-records';
import {
  csvReaderOf,
  LeaveToCsvParseError,
  splitterHandles,
  type CsvReader,
  type CsvReaderKind,
} from '../csv/csv-splitter';
import { gunzipStages, gzipProblem, type CompressedBytes } from '../csv/gzip';
import { ByteInspector, sniff, UnreadableBytesError } from '../csv/inspect-bytes';

import { ColumnProfile, type ColumnDecision } from './column-profile';
import { KeyCandidates, KEY_MEMORY_BUDGET, type KeyDecision } from './key';
import { columnNames } from './names';
import { choosePartition, MIN_ROWS_PER_PARTITION, type PartitionDecision } from './partition';

export { KEY_MEMORY_BUDGET, MIN_ROWS_PER_PARTITION };

/** Files up to this size are read in full; larger ones are judged on their first this-many bytes. */
export const WHOLE_FILE_BYTES = 256 * 1024 * 1024;
/** Bytes the delimiter is chosen from. */
const HEAD_BYTES = 64 * 1024;
/** The validate step's record limit (csv/record-validator DEFAULT_LIMITS.maxRecordBytes). */
const MAX_RECORD_BYTES = 16 * 1024 * 1024;
/** Delimiters tried, in order of preference on a tie. */
export const DELIMITERS = [',', ';', '\t', '|'] as const;

/** The file cannot be read as a CSV: what was found, where, and what to do. */
export class InferError extends Error {
  override readonly name = 'InferError';
  constructor(
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${problem}. Fix: ${fix}`);
  }
}

export interface InferOptions {
  /** @default {@link WHOLE_FILE_BYTES} */
  readonly maxBytes?: number;
  /** @default {@link MIN_ROWS_PER_PARTITION} */
  readonly minRowsPerPartition?: number;
  /** @default {@link KEY_MEMORY_BUDGET} */
  readonly keyMemoryBytes?: number;
  /** Description written into the contract. */
  readonly description?: string;
}

export interface InferredDialect {
  readonly encoding: 'utf-8';
  readonly bom: boolean;
  readonly delimiter: string;
  readonly quote: '"';
  readonly escape: '"';
  readonly relaxQuotes: boolean;
  /** One line per decision (encoding, delimiter, quote, header, relaxQuotes). */
  readonly why: readonly string[];
}

export interface InferredColumn extends ColumnDecision {
  readonly name: string;
  /** The header text in the file. */
  readonly source: string;
}

/** A contract v2 file as `etl init` writes it (see docs/contracts.md). */
export interface ContractDocument {
  version: 2;
  description: string;
  format: 'csv';
  csv: {
    delimiter: string;
    quote: string;
    escape: string;
    encoding: 'utf-8';
    header: 'exact';
    relaxQuotes: boolean;
  };
  columns: Record<string, unknown>[];
  primaryKey?: string[];
  partition?: { column: string; granularity: string; name?: string };
}

export interface Inference {
  readonly file: string;
  readonly fileBytes: number;
  readonly bytesRead: number;
  /** Only the first {@link Inference.bytesRead} bytes were read. */
  readonly sampled: boolean;
  /** Data rows read (header excluded; rows of another width included). */
  readonly rows: number;
  readonly headerLine: number;
  readonly dialect: InferredDialect;
  readonly columns: readonly InferredColumn[];
  readonly key: KeyDecision;
  readonly partition: PartitionDecision;
  /** What the user should know: the file is not clean, the header looks like data … */
  readonly warnings: readonly string[];
  readonly contract: ContractDocument;
}

const count = (n: number) => n.toLocaleString('en-US');
const mib = (n: number) => `${(n / 2 ** 20).toFixed(n < 10 * 2 ** 20 ? 1 : 0)} MiB`;
const show = (text: string) => JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);

function dialectOf(delimiter: string, relaxQuotes: boolean): CsvDialect {
  // relaxQuotes is the contract v2 dialect field csv-parse's relax_quotes follows.
  const dialect = {
    delimiter,
    quote: '"',
    escape: '"',
    encoding: 'utf-8',
    header: 'exact',
    relaxQuotes,
  } as const;
  return dialect;
}

/** The first bytes of the file. */
function readHead(file: string, bytes: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Records csv-parse reads from `head` with this delimiter, until the head ends or it fails. */
function headRecords(head: Buffer, delimiter: string, complete: boolean): Cell[][] {
  const reader = new CsvRecordReader(dialectOf(delimiter, true), { maxRecordBytes: MAX_RECORD_BYTES });
  const records: Cell[][] = [];
  try {
    reader.feed(head, (cells) => void records.push(cells));
    if (complete) reader.feed(undefined, (cells) => void records.push(cells));
  } catch {
    // What was read before the failure still tells how records split.
  }
  return records;
}

/**
 * The delimiter whose records agree best with their header: the share of records with the
 * header's number of fields, then more fields, then the order of {@link DELIMITERS}.
 */
export function chooseDelimiter(head: Buffer, complete: boolean): { delimiter: string; why: string } {
  let best: { delimiter: string; width: number; share: number; rows: number } | undefined;
  for (const delimiter of DELIMITERS) {
    const records = headRecords(head, delimiter, complete).filter(
      (r) => !r.every((c) => c !== QUOTED_EMPTY && c.trim() === ''),
    );
    if (records.length === 0) continue;
    const width = records[0]!.length;
    if (width < 2) continue;
    const rows = records.slice(1);
    const share = rows.length === 0 ? 1 : rows.filter((r) => r.length === width).length / rows.length;
    if (!best || share > best.share || (share === best.share && width > best.width))
      best = { delimiter, width, share, rows: rows.length };
  }
  const label = (d: string) => (d === '\t' ? 'tab' : `"${d}"`);
  if (!best) {
    return { delimiter: ',', why: 'delimiter ",": no candidate (, ; tab |) splits the header: one column' };
  }
  const agree =
    best.rows === 0 ? 'the header' : `${Math.round(best.share * 100)}% of the first ${count(best.rows)} rows`;
  return {
    delimiter: best.delimiter,
    why: `delimiter ${label(best.delimiter)}: ${best.width} fields in the header and in ${agree}`,
  };
}

/**
 * The first `bytes` of the text of a `.csv.gz` (decompressed as it streams), and whether that is
 * all of it; undefined when the file is not gzip (the full read then says why).
 */
async function readGzipHead(
  file: string,
  bytes: number,
): Promise<{ head: Buffer; complete: boolean } | undefined> {
  const source = createReadStream(file, { highWaterMark: 64 * 1024 });
  const gunzip = createGunzip();
  source.on('error', (e) => gunzip.destroy(e));
  source.pipe(gunzip);
  const parts: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of gunzip) {
      parts.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length > bytes) return { head: Buffer.concat(parts).subarray(0, bytes), complete: false };
    }
    return { head: Buffer.concat(parts), complete: true };
  } catch {
    return undefined;
  } finally {
    source.destroy();
    gunzip.destroy();
  }
}

/** The physical line a byte offset is on (for encoding errors). */
function lineAtOffset(file: string, offset: number): number {
  const buf = readHead(file, Math.min(offset, 64 * 2 ** 20));
  let line = 1;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 0x0a) line++;
    else if (buf[i] === 0x0d && buf[i + 1] !== 0x0a) line++;
  }
  return line;
}

/** A quote inside an unquoted field: the file needs relaxQuotes. */
class NeedsRelaxedQuotes extends Error {
  constructor(readonly line: number) {
    super('quote inside an unquoted field');
  }
}

interface PassResult {
  bytesRead: number;
  complete: boolean;
  header: string[] | undefined;
  headerLine: number;
  rows: number;
  profiles: ColumnProfile[];
  keys: KeyCandidates | undefined;
  widthMismatch: { count: number; line: number; width: number } | undefined;
}

/** One streamed read of the file with a dialect. */
async function readPass(
  file: string,
  kind: CsvReaderKind,
  delimiter: string,
  relaxQuotes: boolean,
  maxBytes: number,
  keyMemoryBytes: number,
  gzip: boolean,
): Promise<PassResult> {
  const reader = csvReaderOf(kind, dialectOf(delimiter, relaxQuotes), MAX_RECORD_BYTES);
  const result: PassResult = {
    bytesRead: 0,
    complete: true,
    header: undefined,
    headerLine: 0,
    rows: 0,
    profiles: [],
    keys: undefined,
    widthMismatch: undefined,
  };
  const onRecord = (cells: Cell[], line: number) => {
    if (!result.header) {
      if (cells.every((c) => c !== QUOTED_EMPTY && c.trim() === '')) return; // as validate does
      result.header = cells.map((c) => (c === QUOTED_EMPTY ? '' : c));
      result.headerLine = line;
      result.profiles = result.header.map(() => new ColumnProfile());
      result.keys = new KeyCandidates(columnNames(result.header), keyMemoryBytes);
      return;
    }
    result.rows++;
    if (cells.length !== result.header.length) {
      // etl run rejects such a row (SHORT_ROW / LONG_ROW); its values say nothing about the columns.
      if (result.widthMismatch) result.widthMismatch.count++;
      else result.widthMismatch = { count: 1, line, width: cells.length };
      return;
    }
    for (let i = 0; i < cells.length; i++) result.profiles[i]!.observe(cells[i]!, line);
    result.keys!.observe(cells, line);
  };
  const inspector = new ByteInspector();
  const source = createReadStream(file, { highWaterMark: 1024 * 1024 });
  // A .csv.gz is decompressed as it streams, as the validate step does (csv/gzip.ts).
  const gz = gzip ? gunzipStages() : undefined;
  let streamError: unknown;
  pipeline([source, ...(gz?.stages ?? []), inspector], (err) => {
    if (
      err &&
      err.name !== 'AbortError' &&
      !(err as NodeJS.ErrnoException).code?.startsWith('ERR_STREAM_PREMATURE')
    )
      streamError = err;
  });
  try {
    for await (const chunk of inspector) {
      const buf = chunk as Buffer;
      const room = maxBytes - result.bytesRead;
      if (buf.length > room) {
        // Only complete records of the part read count: the cut one is never ended.
        reader.feed(buf.subarray(0, room), onRecord);
        result.bytesRead += room;
        result.complete = false;
        break;
      }
      reader.feed(buf, onRecord);
      result.bytesRead += buf.length;
    }
    if (result.complete) reader.feed(undefined, onRecord);
  } catch (e) {
    throw translate(e, file, reader, relaxQuotes, gz?.counter);
  } finally {
    source.destroy();
    inspector.destroy();
  }
  if (streamError) throw translate(streamError, file, reader, relaxQuotes, gz?.counter);
  return result;
}

function translate(
  e: unknown,
  file: string,
  reader: CsvReader,
  relaxQuotes: boolean,
  gzip: CompressedBytes | undefined,
): Error {
  if (e instanceof LeaveToCsvParseError) return e;
  const gz = gzip && gzipProblem(e, gzip);
  if (gz) return new InferError(gz.problem, gz.fix);
  if (e instanceof UnreadableBytesError) {
    // The inspector's problem names the byte offset (of the text, for a .csv.gz); the line helps
    // to find it in an editor.
    const line = e.byteOffset > 0 && !gzip ? ` (line ${lineAtOffset(file, e.byteOffset)})` : '';
    return new InferError(`${e.problem}${line}`, e.fix);
  }
  if (e instanceof CsvError && reader instanceof CsvRecordReader) {
    const failure = parseFailureOf(e, reader.lines);
    if (e.code === 'INVALID_OPENING_QUOTE' && !relaxQuotes)
      return new NeedsRelaxedQuotes(failure.recordStart);
    const fix =
      e.code === 'CSV_QUOTE_NOT_CLOSED'
        ? `close the quoted field that starts on line ${failure.recordStart}, or double ("") each quote inside it`
        : e.code === 'CSV_MAX_RECORD_SIZE'
          ? 'a record over 16 MiB is almost always an unclosed quote: check the quotes on that line'
          : 'write each quote inside a quoted field twice (""), or remove the text after the closing quote';
    return new InferError(
      `the file is not well-formed CSV on line ${failure.line} (${e.code}: ${e.message})`,
      fix,
    );
  }
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * Infers a contract v2 for one CSV file.
 * @throws InferError when the file cannot be read as UTF-8 CSV text (names the byte offset or line and the fix)
 * @example const inference = await inferContract('data/airports.csv');
 */
export async function inferContract(file: string, options: InferOptions = {}): Promise<Inference> {
  const maxBytes = options.maxBytes ?? WHOLE_FILE_BYTES;
  const fileBytes = statSync(file).size;
  const gzip = landingFileOf(path.basename(file))?.gzip === true;
  let head = readHead(file, Math.min(HEAD_BYTES, fileBytes));
  let headComplete = head.length === fileBytes;
  if (gzip && head[0] === 0x1f && head[1] === 0x8b) {
    const text = await readGzipHead(file, HEAD_BYTES);
    if (text) ({ head, complete: headComplete } = text);
  }
  const binary = sniff(head.subarray(0, 4096));
  if (binary && !(gzip && binary.problem.includes('gzip'))) throw new InferError(binary.problem, binary.fix);
  const bom = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;
  const { delimiter, why: delimiterWhy } = chooseDelimiter(head, headComplete);

  // The validate step's readers, in its order: the fast splitter for well-formed CSV (same
  // records), csv-parse for what the splitter leaves to it, and csv-parse with relaxed quotes when
  // a quote sits inside an unquoted field.
  const keyMemory = options.keyMemoryBytes ?? KEY_MEMORY_BUDGET;
  let relaxQuotes = false;
  let relaxLine: number | undefined;
  let pass: PassResult | undefined;
  if (splitterHandles(dialectOf(delimiter, false))) {
    try {
      pass = await readPass(file, 'splitter', delimiter, false, maxBytes, keyMemory, gzip);
    } catch (e) {
      if (!(e instanceof LeaveToCsvParseError)) throw e;
    }
  }
  if (!pass) {
    try {
      pass = await readPass(file, 'csv-parse', delimiter, false, maxBytes, keyMemory, gzip);
    } catch (e) {
      if (!(e instanceof NeedsRelaxedQuotes)) throw e;
      relaxQuotes = true;
      relaxLine = e.line;
      pass = await readPass(file, 'csv-parse', delimiter, true, maxBytes, keyMemory, gzip);
    }
  }
  if (!pass.header) {
    throw new InferError(
      `${path.basename(file)} has no header line (the file is empty or only blank lines)`,
      'give it a first line with the column names, then rows of data',
    );
  }
  const wholeFile = pass.complete;
  const warnings: string[] = [];
  const names = columnNames(pass.header);
  const decisions = pass.profiles.map((p) => p.decide(wholeFile));
  const columns: InferredColumn[] = decisions.map((d, i) => ({
    ...d,
    name: names[i]!,
    source: pass.header![i]!,
  }));
  const key = pass.keys!.decide(decisions, wholeFile);
  const partition = choosePartition(names, decisions, options.minRowsPerPartition ?? MIN_ROWS_PER_PARTITION);

  if (!wholeFile) {
    warnings.push(
      `${gzip ? `the file's text is over ${mib(maxBytes)} (gzip, ${mib(fileBytes)} compressed)` : `the file is ${mib(fileBytes)}`}: only its first ${mib(pass.bytesRead)}${gzip ? ' of text' : ''} (${count(pass.rows)} rows${gzip ? '' : `, about ${Math.round((100 * pass.bytesRead) / fileBytes)}%`}) were read. Types and empty cells are judged on that part (a later row that differs is rejected by etl run), no enum is proposed and no key (uniqueness needs the whole file)`,
    );
  }
  if (pass.rows === 0) warnings.push('the file has a header but no rows: every column is text and nullable');
  if (pass.widthMismatch) {
    const w = pass.widthMismatch;
    warnings.push(
      `${count(w.count)} row(s) do not have the header's ${pass.header.length} fields (first: line ${w.line} has ${w.width}); etl run rejects them (SHORT_ROW / LONG_ROW) — their values were not used here`,
    );
  }
  const seen = new Map<string, number>();
  pass.header.forEach((h, i) => {
    const first = seen.get(h);
    if (first !== undefined)
      // Two columns with one header text (two blank ones too) cannot both be found by it.
      warnings.push(
        `header ${show(h)} appears twice (columns ${first + 1} and ${i + 1}); etl run refuses a contract whose columns read the same header: give one its own name in the file`,
      );
    else if (h.trim() === '')
      warnings.push(
        `header column ${i + 1} has no name: named "${names[i]}" here, found by its source ${JSON.stringify(h)} (the blank header cell); a name in the file is clearer`,
      );
    if (first === undefined) seen.set(h, i);
  });
  if (pass.rows > 0 && pass.header.length > 1 && looksLikeData(pass.header)) {
    warnings.push(
      `the first line (${pass.header
        .slice(0, 4)
        .map((h) => show(h))
        .join(', ')} …) looks like data, not names: etl needs a header line; add one`,
    );
  }

  const dialect: InferredDialect = {
    encoding: 'utf-8',
    bom,
    delimiter,
    quote: '"',
    escape: '"',
    relaxQuotes,
    why: [
      bom
        ? 'encoding UTF-8, with a byte-order mark (skipped when reading)'
        : 'encoding UTF-8 (checked over every byte read)',
      ...(gzip
        ? ['compression gzip (the name ends in .gz): decompressed as it streams, as etl run does']
        : []),
      delimiterWhy,
      'quote ": fields may be quoted with ", a quote inside one is written twice ("")',
      `header: line ${pass.headerLine} is taken as the header (a header line is assumed)`,
      relaxQuotes
        ? `relaxQuotes: true — line ${relaxLine} has a quote inside an unquoted field (like 37.8"N): read as part of the value`
        : 'relaxQuotes: false — no quote inside an unquoted field',
    ],
  };
  const contract = contractDocument(file, dialect, columns, key, partition, pass, options.description);
  return {
    file,
    fileBytes,
    bytesRead: pass.bytesRead,
    sampled: !wholeFile,
    rows: pass.rows,
    headerLine: pass.headerLine,
    dialect,
    columns,
    key,
    partition,
    warnings,
    contract,
  };
}

/** Every header cell would pass as a number, date or boolean: probably a data row. */
function looksLikeData(header: readonly string[]): boolean {
  return header.every((h) => {
    const p = new ColumnProfile();
    p.observe(h, 1);
    return p.decide(false).type !== 'string';
  });
}

function contractDocument(
  file: string,
  dialect: InferredDialect,
  columns: readonly InferredColumn[],
  key: KeyDecision,
  partition: PartitionDecision,
  pass: PassResult,
  description: string | undefined,
): ContractDocument {
  const doc: ContractDocument = {
    version: 2,
    description:
      description ??
      `Inferred by etl init from ${path.basename(file)} (${count(pass.rows)} rows${pass.complete ? '' : `, first ${mib(pass.bytesRead)} read`}). Review it: types, empty cells and enums reflect that file only.`,
    format: 'csv',
    csv: {
      delimiter: dialect.delimiter,
      quote: dialect.quote,
      escape: dialect.escape,
      encoding: 'utf-8',
      header: 'exact',
      relaxQuotes: dialect.relaxQuotes,
    },
    columns: columns.map((c) => ({
      name: c.name,
      source: c.source,
      type: c.type,
      ...(c.type === 'decimal' && { precision: c.precision, scale: c.scale }),
      ...(c.timezone !== undefined && { timezone: c.timezone }),
      required: c.required,
      ...(c.enum !== undefined && { enum: [...c.enum] }),
    })),
  };
  if (key.columns.length > 0) doc.primaryKey = [...key.columns];
  if (partition.column !== null)
    doc.partition = {
      column: partition.column,
      granularity: partition.granularity!,
      ...(partition.name !== undefined && { name: partition.name }),
    };
  return doc;
}
