/**
 * Streaming writers for the validate step's outputs. Text is gathered into large chunks (string
 * concatenation is cheap; a write per row is not) and streamed into `ObjectStore.put`, whose
 * consumption paces us: when the upload falls behind, `write` returns a promise to wait on, so
 * memory stays flat whatever the file size.
 */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ObjectInfo, ObjectStore } from '../../core/ports';
import { STAGING_PART } from '../../core/staging';

/** Gather this much text before handing it to the stream. */
const BATCH_CHARS = 1024 * 1024;

/** One object being written from a stream of text. */
export class ObjectTextWriter {
  private readonly body = new PassThrough({ highWaterMark: 8 * 1024 * 1024 });
  private readonly upload: Promise<ObjectInfo>;
  private failure: unknown;
  private pending = '';
  private drained: Promise<void> | undefined;
  /** Characters accepted so far (≈ bytes for ASCII-heavy data; used for part sizing only). */
  chars = 0;

  constructor(
    store: ObjectStore,
    readonly bucket: string,
    readonly key: string,
    contentType: string,
  ) {
    // The store may attach its own listeners only after some awaits; until then an abort's
    // error must not count as unhandled (failures reach the caller through `upload`).
    this.body.on('error', () => undefined);
    this.upload = store.put(bucket, key, this.body, { contentType });
    // If the upload fails, stop the writer at once (a waiting `drain` rejects on the error).
    this.upload.catch((e: unknown) => {
      this.failure = e;
      this.body.destroy(e as Error);
    });
  }

  /** Appends text; returns a promise only when the caller should wait (backpressure). */
  write(text: string): Promise<void> | undefined {
    this.pending += text;
    this.chars += text.length;
    if (this.pending.length < BATCH_CHARS) return undefined;
    return this.flushPending();
  }

  private flushPending(): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure as Error);
    const chunk = this.pending;
    this.pending = '';
    if (this.body.write(chunk)) return undefined;
    // One shared wait per drain, however many writes are queued behind it.
    this.drained ??= once(this.body, 'drain').then(() => {
      this.drained = undefined;
    });
    return this.drained;
  }

  /** Writes what is left and waits until the object exists. */
  async end(): Promise<ObjectInfo> {
    if (this.pending) await this.flushPending();
    this.body.end();
    return this.upload;
  }

  /** Stops writing; whatever the store received is abandoned (the caller deletes it). */
  async abort(): Promise<void> {
    this.body.destroy(new Error('aborted'));
    await this.upload.catch(() => undefined);
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
      return (wait ?? Promise.resolve()).then(() => finishing.end()).then(() => undefined);
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
    await this.current?.end();
    this.current = undefined;
  }

  async abort(): Promise<void> {
    await this.current?.abort();
    this.current = undefined;
  }
}
