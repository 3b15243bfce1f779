/**
 * The transform's I/O (io.ts) over any {@link ObjectStore}: S3 through the SDK in a Lambda (DuckDB's
 * httpfs extension is downloaded at run time, which a Lambda without internet cannot do), or the
 * local folder store. DuckDB itself only ever sees local files:
 *
 *  1. the staging parts are streamed into a scratch folder (a few at once, never a whole object
 *     in memory);
 *  2. DuckDB writes its Parquet files into that scratch folder;
 *  3. under the publish lock, each file is uploaded (streamed) to its curated key, this source's
 *     objects the run no longer produced are deleted, and the manifest is written last.
 *
 * The publish lock is `tmp/transform/<sourceId>.publish.lock`, taken with a create-only put
 * (`If-None-Match: *` on S3): the very object the Glue job (glue/etl_job.py `publish_lock`) takes,
 * so a Transform Lambda and a Glue run of two versions of one key exclude each other too.
 *
 * Guarantees as on the folder path: each object appears whole (an S3 PUT, or a multipart upload's
 * completion, is atomic); a failure before publishing leaves the lake as it was; a crash while
 * publishing leaves whole objects and the previous manifest, and a re-run converges.
 */
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { TransformFailedError, TransientDependencyError } from '../core/errors';
import { lake } from '../core/layout';
import { NoSuchKeyError, ObjectExistsError, type ObjectStore } from '../core/ports';
import { inPool, putScratchFile, TRANSFERS_AT_ONCE } from '../core/uploads';
import { STAGING_SUCCESS } from '../core/staging';
import type { TransformIo, TransformIoOptions } from './io';
import { createRunTempDir, manifestText } from './publish';
import { PART_FILE, noSuccessMarker, stagingFormatOf, type TransformTarget } from './request';

/** Where the publish lock lives in the lake bucket: glue/etl_job.py `LAKE_TMP_PREFIX`, expired by the lake's tmp/ lifecycle rule. */
export const STORE_LOCK_PREFIX = 'tmp/transform/';

/**
 * A lock held this long is a killed publisher's leftover. Glue's own threshold
 * (etl_job.py STALE_LOCK_SECONDS): a Glue publish of a large file may hold the lock for minutes,
 * and a smaller threshold here would take its lock from under it.
 */
const STALE_LOCK_MS = 15 * 60_000;
/** A Lambda has at most 15 minutes: wait a minute, then fail clearly and let the state machine retry. */
const LOCK_WAIT_MS = 60_000;
const LOCK_POLL_MS = 200;
/** Tries at deleting the publish lock when the store throttles or fails transiently. */
const RELEASE_TRIES = 5;
const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';

/**
 * Deletes the publish lock, again after a transient failure (a throttle once the SDK's retries are
 * spent): a lock left behind would hold every later run of the source, this run's own retry
 * included, until it is stale (15 min). The load test under throttling met exactly that.
 */
async function releaseLock(store: ObjectStore, bucket: string, key: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await store.delete({ bucket, key });
      return;
    } catch (e) {
      if (!(e instanceof TransientDependencyError) || attempt >= RELEASE_TRIES) throw e;
      await new Promise((r) => setTimeout(r, LOCK_POLL_MS * attempt));
    }
  }
}

/** A {@link TransformTarget} whose lake is a bucket of an object store: what a Transform Lambda asks. */
export interface StoreTransformRequest extends TransformTarget {
  readonly store: ObjectStore;
  /** The lake bucket: staging, curated objects, manifests and the publish lock are keys in it. */
  readonly lakeBucket: string;
  /** Local folder for the run's work (see {@link ObjectStoreLake.scratchDir}). */
  readonly scratchDir: string;
  /** @default core/layout lake.stagingPrefix(plan.dataset, sourceId, versionTag) */
  readonly stagingPrefix?: string;
}

/** A lake that is a bucket of an object store. */
export interface ObjectStoreLake {
  readonly store: ObjectStore;
  /** The lake bucket: staging, curated objects, manifests and the publish lock are keys in it. */
  readonly lakeBucket: string;
  /** Staging prefix of this version (ends in `/`): `part-NNNNN.jsonl` (or `.parquet`) objects and `_SUCCESS`. */
  readonly stagingPrefix: string;
  /**
   * Local folder for the run's work: staging copies, DuckDB's output and spill, under
   * `<scratchDir>/_tmp/<sourceId>-<nonce>/` (removed afterwards; a killed run's folder is swept
   * by the next run of the source once a day old). Needs room for the staging parts plus the
   * Parquet output (a Lambda's /tmp: its ephemeral storage setting).
   */
  readonly scratchDir: string;
  readonly sourceId: string;
}

/** The transform's I/O over an object store bucket. */
export function objectStoreIo(lakeRef: ObjectStoreLake, options: TransformIoOptions = {}): TransformIo {
  const { store, lakeBucket: bucket, stagingPrefix, scratchDir, sourceId } = lakeRef;
  if (!stagingPrefix.endsWith('/')) {
    throw new TransformFailedError(
      `transform of ${sourceId}: staging prefix ${JSON.stringify(stagingPrefix)} does not end in "/". Fix: pass core/layout lake.stagingPrefix(dataset, sourceId, versionTag)`,
    );
  }
  const stagingLabel = `${bucket}/${stagingPrefix}`;
  /** Local copy → the object it was streamed from, for messages. */
  const copies = new Map<string, string>();

  return {
    stagingLabel,

    async listStagingParts() {
      let done = false;
      const parts: string[] = [];
      for await (const object of store.list(bucket, stagingPrefix)) {
        const name = object.key.slice(stagingPrefix.length);
        if (name === STAGING_SUCCESS) done = true;
        else if (PART_FILE.test(name)) parts.push(name);
      }
      if (!done) throw noSuccessMarker(sourceId, `prefix ${stagingLabel}`);
      // Refused before anything is downloaded.
      stagingFormatOf(parts, sourceId, `prefix ${stagingLabel}`);
      return parts.sort();
    },

    createWorkDir: () => createRunTempDir(scratchDir, sourceId),

    async localStagingFiles(parts, workDir) {
      const dir = path.join(workDir, 'staging');
      await fs.mkdir(dir, { recursive: true });
      return inPool(parts, TRANSFERS_AT_ONCE, async (name) => {
        const key = `${stagingPrefix}${name}`;
        const file = path.join(dir, name);
        await pipeline(await store.get({ bucket, key }), createWriteStream(file));
        copies.set(file, `${bucket}/${key}`);
        return file;
      });
    },

    nameOfStagingFile: (file) => copies.get(file) ?? file,

    async withPublishLock(publish) {
      const key = `${STORE_LOCK_PREFIX}${sourceId}.publish.lock`;
      const waitMs = options.lockWaitMs ?? LOCK_WAIT_MS;
      const deadline = Date.now() + waitMs;
      for (;;) {
        try {
          await store.put(bucket, key, new Date().toISOString(), { ifNoneMatch: '*' });
          break;
        } catch (e) {
          if (!(e instanceof ObjectExistsError)) throw e;
        }
        // Two waiters may both find one stale lock and the second delete the first's fresh one:
        // only after a holder was killed, and the Glue job takes the same risk with the same lock.
        const held = await store.head({ bucket, key });
        if (held && Date.now() - held.lastModified.getTime() > STALE_LOCK_MS) {
          await store.delete({ bucket, key });
        } else if (Date.now() > deadline) {
          throw new TransformFailedError(
            `publish of ${sourceId}: another run has held ${bucket}/${key} for over ${waitMs / 1000} s. Fix: let it finish and re-run (the state machine retries the transform); if no run is active, delete the lock object`,
          );
        } else {
          await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
        }
      }
      try {
        return await publish();
      } finally {
        await releaseLock(store, bucket, key);
      }
    },

    async manifestInPlace(dataset) {
      let body: string;
      try {
        body = await text(await store.get({ bucket, key: lake.manifest(dataset, sourceId) }));
      } catch (e) {
        // Only "there is none" means none: a read that failed otherwise must not let an older
        // version publish over a newer one.
        if (e instanceof NoSuchKeyError) return undefined;
        throw e;
      }
      try {
        return JSON.parse(body) as unknown;
      } catch {
        return undefined; // unreadable: replaced at the end of this run, as on the folder path
      }
    },

    async publishObjects(args) {
      const uploads = args.staged.map((s) => ({
        key: lake.curatedObject(args.dataset, args.partitionColumn, s.day, args.sourceId, s.part),
        file: s.file,
      }));
      await inPool(uploads, TRANSFERS_AT_ONCE, ({ key, file }) =>
        putScratchFile(store, bucket, key, file, { contentType: PARQUET_CONTENT_TYPE }),
      );
      // Code-point order, as the folder path and the Glue job sort them.
      const objects = uploads.map((u) => u.key).sort();
      const keep = new Set(objects);
      // Listing the table finds objects of a run that crashed before its manifest (the manifest
      // in place cannot name them). It costs one request per 1,000 objects of the table.
      const stale: string[] = [];
      for await (const object of store.list(bucket, lake.curatedTablePrefix(args.dataset))) {
        if (!keep.has(object.key) && lake.isCuratedObjectOf(object.key, args.dataset, args.sourceId))
          stale.push(object.key);
      }
      await inPool(stale, TRANSFERS_AT_ONCE, (key) => store.delete({ bucket, key }));
      return { objects, removed: stale.sort() };
    },

    async writeManifest(manifest) {
      await store.put(bucket, lake.manifest(manifest.dataset, manifest.sourceId), manifestText(manifest), {
        contentType: 'application/json',
      });
    },
  };
}
