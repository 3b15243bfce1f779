/**
 * The first stage on the raw bytes, before csv-parse sees them: is this a UTF-8 text file at all?
 *  - sniffs the first bytes for compressed/binary formats and UTF-16/32 byte-order marks;
 *  - refuses NUL bytes and invalid UTF-8 anywhere, with the byte offset (the caller turns the
 *    offset into a line number by re-reading the file up to it, only when this happens);
 *  - notes whether anything but whitespace was seen (a whitespace-only file is EMPTY_FILE).
 *
 * UTF-8 is checked with `buffer.isUtf8` (the WHATWG decoder's rules — overlongs, surrogates and
 * truncated sequences are errors, like a fatal `TextDecoder` — at SIMD speed) over the complete
 * sequences of each chunk, carrying an unfinished sequence to the next chunk. Bytes pass through
 * unchanged: csv-parse works on bytes, so decoding to a string here would be done twice.
 */
import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';

/** Why the bytes are not a UTF-8 text file; `byteOffset` is 0-based in the object. */
export class UnreadableBytesError extends Error {
  constructor(
    readonly reason: 'UNREADABLE_ENCODING' | 'BINARY_CONTENT',
    readonly problem: string,
    readonly fix: string,
    readonly byteOffset: number,
  ) {
    super(`${reason}: ${problem}`);
  }
}

const SNIFF_BYTES = 4096;

interface Signature {
  readonly magic: readonly number[];
  readonly what: string;
  readonly fix: string;
}

const BINARY_SIGNATURES: readonly Signature[] = [
  {
    magic: [0x1f, 0x8b],
    what: 'a gzip-compressed file',
    fix: 'name it with .gz at the end (e.g. data.csv.gz, events.jsonl.gz): gzip is decompressed as it is read; or upload it decompressed',
  },
  {
    magic: [0x50, 0x41, 0x52, 0x31],
    what: 'a Parquet file',
    fix: 'upload the data as CSV, or load Parquet through another path',
  },
  {
    magic: [0x50, 0x4b, 0x03, 0x04],
    what: 'a ZIP archive (or an .xlsx workbook)',
    fix: 'unzip it, or export the sheet as "CSV UTF-8"',
  },
  {
    magic: [0xd0, 0xcf, 0x11, 0xe0],
    what: 'a legacy Office (.xls) file',
    fix: 'export the sheet as "CSV UTF-8"',
  },
  {
    magic: [0x42, 0x5a, 0x68],
    what: 'a bzip2-compressed file',
    fix: 'decompress it and upload the .csv inside',
  },
  {
    magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
    what: 'an xz-compressed file',
    fix: 'decompress it and upload the .csv inside',
  },
  {
    magic: [0x28, 0xb5, 0x2f, 0xfd],
    what: 'a zstd-compressed file',
    fix: 'decompress it and upload the .csv inside',
  },
  { magic: [0x25, 0x50, 0x44, 0x46], what: 'a PDF document', fix: 'upload the data as a CSV file' },
];

const SAVE_AS_UTF8 =
  'save the file as UTF-8 (for example Excel: "Save As" → "CSV UTF-8"; or iconv -t UTF-8) and upload it again';

function startsWith(buf: Buffer, magic: readonly number[]): boolean {
  return buf.length >= magic.length && magic.every((b, i) => buf[i] === b);
}

/** Looks at the first bytes; returns an error for non-text content. */
export function sniff(head: Buffer): UnreadableBytesError | undefined {
  if (startsWith(head, [0xff, 0xfe, 0x00, 0x00]) || startsWith(head, [0x00, 0x00, 0xfe, 0xff])) {
    return new UnreadableBytesError(
      'UNREADABLE_ENCODING',
      'the file is UTF-32 (it starts with a UTF-32 byte-order mark)',
      SAVE_AS_UTF8,
      0,
    );
  }
  if (startsWith(head, [0xff, 0xfe]) || startsWith(head, [0xfe, 0xff])) {
    return new UnreadableBytesError(
      'UNREADABLE_ENCODING',
      'the file is UTF-16 (it starts with a UTF-16 byte-order mark)',
      SAVE_AS_UTF8,
      0,
    );
  }
  for (const sig of BINARY_SIGNATURES) {
    if (startsWith(head, sig.magic)) {
      return new UnreadableBytesError(
        'BINARY_CONTENT',
        `the file is ${sig.what}, not text, although its name says text (.csv, .jsonl or .json)`,
        sig.fix,
        0,
      );
    }
  }
  // UTF-16 without a byte-order mark: ASCII text with a NUL in every other byte.
  let evenNul = 0,
    oddNul = 0,
    control = 0;
  for (let i = 0; i < head.length; i++) {
    const b = head[i]!;
    if (b === 0) {
      if (i % 2 === 0) evenNul++;
      else oddNul++;
    }
    if (b < 0x09 || (b > 0x0d && b < 0x20 && b !== 0x1b)) control++;
  }
  const half = head.length / 2;
  if (
    head.length >= 4 &&
    (evenNul > half * 0.3 || oddNul > half * 0.3) &&
    Math.min(evenNul, oddNul) < half * 0.05
  ) {
    return new UnreadableBytesError(
      'UNREADABLE_ENCODING',
      'the file looks like UTF-16 text (every other byte is NUL)',
      SAVE_AS_UTF8,
      0,
    );
  }
  if (head.length > 0 && control / head.length > 0.1) {
    return new UnreadableBytesError(
      'BINARY_CONTENT',
      `the file is binary, not CSV text (${Math.round((100 * control) / head.length)}% control bytes in its first ${head.length} bytes)`,
      'upload the data as a UTF-8 CSV file',
      0,
    );
  }
  return undefined;
}

/** Index of the first byte that is not valid UTF-8 in a buffer known to contain one. */
function firstInvalidUtf8(buf: Buffer): number {
  // Only runs once per rejected file. A valid prefix stays valid when shortened, so bisect.
  let lo = 0,
    hi = buf.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    let ok = true;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, mid), { stream: true });
    } catch {
      ok = false;
    }
    if (ok) lo = mid;
    else hi = mid - 1;
  }
  // The longest valid prefix may end in the lead bytes of the broken sequence: point at its start.
  return lo - incompleteTail(buf.subarray(0, lo));
}

/** Bytes at the end of `buf` that start a multi-byte sequence not yet complete. */
function incompleteTail(buf: Buffer): number {
  const n = buf.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = buf[n - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

function describeBytes(buf: Buffer, at: number): string {
  return [...buf.subarray(at, at + 4)]
    .map((b) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`)
    .join(' ');
}

/** Pass-through Transform that checks the bytes; fails the pipeline with {@link UnreadableBytesError}. */
export class ByteInspector extends Transform {
  /** Bytes seen so far. */
  bytesRead = 0;
  /** True once a byte other than whitespace (or the BOM) was seen. */
  sawContent = false;
  private head: Buffer[] | undefined = [];
  private headLength = 0;
  private carry: Buffer | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    if (this.head) {
      this.head.push(chunk);
      this.headLength += chunk.length;
      if (this.headLength < SNIFF_BYTES) return callback();
      const head = Buffer.concat(this.head);
      this.head = undefined;
      return this.inspect(head, callback);
    }
    this.inspect(chunk, callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.head) {
      const head = Buffer.concat(this.head);
      this.head = undefined;
      if (head.length > 0) {
        return this.inspect(head, (err, data) => {
          if (err) return callback(err);
          if (data) this.push(data);
          this.finishCarry(callback);
        });
      }
    }
    this.finishCarry(callback);
  }

  private finishCarry(callback: TransformCallback): void {
    if (this.carry && this.carry.length > 0) {
      const offset = this.bytesRead - this.carry.length;
      return callback(
        new UnreadableBytesError(
          'UNREADABLE_ENCODING',
          `the file ends in the middle of a UTF-8 character (bytes ${describeBytes(this.carry, 0)} at byte offset ${offset})`,
          SAVE_AS_UTF8,
          offset,
        ),
      );
    }
    callback();
  }

  private inspect(chunk: Buffer, callback: TransformCallback): void {
    const start = this.bytesRead;
    if (start === 0) {
      const problem = sniff(chunk.subarray(0, SNIFF_BYTES));
      if (problem) return callback(problem);
    }
    this.bytesRead += chunk.length;
    const nul = chunk.indexOf(0);
    if (nul !== -1) {
      return callback(
        new UnreadableBytesError(
          'UNREADABLE_ENCODING',
          `the file contains a NUL byte (0x00) at byte offset ${start + nul}, which CSV or JSON text never has`,
          `remove it, or if the file is UTF-16, ${SAVE_AS_UTF8}`,
          start + nul,
        ),
      );
    }
    const data = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    const dataStart = start - (this.carry?.length ?? 0);
    const tail = incompleteTail(data);
    const complete = tail === 0 ? data : data.subarray(0, data.length - tail);
    if (!isUtf8(complete)) {
      const at = firstInvalidUtf8(complete);
      const b = complete[at]!;
      const hint =
        b >= 0x80 && b <= 0xff && b !== 0xff && b !== 0xfe
          ? ` (0x${b.toString(16).toUpperCase()} is "${Buffer.from([b]).toString('latin1')}" in Latin-1/Windows-1252: the file was probably saved in that encoding)`
          : '';
      return callback(
        new UnreadableBytesError(
          'UNREADABLE_ENCODING',
          `the file is not valid UTF-8: bytes ${describeBytes(complete, at)} at byte offset ${dataStart + at}${hint}`,
          SAVE_AS_UTF8,
          dataStart + at,
        ),
      );
    }
    this.carry = tail === 0 ? undefined : Buffer.from(data.subarray(data.length - tail));
    if (!this.sawContent) this.sawContent = hasContent(chunk, start === 0);
    callback(null, chunk);
  }
}

function hasContent(chunk: Buffer, atFileStart: boolean): boolean {
  let i = atFileStart && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf ? 3 : 0;
  for (; i < chunk.length; i++) {
    const b = chunk[i]!;
    if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return true;
  }
  return false;
}
