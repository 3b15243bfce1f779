/**
 * The {@link ObjectStore} port on Amazon S3. Streams both ways: `get` hands back the response
 * body stream, `put` with a stream uploads it in parts (@aws-sdk/lib-storage `Upload`, 5 MiB parts,
 * a few in flight) so a 1 GB staging file never sits in memory. `copy` is server-side: one
 * CopyObject up to {@link MULTIPART_COPY_THRESHOLD} (S3's 5 GB single-copy limit), a multipart
 * copy (UploadPartCopy) above it, aborted on any failure so no parts stay billed.
 *
 * Tested against a moto server (test/adapters/object-store.test.ts), never only with mocks.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import {
  NoSuchKeyError,
  ObjectExistsError,
  type ObjectInfo,
  type ObjectRef,
  type ObjectStore,
  type PutOptions,
} from '../../core/ports';

/** S3 returns ETags quoted (`"abc"`); events and our manifests use the bare value. */
function bareEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}

function statusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isNotFound(e: unknown): boolean {
  const name = (e as Error).name;
  return name === 'NoSuchKey' || name === 'NoSuchVersion' || name === 'NotFound' || statusOf(e) === 404;
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** S3 copies an object in one CopyObject request only up to 5 GB; larger ones need a multipart copy. */
export const MULTIPART_COPY_THRESHOLD = 5 * GIB;
/** S3's part limits: 5 MiB to 5 GiB per part (the last may be smaller), at most 10,000 parts. */
export const S3_PART_LIMITS = { minBytes: 5 * MIB, maxBytes: 5 * GIB, maxParts: 10_000 } as const;

export interface S3ObjectStoreOptions {
  /**
   * Objects larger than this are copied with a multipart copy. Tests lower it to exercise the
   * multipart path with small objects; above 5 GB a single CopyObject fails.
   * @default MULTIPART_COPY_THRESHOLD (5 GiB)
   */
  readonly multipartCopyThreshold?: number;
  /**
   * Part size of a multipart copy, raised when needed to stay within 10,000 parts and clamped to
   * S3's 5 MiB–5 GiB. @default 512 MiB (a 5 TB object, S3's maximum, fits in 10,000 such parts)
   */
  readonly copyPartSize?: number;
  /** UploadPartCopy requests in flight at once. @default 8 */
  readonly copyConcurrency?: number;
}

/** Part size for copying `size` bytes: the wish, within S3's limits and its 10,000-part cap. */
export function copyPartSizeFor(size: number, wish = 512 * MIB): number {
  const floor = Math.max(S3_PART_LIMITS.minBytes, Math.ceil(size / S3_PART_LIMITS.maxParts));
  return Math.min(S3_PART_LIMITS.maxBytes, Math.max(floor, wish));
}

/** S3 object store. @example new S3ObjectStore(new S3Client({})) */
export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly client: S3Client,
    private readonly options: S3ObjectStoreOptions = {},
  ) {}

  async get(ref: ObjectRef): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }),
      );
      // In Node the SDK's body is an http.IncomingMessage (a Readable) with SDK helpers mixed in.
      return out.Body as Readable;
    } catch (e) {
      if (isNotFound(e) || isInvalidVersion(e)) throw new NoSuchKeyError(describe(ref));
      throw e;
    }
  }

  async head(ref: ObjectRef): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }),
      );
      return {
        key: ref.key,
        size: out.ContentLength ?? 0,
        etag: bareEtag(out.ETag),
        ...(out.VersionId !== undefined && out.VersionId !== 'null' && { versionId: out.VersionId }),
        lastModified: out.LastModified ?? new Date(0),
      };
    } catch (e) {
      // 405: HEAD of a version that is a delete marker; 400: a malformed version id.
      if (isNotFound(e) || statusOf(e) === 405 || isInvalidVersion(e)) return undefined;
      throw e;
    }
  }

  async put(
    bucket: string,
    key: string,
    body: Buffer | string | Readable,
    options: PutOptions = {},
  ): Promise<ObjectInfo> {
    const params = {
      Bucket: bucket,
      Key: key,
      ContentType: options.contentType,
      Metadata: options.metadata ? { ...options.metadata } : undefined,
      // lib-storage's Upload passes it on to PutObject, or to CompleteMultipartUpload for a large stream.
      IfNoneMatch: options.ifNoneMatch,
    };
    let versionId: string | undefined;
    try {
      if (body instanceof Readable) {
        const upload = new Upload({ client: this.client, params: { ...params, Body: body } });
        const out = await upload.done();
        versionId = out.VersionId;
      } else {
        // A Buffer with its length: the SDK needs it (an empty string reads as "unknown length").
        const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
        const out = await this.client.send(
          new PutObjectCommand({ ...params, Body: bytes, ContentLength: bytes.length }),
        );
        versionId = out.VersionId;
      }
    } catch (e) {
      // 412: the key holds an object; 409: another conditional write to it is in flight. Both
      // mean another writer got there first.
      if (options.ifNoneMatch !== undefined && (statusOf(e) === 412 || statusOf(e) === 409)) {
        throw new ObjectExistsError(`s3://${bucket}/${key} already exists (create-only put)`);
      }
      throw e;
    }
    // One HEAD gives size and time for streamed bodies too (their length is unknown up front).
    const info = await this.head({ bucket, key, ...(versionId && versionId !== 'null' && { versionId }) });
    if (!info) throw new Error(`s3://${bucket}/${key} was written but cannot be read back`);
    return info;
  }

  async copy(source: ObjectRef, bucket: string, key: string): Promise<void> {
    // CopySource is "<bucket>/<url-encoded key>[?versionId=...]".
    const encodedKey = encodeURIComponent(source.key).replace(/%2F/g, '/');
    const copySource = `${source.bucket}/${encodedKey}${source.versionId ? `?versionId=${encodeURIComponent(source.versionId)}` : ''}`;
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: source.bucket, Key: source.key, VersionId: source.versionId }),
      );
      const size = head.ContentLength ?? 0;
      if (size > (this.options.multipartCopyThreshold ?? MULTIPART_COPY_THRESHOLD)) {
        await this.multipartCopy(copySource, size, head, bucket, key);
        return;
      }
      await this.client.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: copySource }));
    } catch (e) {
      if (isNotFound(e) || isInvalidVersion(e)) throw new NoSuchKeyError(describe(source));
      throw e;
    }
  }

  /**
   * Server-side multipart copy: CreateMultipartUpload (content type and metadata carried over, as
   * CopyObject does), UploadPartCopy of byte ranges a few at a time, CompleteMultipartUpload. The
   * source is pinned by its ETag (`CopySourceIfMatch`) so every part comes from the same bytes even
   * without a version id. Any failure aborts the upload: no orphaned parts stay billed.
   */
  private async multipartCopy(
    copySource: string,
    size: number,
    head: { ETag?: string; ContentType?: string; Metadata?: Record<string, string> },
    bucket: string,
    key: string,
  ): Promise<void> {
    const partSize = copyPartSizeFor(size, this.options.copyPartSize);
    const parts = Math.ceil(size / partSize);
    const created = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ContentType: head.ContentType,
        Metadata: head.Metadata,
      }),
    );
    const uploadId = created.UploadId!;
    try {
      const done: CompletedPart[] = new Array(parts);
      let next = 0;
      let failed = false;
      const worker = async () => {
        while (!failed && next < parts) {
          const index = next++;
          const start = index * partSize;
          const end = Math.min(size, start + partSize) - 1;
          const out = await this.client.send(
            new UploadPartCopyCommand({
              Bucket: bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: index + 1,
              CopySource: copySource,
              CopySourceRange: `bytes=${start}-${end}`,
              CopySourceIfMatch: head.ETag,
            }),
          );
          done[index] = { PartNumber: index + 1, ETag: out.CopyPartResult?.ETag };
        }
      };
      // Every worker settles before the abort, so no part lands after it; the first error wins.
      const settled = await Promise.allSettled(
        Array.from({ length: Math.min(parts, this.options.copyConcurrency ?? 8) }, () =>
          worker().catch((e: unknown) => {
            failed = true;
            throw e;
          }),
        ),
      );
      const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected) throw rejected.reason;
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: done },
        }),
      );
    } catch (e) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
        .catch(() => undefined); // the first error is the one to report
      throw e;
    }
  }

  async delete(ref: ObjectRef): Promise<void> {
    // Never pass VersionId: that would destroy a version for good. In a versioned bucket this
    // adds a delete marker and every version stays recoverable. Deleting a missing key succeeds.
    await this.client.send(new DeleteObjectCommand({ Bucket: ref.bucket, Key: ref.key }));
  }

  async *list(bucket: string, prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of out.Contents ?? []) {
        yield {
          key: o.Key!,
          size: o.Size ?? 0,
          etag: bareEtag(o.ETag),
          lastModified: o.LastModified ?? new Date(0),
        };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }
}

function isInvalidVersion(e: unknown): boolean {
  return statusOf(e) === 400 && /version/i.test((e as Error).message ?? '');
}

function describe(ref: ObjectRef): string {
  return `s3://${ref.bucket}/${ref.key}${ref.versionId ? ` (version ${ref.versionId})` : ''} does not exist`;
}
