/**
 * The validate step's core: stream one landing object through
 *   ObjectStore.get → ByteInspector (binary? UTF-8?) → CsvValidationSink (csv-parse array
 *   records → header check, coercion, ajv) → staging part-*.jsonl / rejects.jsonl (streamed puts)
 * with backpressure end to end, then write plan.json, report.json and `_SUCCESS` last.
 *
 * A file-level problem throws FileRejectedError (reason code, the key, the line/column, the fix);
 * staging parts already written are then deleted and `_SUCCESS` is never written, so the
 * transform never sees part of a rejected file. The landing object is only ever read.
 */
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DEFAULT_SCHEMAS_DIR, listDatasets, type InputFormat } from '../../core/contract';
import { FileRejectedError, rejectionOf as rejection, type RejectionReason } from '../../core/errors';
import type { SourceObject } from '../../core/events';
import { DEFAULT_VALIDATE_MAX_FILE_BYTES, fileTooLarge } from '../../core/file-size-limit';
import { checkLandingKey, lake, sourceIdOf, versionTagOf } from '../../core/layout';
import type { ObjectRef, ObjectStore } from '../../core/ports';
import { STAGING_FORMAT_ENV, STAGING_SUCCESS, type StagingCsvLayout } from '../../core/staging';
import { type Location, type ValidateInput, type ValidateResult } from '../../core/steps';
import { ParseFailureError } from '../../csv/csv-records';
import { LeaveToCsvParseError, splitterHandles, type CsvReaderKind } from '../../csv/csv-splitter';
import { DecompressedTooLargeError, gunzipStages, gzipProblem } from '../../csv/gzip';
import { ByteInspector, UnreadableBytesError } from '../../csv/inspect-bytes';
import { MalformedJsonError } from '../../csv/json-records';
import { jsonEndProblem, JsonValidationSink } from '../../csv/json-validation';
import { ParallelRecordSource, useParallel } from '../../csv/parallel';
import {
  CsvValidationSink,
  DEFAULT_LIMITS,
  malformedCsv,
  RecordValidator,
  type CsvReport,
  type RecordSource,
  type ValidateLimits,
} from '../../csv/record-validator';
import { loadCompiledContract, type FormulaCell } from '../../csv/row-checker';
import type { RowError } from '../../csv/row-errors';
import { ObjectTextWriter, StagingWriter } from '../../csv/writers';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { DeclineFastPathError, validateWithDuckdb, type ParquetStaging } from '../../csv/sql-validate';
import { columnProgramsFor, type ColumnProgram } from '../../csv/byte-checks';
import { validateChecked } from '../../csv/checked-fast-path';

export { DEFAULT_LIMITS, type CsvReport, type ValidateLimits };

/** What the validate step needs from the outside world. */
export interface ValidateDeps {
  /** Reads the landing object and writes the lake (any bucket). */
  readonly store: ObjectStore;
  /** Bucket for staging/ and rejects/. */
  readonly lakeBucket: string;
  /** Folder of dataset contracts. @default the repository's schemas/ */
  readonly schemasDir?: string;
  readonly limits?: Partial<ValidateLimits>;
  /**
   * Parse in a worker thread while this thread checks and writes (parallel.ts). `'auto'`: when
   * the object is at least 32 MiB and the process has 2 or more CPUs (`os.availableParallelism()`;
   * Lambda gives 2 vCPUs from 1,770 MB of memory, 1 below). Outputs are byte-identical either way.
   * @default 'auto'
   */
  readonly parallel?: boolean | 'auto';
  /**
   * Largest landing object (bytes) validated; a larger one is REJECTED FILE_TOO_LARGE from its
   * size, before it is read. @default core/file-size-limit DEFAULT_VALIDATE_MAX_FILE_BYTES
   */
  readonly maxFileBytes?: number | undefined;
  /**
   * The DuckDB fast path (csv/sql-validate.ts; csv/README.md "DuckDB fast path"): DuckDB reads the
   * CSV and stages the rows a conservative SQL predicate proves valid as Parquet; the JavaScript
   * checker decides every other row. Same rejects, counts and report as the usual path; a file it
   * cannot read exactly is left to the usual path (report.json `csv.fastPathLeft`). `'auto'`: CSV
   * (not gzip) of at least {@link FAST_PATH_MIN_BYTES}. DuckDB runs on every core and reads the
   * file in chunks of `fastPathChunkBytes`.
   * @default 'auto'
   */
  readonly fastPath?: boolean | 'auto';
  /** Bytes per chunk the fast path's DuckDB reads at a time. @default csv/sql-validate CHUNK_BYTES */
  readonly fastPathChunkBytes?: number;
  /**
   * Who decides the rows on the fast path: `'bytes'` — the per-column byte checks in JavaScript,
   * DuckDB only converting the good records (csv/checked-fast-path.ts) — or `'sql'` — DuckDB's
   * predicate (csv/sql-validate.ts). A contract with a rule the byte checks lack takes `'sql'`.
   * @default 'bytes' (ETL_FASTPATH_CHECKS overrides)
   */
  readonly fastPathChecks?: 'bytes' | 'sql';
  /**
   * The landing object as a local file to read in place (the local lake's version file), or
   * undefined to download it. Without it the fast path streams the object into a temp folder.
   */
  readonly localFile?: (ref: ObjectRef) => Promise<string | undefined>;
  /**
   * The checked fast path's staging: `'parquet'` (from {@link FAST_PATH_MIN_BYTES}, DuckDB converts
   * the good records beside the byte pass; a smaller object is staged as CSV, where DuckDB's start
   * costs more than it saves), `'csv'` (the records as they are at every size, no DuckDB in this
   * step), or `'auto'`: CSV on one core, where the conversion would take the byte pass's core (a
   * validate Lambda below 3,538 MB); as `'parquet'` with two or more, where it runs beside the pass
   * and the transform then reads typed Parquet, which is faster end to end there for large files
   * (csv/README.md "CSV staging"). Both engines read both.
   * @default the ETL_STAGING_FORMAT environment variable (infra sets it on the validate Lambda), else 'auto'
   */
  readonly stagingFormat?: 'auto' | 'parquet' | 'csv';
}

/**
 * Smallest object the fast path takes with `fastPath: 'auto'`: below it, starting DuckDB and its
 * statements costs more than they save. Measured with `bin/etl run` on the bench files, Validate
 * state, 2 cores, three runs each: 10 MB 0.69 s fast vs 0.52 s streaming, 50 MB 1.60 s vs 2.05 s —
 * even at about 21 MB.
 */
export const FAST_PATH_MIN_BYTES = 24 * 1024 * 1024;

/** report.json. */
export interface ValidationReport {
  readonly status: 'VALID' | 'REJECTED';
  readonly runId: string;
  readonly dataset: string;
  readonly source: SourceObject;
  readonly sourceId: string;
  readonly versionTag: string;
  readonly rejection?: { readonly reason: RejectionReason; readonly message: string };
  readonly counts: {
    readonly rowsRead: number;
    readonly rowsValid: number;
    readonly rowsRejected: number;
    readonly rejectRatio: number;
    readonly rejectThreshold: number;
    readonly bytesRead: number;
  };
  /** Row errors by reason code. */
  readonly reasons: Record<string, number>;
  readonly firstErrors: readonly RowError[];
  readonly rejectsTruncated: boolean;
  readonly formulaCells: { readonly count: number; readonly cells: readonly FormulaCell[] };
  /** Wall-clock times in a repeated DST hour, resolved to the earlier instant. */
  readonly ambiguousLocalTimes: number;
  /** The format read (the contract's) and whether the file was gzip (its name). */
  readonly input: { readonly format: InputFormat; readonly gzip: boolean };
  /** CSV only: which CSV reader read the file, and where the fast splitter left it to csv-parse. */
  readonly csv?: CsvReport;
  readonly staging?: Location;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
}

/** Counts line breaks (CRLF, LF or CR) before a byte offset: the line the offset is on. */
async function lineAtOffset(
  store: ObjectStore,
  ref: ObjectRef,
  offset: number,
  gzip: boolean,
): Promise<number> {
  let line = 1;
  let seen = 0;
  let lastWasCr = false;
  const body = await store.get(ref);
  for await (const chunk of gzip ? body.pipe(createGunzip()) : body) {
    const buf = chunk as Buffer;
    const end = Math.min(buf.length, offset - seen);
    for (let i = 0; i < end; i++) {
      const b = buf[i];
      if (b === 0x0a) {
        if (!lastWasCr) line++;
        lastWasCr = false;
      } else if (b === 0x0d) {
        line++;
        lastWasCr = true;
      } else lastWasCr = false;
    }
    seen += buf.length;
    if (seen >= offset) break;
  }
  return line;
}

async function clearPrefix(store: ObjectStore, bucket: string, prefix: string): Promise<void> {
  const keys: string[] = [];
  for await (const o of store.list(bucket, prefix)) keys.push(o.key);
  // _SUCCESS first: from then on, no reader trusts this prefix while it is half replaced.
  keys.sort((a, b) => Number(b.endsWith(STAGING_SUCCESS)) - Number(a.endsWith(STAGING_SUCCESS)));
  for (const key of keys) await store.delete({ bucket, key });
}

/**
 * Validates one landing object and writes staging + rejects + report.
 * @throws FileRejectedError when the file as a whole is unusable (see core/errors REJECTION_REASONS)
 * @throws ContractError when the dataset's contract is broken (a pipeline fault)
 * @example const result = await validateObject({ store, lakeBucket: 'lake' }, { runId, source });
 */
export async function validateObject(deps: ValidateDeps, input: ValidateInput): Promise<ValidateResult> {
  const startedAt = new Date();
  const limits: ValidateLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const { source, runId } = input;
  const key = source.key;
  const keyCheck = checkLandingKey(key);
  if (!keyCheck.ok) throw rejection('KEY_NOT_ALLOWED', key, keyCheck.problem, keyCheck.fix);
  const maxFileBytes = deps.maxFileBytes ?? DEFAULT_VALIDATE_MAX_FILE_BYTES;
  if (source.size > maxFileBytes) throw fileTooLarge(key, source.size, maxFileBytes);
  const dataset = keyCheck.dataset;
  const schemasDir = deps.schemasDir ?? DEFAULT_SCHEMAS_DIR;
  const compiled = loadCompiledContract(dataset, schemasDir);
  if (!compiled) {
    throw rejection(
      'UNKNOWN_DATASET',
      key,
      `there is no contract for dataset "${dataset}"`,
      `upload into a folder of a known dataset (${listDatasets(schemasDir).join(', ') || 'none yet'}), or add the contract ${dataset}.schema.json to the contracts folder (\`etl init <file.csv> --dataset ${dataset}\` writes one) and upload again`,
      { dataset },
    );
  }
  const { contract } = compiled;
  if (keyCheck.format !== contract.format) {
    throw rejection(
      'FORMAT_MISMATCH',
      key,
      `the file name says ${keyCheck.format}${keyCheck.gzip ? ' (gzip)' : ''} but dataset "${dataset}" reads ${contract.format} (its contract's "format")`,
      `upload ${contract.format} data named *.${contract.format} (optionally .gz), or change "format" in ${dataset}.schema.json`,
      { dataset },
    );
  }
  const sourceId = sourceIdOf(key);
  const versionTag = versionTagOf(source.versionId, source.etag);
  const bucket = deps.lakeBucket;
  const stagingPrefix = lake.stagingPrefix(dataset, sourceId, versionTag);
  const rejectsPrefix = lake.rejectsPrefix(dataset, sourceId, versionTag);
  const reportRef: Location = { bucket, key: `${rejectsPrefix}report.json` };
  const rejectsRef: Location = { bucket, key: `${rejectsPrefix}rejects.jsonl` };

  // A re-run of the same version replaces its own outputs only.
  await clearPrefix(deps.store, bucket, stagingPrefix);
  await clearPrefix(deps.store, bucket, rejectsPrefix);

  const landing: ObjectRef = {
    bucket: source.bucket,
    key,
    ...(source.versionId !== undefined && { versionId: source.versionId }),
  };
  /** One pass over the object with one kind of reader; the pipeline's error, if any, is returned. */
  const read = async (kind: CsvReaderKind) => {
    const staging = new StagingWriter(deps.store, bucket, stagingPrefix, limits.partChars);
    const inspector = new ByteInspector();
    const validator = new RecordValidator(
      compiled,
      key,
      limits,
      staging,
      () => new ObjectTextWriter(deps.store, bucket, rejectsRef.key, 'application/x-ndjson'),
    );
    const gz = keyCheck.gzip ? gunzipStages(maxFileBytes) : undefined;
    const records: RecordSource =
      contract.format !== 'csv'
        ? new JsonValidationSink(contract.format, limits.maxRecordBytes, validator, contract.columns)
        : useParallel(deps.parallel ?? 'auto', source.size)
          ? new ParallelRecordSource(contract.csv, limits.maxRecordBytes, validator, kind)
          : new CsvValidationSink(contract.csv, limits.maxRecordBytes, validator, kind);
    let error: unknown;
    try {
      await pipeline([await deps.store.get(landing), ...(gz?.stages ?? []), inspector, records]);
    } catch (e) {
      error = e;
    } finally {
      await records.close();
    }
    return { staging, inspector, validator, error, records, gz };
  };

  const firstReader: CsvReaderKind = splitterHandles(contract.csv) ? 'splitter' : 'csv-parse';
  let reader: CsvReport = { reader: firstReader };
  const fastSetting = deps.fastPath ?? 'auto';
  // The checked fast path's column programs (read once, and only when a fast path is considered;
  // compiled by the fast path into the scan kernel's table or into JavaScript checks); undefined:
  // the SQL path decides (ETL_FASTPATH_CHECKS=sql, or a rule the byte checks lack).
  let byteChecks: { columns: readonly ColumnProgram[] | undefined } | undefined;
  const checkedColumns = () =>
    (byteChecks ??= {
      columns:
        (deps.fastPathChecks ?? process.env.ETL_FASTPATH_CHECKS ?? 'bytes') === 'sql'
          ? undefined
          : columnProgramsFor(contract).columns,
    }).columns;
  // `auto`: from FAST_PATH_MIN_BYTES, where DuckDB's start pays for itself — and below it whenever the
  // checked path writes CSV staging (no DuckDB; every format below it) for a contract its byte checks cover.
  const duckdb =
    fastSetting !== false &&
    (fastSetting === true ||
      source.size >= FAST_PATH_MIN_BYTES ||
      (writesCsvStaging(deps, source.size) && checkedColumns() !== undefined)) &&
    contract.format === 'csv' &&
    !keyCheck.gzip &&
    splitterHandles(contract.csv)
      ? await readWithDuckdb(
          deps,
          landing,
          source.size,
          compiled,
          checkedColumns(),
          key,
          limits,
          stagingPrefix,
          rejectsRef.key,
        )
      : undefined;
  if (duckdb && 'declined' in duckdb) {
    await clearPrefix(deps.store, bucket, stagingPrefix);
    await clearPrefix(deps.store, bucket, rejectsPrefix);
    reader = { ...reader, fastPathLeft: duckdb.declined };
  } else if (duckdb) reader = { reader: checkedColumns() !== undefined ? 'checked' : 'duckdb' };
  let pass: Awaited<ReturnType<typeof read>> | FastPass =
    duckdb && 'pass' in duckdb ? duckdb.pass : await read(firstReader);
  if (pass.error instanceof LeaveToCsvParseError) {
    // Unusual or malformed CSV: start again with csv-parse, which reads it or says what is wrong.
    await pass.staging.abort();
    await pass.validator.rejects?.abort();
    await clearPrefix(deps.store, bucket, stagingPrefix);
    await clearPrefix(deps.store, bucket, rejectsPrefix);
    reader = { reader: 'csv-parse', splitterLeft: { line: pass.error.line, why: pass.error.why } };
    pass = await read('csv-parse');
  }
  const { staging, inspector, validator } = pass;

  const writeReport = async (status: ValidationReport['status'], rejected?: FileRejectedError) => {
    const finishedAt = new Date();
    const report: ValidationReport = {
      status,
      runId,
      dataset,
      source,
      sourceId,
      versionTag,
      ...(rejected && { rejection: { reason: rejected.reason, message: rejected.message } }),
      counts: {
        rowsRead: validator.rowsRead,
        rowsValid: validator.rowsValid,
        rowsRejected: validator.rowsRejected,
        rejectRatio: ratio(validator),
        rejectThreshold: contract.rejectThreshold,
        bytesRead: inspector.bytesRead,
      },
      // Reason codes are ASCII: code-unit order (localeCompare's first call loads ICU collation,
      // ≈ 5 ms of a cold process).
      reasons: Object.fromEntries([...validator.reasons].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      firstErrors: validator.firstErrors,
      rejectsTruncated: validator.rowErrors > validator.rejectLines,
      formulaCells: {
        count: validator.checker?.formulaCellCount ?? 0,
        cells: validator.checker?.formulaSamples ?? [],
      },
      ambiguousLocalTimes: validator.checker?.notes.ambiguousLocalTimes ?? 0,
      input: { format: contract.format, gzip: keyCheck.gzip },
      ...(contract.format === 'csv' && { csv: reader }),
      ...(status === 'VALID' && { staging: { bucket, key: stagingPrefix } }),
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
    };
    await deps.store.put(bucket, reportRef.key, `${JSON.stringify(report, null, 2)}\n`, {
      contentType: 'application/json',
    });
  };

  /** Undo staging, keep the row errors, write the report, and throw the rejection. */
  const reject = async (e: FileRejectedError): Promise<never> => {
    await staging.abort();
    await clearPrefix(deps.store, bucket, stagingPrefix);
    await validator.rejects?.end();
    const details = { ...e.details, report: reportRef, ...(validator.rejects && { rejects: rejectsRef }) };
    const final = new FileRejectedError(e.reason, e.message.slice(e.reason.length + 2), details);
    await writeReport('REJECTED', final);
    throw final;
  };

  // An empty .gz (0 bytes) is no gzip problem: EMPTY_FILE below says what it is.
  if (pass.gz?.counter.bytes === 0 && gzipProblem(pass.error, pass.gz.counter)) pass.error = undefined;
  if (pass.error !== undefined) {
    const e = pass.error;
    if (e instanceof FileRejectedError) return reject(e);
    if (e instanceof UnreadableBytesError) {
      const line = await lineAtOffset(deps.store, landing, e.byteOffset, keyCheck.gzip);
      return reject(
        rejection(e.reason, key, `${e.problem}, on line ${line}`, e.fix, { line, byteOffset: e.byteOffset }),
      );
    }
    if (e instanceof ParseFailureError) return reject(malformedCsv(e.failure, key, validator.header, limits));
    const notGzip = pass.gz && gzipProblem(e, pass.gz.counter);
    if (notGzip) return reject(rejection('NOT_GZIP', key, notGzip.problem, notGzip.fix));
    if (e instanceof DecompressedTooLargeError)
      return reject(
        rejection(
          'FILE_TOO_LARGE',
          key,
          `the gzip file (${source.size} bytes) decompresses to more than ${e.limit} bytes, the most the validate step takes (ETL_VALIDATE_MAX_FILE_BYTES / etl:validateMaxFileBytes)`,
          `split the data into files whose uncompressed text is under ${e.limit} bytes each${contract.format === 'csv' ? ', every part with the header line,' : ''} and upload them`,
          { size: source.size, limit: e.limit },
        ),
      );
    if (e instanceof MalformedJsonError)
      return reject(rejection('MALFORMED_JSON', key, e.problem, e.fix, { line: e.line }));
    await staging.abort();
    await validator.rejects?.abort();
    throw e;
  }

  if (inspector.bytesRead === 0)
    return reject(
      rejection(
        'EMPTY_FILE',
        key,
        'the file is empty (0 bytes)',
        'upload the file again with its header and rows',
      ),
    );
  if (!inspector.sawContent || !validator.header) {
    return reject(
      rejection(
        'EMPTY_FILE',
        key,
        'the file holds only whitespace',
        'upload the file again with its header and rows',
      ),
    );
  }
  const jsonProblem =
    pass.records instanceof JsonValidationSink && jsonEndProblem(pass.records, key, contract.format);
  if (jsonProblem) return reject(jsonProblem);
  if (validator.rowsRead === 0) {
    return reject(
      rejection(
        'HEADER_ONLY',
        key,
        'the file has a header but no data rows',
        'upload the file with its rows (or do not upload empty extracts)',
      ),
    );
  }
  if (ratio(validator) > contract.rejectThreshold) {
    return reject(
      rejection(
        'TOO_MANY_BAD_ROWS',
        key,
        `${validator.rowsRejected} of ${validator.rowsRead} rows (${(100 * ratio(validator)).toFixed(2)}%) are invalid, above the ${dataset} limit of ${(100 * contract.rejectThreshold).toFixed(2)}%; the first is: ${validator.firstErrors[0]?.message ?? 'n/a'}`,
        `correct the rows listed in ${rejectsRef.key} (reasons by code in ${reportRef.key}) and upload the file again`,
        { rowsRead: validator.rowsRead, rowsRejected: validator.rowsRejected, rejectRatio: ratio(validator) },
      ),
    );
  }

  const stagingCsv = 'stagingCsv' in pass ? pass.stagingCsv : undefined;
  const plan = stagingCsv ? { ...compiled.plan, stagingCsv } : compiled.plan;
  // Three objects that do not depend on each other, written at once (on S3, one round trip
  // instead of three); the report only once they are all there, and the marker last.
  await Promise.all([
    staging.end(),
    deps.store.put(bucket, `${stagingPrefix}plan.json`, `${JSON.stringify(plan, null, 2)}\n`, {
      contentType: 'application/json',
    }),
    validator.rejects?.end(),
  ]);
  await writeReport('VALID');
  // Last: from here on the transform may read this prefix.
  await deps.store.put(bucket, `${stagingPrefix}${STAGING_SUCCESS}`, '', { contentType: 'text/plain' });

  return {
    dataset,
    sourceId,
    versionTag,
    rowsRead: validator.rowsRead,
    rowsValid: validator.rowsValid,
    rowsRejected: validator.rowsRejected,
    rejectRatio: ratio(validator),
    bytesRead: inspector.bytesRead,
    stagingBytes: staging.bytes,
    stagingFormat: stagingCsv ? 'csv' : staging instanceof StagingWriter ? 'jsonl' : 'parquet',
    formulaCells: validator.checker?.formulaCellCount ?? 0,
    staging: { bucket, key: stagingPrefix },
    ...(validator.rejects && { rejects: rejectsRef }),
    report: reportRef,
  };
}

function ratio(validator: RecordValidator): number {
  return validator.rowsRead === 0 ? 0 : validator.rowsRejected / validator.rowsRead;
}

/**
 * Whether the checked fast path writes CSV staging for an object of `size` bytes (csv/README.md
 * "CSV staging"): `csv` at every size; `parquet` below {@link FAST_PATH_MIN_BYTES}, where starting
 * DuckDB to convert costs more than it saves (Parquet from there, and at any size when the fast
 * path is forced: `fastPath: true`); `auto` as `csv` on one core, as `parquet` on more.
 * @internal exported for its tests
 */
export function writesCsvStaging(
  deps: Pick<ValidateDeps, 'stagingFormat' | 'fastPath'>,
  size: number,
  cores: number = availableParallelism(),
): boolean {
  const format = deps.stagingFormat ?? (process.env[STAGING_FORMAT_ENV] || 'auto');
  if (format === 'csv' || (format === 'auto' && cores === 1)) return true;
  return deps.fastPath !== true && size < FAST_PATH_MIN_BYTES;
}

/** A pass of the DuckDB fast path, shaped like the usual pass. */
interface FastPass {
  readonly staging: ParquetStaging;
  readonly inspector: ByteInspector;
  readonly validator: RecordValidator;
  error: unknown;
  readonly records: undefined;
  readonly gz: undefined;
  /** CSV staging's layout (plan.json `stagingCsv`); absent for Parquet staging. */
  readonly stagingCsv: StagingCsvLayout | undefined;
}

/**
 * Validates the object with the DuckDB fast path (csv/sql-validate.ts) from a local file: the
 * store's own file when it has one (`localFile`), else a download into a temp folder. Returns the
 * pass, or why the fast path left the file to the usual path (nothing of it is left behind).
 */
async function readWithDuckdb(
  deps: ValidateDeps,
  landing: ObjectRef,
  size: number,
  compiled: NonNullable<ReturnType<typeof loadCompiledContract>>,
  /** The column programs of the checked fast path; undefined: the SQL fast path. */
  checkedColumns: readonly ColumnProgram[] | undefined,
  key: string,
  limits: ValidateLimits,
  stagingPrefix: string,
  rejectsKey: string,
): Promise<{ pass: FastPass } | { declined: string }> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'etl-validate-'));
  const cleanup = () => rm(workDir, { recursive: true, force: true });
  try {
    let file = await deps.localFile?.(landing);
    // Only the checked path writes CSV staging.
    const csvStaging = checkedColumns !== undefined && writesCsvStaging(deps, size);
    // Room for the download, the chunk files (at most three of 32 MiB: the read waits), DuckDB's
    // spill and the staging parts (Parquet, ≈ 0.26× the CSV on the bench file): half the object
    // and 160 MiB on top; else the usual path, which streams and needs none. CSV staging parts are
    // the object's size at most, all on disk if the uploads fall behind.
    const free = await statfs(workDir).then((f) => f.bavail * f.bsize);
    const needed =
      (file === undefined ? size : 0) + (csvStaging ? size : Math.ceil(size / 2)) + 160 * 1024 * 1024;
    if (free < needed)
      throw new DeclineFastPathError(
        `the temp folder has ${free} bytes free, the fast path needs about ${needed}`,
      );
    if (file === undefined) {
      file = path.join(workDir, 'landing.csv');
      await pipeline(await deps.store.get(landing), createWriteStream(file));
    }
    // Every core: the rows carry their position from the plain read (csv/sql-validate.ts
    // readRaw), which sampled records check against the bytes; ETL_FASTPATH_THREADS overrides.
    const threads = Number(process.env.ETL_FASTPATH_THREADS ?? availableParallelism());
    const input = {
      file,
      compiled,
      key,
      limits,
      store: deps.store,
      bucket: deps.lakeBucket,
      stagingPrefix,
      openRejects: () =>
        new ObjectTextWriter(deps.store, deps.lakeBucket, rejectsKey, 'application/x-ndjson'),
      workDir,
      threads,
      ...(deps.fastPathChunkBytes !== undefined && { chunkBytes: deps.fastPathChunkBytes }),
      onDone: cleanup,
      csvStaging,
    };
    const r =
      checkedColumns !== undefined
        ? await validateChecked(input, checkedColumns)
        : await validateWithDuckdb(input);
    return {
      pass: {
        staging: r.staging,
        inspector: r.inspector,
        validator: r.validator,
        error: undefined,
        records: undefined,
        gz: undefined,
        stagingCsv: 'stagingCsv' in r ? r.stagingCsv : undefined,
      },
    };
  } catch (e) {
    await cleanup();
    if (e instanceof DeclineFastPathError) return { declined: e.why };
    throw e;
  }
}
