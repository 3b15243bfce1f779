/**
 * Streaming writers for the validate step's outputs. Each row's text is encoded at once into a
 * 1 MiB buffer (a stream write per row would be slow; gathering rows into one long string first
 * measured ≈ 2.5 s per 100 MB input more, because V8 keeps the joined string as a tree of pieces
 * and walks it to encode), and full buffers are streamed into `ObjectStore.put`, whose consumption
 * paces us: when the upload falls behind, `write` returns a promise to wait on, so memory stays
 * flat whatever the file size.
 */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ObjectInfo, ObjectStore } from '../core/ports';
import { STAGING_PART } from '../core/staging';

/** Bytes gathered before they are handed to the stream. */
const BATCH_BYTES = 1024 * 1024;

/** UTF-8 bytes per UTF-16 code unit, at most (a surrogate pair: 4 bytes for 2 units). */
const MAX_UTF8_PER_UNIT = 3;

/** One object being written from a stream of text. */
export class ObjectTextWriter {
  private readonly body = new PassThrough({ highWaterMark: 8 * 1024 * 1024 });
  /** Started by the first bytes handed to the stream: a writer no text reached stores nothing. */
  private upload: Promise<ObjectInfo> | undefined;
  private failure: unknown;
  private readonly batch = Buffer.allocUnsafe(BATCH_BYTES);
  private used = 0;
  private drained: Promise<void> | undefined;
  /** Characters accepted so far (≈ bytes for ASCII-heavy data; used for part sizing only). */
  chars = 0;

  /**
   * Creates nothing yet: the object's upload starts with its first bytes (a batch handed over, or
   * {@link end}). So a writer can be made before it is known whether anything will be written to
   * it (the row errors of a file), and the code writing rows has no "first write" case.
   */
  constructor(
    private readonly store: ObjectStore,
    readonly bucket: string,
    readonly key: string,
    private readonly contentType: string,
  ) {
    // The store may attach its own listeners only after some awaits; until then an abort's
    // error must not count as unhandled (failures reach the caller through `upload`).
    this.body.on('error', () => undefined);
  }

  private started(): Promise<ObjectInfo> {
    if (this.upload) return this.upload;
    const upload = this.store.put(this.bucket, this.key, this.body, { contentType: this.contentType });
    // If the upload fails, stop the writer at once (a waiting `drain` rejects on the error).
    upload.catch((e: unknown) => {
      this.failure = e;
      this.body.destroy(e as Error);
    });
    this.upload = upload;
    return upload;
  }

  /** Appends text; returns a promise only when the caller should wait (backpressure). */
  write(text: string): Promise<void> | undefined {
    this.chars += text.length;
    const most = text.length * MAX_UTF8_PER_UNIT;
    if (this.used + most <= BATCH_BYTES) {
      this.used += this.batch.write(text, this.used);
      return undefined;
    }
    if (most > BATCH_BYTES) {
      // A row longer than a batch (a multi-megabyte cell) goes out on its own.
      const before = this.used > 0 ? this.flushBatch() : undefined;
      const own = this.push(Buffer.from(text, 'utf8'));
      return before && own ? Promise.all([before, own]).then(() => undefined) : (before ?? own);
    }
    const wait = this.flushBatch();
    this.used = this.batch.write(text, 0);
    return wait;
  }

  /**
   * Hands a copy of the filled part of the batch to the stream; the batch takes the next rows. The
   * batch is never replaced: its field stays constant, so code optimised with `write` inlined (the
   * row checker's rejects) survives the first flush, and a warm process's next file keeps it.
   */
  private flushBatch(): Promise<void> | undefined {
    const chunk = Buffer.from(this.batch.subarray(0, this.used));
    this.used = 0;
    return this.push(chunk);
  }

  private push(chunk: Buffer): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure as Error);
    void this.started();
    if (this.body.write(chunk)) return undefined;
    // One shared wait per drain, however many writes are queued behind it.
    this.drained ??= once(this.body, 'drain').then(() => {
      this.drained = undefined;
    });
    return this.drained;
  }

  /** Writes what is left and waits until the object exists. */
  async end(): Promise<ObjectInfo> {
    if (this.used > 0) await this.flushBatch();
    const upload = this.started();
    this.body.end();
    return upload;
  }

  /** Stops writing; whatever the store received is abandoned (the caller deletes it). */
  async abort(): Promise<void> {
    this.body.destroy(new Error('aborted'));
    await this.upload?.catch(() => undefined);
  }
}

/**
 * Staging rows as `part-NNNNN.jsonl` objects under one prefix, a new part every `partChars`
 * characters. `_SUCCESS` is not written here: the caller writes it last, after every part exists.
 */
export class StagingWriter {
  private current: ObjectTextWriter | undefined;
  private partNo = 0;
  readonly keys: string[] = [];
  /** Bytes of the parts finished so far (their stored sizes): the transform's input size. */
  bytes = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly partChars: number,
  ) {}

  write(lines: string): Promise<void> | undefined {
    if (!this.current) this.current = this.open();
    const wait = this.current.write(lines);
    if (this.current.chars >= this.partChars) {
      const finishing = this.current;
      this.current = undefined;
      return (wait ?? Promise.resolve())
        .then(() => finishing.end())
        .then((info) => {
          this.bytes += info.size;
        });
    }
    return wait;
  }

  private open(): ObjectTextWriter {
    const key = `${this.prefix}${STAGING_PART(this.partNo++)}`;
    this.keys.push(key);
    return new ObjectTextWriter(this.store, this.bucket, key, 'application/x-ndjson');
  }

  /** Finishes the last part. A file with no valid rows still gets one (empty) part. */
  async end(): Promise<void> {
    if (!this.current && this.keys.length === 0) this.current = this.open();
    const last = await this.current?.end();
    if (last) this.bytes += last.size;
    this.current = undefined;
  }

  async abort(): Promise<void> {
    await this.current?.abort();
    this.current = undefined;
  }
}
