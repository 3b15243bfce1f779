/**
 * The {@link ObjectStore} port on Amazon S3. Streams both ways: `get` hands back the response
 * body stream, `put` with a stream uploads it in parts (@aws-sdk/lib-storage `Upload`, 5 MiB parts,
 * a few in flight) so a 1 GB staging file never sits in memory.
 *
 * Tested against a moto server (test/adapters/object-store.test.ts), never only with mocks.
 */
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
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

/** S3 object store. @example new S3ObjectStore(new S3Client({})) */
export class S3ObjectStore implements ObjectStore {
  constructor(private readonly client: S3Client) {}

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
    // CopySource is "<bucket>/<url-encoded key>[?versionId=...]". Single-request copy: up to 5 GB.
    const encodedKey = encodeURIComponent(source.key).replace(/%2F/g, '/');
    const copySource = `${source.bucket}/${encodedKey}${source.versionId ? `?versionId=${encodeURIComponent(source.versionId)}` : ''}`;
    try {
      await this.client.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: copySource }));
    } catch (e) {
      if (isNotFound(e) || isInvalidVersion(e)) throw new NoSuchKeyError(describe(source));
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
