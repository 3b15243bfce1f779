/**
 * The largest landing file the validate Lambda finishes within its timeout (issue 13), in ONE
 * place: the measured throughput, the timeout, the safety margin, the default limit derived from
 * them, and the FILE_TOO_LARGE rejection a larger file gets up front (from its size, before a byte
 * is read), instead of timing out, being retried and failing.
 *
 * Configurable per stack (`etl:validateMaxFileBytes` / `ETL_VALIDATE_MAX_FILE_BYTES`, the
 * EtlPipeline prop `validateMaxFileBytes`), handed to the function as {@link VALIDATE_MAX_FILE_BYTES_ENV};
 * locally `ETL_VALIDATE_MAX_FILE_BYTES` or the pipeline option.
 */
import { rejectionOf, type FileRejectedError } from './errors';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/**
 * Validate's throughput on ONE thread (what a 1,769 MB Lambda — one vCPU, the stack default —
 * runs), measured on the 1 GiB generated registrations file (8,529,281 rows) with the JS
 * (csv-parse/splitter + ajv) path, `parallel: false`, on 2026-12-05: 1,073,741,850 bytes in 48.2 CPU
 * seconds (74.5 s wall on a shared 2-core machine at load ≈ 6; 19.0 MiB/s wall at load ≈ 2 in an
 * earlier run), peak RSS 191 MiB. Measured by `npm run bench -- --sizes 1GB --only validate` (the
 * "one" row; its worker bench/workers/validate.ts reports `cpuSeconds`).
 * Assumption: this machine's single-thread speed stands in for the Lambda's vCPU, and CPU
 * seconds (every thread of the process, GC included, all of which share the Lambda's one vCPU)
 * rather than the loaded wall clock are the estimate; S3 reads in Lambda (≥ 90 MB/s) are faster,
 * so the CPU is the bound. The JS path streams (no /tmp, memory flat), so only time bounds the size.
 */
export const VALIDATE_MEASURED_BYTES_PER_SECOND = 21 * MIB;

/**
 * The validate Lambda's timeout: the Validate Task's TimeoutSeconds (900, statemachines/
 * pipeline.asl.json) less the 5% infra/etl-pipeline.ts stepTimeouts() keeps so Lambda's own
 * timeout fires first. test/infra/file-size-limit.test.ts checks the stack deploys this.
 */
export const VALIDATE_LAMBDA_TIMEOUT_SECONDS = 855;

/** Share of the timeout a file may need at the measured speed: room for a slower vCPU, S3 and a busy run. */
export const VALIDATE_TIMEOUT_SAFETY = 0.6;

/** The limit for a throughput and timeout: their product times the safety margin, whole MiB. */
export function validateMaxFileBytesFor(
  bytesPerSecond: number = VALIDATE_MEASURED_BYTES_PER_SECOND,
  timeoutSeconds: number = VALIDATE_LAMBDA_TIMEOUT_SECONDS,
  safety: number = VALIDATE_TIMEOUT_SAFETY,
): number {
  return Math.floor((bytesPerSecond * timeoutSeconds * safety) / MIB) * MIB;
}

/**
 * The default limit: {@link validateMaxFileBytesFor} of the measured figures — 21 MiB/s × 855 s ×
 * 0.6 = 10,773 MiB (10.52 GiB).
 */
export const DEFAULT_VALIDATE_MAX_FILE_BYTES = validateMaxFileBytesFor();

/** The validate function's environment variable holding the limit in bytes. */
export const VALIDATE_MAX_FILE_BYTES_ENV = 'VALIDATE_MAX_FILE_BYTES';

/** The limit from its environment variable's text; undefined when unset (the default applies). */
export function validateMaxFileBytesOf(
  text: string | undefined,
  name = VALIDATE_MAX_FILE_BYTES_ENV,
): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new Error(
      `${name}=${JSON.stringify(text)} is not a whole number of bytes ≥ 1. Fix: set it to the largest landing file (bytes) the validate Lambda may take, or unset it for the measured default (${DEFAULT_VALIDATE_MAX_FILE_BYTES})`,
    );
  }
  return n;
}

/** `1.50 GiB (1,610,612,736 bytes)`. */
export function describeBytes(bytes: number): string {
  const unit =
    bytes >= GIB
      ? `${(bytes / GIB).toFixed(2)} GiB`
      : bytes >= MIB
        ? `${(bytes / MIB).toFixed(1)} MiB`
        : `${(bytes / 1024).toFixed(1)} KiB`;
  return `${unit} (${bytes.toLocaleString('en')} bytes)`;
}

/**
 * The FILE_TOO_LARGE rejection of `key` (`size` bytes) against `limit`: names the file, its size,
 * the limit, why, and the fix (split it into parts under the limit).
 */
export function fileTooLarge(key: string, size: number, limit: number): FileRejectedError {
  return rejectionOf(
    'FILE_TOO_LARGE',
    key,
    `the file is ${describeBytes(size)}, above the ${describeBytes(limit)} the validate step takes: larger files would not finish within the validate Lambda's time limit (the limit is ETL_VALIDATE_MAX_FILE_BYTES / etl:validateMaxFileBytes)`,
    `split the file into parts under ${describeBytes(limit)} each, every part with the header line, and upload the parts (each is processed as its own file)`,
    { size, limit },
  );
}
