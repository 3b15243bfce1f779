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
import { closeSync, createReadStream, openSync, readSync, rmSync, writeSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DuckDBConnection, DuckDBInstance as DuckDBInstanceType } from '@duckdb/node-api';
import { FileRejectedError } from '../core/errors';
import type { ObjectInfo, ObjectStore } from '../core/ports';
import { LINE_COLUMN } from '../core/plan';
import {
  STAGING_PART,
  STAGING_PART_CSV,
  STAGING_PART_PARQUET,
  stagingParquetType,
  type StagingCsvLayout,
} from '../core/staging';
import { putScratchFile, TRANSFERS_AT_ONCE } from '../core/uploads';
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

/**
 * Staging part files in a local folder, uploaded by {@link end} (or earlier): Parquet, or on the
 * checked fast path's CSV staging CSV parts and one JSON Lines part (core/staging.ts).
 */
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
  /** Uploads started (by {@link uploadNow} or {@link end}), by part number. */
  private readonly uploads = new Map<number, Promise<ObjectInfo>>();

  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly onDone: () => Promise<void>,
  ) {}

  /** Part `n`'s file goes up as `part-<n>` with its file's kind: `.parquet`, `.csv` or `.jsonl` (core/staging.ts). */
  private upload(n: number): Promise<ObjectInfo> {
    const file = this.parts[n]!;
    const [name, contentType] = file.endsWith('.csv')
      ? [STAGING_PART_CSV(n), 'text/csv']
      : file.endsWith('.jsonl')
        ? [STAGING_PART(n), 'application/x-ndjson']
        : [STAGING_PART_PARQUET(n), 'application/vnd.apache.parquet'];
    return putScratchFile(this.store, this.bucket, `${this.prefix}${name}`, file, { contentType });
  }

  /**
   * Starts uploading part `n` now (its file is complete) while the pass goes on; {@link end} waits
   * for it. Whoever ends the pass without {@link end} must {@link settle} first, so that no part
   * lands after the staging prefix is cleared.
   */
  uploadNow(n: number): void {
    if (this.uploads.has(n)) return;
    const started = (async () => {
      await this.slot();
      try {
        return await this.upload(n);
      } finally {
        this.release();
      }
    })();
    started.catch(() => undefined); // observed by end() or settle()
    this.uploads.set(n, started);
  }

  /**
   * At most TRANSFERS_AT_ONCE uploads at a time: each holds a read buffer (at 1 GB, starting all
   * the parts at once raised the validate peak by 210 MB).
   */
  private slots = TRANSFERS_AT_ONCE;
  private readonly waiting: (() => void)[] = [];

  private async slot(): Promise<void> {
    if (this.slots > 0) {
      this.slots--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** Hands the slot to the next waiting upload, else frees it. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.slots++;
  }

  /** Waits for the uploads started, whatever their outcome. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.uploads.values());
  }

  /** Uploads the parts not yet up (a few at once; the store may take the files), then removes the local folder. */
  async end(): Promise<void> {
    try {
      for (const n of this.parts.keys()) this.uploadNow(n);
      const infos = await Promise.all([...this.parts.keys()].map((n) => this.uploads.get(n)!));
      for (const info of infos) this.parquetBytes += info.size;
    } finally {
      await this.settle();
      await this.onDone();
    }
  }

  /** The parts uploaded early stay (the caller clears the staging prefix); the local folder goes. */
  async abort(): Promise<void> {
    await this.settle();
    await this.onDone();
  }
}

/** The staging lines the JavaScript checker accepts, gathered in a local JSON Lines file. */
export class JsonLinesFile {
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
  /** Bytes per chunk DuckDB reads at a time. @default {@link CHUNK_BYTES} */
  readonly chunkBytes?: number;
  /** Called when the staging is uploaded or dropped (removes `workDir`). */
  readonly onDone: () => Promise<void>;
  /**
   * The checked fast path only: write CSV staging parts (core/staging.ts) instead of converting to
   * Parquet; the caller decided the file goes to the Transform Lambda.
   */
  readonly csvStaging?: boolean;
}

export interface FastValidateResult {
  readonly inspector: ByteInspector;
  readonly validator: RecordValidator;
  readonly staging: ParquetStaging;
  /** Rows DuckDB staged directly; the JavaScript checker saw the others. */
  readonly sqlRows: number;
  /** CSV staging: its layout (plan.json `stagingCsv`). */
  readonly stagingCsv?: StagingCsvLayout;
}

/** Bytes [start, end) of the open file. */
function bytesAt(fd: number, start: number, end: number): Buffer {
  const bytes = Buffer.allocUnsafe(end - start);
  let got = 0;
  while (got < bytes.length) {
    const n = readSync(fd, bytes, got, bytes.length - got, start + got);
    if (n === 0) throw new DeclineFastPathError('the file changed while it was read');
    got += n;
  }
  return bytes;
}

/** The cells of one record read from the file by its byte range, split as the usual path splits. */
function cellsAt(
  fd: number,
  start: number,
  end: number,
  compiled: CompiledContract,
  limits: ValidateLimits,
): Cell[] {
  return cellsOf(bytesAt(fd, start, end), compiled, limits, start, end);
}

/**
 * The cells of one record's bytes (no line end), split as the usual path splits; `start`–`end`
 * only name the bytes in the decline.
 */
export function cellsOf(
  bytes: Buffer,
  compiled: CompiledContract,
  limits: ValidateLimits,
  start: number,
  end: number,
): Cell[] {
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
const phases: Record<string, number> = {};
/** Phase times on stderr when ETL_FASTPATH_TRACE is set (measuring only). */
const T = (label: string) => {
  if (process.env.ETL_FASTPATH_TRACE)
    console.error(
      `fast path: ${label} at ${Date.now() - t0} ms, rss ${Math.round(process.memoryUsage().rss / 1e6)} MB` +
        (label === 'chunks' ? `; summed per phase (ms): ${JSON.stringify(phases)}` : ''),
    );
};
/** Adds the time since `clock` to `name` and moves `clock` on (ETL_FASTPATH_TRACE only). */
const phase = (name: string, clock: { at: number }) => {
  if (!process.env.ETL_FASTPATH_TRACE) return;
  const now = Date.now();
  phases[name] = (phases[name] ?? 0) + now - clock.at;
  clock.at = now;
};

export const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

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
  for (const k of Object.keys(phases)) delete phases[k];
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

/**
 * Reads the header record and gives it to the validator, as the usual path's first record: a blank
 * first line or a header the validator rejects declines (the usual path rejects it with its report).
 */
export function checkHeaderRecord(
  fd: number,
  validator: RecordValidator,
  compiled: CompiledContract,
  limits: ValidateLimits,
): void {
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
}

/** Thrown out of the splitter by readHeader once it has the first record. */
const HEADER_TAKEN = new Error('header taken');

/** The first record of the file (the header), split as the usual path splits it. */
function readHeader(fd: number, compiled: CompiledContract, limits: ValidateLimits): Cell[] {
  const splitter = new CsvSplitter(compiled.contract.csv, { maxRecordBytes: limits.maxRecordBytes });
  let header: { cells: Cell[]; line: number } | undefined;
  // The splitter splits a whole chunk: the first record taken, the rest is not split at all (a
  // 64 KiB chunk is ≈ 500 records, ≈ 8 ms of a cold process).
  const take = (cells: Cell[], line: number) => {
    header = { cells, line };
    throw HEADER_TAKEN;
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
    if (e !== HEADER_TAKEN && !(e instanceof LeaveToCsvParseError)) throw e;
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
  const { compiled, limits, workDir } = input;
  const { contract } = compiled;
  {
    checkHeaderRecord(fd, validator, compiled, limits);
    const header = validator.header!;
    const checks = sqlChecksFor(contract, (i) => `c${header.sourceIndex[i]}`);
    if (checks.unsupported !== undefined) throw new DeclineFastPathError(checks.unsupported);

    const { instance, connection } = await openPassDuckdb(input, input.threads);
    const staging = new ParquetStaging(input.store, input.bucket, input.stagingPrefix, input.onDone);
    const state: ChunkState = {
      runIndex: 0,
      runRow: 0,
      sampleIndex: 0,
      oddIndex: 0,
      sqlRows: 0,
      jsonLinesBytes: 0,
      failingRows: 0,
      flagged: 0,
      lastLine: 0,
    };
    let inspector: ByteInspector;
    let index: RecordIndex;
    try {
      await connection.run(`SET TimeZone = 'UTC'`);
      T('duckdb open');
      // This thread reads the bytes, indexes the records and cuts them into chunk files; DuckDB
      // validates each chunk on its threads as soon as it is cut. Two chains: DuckDB's (chunk
      // after chunk) and this thread's check of each chunk's failing rows (after that chunk's
      // DuckDB part and the previous chunk's check, so line order holds), so DuckDB works on
      // chunk n+1 while chunk n is checked. Memory stays a few chunks' worth at any file size.
      let duckChain: Promise<void> = Promise.resolve();
      let chain: Promise<void> = Promise.resolve();
      let failed: unknown;
      const live: LiveIndex = { indexer: undefined };
      const scanned = await scanInChunks(input, fd, live, (chunk) => {
        const duckDone = duckChain.then(async () => {
          if (failed !== undefined) return undefined;
          try {
            const failing = await validateChunkInDuckdb(
              connection,
              input,
              fd,
              checks.columns,
              header.width,
              live,
              chunk,
              state,
            );
            staging.parts.push(chunk.parquet);
            return failing;
          } catch (e) {
            failed ??= e;
            return undefined;
          }
        });
        duckChain = duckDone.then(() => undefined);
        chain = Promise.all([chain, duckDone]).then(async ([, failing]) => {
          if (failed !== undefined || failing === undefined) return;
          try {
            const clock = { at: Date.now() };
            await checkFailing(fd, validator, live, failing, header.width, chunk, state, compiled, limits);
            phase('failingJs', clock);
            await fs.rm(failing, { force: true });
          } catch (e) {
            failed ??= e;
          }
        });
        return chain;
      }).catch((e: unknown) => {
        failed ??= e;
        return undefined;
      });
      await duckChain;
      await chain;
      if (failed !== undefined) throw failed;
      ({ inspector, index } = scanned!);
      T('chunks');
      if (index.declined !== undefined) throw new DeclineFastPathError(index.declined);
      if (index.records === 0) throw new DeclineFastPathError('no data records');
      if (index.header.line !== 1 || index.width !== header.width)
        throw new DeclineFastPathError('the header splits differently');
      // Odd records after the last row DuckDB read.
      await checkOddWhile(fd, validator, live, () => true, state, compiled, limits);
      const read = state.sqlRows + state.failingRows + state.flagged;
      if (read !== index.duckdbRows)
        throw new DeclineFastPathError(`DuckDB read ${read} rows, the index counted ${index.duckdbRows}`);
    } catch (e) {
      if (e instanceof DeclineFastPathError || e instanceof FileRejectedError) throw e;
      throw new DeclineFastPathError(`DuckDB: ${(e as Error).message.split('\n')[0]}`);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    T(`checked ${state.failingRows} + ${index.odd.length}`);
    jsStaged.close();
    validator.rowsRead += state.sqlRows;
    validator.rowsValid += state.sqlRows;

    if (jsStaged.rows > 0) {
      const checkedPart = path.join(workDir, 'checked.parquet');
      staging.parts.push(checkedPart);
      await stageCheckedRows(input, jsStaged.file, checkedPart);
    }
    T(`staged ${jsStaged.rows} checked rows`);
    staging.jsonLinesBytes = state.jsonLinesBytes + jsStaged.bytes;
    return { inspector, validator, staging, sqlRows: state.sqlRows };
  }
}

/** Bytes DuckDB reads at a time: a chunk ends at the first record start past this many. */
export const CHUNK_BYTES = 32 * 1024 * 1024;

/** Chunks cut and not yet validated before the read waits. */
const CHUNKS_AHEAD = 2;

/** A run of whole records cut from the file, as its own CSV file (after a copy of the header). */
interface Chunk {
  readonly n: number;
  readonly file: string;
  /** Where its good rows are staged. */
  readonly parquet: string;
  /** Add to a byte position in the chunk file to get the file's (negative: the header is copied). */
  readonly offset: number;
  /** DuckDB rows [rowStart, rowEnd) and data records [recordStart, recordEnd) of the file. */
  readonly rowStart: number;
  readonly rowEnd: number;
  readonly recordStart: number;
  readonly recordEnd: number;
  /** Bytes of its records (the chunk file without the header copy). */
  readonly dataBytes: number;
}

/** The indexer while it reads (its arrays are only appended to, so earlier entries are final). */
interface LiveIndex {
  indexer: RecordIndexer | undefined;
}

/** Where the chunk-by-chunk checks are, between chunks. */
interface ChunkState {
  /** The first run not wholly before the next chunk, and the DuckDB row it starts at. */
  runIndex: number;
  runRow: number;
  sampleIndex: number;
  /** The next odd record for the JavaScript checker. */
  oddIndex: number;
  sqlRows: number;
  jsonLinesBytes: number;
  failingRows: number;
  flagged: number;
  lastLine: number;
}

/**
 * One pass over the file: the byte checks, the record index, and the data cut at record starts
 * into chunk files of about `input.chunkBytes`, each starting with a copy of the header record.
 * `onChunk` gets each chunk once its bytes are written, in file order, and returns when it is
 * done with it: the read waits while {@link CHUNKS_AHEAD} chunks are cut and not done, so the
 * chunk files on disk and in the page cache stay a few chunks, not the file.
 */
async function scanInChunks(
  input: FastValidateInput,
  fd: number,
  live: LiveIndex,
  onChunk: (chunk: Chunk) => Promise<void>,
): Promise<{ inspector: ByteInspector; index: RecordIndex }> {
  const { file, compiled, limits, workDir } = input;
  const inspector = new ByteInspector();
  const indexer = new RecordIndexer(
    compiled.contract.csv,
    limits.maxRecordBytes,
    undefined,
    input.chunkBytes ?? CHUNK_BYTES,
  );
  live.indexer = indexer;
  const { cuts } = indexer;
  let header: Buffer | undefined;
  let at = 0;
  let used = 0;
  const done: Promise<void>[] = [];
  let finished = 0;
  let out:
    | {
        fd: number;
        n: number;
        file: string;
        offset: number;
        rowStart: number;
        recordStart: number;
        dataBytes: number;
      }
    | undefined;
  const close = (rowEnd: number, recordEnd: number) => {
    if (!out) return;
    closeSync(out.fd);
    const { n, file: chunkFile, offset, rowStart, recordStart, dataBytes } = out;
    out = undefined;
    // Nothing after the last cut (the file ends with a line end right there): no chunk.
    if (recordEnd === recordStart) return void rmSync(chunkFile, { force: true });
    const settled = onChunk({
      n,
      file: chunkFile,
      offset,
      parquet: path.join(workDir, `good-${n}.parquet`),
      rowStart,
      rowEnd,
      recordStart,
      recordEnd,
      dataBytes,
    });
    done.push(settled.finally(() => void finished++));
  };
  const sink = new Writable({
    highWaterMark: 1024 * 1024,
    write(block: Buffer, _enc, cb) {
      try {
        indexer.feed(block);
        const blockStart = at;
        let from = blockStart;
        if (indexer.declinedWhy === undefined)
          for (; used < cuts.length; used++) {
            const cut = cuts[used]!;
            if (out && cut.offset > from)
              out.dataBytes += writeSync(out.fd, block, from - blockStart, cut.offset - from);
            close(cut.row, cut.record);
            const n = used;
            const chunkFile = path.join(workDir, `chunk-${n}.csv`);
            // Each chunk starts with the header record and its line end, as the file does: DuckDB
            // then reads every chunk as it reads the whole file (its newline detection looks at
            // the first line; a chunk starting in a record with a quoted CRLF misled it).
            header ??= bytesAt(fd, 0, cuts[0]!.offset);
            const chunkFd = openSync(chunkFile, 'w');
            writeSync(chunkFd, header);
            out = {
              fd: chunkFd,
              n,
              file: chunkFile,
              offset: cut.offset - header.length,
              rowStart: cut.row,
              recordStart: cut.record,
              dataBytes: 0,
            };
            from = Math.max(from, cut.offset);
          }
        if (out && indexer.declinedWhy === undefined && blockStart + block.length > from)
          out.dataBytes += writeSync(out.fd, block, from - blockStart, blockStart + block.length - from);
        at += block.length;
        if (done.length - finished > CHUNKS_AHEAD) void done[finished]!.then(() => cb(), cb);
        else cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    final(cb) {
      indexer.feed(undefined);
      cb();
    },
  });
  try {
    await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), inspector, sink);
  } catch (e) {
    if (out) closeSync(out.fd);
    if (e instanceof UnreadableBytesError)
      throw new DeclineFastPathError(`${e.reason} at byte ${e.byteOffset}`);
    throw e;
  }
  const index = indexer.result();
  if (index.declined === undefined) close(index.duckdbRows, index.records + 1);
  else if (out) closeSync(out.fd);
  return { inspector, index };
}

/**
 * One chunk's DuckDB part: DuckDB reads it into `raw`, the sampled rows are checked against the
 * bytes, the predicate splits good rows (staged to the chunk's Parquet part with their lines) from
 * failing ones (written to a JSON Lines file, returned), and DuckDB's rejects must be the chunk's
 * records of another field count. The caller then checks the failing rows and odd records in
 * JavaScript ({@link checkFailing}), in line order.
 */
async function validateChunkInDuckdb(
  connection: DuckDBConnection,
  input: FastValidateInput,
  fd: number,
  checks: readonly { ok: string; value: string }[],
  width: number,
  live: LiveIndex,
  chunk: Chunk,
  state: ChunkState,
): Promise<string> {
  const { compiled, limits } = input;
  const indexer = live.indexer!;
  const clock = { at: Date.now() };
  try {
    await readRaw(connection, input, chunk.file, width);
    const [[tableRows]] = (await rows(connection, `SELECT count(*) FROM raw`)) as [[bigint]];
    if (Number(tableRows) !== chunk.rowEnd - chunk.rowStart)
      throw new DeclineFastPathError(
        `DuckDB read ${tableRows} rows of chunk ${chunk.n}, the index counted ${chunk.rowEnd - chunk.rowStart}`,
      );
    phase('read', clock);
    // The index's arrays as they are now: complete up to this chunk's end.
    const index = indexer.result();
    const samples: { row: number; start: number; end: number }[] = [];
    const sampled = indexer.samplesSoFar;
    for (; state.sampleIndex < sampled.length; state.sampleIndex++) {
      const s = sampled[state.sampleIndex]!;
      if (s.row >= chunk.rowEnd) break;
      samples.push({ row: s.row - chunk.rowStart, start: s.start, end: s.end });
    }
    await checkSamples(connection, fd, samples, width, compiled, limits);
    phase('samples', clock);
    const anyJs = await createLines(connection, index, chunk, state);
    phase('lines', clock);
    await createFailing(connection, checks, anyJs);
    phase('checked', clock);
    const staged = await stageGoodRows(connection, input, checks, chunk, width);
    state.sqlRows += staged.rows;
    state.jsonLinesBytes += staged.jsonLinesBytes;
    phase('stage', clock);
    const failing = await failingRows(connection, input, width, chunk.n);
    phase('failingSql', clock);
    await checkRejects(connection, index.odd, chunk);
    await connection.run(`DROP TABLE raw; DROP TABLE bad; DROP TABLE ln; DROP TABLE runs`);
    await fs.rm(chunk.file, { force: true });
    phase('rejects', clock);
    return failing;
  } catch (e) {
    if (e instanceof DeclineFastPathError || e instanceof FileRejectedError) throw e;
    throw new DeclineFastPathError(`DuckDB: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** The chunk's failing rows (DuckDB's cells) and odd records (their bytes), in line order. */
async function checkFailing(
  fd: number,
  validator: RecordValidator,
  live: LiveIndex,
  failing: string,
  width: number,
  chunk: Chunk,
  state: ChunkState,
  compiled: CompiledContract,
  limits: ValidateLimits,
): Promise<void> {
  const names = Array.from({ length: width }, (_, i) => `c${i}`);
  for await (const text of createInterface({ input: createReadStream(failing), crlfDelay: Infinity })) {
    if (text === '') continue;
    const row = JSON.parse(text) as Record<string, string | number | boolean | null>;
    const line = row.line;
    if (typeof line !== 'number' || line <= state.lastLine)
      throw new DeclineFastPathError('DuckDB rows and the index do not line up');
    state.lastLine = line;
    if (row.js === true) {
      state.flagged++; // an odd record DuckDB read as a row: checked from its bytes below
      continue;
    }
    state.failingRows++;
    await checkOddWhile(fd, validator, live, (r) => r.line < line, state, compiled, limits);
    const cells: Cell[] = new Array(width);
    for (let c = 0; c < width; c++) {
      const v = row[names[c]!];
      cells[c] = v === null ? '' : v === '' ? QUOTED_EMPTY : (v as string);
    }
    await next(validator, cells, line);
  }
  // The odd records of this chunk after its last failing row.
  await checkOddWhile(fd, validator, live, (r) => r.record < chunk.recordEnd, state, compiled, limits);
}

/** Checks the next odd records (from their bytes) while `take` holds for them. */
async function checkOddWhile(
  fd: number,
  validator: RecordValidator,
  live: LiveIndex,
  take: (r: OddRecord) => boolean,
  state: ChunkState,
  compiled: CompiledContract,
  limits: ValidateLimits,
): Promise<void> {
  const odd = live.indexer!.oddSoFar;
  while (state.oddIndex < odd.length && take(odd[state.oddIndex]!)) {
    const r = odd[state.oddIndex++]!;
    await next(validator, cellsAt(fd, r.start, r.end, compiled, limits), r.line);
  }
}

export async function next(validator: RecordValidator, cells: Cell[], line: number): Promise<void> {
  validator.onRecord(cells, line);
  const wait = validator.takeWait();
  if (wait) await wait;
}

/** A chunk file (the header, then the chunk's records), every field VARCHAR. */
function readCsv(input: FastValidateInput, file: string, width: number): string {
  const { csv } = input.compiled.contract;
  const columns = Array.from({ length: width }, (_, i) => `'c${i}': 'VARCHAR'`).join(', ');
  return (
    `(SELECT * FROM read_csv(${sqlString(file)}, header = true, auto_detect = false, ` +
    `columns = {${columns}}, delim = ${sqlString(csv.delimiter)}, quote = ${sqlString(csv.quote)}, ` +
    `escape = ${sqlString(csv.escape)}, strict_mode = true, null_padding = false, allow_quoted_nulls = false, ` +
    `store_rejects = true, max_line_size = ${input.limits.maxRecordBytes + 1024}, buffer_size = ${2 * (input.limits.maxRecordBytes + 1024)}, encoding = 'utf-8'))`
  );
}

/** The lines of the well-formed records, in file order, as table `ln` (from the index's runs). */
async function createLines(
  connection: DuckDBConnection,
  index: RecordIndex,
  chunk: Chunk,
  state: ChunkState,
): Promise<boolean> {
  await connection.run(`CREATE TABLE runs (off BIGINT, first BIGINT, n BIGINT, js BOOLEAN)`);
  let anyJs = false;
  const appender = await connection.createAppender('runs');
  // The runs (or their parts) on rows [rowStart, rowEnd); a run crossing the chunk's end is taken
  // up to it here and from it with the next chunk (its length may still grow as the index reads).
  let i = state.runIndex;
  let row = state.runRow;
  while (i < index.runLength.length && row < chunk.rowEnd) {
    const length = index.runLength[i]!;
    const from = Math.max(row, chunk.rowStart);
    const to = Math.min(row + length, chunk.rowEnd);
    if (to > from) {
      appender.appendBigInt(BigInt(from - chunk.rowStart));
      appender.appendBigInt(BigInt(index.runFirstLine[i]! + (from - row)));
      appender.appendBigInt(BigInt(to - from));
      appender.appendBoolean(index.runJs[i]!);
      appender.endRow();
      anyJs ||= index.runJs[i]!;
    }
    if (row + length > chunk.rowEnd) break;
    row += length;
    i++;
  }
  state.runIndex = i;
  state.runRow = row;
  appender.closeSync();
  // Row `rn` of the chunk's read (0-based, raw's rowid) is on `line`: explicit, so no statement
  // depends on the order DuckDB keeps rows in.
  await connection.run(
    `CREATE TABLE ln AS SELECT off + u AS rn, first + u AS line, js FROM (SELECT off, first, js, unnest(range(n)) AS u FROM runs)`,
  );
  return anyJs;
}

/**
 * One read of the CSV into table `raw` (every field VARCHAR), on every DuckDB thread. Nothing
 * else happens in this statement: with the predicate evaluated in the same statement, DuckDB
 * 1.5 on two threads stored the rows out of file order (measured on the 100 MB bench file),
 * while the plain read kept it. The order is not taken on trust: {@link checkSamples} compares
 * sampled rows with the file's bytes, and every later statement carries `raw.rowid` as `r`.
 */
async function readRaw(
  connection: DuckDBConnection,
  input: FastValidateInput,
  file: string,
  width: number,
): Promise<void> {
  // A scan without rejects adds no row to reject_scans, so the last scan's id would name an
  // earlier chunk's: the tables are dropped before each read and hold this chunk's rejects only.
  await connection.run(`DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans`);
  await connection.run(`CREATE TABLE raw AS SELECT * FROM ${readCsv(input, file, width)}`);
}

/**
 * The rows of `raw` that the index sampled must hold the cells the splitter reads from those
 * records' bytes: else DuckDB's row positions are not the file's record order and the fast path
 * declines.
 */
export async function checkSamples(
  connection: DuckDBConnection,
  fd: number,
  samples: readonly { readonly row: number; readonly start: number; readonly end: number }[],
  width: number,
  compiled: CompiledContract,
  limits: ValidateLimits,
): Promise<void> {
  if (samples.length === 0) return;
  const cells = Array.from({ length: width }, (_, i) => `c${i}`).join(', ');
  await connection.run(`CREATE OR REPLACE TABLE samples (r BIGINT)`);
  const appender = await connection.createAppender('samples');
  for (const s of samples) {
    appender.appendBigInt(BigInt(s.row));
    appender.endRow();
  }
  appender.closeSync();
  const got = await rows(
    connection,
    `SELECT raw.rowid, ${cells} FROM raw JOIN samples ON raw.rowid = samples.r ORDER BY raw.rowid`,
  );
  if (got.length !== samples.length)
    throw new DeclineFastPathError(`DuckDB has ${got.length} of the ${samples.length} sampled rows`);
  for (let i = 0; i < got.length; i++) {
    const s = samples[i]!;
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
 * Table `bad`: the rows of `raw` the JavaScript checker must see — those failing the predicate,
 * and the odd records DuckDB read as rows (`js` in `ln`; only when the chunk has any) — with their
 * position `r` (raw's rowid) and raw fields. The predicate runs as a filter, where DuckDB stops
 * at a row's first failing column, and its typed values are not kept: {@link stageGoodRows} casts
 * the good rows once more as it writes them. Keeping every row typed in one table instead (values,
 * flag, and the raw fields of the failing rows) cost more: this and the staging write together take
 * 1.87–1.90 s against 2.05–2.15 s for that (100 MB bench file, one DuckDB thread, side by side).
 */
async function createFailing(
  connection: DuckDBConnection,
  checks: readonly { ok: string; value: string }[],
  anyJs: boolean,
): Promise<void> {
  const ok = checks.map((c) => `(${c.ok})`).join(' AND ');
  await connection.run(`CREATE TABLE bad AS SELECT rowid AS r, * FROM raw WHERE NOT coalesce(${ok}, false)`);
  if (anyJs)
    await connection.run(
      `INSERT INTO bad SELECT raw.rowid, raw.* FROM raw JOIN ln ON raw.rowid = ln.rn ` +
        `WHERE ln.js AND raw.rowid NOT IN (SELECT r FROM bad)`,
    );
}

/**
 * Writes the chunk's good rows, typed, to its Parquet staging part; returns how many, and what
 * they would take as JSON Lines staging (routing is sized on JSON Lines bytes), estimated from the
 * chunk's CSV bytes: their share of the chunk's bytes, less a delimiter per field, plus per row
 * the keys, quotes, commas, braces and `_line`, and per column what its canonical text adds to
 * the CSV text (quotes around strings and dates; a timestamp's fixed 29 characters against the
 * 20 of `2024-02-07T06:42:08Z`). An estimate within a few per cent of the summed value texts
 * (measured on the bench files), without a second pass over the rows.
 */
async function stageGoodRows(
  connection: DuckDBConnection,
  input: FastValidateInput,
  checks: readonly { ok: string; value: string }[],
  chunk: Chunk,
  width: number,
): Promise<{ rows: number; jsonLinesBytes: number }> {
  const columns = input.compiled.contract.columns;
  const values = checks.map((c, i) => `${c.value} AS ${ident(columns[i]!.name)}`).join(', ');
  const [[count]] = (await rows(
    connection,
    `COPY (SELECT ${values}, line::BIGINT AS ${ident(LINE_COLUMN)} FROM raw JOIN ` +
      `(SELECT rn, line FROM ln ANTI JOIN bad ON ln.rn = bad.r) good ON raw.rowid = good.rn) ` +
      `TO ${sqlString(chunk.parquet)} (FORMAT parquet)`,
  )) as [[bigint]];
  const staged = Number(count);
  const chunkRows = chunk.rowEnd - chunk.rowStart;
  const perRow =
    columns.reduce(
      (n, c) =>
        n +
        JSON.stringify(c.name).length +
        2 +
        (c.type === 'string' || c.type === 'date' ? 2 : c.type === 'timestamp' ? 9 : 0),
      0,
    ) +
    JSON.stringify(LINE_COLUMN).length +
    3 +
    String(chunk.recordEnd + 1).length -
    width;
  const csvShare = chunkRows === 0 ? 0 : (chunk.dataBytes * staged) / chunkRows;
  return { rows: staged, jsonLinesBytes: Math.max(0, Math.round(csvShare + staged * perRow)) };
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
  n: number,
): Promise<string> {
  const cells = Array.from({ length: width }, (_, i) => `c${i}`).join(', ');
  const out = path.join(input.workDir, `failing-${n}.jsonl`);
  await connection.run(
    `COPY (SELECT line, js, ${cells} FROM bad JOIN ln ON bad.r = ln.rn ORDER BY line) TO ${sqlString(out)} (FORMAT json)`,
  );
  return out;
}

/**
 * DuckDB's rejects of the last scan (the chunk's) must be exactly the chunk's records with another
 * field count. DuckDB numbers records from its file's header, line 1.
 */
async function checkRejects(
  connection: DuckDBConnection,
  odd: readonly OddRecord[],
  chunk: Chunk,
): Promise<void> {
  const got = await rows(
    connection,
    `SELECT DISTINCT line, line_byte_position, error_type FROM reject_errors ORDER BY line`,
  );
  const want = new Map(
    odd
      .filter((r) => !r.duckdbReads && r.record >= chunk.recordStart && r.record < chunk.recordEnd)
      .map((r) => [r.record - chunk.recordStart + 2, r]),
  );
  const seen = new Set<number>();
  for (const [line, byte, type] of got) {
    const r = want.get(Number(line));
    // DuckDB's line_byte_position (in the chunk file) is the record's first byte, or (after an
    // LF) the one after it.
    const off = Number(byte) + chunk.offset - (r?.start ?? 0);
    if (!r || (off !== 0 && off !== 1) || (type !== 'TOO MANY COLUMNS' && type !== 'MISSING COLUMNS'))
      throw new DeclineFastPathError(`DuckDB rejected record ${String(line)} (${String(type)}) unexpectedly`);
    seen.add(Number(line));
  }
  if (seen.size !== want.size)
    throw new DeclineFastPathError('DuckDB accepted a record of another field count');
}

/** The rows the JavaScript checker staged (canonical text, core/staging.ts), typed into Parquet. */
export async function stageCheckedRows(input: FastValidateInput, jsonl: string, out: string): Promise<void> {
  const instance = await duckdb().create(':memory:', {
    threads: '1',
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const connection = await instance.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    await stageCheckedRowsOn(connection, input, jsonl, out);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** {@link stageCheckedRows} on a connection of the caller's (its TimeZone set to UTC). */
export async function stageCheckedRowsOn(
  connection: DuckDBConnection,
  input: FastValidateInput,
  jsonl: string,
  out: string,
): Promise<void> {
  const cols = input.compiled.contract.columns;
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
  await fs.rm(jsonl, { force: true });
}

/**
 * The DuckDB of one fast pass: `threads`, the pass's memory limit, spill in its work folder, and
 * never an extension fetched at run time.
 */
export async function openPassDuckdb(
  input: FastValidateInput,
  threads: number,
): Promise<{ instance: DuckDBInstanceType; connection: DuckDBConnection }> {
  const instance = await duckdb().create(':memory:', {
    threads: String(threads),
    memory_limit: input.memoryLimit ?? '256MB',
    temp_directory: path.join(input.workDir, 'spill'),
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  return { instance, connection: await instance.connect() };
}

/**
 * DuckDB's class, loaded on first use: the native binding is required only when the fast path
 * runs, so the validate bundle loads (and its JavaScript path works) where the binding of the
 * Lambda's architecture cannot load, as in the synth test on an x86-64 machine.
 */
export function duckdb(): typeof DuckDBInstanceType {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('@duckdb/node-api') as typeof import('@duckdb/node-api')).DuckDBInstance;
}
