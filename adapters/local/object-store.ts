/**
 * The local lake: an {@link ObjectStore} backed by a folder, so the offline pipeline reads and
 * writes files a person can open with any tool.
 *
 * Layout under `rootDir`:
 * ```
 * <bucket>/<key>                                    the current version of each object
 * .versions/<bucket>/<sha256(key)>/<versionId>       the bytes of every version ever put
 * .versions/<bucket>/<sha256(key)>/<versionId>.json  its metadata (key, etag, size, time, ...)
 * .versions/<bucket>/<sha256(key)>/current           versionId the current file was linked from
 * .names/<sha256(segment)>                           original text of an over-long key segment
 * ```
 * Keys are untrusted: every key segment that could leave its folder or confuse a tool (`.`, `..`,
 * empty, `\`, control characters, `%` itself) is percent-encoded, so `../../etc/passwd` becomes
 * the file `<bucket>/%2E%2E/%2E%2E/etc/passwd` inside the bucket folder. Segments longer than a
 * file name may be are shortened to a prefix plus a hash, and their full text kept under `.names/`.
 *
 * Writes are atomic: bytes go to a temp file in the target folder, then `rename`. The current file
 * is a hard link to its version file (no second copy of a 1 GB input); a tool that edits it in
 * place therefore edits that version too — replace files, don't edit them. `copy` (Archive,
 * Quarantine) never reads the bytes either: the copy's version file is a reflink or a hard link
 * of the source's version file (see {@link LocalObjectStore.copy}).
 *
 * Limits (S3 allows these, a file system does not): a key that is also a "folder" of another key
 * (`a` and `a/b`) fails with a clear error; on case-insensitive file systems `A.csv` and `a.csv`
 * are one file.
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants as fsConstants, createWriteStream, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  NoSuchKeyError,
  ObjectExistsError,
  type ObjectInfo,
  type ObjectRef,
  type ObjectStore,
  type PutOptions,
} from '../../core/ports';

/** S3's bucket naming rule (lower case, digits, dots, hyphens): also keeps bucket folders safe. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Longest encoded segment kept verbatim; ext4/APFS allow 255 bytes per file name. */
const MAX_SEGMENT_BYTES = 200;
/** Temp files start with `%t`: an encoded segment never does (`%` is always followed by hex). */
const TEMP_PREFIX = '%tmp-';
/** put() re-creates a folder a concurrent delete pruned and tries again, at most this many times. */
const PUBLISH_ATTEMPTS = 10;
/** Marks a shortened segment: `<prefix>%~<hash>`; never produced by percent-encoding either. */
const LONG_SEGMENT = /%~([0-9a-f]{64})$/;
/** An empty key segment (`a//b`, or a folder marker `a/`): `%` alone never comes from encoding. */
const EMPTY_SEGMENT = '%';

interface VersionMeta {
  readonly key: string;
  readonly versionId: string;
  readonly etag: string;
  readonly size: number;
  readonly lastModified: string;
  readonly contentType?: string;
  readonly metadata?: Record<string, string>;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function encodeChar(ch: string): string {
  return [...Buffer.from(ch, 'utf8')]
    .map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
    .join('');
}

/** Folder-backed object store with versions. @example new LocalObjectStore('.etl/lake') */
export class LocalObjectStore implements ObjectStore {
  readonly rootDir: string;

  constructor(rootDir: string) {
    this.rootDir = path.resolve(rootDir);
  }

  /** The file holding the current version of `bucket/key` (it may not exist). */
  pathOf(bucket: string, key: string): string {
    return path.join(this.bucketDir(bucket), ...key.split('/').map((s) => this.encodeSegment(s)));
  }

  /**
   * The file holding one version's bytes, to read in place (the validate step's DuckDB fast
   * path): only for a ref with a `versionId` — a version file never changes — and undefined when
   * that version does not exist. Never write to it.
   */
  async versionFileOf(ref: ObjectRef): Promise<string | undefined> {
    if (ref.versionId === undefined) return undefined;
    const file = this.versionFile(ref.bucket, ref.key, ref.versionId);
    return (await statFile(file))?.isFile() ? file : undefined;
  }

  async get(ref: ObjectRef): Promise<Readable> {
    const file = ref.versionId
      ? this.versionFile(ref.bucket, ref.key, ref.versionId)
      : this.pathOf(ref.bucket, ref.key);
    let handle: fs.FileHandle;
    try {
      // Open now, so a missing object fails here and a concurrent put cannot change what we read.
      handle = await fs.open(file, 'r');
      if ((await handle.stat()).isDirectory()) {
        await handle.close();
        throw Object.assign(new Error('is a folder'), { code: 'ENOENT' });
      }
    } catch (e) {
      if (isMissing(e)) throw new NoSuchKeyError(describe(ref));
      throw e;
    }
    // 1 MiB reads: fewer thread-pool round trips than the 64 KiB default (they add up on 1 GB).
    return handle.createReadStream({ highWaterMark: 1024 * 1024 });
  }

  async head(ref: ObjectRef): Promise<ObjectInfo | undefined> {
    if (ref.versionId) {
      const meta = await this.readMeta(ref.bucket, ref.key, ref.versionId);
      return meta && infoOf(meta);
    }
    const stat = await statFile(this.pathOf(ref.bucket, ref.key));
    if (!stat) return undefined;
    const current = await readText(path.join(this.versionDir(ref.bucket, ref.key), 'current'));
    if (current) {
      const versionStat = await statFile(this.versionFile(ref.bucket, ref.key, current));
      const meta = await this.readMeta(ref.bucket, ref.key, current);
      // Same inode = the file is still the hard link put() made, not something copied in by hand.
      if (meta && versionStat && versionStat.ino === stat.ino) return infoOf(meta);
    }
    // A file placed in the folder by hand: no version, a cheap stand-in etag.
    return {
      key: ref.key,
      size: stat.size,
      etag: createHash('md5').update(`${stat.size}:${stat.mtimeMs}:${stat.ino}`).digest('hex'),
      lastModified: stat.mtime,
    };
  }

  async put(
    bucket: string,
    key: string,
    body: Buffer | string | Readable,
    options: PutOptions = {},
  ): Promise<ObjectInfo> {
    return this.putVersion(bucket, key, options, async (tmp) => {
      const md5 = createHash('md5');
      let size = 0;
      const source =
        typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([Buffer.from(body)]) : body;
      await pipeline(
        source,
        new Transform({
          transform(chunk: Buffer, _enc, done) {
            md5.update(chunk);
            size += chunk.length;
            done(null, chunk);
          },
        }),
        createWriteStream(tmp, { highWaterMark: 1024 * 1024 }),
      );
      return { etag: md5.digest('hex'), size };
    });
  }

  /**
   * {@link put} of a local file's bytes, without passing them through this thread: the kernel
   * copies the file (a reflink where the file system has them) while this thread reads it once for
   * the MD5 etag. About half the time of streaming it through `put` (which reads, hashes and
   * writes on this thread). A file that changes while it is copied is refused.
   */
  async putFile(bucket: string, key: string, file: string, options: PutOptions = {}): Promise<ObjectInfo> {
    return this.putVersion(bucket, key, options, async (tmp) => {
      const before = await fs.stat(file);
      const [, read] = await Promise.all([fs.copyFile(file, tmp, fsConstants.COPYFILE_FICLONE), md5Of(file)]);
      const [after, copied] = await Promise.all([fs.stat(file), fs.stat(tmp)]);
      if (after.size !== before.size || after.mtimeMs !== before.mtimeMs || copied.size !== read.size)
        throw new Error(`${file} changed while it was copied into ${bucket}/${key}; upload it again`);
      return read;
    });
  }

  /**
   * {@link put} of a scratch file the caller is done with (a step's staging parts and output
   * partitions): the file is MOVED into the version folder (a rename; a copy, then removal, across
   * file systems), and its bytes are never read. Its etag is opaque — unique to this version, not
   * an MD5 of the bytes — as S3's is for an object in an SSE-KMS bucket, which every data bucket of
   * the stack is (infra/constructs/lake-storage.ts): the deployed pipeline never gets an MD5 etag
   * for these objects, so nothing may rely on one, and the writer's CPU pays for no hash (hashing
   * them was ≈ 2 s of CPU per GB of staging on the step's own core). The file is gone afterwards.
   */
  async putScratchFile(
    bucket: string,
    key: string,
    file: string,
    options: PutOptions = {},
  ): Promise<ObjectInfo> {
    return this.putVersion(bucket, key, options, async (tmp) => {
      try {
        await fs.rename(file, tmp);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
        await fs.copyFile(file, tmp);
        await fs.rm(file, { force: true });
      }
      const { size } = await fs.stat(tmp);
      return { etag: opaqueEtag(tmp), size };
    });
  }

  /** A new version of `bucket/key` whose bytes `write` puts into the temp file it is given. */
  private async putVersion(
    bucket: string,
    key: string,
    options: PutOptions,
    write: (tmp: string) => Promise<{ etag: string; size: number }>,
  ): Promise<ObjectInfo> {
    const target = this.pathOf(bucket, key);
    const versionDir = this.versionDir(bucket, key);
    await fs.mkdir(versionDir, { recursive: true });
    await this.mkdirFor(target, key);

    const versionId = randomUUID().replace(/-/g, '');
    const versionFile = path.join(versionDir, versionId);
    const tmp = path.join(versionDir, `${TEMP_PREFIX}${versionId}`);
    let written: { etag: string; size: number };
    try {
      written = await write(tmp);
      await fs.rename(tmp, versionFile);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
    const meta: VersionMeta = {
      key,
      versionId,
      etag: written.etag,
      size: written.size,
      lastModified: new Date().toISOString(),
      ...(options.contentType !== undefined && { contentType: options.contentType }),
      ...(options.metadata !== undefined && { metadata: { ...options.metadata } }),
    };
    await writeAtomic(path.join(versionDir, `${versionId}.json`), JSON.stringify(meta));
    await this.publish(bucket, key, meta, options.ifNoneMatch !== undefined);
    return infoOf(meta);
  }

  /**
   * Makes the version file `meta.versionId` (already in place with its .json) the current object
   * of `bucket/key`.
   */
  private async publish(bucket: string, key: string, meta: VersionMeta, createOnly: boolean): Promise<void> {
    const target = this.pathOf(bucket, key);
    const versionDir = this.versionDir(bucket, key);
    const { versionId } = meta;
    const versionFile = path.join(versionDir, versionId);
    // Publish: link the version into the bucket folder under a temp name, then rename over the
    // current file, so readers see the old object or the new one, never half of one. A concurrent
    // delete of the last object in that folder may remove the folder in between (S3 has no
    // folders, so this race exists only here): make it again and retry.
    // Create-only (ifNoneMatch): link straight to the final name instead, which fails with EEXIST
    // when the key is taken — the O_EXCL of a hard link, so of two racing puts exactly one wins.
    const tmpLink = path.join(path.dirname(target), `${TEMP_PREFIX}${versionId}`);
    for (let attempt = 1; ; attempt++) {
      try {
        if (createOnly) {
          await this.linkInto(versionFile, target, { exclusive: true });
          break;
        }
        await this.linkInto(versionFile, tmpLink);
        try {
          await fs.rename(tmpLink, target);
        } catch (e) {
          await fs.rm(tmpLink, { force: true });
          throw e;
        }
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (createOnly && code === 'EEXIST' && (await statFile(target))) {
          // Lost: like S3, a refused conditional put leaves no version behind.
          await fs.rm(versionFile, { force: true });
          await fs.rm(path.join(versionDir, `${versionId}.json`), { force: true });
          throw new ObjectExistsError(`${bucket}/${key} already exists (create-only put)`);
        }
        if (code !== 'ENOENT' || attempt >= PUBLISH_ATTEMPTS) throw this.conflictError(e, bucket, key);
        await this.mkdirFor(target, key);
      }
    }
    await writeAtomic(path.join(versionDir, 'current'), versionId);
  }

  /**
   * Server-side, as S3's CopyObject: the bytes are never read through this process. The copy is a
   * new version of `bucket/key` with the source version's etag, size, content type and metadata,
   * whose file shares the source version's bytes — a reflink where the file system has them
   * (btrfs, XFS, APFS: an independent copy-on-write file), else a hard link to the source's
   * version file (version files are never written again once in place: a later put of the source
   * key makes a new one, so the copy keeps its bytes), else (another file system, no links) a
   * kernel-side file copy. A file placed in the bucket folder by hand (no version) may be edited
   * in place later, so it is copied byte for byte, never linked.
   */
  async copy(source: ObjectRef, bucket: string, key: string): Promise<void> {
    const head = await this.head(source);
    if (!head) throw new NoSuchKeyError(describe(source));
    const meta = head.versionId ? await this.readMeta(source.bucket, source.key, head.versionId) : undefined;
    if (!meta) {
      await this.put(bucket, key, await this.get(source));
      return;
    }
    const versionDir = this.versionDir(bucket, key);
    await fs.mkdir(versionDir, { recursive: true });
    await this.mkdirFor(this.pathOf(bucket, key), key);
    const versionId = randomUUID().replace(/-/g, '');
    const tmp = path.join(versionDir, `${TEMP_PREFIX}${versionId}`);
    try {
      await shareBytes(this.versionFile(source.bucket, source.key, meta.versionId), tmp);
      await fs.rename(tmp, path.join(versionDir, versionId));
    } catch (e) {
      await fs.rm(tmp, { force: true });
      if (isMissing(e)) throw new NoSuchKeyError(describe(source));
      throw e;
    }
    const copied: VersionMeta = {
      key,
      versionId,
      etag: meta.etag,
      size: meta.size,
      lastModified: new Date().toISOString(),
      ...(meta.contentType !== undefined && { contentType: meta.contentType }),
      ...(meta.metadata !== undefined && { metadata: { ...meta.metadata } }),
    };
    await writeAtomic(path.join(versionDir, `${versionId}.json`), JSON.stringify(copied));
    await this.publish(bucket, key, copied, false);
  }

  async delete(ref: ObjectRef): Promise<void> {
    // Like S3 in a versioned bucket: the current object goes, its versions stay.
    const target = this.pathOf(ref.bucket, ref.key);
    await fs.rm(target, { force: true });
    await fs.rm(path.join(this.versionDir(ref.bucket, ref.key), 'current'), { force: true });
    // Remove folders left empty, so a later key `a` is not blocked by an empty folder `a/`; but
    // never a top-level folder (e.g. landing's `incoming/`), which watchers and uploads rely on.
    const bucketDir = this.bucketDir(ref.bucket);
    for (
      let dir = path.dirname(target);
      dir.startsWith(bucketDir + path.sep) && path.dirname(dir) !== bucketDir;
      dir = path.dirname(dir)
    ) {
      try {
        await fs.rmdir(dir);
      } catch {
        break;
      }
    }
  }

  async *list(bucket: string, prefix: string): AsyncIterable<ObjectInfo> {
    // Walk only the folder the prefix's complete segments name; filter the rest by key text.
    const segments = prefix.split('/');
    const walkRoot = path.join(
      this.bucketDir(bucket),
      ...segments.slice(0, -1).map((s) => this.encodeSegment(s)),
    );
    const keyBase = segments
      .slice(0, -1)
      .map((s) => `${s}/`)
      .join('');
    const keys: string[] = [];
    await this.collectKeys(walkRoot, keyBase, prefix, keys);
    keys.sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))); // S3's order
    for (const key of keys) {
      const info = await this.head({ bucket, key });
      if (info) yield info;
    }
  }

  private async collectKeys(dir: string, keyBase: string, prefix: string, out: string[]): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (isMissing(e) || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw e;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(TEMP_PREFIX)) continue;
      const key = keyBase + (await this.decodeSegment(entry.name));
      if (entry.isDirectory()) {
        const sub = `${key}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub))
          await this.collectKeys(path.join(dir, entry.name), sub, prefix, out);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        out.push(key);
      }
    }
  }

  private bucketDir(bucket: string): string {
    if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) {
      throw new Error(
        `bucket name ${JSON.stringify(bucket)} is not allowed: use S3 bucket naming (a-z 0-9 . -)`,
      );
    }
    return path.join(this.rootDir, bucket);
  }

  private versionDir(bucket: string, key: string): string {
    return path.join(this.rootDir, '.versions', bucket, sha256(key));
  }

  private versionFile(bucket: string, key: string, versionId: string): string {
    // versionIds are ours (hex), but a caller may pass anything: never let one name a path.
    if (!/^[0-9a-f]{32}$/.test(versionId)) return path.join(this.versionDir(bucket, key), '%invalid');
    return path.join(this.versionDir(bucket, key), versionId);
  }

  private async readMeta(bucket: string, key: string, versionId: string): Promise<VersionMeta | undefined> {
    const text = await readText(`${this.versionFile(bucket, key, versionId)}.json`);
    return text ? (JSON.parse(text) as VersionMeta) : undefined;
  }

  /** Percent-encodes what could escape the folder or confuse a tool; injective by construction. */
  private encodeSegment(segment: string): string {
    if (segment === '') return EMPTY_SEGMENT;
    if (segment === '.') return '%2E';
    if (segment === '..') return '%2E%2E';
    // eslint-disable-next-line no-control-regex
    const encoded = segment.replace(/[%\\/\u0000-\u001f\u007f]/g, encodeChar);
    if (Buffer.byteLength(encoded) <= MAX_SEGMENT_BYTES) return encoded;
    const hash = sha256(segment);
    // Record the full text (synchronously small) so list() can give the real key back.
    void this.rememberLongSegment(hash, segment);
    let head = encoded.slice(0, 100);
    head = head.replace(/%[0-9A-F]?$/, ''); // never cut an escape in half
    return `${head}%~${hash}`;
  }

  private pendingNames = new Map<string, Promise<void>>();

  private rememberLongSegment(hash: string, segment: string): Promise<void> {
    let p = this.pendingNames.get(hash);
    if (!p) {
      p = (async () => {
        const dir = path.join(this.rootDir, '.names');
        await fs.mkdir(dir, { recursive: true });
        await writeAtomic(path.join(dir, hash), segment);
      })();
      this.pendingNames.set(hash, p);
    }
    return p;
  }

  private async decodeSegment(name: string): Promise<string> {
    if (name === EMPTY_SEGMENT) return '';
    const long = LONG_SEGMENT.exec(name);
    if (long) {
      await this.pendingNames.get(long[1]!);
      const full = await readText(path.join(this.rootDir, '.names', long[1]!));
      if (full !== undefined) return full;
    }
    return decodeURIComponent(name);
  }

  /**
   * A hard link to `file` at `at`, or a copy on a file system without hard links. `exclusive`:
   * fail with EEXIST when `at` exists (a link never replaces; the copy is made with COPYFILE_EXCL).
   */
  private async linkInto(file: string, at: string, { exclusive = false } = {}): Promise<void> {
    try {
      await fs.link(file, at);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // The folder went (the caller retries), or the name is taken.
      if (code === 'ENOENT' || (exclusive && code === 'EEXIST')) throw e;
      await fs.copyFile(file, at, exclusive ? fsConstants.COPYFILE_EXCL : 0);
    }
  }

  private async mkdirFor(target: string, key: string): Promise<void> {
    // A recursive mkdir that meets an existing folder checks it with stat(); a concurrent delete
    // pruning that (empty) folder in between makes it fail with ENOENT. Make it again.
    for (let attempt = 1; ; attempt++) {
      try {
        await fs.mkdir(path.dirname(target), { recursive: true });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && attempt < PUBLISH_ATTEMPTS) continue;
        throw this.conflictError(e, '', key);
      }
    }
    // Make sure a long segment's name is on disk before anyone lists it.
    await Promise.all(this.pendingNames.values());
  }

  private conflictError(e: unknown, bucket: string, key: string): Error {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
      return new Error(
        `local object store: key ${JSON.stringify(key)}${bucket ? ` in ${bucket}` : ''} clashes with another key that ` +
          `uses the same name as both a file and a folder (S3 allows this, a file system does not): rename one of them`,
      );
    }
    return e as Error;
  }
}

function infoOf(meta: VersionMeta): ObjectInfo {
  return {
    key: meta.key,
    size: meta.size,
    etag: meta.etag,
    versionId: meta.versionId,
    lastModified: new Date(meta.lastModified),
  };
}

function describe(ref: ObjectRef): string {
  return `${ref.bucket}/${ref.key}${ref.versionId ? ` (version ${ref.versionId})` : ''} does not exist`;
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function statFile(file: string): Promise<Stats | undefined> {
  try {
    const stat = await fs.stat(file);
    return stat.isFile() ? stat : undefined;
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

/**
 * A new file `to` with the bytes of the immutable file `from`, without reading them here: a
 * reflink (instant, independent), else a hard link (instant, shared), else a kernel-side copy.
 */
async function shareBytes(from: string, to: string): Promise<void> {
  try {
    await fs.copyFile(from, to, fsConstants.COPYFILE_EXCL | fsConstants.COPYFILE_FICLONE_FORCE);
    return;
  } catch (e) {
    if (isMissing(e)) throw e;
    await fs.rm(to, { force: true });
  }
  try {
    await fs.link(from, to);
  } catch (e) {
    if (isMissing(e)) throw e;
    // EXDEV, EPERM, EMLINK (too many links to one inode): copy the bytes in the kernel.
    await fs.copyFile(from, to, fsConstants.COPYFILE_EXCL);
  }
}

/**
 * An etag that is not an MD5 of the bytes (S3's, for an SSE-KMS object, is not either): 32 hex
 * digits from the version's own temp file path, whose version id is a fresh random UUID.
 */
function opaqueEtag(versionTemp: string): string {
  return createHash('md5').update(`opaque:${versionTemp}`).digest('hex');
}

/**
 * A file's MD5 (its etag) and size, hashed in a worker thread: S3 computes an object's etag on its
 * own side, so the local lake's stand-in keeps that work off the caller's thread too (≈ 0.2 s of
 * MD5 per 100 MB on a 2-core machine). Only {@link LocalObjectStore.putFile} needs it (a landed
 * file, whose MD5 etag a person may compare); scratch files get an opaque etag.
 * One worker per process, started on first use and not keeping the process alive while idle.
 */
function md5Of(file: string): Promise<{ etag: string; size: number }> {
  const worker = (hasher ??= startHasher());
  const id = ++hashJobs.seq;
  return new Promise((resolve, reject) => {
    if (hashJobs.pending.size === 0) worker.ref();
    hashJobs.pending.set(id, { resolve, reject });
    worker.postMessage({ id, file });
  });
}

interface HashJob {
  resolve(r: { etag: string; size: number }): void;
  reject(e: Error): void;
}
let hasher: Worker | undefined;
const hashJobs = { seq: 0, pending: new Map<number, HashJob>() };

/** The worker's code: plain CommonJS (a worker given source text runs it as is). */
const HASHER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const buf = Buffer.allocUnsafe(1024 * 1024);
parentPort.on('message', ({ id, file }) => {
  let fd;
  try {
    fd = openSync(file, 'r');
    const md5 = createHash('md5');
    let size = 0;
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; size += n) md5.update(buf.subarray(0, n));
    parentPort.postMessage({ id, etag: md5.digest('hex'), size });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message ? e.message : e), code: e && e.code });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
});
`;

function startHasher(): Worker {
  const worker = new Worker(HASHER_SOURCE, { eval: true });
  worker.unref();
  worker.on('message', (m: { id: number; etag?: string; size?: number; error?: string; code?: string }) => {
    const job = hashJobs.pending.get(m.id);
    hashJobs.pending.delete(m.id);
    if (hashJobs.pending.size === 0) worker.unref();
    if (!job) return;
    if (m.error !== undefined) job.reject(Object.assign(new Error(m.error), { code: m.code }));
    else job.resolve({ etag: m.etag!, size: m.size! });
  });
  const fail = (e: Error) => {
    if (hasher === worker) hasher = undefined;
    for (const job of hashJobs.pending.values()) job.reject(e);
    hashJobs.pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the local lake's hashing thread exited (${code})`)));
  return worker;
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `${TEMP_PREFIX}${randomUUID()}`);
  await fs.writeFile(tmp, text);
  await fs.rename(tmp, file);
}

/** For tests and tools: read a whole object into memory (small objects only). */
export async function readObjectText(store: ObjectStore, ref: ObjectRef): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(ref)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
