/**
 * The validate step's DuckDB fast path: "DuckDB validates, JavaScript decides every reject".
 *
 * 1. One JavaScript pass over the local file: the {@link ByteInspector} (binary, BOM, NUL, UTF-8 —
 *    any finding and the file is left to the usual path, which rejects it with the usual message)
 *    and the {@link RecordIndexer} (record boundaries, physical start lines, field counts).
 * 2. The header record is checked by the JavaScript `checkHeader` (via the {@link RecordValidator}).
 * 3. DuckDB reads the file (every field VARCHAR, in the header's order) on every thread; sampled
 *    records (one in 512, from the index) must hold the same cells at the same row position, else
 *    the read did not keep file order and the fast path declines. Then, per row, DuckDB evaluates
 *    the contract's conservative predicate (sql-checks.ts). Rows that pass are written, typed, to
 *    the Parquet staging part `part-00000.parquet` with `_line` from the record index (joined on
 *    the row's position, carried explicitly: no statement depends on the order DuckDB keeps).
 * 4. The few others — rows failing the predicate (cells from DuckDB: NULL = unquoted empty, '' =
 *    `""`) and records with another field count (their bytes re-read and split by the splitter) —
 *    go, in line order, through the same {@link RecordValidator} as on the usual path: the same
 *    row errors, messages, lines, formula cells, counts. The rows it accepts after all are staged
 *    with its canonical values in `part-00001.parquet`.
 *
 * Whatever does not add up — DuckDB's rows + rejects ≠ the index's records, a reject at another
 * byte than the index says, a DuckDB error, the header rejected — makes it decline: the caller
 * deletes what was written and validates the file the usual way from its first byte.
 */
import { closeSync, createReadStream, openSync, readSync, writeSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DuckDBConnection, DuckDBInstance as DuckDBInstanceType } from '@duckdb/node-api';
import { FileRejectedError } from '../core/errors';
import type { ObjectStore } from '../core/ports';
import { LINE_COLUMN } from '../core/plan';
import { STAGING_PART_PARQUET, stagingParquetType } from '../core/staging';
import { QUOTED_EMPTY, type Cell } from './csv-records';
import { CsvSplitter, LeaveToCsvParseError } from './csv-splitter';
import { ByteInspector, UnreadableBytesError } from './inspect-bytes';
import { RecordIndexer, type OddRecord, type RecordIndex } from './record-index';
import { RecordValidator, type ValidateLimits } from './record-validator';
import type { CompiledContract } from './row-checker';
import { sqlChecksFor, sqlString } from './sql-checks';
import type { ObjectTextWriter } from './writers';

/** The fast path could not read this file; the caller validates it the usual way. */
export class DeclineFastPathError extends Error {
  constructor(readonly why: string) {
    super(`the DuckDB fast path leaves this file to the usual path: ${why}`);
    this.name = 'DeclineFastPathError';
  }
}

/** Staging written as Parquet parts in a local folder; uploaded by {@link end}. */
export class ParquetStaging {
  /** Bytes of the uploaded Parquet parts. */
  parquetBytes = 0;
  /**
   * The JSON Lines equivalent of the staged rows (estimated for the rows DuckDB staged): what the
   * step reports as `stagingBytes`, since the transform is routed (Lambda or Glue) on JSON Lines
   * bytes (transform/README.md, "Parquet staging").
   */
  jsonLinesBytes = 0;
  get bytes(): number {
    return this.jsonLinesBytes;
  }
  readonly parts: string[] = [];

  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly onDone: () => Promise<void>,
  ) {}

  /** Uploads the parts, then removes the local folder. */
  async end(): Promise<void> {
    try {
      for (const [n, file] of this.parts.entries()) {
        const info = await this.store.put(
          this.bucket,
          `${this.prefix}${STAGING_PART_PARQUET(n)}`,
          createReadStream(file),
          { contentType: 'application/vnd.apache.parquet' },
        );
        this.parquetBytes += info.size;
      }
    } finally {
      await this.onDone();
    }
  }

  /** Nothing was uploaded yet: only the local folder goes. */
  async abort(): Promise<void> {
    await this.onDone();
  }
}

/** The staging lines the JavaScript checker accepts, gathered in a local JSON Lines file. */
class JsonLinesFile {
  private fd: number | undefined;
  private pending: string[] = [];
  private pendingChars = 0;
  rows = 0;
  bytes = 0;
  constructor(readonly file: string) {}
  write(lines: string): undefined {
    this.pending.push(lines);
    this.pendingChars += lines.length;
    this.rows++;
    if (this.pendingChars >= 1 << 20) this.flush();
    return undefined;
  }
  private flush(): void {
    if (this.pending.length === 0) return;
    this.fd ??= openSync(this.file, 'w');
    this.bytes += writeSync(this.fd, this.pending.join(''));
    this.pending = [];
    this.pendingChars = 0;
  }
  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface FastValidateInput {
  /** The landing object as a local file (read in place, never modified). */
  readonly file: string;
  readonly compiled: CompiledContract;
  readonly key: string;
  readonly limits: ValidateLimits;
  readonly store: ObjectStore;
  readonly bucket: string;
  readonly stagingPrefix: string;
  readonly openRejects: () => ObjectTextWriter;
  /** A folder of this run's own (scratch files, DuckDB's spill). */
  readonly workDir: string;
  readonly threads: number;
  /** DuckDB memory_limit. @default '256MB' */
  readonly memoryLimit?: string;
  /** Called when the staging is uploaded or dropped (removes `workDir`). */
  readonly onDone: () => Promise<void>;
}

export interface FastValidateResult {
  readonly inspector: ByteInspector;
  readonly validator: RecordValidator;
  readonly staging: ParquetStaging;
  /** Rows DuckDB staged directly; the JavaScript checker saw the others. */
  readonly sqlRows: number;
}

/** One pass: bytes checked and records indexed. */
async function scan(file: string, compiled: CompiledContract, limits: ValidateLimits) {
  const inspector = new ByteInspector();
  const indexer = new RecordIndexer(compiled.contract.csv, limits.maxRecordBytes);
  const sink = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _enc, cb) {
      indexer.feed(chunk);
      cb();
    },
    final(cb) {
      indexer.feed(undefined);
      cb();
    },
  });
  try {
    await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), inspector, sink);
  } catch (e) {
    if (e instanceof UnreadableBytesError)
      throw new DeclineFastPathError(`${e.reason} at byte ${e.byteOffset}`);
    throw e;
  }
  return { inspector, index: indexer.result() };
}

/** The cells of one record read from the file by its byte range, split as the usual path splits. */
function cellsAt(
  fd: number,
  start: number,
  end: number,
  compiled: CompiledContract,
  limits: ValidateLimits,
): Cell[] {
  const bytes = Buffer.allocUnsafe(end - start);
  let got = 0;
  while (got < bytes.length) {
    const n = readSync(fd, bytes, got, bytes.length - got, start + got);
    if (n === 0) throw new DeclineFastPathError('the file changed while it was read');
    got += n;
  }
  const splitter = new CsvSplitter(compiled.contract.csv, { maxRecordBytes: limits.maxRecordBytes });
  let cells: Cell[] | undefined;
  let count = 0;
  const take = (c: Cell[]) => {
    cells = c;
    count++;
  };
  try {
    splitter.feed(bytes, take);
    splitter.feed(undefined, take);
  } catch (e) {
    if (e instanceof LeaveToCsvParseError)
      throw new DeclineFastPathError(`a record the splitter leaves to csv-parse: ${e.why}`);
    throw e;
  }
  if (count !== 1 || !cells) throw new DeclineFastPathError(`bytes ${start}–${end} are not one record`);
  return cells;
}

let t0 = 0;
/** Phase times on stderr when ETL_FASTPATH_TRACE is set (measuring only). */
const T = (label: string) => {
  if (process.env.ETL_FASTPATH_TRACE)
    console.error(
      `fast path: ${label} at ${Date.now() - t0} ms, rss ${Math.round(process.memoryUsage().rss / 1e6)} MB`,
    );
};

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

async function rows(connection: DuckDBConnection, sql: string): Promise<unknown[][]> {
  return (await connection.runAndReadAll(sql)).getRows() as unknown[][];
}

/**
 * Validates a local CSV file with DuckDB and the JavaScript checker (module comment).
 * @throws DeclineFastPathError when the file must be read the usual way (nothing usable written)
 */
export async function validateWithDuckdb(input: FastValidateInput): Promise<FastValidateResult> {
  const { file, compiled, limits, workDir } = input;
  t0 = Date.now();
  const jsStaged = new JsonLinesFile(path.join(workDir, 'checked-rows.jsonl'));
  const validator = new RecordValidator(compiled, input.key, limits, jsStaged, input.openRejects);
  const fd = openSync(file, 'r');
  try {
    return await validateOpen(input, fd, validator, jsStaged);
  } catch (e) {
    await validator.rejects?.abort();
    throw e;
  } finally {
    jsStaged.close();
    closeSync(fd);
  }
}

/** The first record of the file (the header), split as the usual path splits it. */
function readHeader(fd: number, compiled: CompiledContract, limits: ValidateLimits): Cell[] {
  const splitter = new CsvSplitter(compiled.contract.csv, { maxRecordBytes: limits.maxRecordBytes });
  let header: { cells: Cell[]; line: number } | undefined;
  const take = (cells: Cell[], line: number) => {
    header ??= { cells, line };
  };
  const chunk = Buffer.allocUnsafe(64 * 1024);
  let at = 0;
  try {
    while (!header) {
      const n = readSync(fd, chunk, 0, chunk.length, at);
      splitter.feed(n === 0 ? undefined : chunk.subarray(0, n), take);
      if (n === 0) break;
      at += n;
    }
  } catch (e) {
    if (!(e instanceof LeaveToCsvParseError)) throw e;
  }
  if (!header) throw new DeclineFastPathError('no header record');
  const { cells, line } = header;
  if (line !== 1) throw new DeclineFastPathError('blank lines before the header');
  return cells;
}

async function validateOpen(
  input: FastValidateInput,
  fd: number,
  validator: RecordValidator,
  jsStaged: JsonLinesFile,
): Promise<FastValidateResult> {
  const { compiled, limits, workDir, file } = input;
  const { contract } = compiled;
  {
    const headerCells = readHeader(fd, compiled, limits);
    if (headerCells.every((c) => c !== QUOTED_EMPTY && c.trim() === ''))
      throw new DeclineFastPathError('a blank first line');
    try {
      validator.onRecord(headerCells, 1);
    } catch (e) {
      if (e instanceof FileRejectedError)
        throw new DeclineFastPathError(`the header is rejected (${e.reason})`);
      throw e;
    }
    const header = validator.header!;
    const checks = sqlChecksFor(contract, (i) => `c${header.sourceIndex[i]}`);
    if (checks.unsupported !== undefined) throw new DeclineFastPathError(checks.unsupported);

    const instance = await duckdb().create(':memory:', {
      threads: String(input.threads),
      memory_limit: input.memoryLimit ?? '256MB',
      temp_directory: path.join(workDir, 'spill'),
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    const connection = await instance.connect();
    let sqlRows: number;
    let jsonLinesBytes: number;
    let failing: string;
    let inspector: ByteInspector;
    let index: RecordIndex;
    try {
      await connection.run(`SET TimeZone = 'UTC'`);
      T('duckdb open');
      // DuckDB reads and checks the rows in its threads while this thread checks the bytes and
      // indexes the records (on one vCPU they take turns; on two they overlap).
      const [read, scanned] = await Promise.allSettled([
        readRaw(connection, input, header.width),
        scan(file, compiled, limits),
      ]);
      if (scanned.status === 'rejected') throw scanned.reason;
      ({ inspector, index } = scanned.value);
      T('scan');
      if (index.declined !== undefined) throw new DeclineFastPathError(index.declined);
      if (index.records === 0) throw new DeclineFastPathError('no data records');
      if (index.header.line !== 1 || index.width !== header.width)
        throw new DeclineFastPathError('the header splits differently');
      if (read.status === 'rejected') throw read.reason;
      T('read');
      const [[tableRows]] = (await rows(connection, `SELECT count(*) FROM raw`)) as [[bigint]];
      if (Number(tableRows) !== index.duckdbRows)
        throw new DeclineFastPathError(
          `DuckDB read ${tableRows} rows, the index counted ${index.duckdbRows}`,
        );
      await checkSamples(connection, fd, index, compiled, limits);
      T(`${index.samples.length} samples`);
      await createChecked(connection, checks.columns, header.width);
      T('checked');
      await createLines(connection, index);
      const staged = await stageGoodRows(connection, input);
      sqlRows = staged.rows;
      jsonLinesBytes = staged.jsonLinesBytes;
      T('copy');
      failing = await failingRows(connection, input, header.width);
      T('failing');
      await checkRejects(connection, index.odd);
    } catch (e) {
      if (e instanceof DeclineFastPathError) throw e;
      throw new DeclineFastPathError(`DuckDB: ${(e as Error).message.split('\n')[0]}`);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }

    // The JavaScript checker sees every other record, in line order.
    const { odd } = index;
    let o = 0;
    const next = async (cells: Cell[], line: number) => {
      validator.onRecord(cells, line);
      const wait = validator.takeWait();
      if (wait) await wait;
    };
    const checkOdd = async (r: OddRecord) => next(cellsAt(fd, r.start, r.end, compiled, limits), r.line);
    const names = Array.from({ length: header.width }, (_, i) => `c${i}`);
    let failingCount = 0;
    let flagged = 0;
    let lastLine = 0;
    for await (const text of createInterface({ input: createReadStream(failing), crlfDelay: Infinity })) {
      if (text === '') continue;
      const row = JSON.parse(text) as Record<string, string | number | boolean | null>;
      const line = row.line;
      if (typeof line !== 'number' || line <= lastLine)
        throw new DeclineFastPathError('DuckDB rows and the index do not line up');
      lastLine = line;
      if (row.js === true) {
        flagged++; // an odd record DuckDB read as a row: checked from its bytes below
        continue;
      }
      failingCount++;
      while (o < odd.length && odd[o]!.line < line) await checkOdd(odd[o++]!);
      const cells: Cell[] = new Array(header.width);
      for (let c = 0; c < header.width; c++) {
        const v = row[names[c]!];
        cells[c] = v === null ? '' : v === '' ? QUOTED_EMPTY : (v as string);
      }
      await next(cells, line);
    }
    while (o < odd.length) await checkOdd(odd[o++]!);
    const read = sqlRows + failingCount + flagged;
    if (read !== index.duckdbRows)
      throw new DeclineFastPathError(`DuckDB read ${read} rows, the index counted ${index.duckdbRows}`);
    T(`checked ${failingCount} + ${odd.length}`);
    jsStaged.close();
    validator.rowsRead += sqlRows;
    validator.rowsValid += sqlRows;

    const staging = new ParquetStaging(input.store, input.bucket, input.stagingPrefix, input.onDone);
    staging.parts.push(path.join(workDir, STAGING_PART_PARQUET(0)));
    if (jsStaged.rows > 0) {
      staging.parts.push(path.join(workDir, STAGING_PART_PARQUET(1)));
      await stageCheckedRows(input, jsStaged.file, staging.parts[1]!);
    }
    T(`staged ${jsStaged.rows} checked rows`);
    staging.jsonLinesBytes = jsonLinesBytes + jsStaged.bytes;
    return { inspector, validator, staging, sqlRows };
  }
}

function readCsv(input: FastValidateInput, width: number): string {
  const { csv } = input.compiled.contract;
  const columns = Array.from({ length: width }, (_, i) => `'c${i}': 'VARCHAR'`).join(', ');
  return (
    `(SELECT * FROM read_csv(${sqlString(input.file)}, header = true, auto_detect = false, ` +
    `columns = {${columns}}, delim = ${sqlString(csv.delimiter)}, quote = ${sqlString(csv.quote)}, ` +
    `escape = ${sqlString(csv.escape)}, strict_mode = true, null_padding = false, allow_quoted_nulls = false, ` +
    `store_rejects = true, max_line_size = ${input.limits.maxRecordBytes + 1024}, buffer_size = ${2 * (input.limits.maxRecordBytes + 1024)}, encoding = 'utf-8'))`
  );
}

/** The lines of the well-formed records, in file order, as table `ln` (from the index's runs). */
async function createLines(connection: DuckDBConnection, index: RecordIndex): Promise<void> {
  await connection.run(`CREATE TABLE runs (off BIGINT, first BIGINT, n BIGINT, js BOOLEAN)`);
  const appender = await connection.createAppender('runs');
  let off = 0;
  for (let i = 0; i < index.runFirstLine.length; i++) {
    appender.appendBigInt(BigInt(off));
    off += index.runLength[i]!;
    appender.appendBigInt(BigInt(index.runFirstLine[i]!));
    appender.appendBigInt(BigInt(index.runLength[i]!));
    appender.appendBoolean(index.runJs[i]!);
    appender.endRow();
  }
  appender.closeSync();
  // Row `rn` of DuckDB's read (0-based, raw's rowid) is on `line`: explicit, so no statement
  // depends on the order DuckDB keeps rows in.
  await connection.run(
    `CREATE TABLE ln AS SELECT off + u AS rn, first + u AS line, js FROM (SELECT off, first, js, unnest(range(n)) AS u FROM runs)`,
  );
}

/**
 * One read of the CSV into table `raw` (every field VARCHAR), on every DuckDB thread. Nothing
 * else happens in this statement: with the predicate evaluated in the same statement, DuckDB
 * 1.5 on two threads stored the rows out of file order (measured on the 100 MB bench file),
 * while the plain read kept it. The order is not taken on trust: {@link checkSamples} compares
 * sampled rows with the file's bytes, and every later statement carries `raw.rowid` as `r`.
 */
async function readRaw(connection: DuckDBConnection, input: FastValidateInput, width: number): Promise<void> {
  await connection.run(`CREATE TABLE raw AS SELECT * FROM ${readCsv(input, width)}`);
}

/**
 * The rows of `raw` that the index sampled must hold the cells the splitter reads from those
 * records' bytes: else DuckDB's row positions are not the file's record order and the fast path
 * declines.
 */
export async function checkSamples(
  connection: DuckDBConnection,
  fd: number,
  index: RecordIndex,
  compiled: CompiledContract,
  limits: ValidateLimits,
): Promise<void> {
  if (index.samples.length === 0) return;
  const width = index.width;
  const cells = Array.from({ length: width }, (_, i) => `c${i}`).join(', ');
  await connection.run(`CREATE TABLE samples (r BIGINT)`);
  const appender = await connection.createAppender('samples');
  for (const s of index.samples) {
    appender.appendBigInt(BigInt(s.row));
    appender.endRow();
  }
  appender.closeSync();
  const got = await rows(
    connection,
    `SELECT raw.rowid, ${cells} FROM raw JOIN samples ON raw.rowid = samples.r ORDER BY raw.rowid`,
  );
  if (got.length !== index.samples.length)
    throw new DeclineFastPathError(`DuckDB has ${got.length} of the ${index.samples.length} sampled rows`);
  for (let i = 0; i < got.length; i++) {
    const s = index.samples[i]!;
    const want = cellsAt(fd, s.start, s.end, compiled, limits);
    const row = got[i]!;
    for (let c = 0; c < width; c++) {
      const v = row[c + 1] as string | null;
      const asCell = v === null ? '' : v === '' ? QUOTED_EMPTY : v;
      if (asCell !== want[c])
        throw new DeclineFastPathError(
          `DuckDB's row ${s.row} is not the record at byte ${s.start} (the read did not keep file order)`,
        );
    }
  }
}

/**
 * Table `t` from `raw`: per row its position `r` (raw's rowid), the typed values, `good` (the
 * predicate holds), and — only for the other rows — the raw fields. Reading the CSV twice (once
 * for each output) cost about twice as much CPU as keeping the typed rows here (DuckDB spills
 * them past `memory_limit`).
 */
async function createChecked(
  connection: DuckDBConnection,
  checks: readonly { ok: string; value: string }[],
  width: number,
): Promise<void> {
  const ok = checks.map((c) => `(${c.ok})`).join(' AND ');
  const values = checks.map((c, i) => `${c.value} AS v${i}`).join(', ');
  const raw = Array.from({ length: width }, (_, i) => `CASE WHEN NOT good THEN c${i} END AS c${i}`).join(
    ', ',
  );
  await connection.run(
    `CREATE TABLE t AS SELECT r, ${values}, good, ${raw} FROM ` +
      `(SELECT rowid AS r, *, coalesce(${ok}, false) AS good FROM raw)`,
  );
  await connection.run(`DROP TABLE raw`);
}

/** Writes the good rows, typed, as the first Parquet staging part; returns how many. */
async function stageGoodRows(
  connection: DuckDBConnection,
  input: FastValidateInput,
): Promise<{ rows: number; jsonLinesBytes: number }> {
  const columns = input.compiled.contract.columns;
  const values = columns.map((c, i) => `v${i} AS ${ident(c.name)}`).join(', ');
  const out = path.join(input.workDir, STAGING_PART_PARQUET(0));
  await connection.run(
    `COPY (SELECT ${values}, line::BIGINT AS ${ident(LINE_COLUMN)} FROM t JOIN ln ON t.r = ln.rn WHERE good AND NOT js) TO ${sqlString(out)} (FORMAT parquet)`,
  );
  // What these rows would take as JSON Lines staging (routing is sized on JSON Lines bytes):
  // keys, quotes, commas, braces and `_line` per row, plus each value's canonical text (JSON
  // escapes in strings not counted: an estimate).
  const perRow =
    columns.reduce((n, c) => n + JSON.stringify(c.name).length + 2, 0) +
    JSON.stringify(LINE_COLUMN).length +
    3;
  const valueBytes = columns.map((c, i) => {
    const v = `v${i}`;
    const text =
      c.type === 'string'
        ? `strlen(${v}) + 2`
        : c.type === 'timestamp'
          ? '29'
          : c.type === 'date'
            ? '12'
            : `strlen(CAST(${v} AS VARCHAR)) + 2`;
    return `coalesce(${text}, 4)`;
  });
  const [[count, bytes]] = (await rows(
    connection,
    `SELECT count(*), coalesce(sum(${[...valueBytes, 'strlen(CAST(line AS VARCHAR))'].join(' + ')}), 0) FROM t JOIN ln ON t.r = ln.rn WHERE good AND NOT js`,
  )) as [[bigint, unknown]];
  return { rows: Number(count), jsonLinesBytes: Number(count) * perRow + Number(bytes) };
}

/**
 * The other rows, in line order, written by DuckDB as JSON Lines `{"line", "js", "c0",
 * …}` (NULL stays null): reading them back with JSON.parse is many times cheaper than taking
 * DuckDB values over the binding.
 */
async function failingRows(
  connection: DuckDBConnection,
  input: FastValidateInput,
  width: number,
): Promise<string> {
  const cells = Array.from({ length: width }, (_, i) => `c${i}`).join(', ');
  const out = path.join(input.workDir, 'failing.jsonl');
  await connection.run(
    `COPY (SELECT line, js, ${cells} FROM t JOIN ln ON t.r = ln.rn WHERE NOT good OR js ORDER BY line) TO ${sqlString(out)} (FORMAT json)`,
  );
  return out;
}

/** DuckDB's rejects of the last scan must be exactly the records with another field count. */
async function checkRejects(connection: DuckDBConnection, odd: readonly OddRecord[]): Promise<void> {
  const got = await rows(
    connection,
    `SELECT DISTINCT line, line_byte_position, error_type FROM reject_errors ` +
      `WHERE scan_id = (SELECT max(scan_id) FROM reject_scans) ORDER BY line`,
  );
  const want = new Map(odd.filter((r) => !r.duckdbReads).map((r) => [r.record + 1, r]));
  const seen = new Set<number>();
  for (const [line, byte, type] of got) {
    const r = want.get(Number(line));
    // DuckDB's line_byte_position is the record's first byte, or (after an LF) the one after it.
    const off = Number(byte) - (r?.start ?? 0);
    if (!r || (off !== 0 && off !== 1) || (type !== 'TOO MANY COLUMNS' && type !== 'MISSING COLUMNS'))
      throw new DeclineFastPathError(`DuckDB rejected record ${String(line)} (${String(type)}) unexpectedly`);
    seen.add(Number(line));
  }
  if (seen.size !== want.size)
    throw new DeclineFastPathError('DuckDB accepted a record of another field count');
}

/** The rows the JavaScript checker staged (canonical text, core/staging.ts), typed into Parquet. */
async function stageCheckedRows(input: FastValidateInput, jsonl: string, out: string): Promise<void> {
  const cols = input.compiled.contract.columns;
  const instance = await duckdb().create(':memory:', {
    threads: '1',
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const connection = await instance.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    const spec = [
      ...cols.map((c) => `${sqlString(c.name)}: 'VARCHAR'`),
      `${sqlString(LINE_COLUMN)}: 'BIGINT'`,
    ].join(', ');
    const values = cols
      .map((c) => `CAST(${ident(c.name)} AS ${stagingParquetType(c)}) AS ${ident(c.name)}`)
      .join(', ');
    await connection.run(
      `COPY (SELECT ${values}, ${ident(LINE_COLUMN)} FROM read_json(${sqlString(jsonl)}, format = 'newline_delimited', ` +
        `columns = {${spec}}, maximum_object_size = ${input.limits.maxRecordBytes * 7 + 1024})) TO ${sqlString(out)} (FORMAT parquet)`,
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  await fs.rm(jsonl, { force: true });
}

/**
 * DuckDB's class, loaded on first use: the native binding is required only when the fast path
 * runs, so the validate bundle loads (and its JavaScript path works) where the binding of the
 * Lambda's architecture cannot load, as in the synth test on an x86-64 machine.
 */
function duckdb(): typeof DuckDBInstanceType {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('@duckdb/node-api') as typeof import('@duckdb/node-api')).DuckDBInstance;
}
