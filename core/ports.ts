/**
 * Ports: the only way step logic touches the outside world. Each has an AWS adapter
 * (adapters/aws/*, tested against a moto server) and a local adapter (adapters/local/*, the
 * folder-backed lake the local runtime uses). Core logic is handed a port and never imports an SDK.
 */
import type { Readable } from 'node:stream';

export interface ObjectRef {
  readonly bucket: string;
  readonly key: string;
  /** Read this exact version (versioned buckets); omitted = current version. */
  readonly versionId?: string;
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly versionId?: string;
  readonly lastModified: Date;
}

export interface PutOptions {
  readonly contentType?: string;
  /** Small string metadata (S3 user metadata); values must be ASCII. */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface ObjectStore {
  /** Streams an object's bytes. Rejects with NoSuchKeyError when it does not exist. */
  get(ref: ObjectRef): Promise<Readable>;
  /** Metadata, or undefined when the object (version) does not exist. */
  head(ref: ObjectRef): Promise<ObjectInfo | undefined>;
  /** Writes an object from bytes or a stream (streams are uploaded without buffering it all). */
  put(
    bucket: string,
    key: string,
    body: Buffer | string | Readable,
    options?: PutOptions,
  ): Promise<ObjectInfo>;
  /** Server-side copy of one version; idempotent. */
  copy(source: ObjectRef, bucket: string, key: string): Promise<void>;
  /** Deletes the current version (a delete marker in a versioned bucket); idempotent. */
  delete(ref: ObjectRef): Promise<void>;
  /** Every current object under a prefix, in key order. */
  list(bucket: string, prefix: string): AsyncIterable<ObjectInfo>;
}

export class NoSuchKeyError extends Error {
  override readonly name = 'NoSuchKeyError';
}
