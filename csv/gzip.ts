/**
 * The gzip stage of the reading engine: a landing file named `.gz` (any format) is decompressed as
 * it streams (node:zlib, concatenated members included), before the byte checks and the reader, so
 * memory stays flat and the original is never rewritten. What goes wrong becomes {@link NotGzipError}
 * (the NOT_GZIP rejection): not gzip at all, cut short, or corrupt.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';

/** A `.gz` file whose bytes are not (complete, intact) gzip. */
export class NotGzipError extends Error {
  constructor(
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`NOT_GZIP: ${problem}`);
  }
}

const GZIP_MAGIC = [0x1f, 0x8b];

/** Counts the compressed bytes and keeps the first few, to say what a non-gzip file is. */
export class CompressedBytes extends Transform {
  bytes = 0;
  head = Buffer.alloc(0);

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    if (this.head.length < 16)
      this.head = Buffer.concat([this.head, chunk.subarray(0, 16 - this.head.length)]);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/** A `.gz` file whose text is larger than the validate step takes (a gzip bomb, or just too big). */
export class DecompressedTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`FILE_TOO_LARGE: the gzip data decompresses to more than ${limit} bytes`);
  }
}

/** Fails the stream once more than `max` decompressed bytes came through. */
class DecompressedLimit extends Transform {
  private bytes = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) return callback(new DecompressedTooLargeError(this.max));
    callback(null, chunk);
  }
}

/**
 * The stages that decompress a `.gz` landing object: a byte counter, gunzip, and a limit on the
 * decompressed bytes (the same limit as an uncompressed file's size: a small gzip can hold
 * gigabytes, which would otherwise run the step into its timeout).
 */
export function gunzipStages(maxDecompressedBytes = Number.POSITIVE_INFINITY): {
  counter: CompressedBytes;
  stages: [CompressedBytes, Gunzip, Transform];
} {
  const counter = new CompressedBytes();
  return { counter, stages: [counter, createGunzip(), new DecompressedLimit(maxDecompressedBytes)] };
}

/** zlib's error from the gunzip stage as a {@link NotGzipError}, or undefined for any other error. */
export function gzipProblem(error: unknown, counter: CompressedBytes): NotGzipError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('Z_')) return undefined;
  const message = (error as Error).message;
  const isGzip = GZIP_MAGIC.every((b, i) => counter.head[i] === b);
  if (!isGzip) {
    const text = counter.head.toString('latin1');
    const looksLike = /^\s*[[{]/.test(text)
      ? 'it looks like uncompressed JSON'
      : /^[\x20-\x7e\t\r\n]+$/.test(text)
        ? 'it looks like uncompressed text'
        : `it starts with the bytes ${[...counter.head.subarray(0, 4)].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ')}`;
    return new NotGzipError(
      `the file is named .gz but is not gzip data (${looksLike})`,
      'compress it with gzip, or upload it without the .gz suffix',
    );
  }
  if (code === 'Z_BUF_ERROR')
    return new NotGzipError(
      `the gzip data is cut short: it ends after ${counter.bytes} compressed bytes, in the middle of the stream (zlib: ${message})`,
      'upload the complete file (check that the upload or the export finished)',
    );
  return new NotGzipError(
    `the gzip data is corrupt or followed by bytes that are not gzip (zlib: ${message})`,
    'compress the file again with gzip and upload it',
  );
}
