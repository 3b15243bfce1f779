/**
 * Publishing a finished transform into the local lake folder: the part every local engine shares
 * once its Parquet files sit complete in a temp folder.
 *
 * Order matters, and each step is safe to repeat (a re-run after a crash converges):
 *  1. each new object is renamed into place — one atomic rename per object, which replaces this
 *     source's old object in the same partition and never touches another source's objects;
 *  2. this source's objects in partitions the run no longer produced are deleted (found by
 *     scanning the table's partition folders, plus the previous manifest's list);
 *  3. the manifest is written to a temp file and renamed into place.
 * A crash between 1 and 3 can leave some partitions new and some old, each object whole; the
 * manifest is then stale or missing until the re-run, which is the signal that the run did not finish.
 *
 * Before step 1, under the publish lock, the manifest in place is read: when it records a newer
 * version of the same key (a greater `sourceOrder`, see {@link newerPublished}), nothing is
 * published at all — two versions of one key share one source id, and the older one must never
 * replace the newer one's objects, whichever transform finishes last.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { TransformFailedError } from '../core/errors';
import { lake } from '../core/layout';
import { SOURCE_ORDER_KEY, UNORDERED_SOURCE } from '../core/events';
import type { TransformManifest } from '../core/steps';

/** Lake-relative folder for in-flight work: not under curated/ or manifests/, so no reader sees it. */
export const LAKE_TMP_PREFIX = '_tmp/';

/** One finished Parquet file waiting in the temp folder for its partition. */
export interface StagedObject {
  /** Partition folder value (core/plan PARTITION_VALUE); ignored when the table has no partition. */
  readonly day: string;
  /** Which part of the partition (a partition over the plan's maxRowsPerFile has several). @default 0 */
  readonly part?: number;
  /** Absolute path of the finished file (inside the lake folder, so rename stays atomic). */
  readonly file: string;
}

export interface PublishArgs {
  readonly lakeDir: string;
  readonly dataset: string;
  /** The partition key (folder `<name>=<value>`), or null: no partition, one object per source. */
  readonly partitionColumn: string | null;
  readonly sourceId: string;
  readonly staged: readonly StagedObject[];
}

export interface PublishResult {
  /** Lake keys this source now owns, sorted. */
  readonly objects: readonly string[];
  /** Lake keys of this source's objects removed because their partitions are gone. */
  readonly removed: readonly string[];
}

/** A temp folder untouched this long belongs to a run that was killed, not to one in progress. */
const ABANDONED_TEMP_MS = 24 * 60 * 60_000;

/**
 * A fresh temp folder `<lakeDir>/_tmp/<sourceId>-<nonce>/` for one run. Also removes this
 * source's temp folders left by runs killed over a day ago (a run that ends in any other way
 * removes its own), so repeated kill-and-retry does not fill the disk.
 */
export async function createRunTempDir(lakeDir: string, sourceId: string): Promise<string> {
  const tmpRoot = path.join(lakeDir, LAKE_TMP_PREFIX);
  const nonce = /^[0-9a-f]{12}$/;
  for (const entry of await fs.readdir(tmpRoot, { withFileTypes: true }).catch(() => [])) {
    const rest = entry.name.startsWith(`${sourceId}-`) ? entry.name.slice(sourceId.length + 1) : '';
    if (!entry.isDirectory() || !nonce.test(rest)) continue;
    const folder = path.join(tmpRoot, entry.name);
    const stat = await fs.stat(folder).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > ABANDONED_TEMP_MS)
      await fs.rm(folder, { recursive: true, force: true });
  }
  const dir = path.join(tmpRoot, `${sourceId}-${randomBytes(6).toString('hex')}`);
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

/** How long a publish lock may be held before it is taken as a crashed publisher's leftover. */
const STALE_LOCK_MS = 10 * 60_000;
const LOCK_WAIT_MS = 60_000;

/**
 * Runs `publish` while holding `<lake>/_tmp/<sourceId>.publish.lock` (created exclusively). Two
 * runs of one source (say, two versions of a key in flight at once) then publish one after the
 * other, each as a whole, instead of interleaving renames and deletes. Which one may publish is
 * decided inside `publish` ({@link newerPublished}): the lock makes that check and the publish
 * one step, so a newer version cannot publish between them.
 */
export async function withPublishLock<T>(
  lakeDir: string,
  sourceId: string,
  publish: () => Promise<T>,
  waitMs: number = LOCK_WAIT_MS,
): Promise<T> {
  const lock = path.join(lakeDir, LAKE_TMP_PREFIX, `${sourceId}.publish.lock`);
  await fs.mkdir(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await (await fs.open(lock, 'wx')).close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const held = await fs.stat(lock).catch(() => undefined);
      if (held && Date.now() - held.mtimeMs > STALE_LOCK_MS) await fs.rm(lock, { force: true });
      else if (Date.now() > deadline)
        throw new TransformFailedError(
          `publish of ${sourceId}: another run has held ${lock} for over ${waitMs / 1000} s. Fix: let it finish and re-run; if no run is active, delete the lock file`,
        );
      else await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await publish();
  } finally {
    await fs.rm(lock, { force: true });
  }
}

/** The version whose output is in place, as its manifest records it. */
export interface PublishedVersion {
  readonly versionTag: string;
  readonly sourceOrder: string;
}

/**
 * Whether the manifest in place (`inPlace`, parsed JSON or undefined) is for a NEWER version of
 * the key than `sourceOrder` (this run's `--source_order`): then this run must not publish.
 * Equal order = a re-run of the same version, which replaces its own output. An unordered run,
 * or a manifest without a well-formed sourceOrder (written before versions were ordered), is
 * never held back. Pure; glue/etl_job.py `newer_published` is the same rule.
 */
export function newerPublished(
  inPlace: unknown,
  sourceOrder: string | undefined,
): PublishedVersion | undefined {
  if (sourceOrder === undefined || sourceOrder === UNORDERED_SOURCE) return undefined;
  if (typeof inPlace !== 'object' || inPlace === null) return undefined;
  const { sourceOrder: theirs, versionTag } = inPlace as Partial<TransformManifest>;
  if (typeof theirs !== 'string' || !SOURCE_ORDER_KEY.test(theirs) || theirs <= sourceOrder) return undefined;
  return { versionTag: typeof versionTag === 'string' ? versionTag : '(unknown)', sourceOrder: theirs };
}

/** Reads this source's manifest in place (undefined when there is none or it is unreadable). */
export async function manifestInPlace(lakeDir: string, dataset: string, sourceId: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(path.join(lakeDir, lake.manifest(dataset, sourceId)), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Steps 1 and 2 above: moves the staged objects into place, then removes stale own objects. */
export async function publishCuratedObjects(args: PublishArgs): Promise<PublishResult> {
  const objects: string[] = [];
  for (const s of args.staged) {
    const key = lake.curatedObject(args.dataset, args.partitionColumn, s.day, args.sourceId, s.part);
    await renameIntoPlace(s.file, path.join(args.lakeDir, key));
    objects.push(key);
  }
  // Code-point order, as the Glue job's sorted(): locale order differs for mixed-case values.
  objects.sort();
  const keep = new Set(objects);
  const removed: string[] = [];
  for (const key of await ownedObjects(args)) {
    if (keep.has(key)) continue;
    await fs.rm(path.join(args.lakeDir, key), { force: true });
    await removeIfEmpty(path.dirname(path.join(args.lakeDir, key)));
    removed.push(key);
  }
  return { objects, removed: removed.sort() };
}

/** Step 3 above: the manifest, written whole or not at all. */
export async function writeManifest(lakeDir: string, manifest: TransformManifest): Promise<string> {
  const key = lake.manifest(manifest.dataset, manifest.sourceId);
  const tmp = path.join(
    lakeDir,
    LAKE_TMP_PREFIX,
    `${manifest.sourceId}-${randomBytes(6).toString('hex')}.manifest.json`,
  );
  await fs.mkdir(path.dirname(tmp), { recursive: true });
  await fs.writeFile(tmp, manifestText(manifest));
  await renameIntoPlace(tmp, path.join(lakeDir, key));
  return key;
}

/** A manifest's bytes, the same whichever lake it is written to. */
export function manifestText(manifest: TransformManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/**
 * Every object this source owns now: `curated/<dataset>/<col>=*\/<sourceId>[.part-N].snappy.parquet`,
 * plus whatever the previous manifest listed (covers a partition column renamed between runs).
 */
async function ownedObjects(args: PublishArgs): Promise<string[]> {
  const table = lake.curatedTablePrefix(args.dataset);
  const owned = new Set<string>();
  const tableDir = path.join(args.lakeDir, table);
  const mine = (key: string) => lake.isCuratedObjectOf(key, args.dataset, args.sourceId);
  const folders = existsSync(tableDir) ? await fs.readdir(tableDir, { withFileTypes: true }) : [];
  for (const f of folders) {
    if (f.isDirectory()) {
      // Every part, also of a crashed run the manifest in place does not list.
      for (const name of await fs.readdir(path.join(tableDir, f.name)).catch(() => [])) {
        if (mine(`${table}${f.name}/${name}`)) owned.add(`${table}${f.name}/${name}`);
      }
    }
    // The objects of a table without a partition (or of this table before it had one).
    if (f.isFile() && mine(`${table}${f.name}`)) owned.add(`${table}${f.name}`);
  }
  const manifestFile = path.join(args.lakeDir, lake.manifest(args.dataset, args.sourceId));
  if (existsSync(manifestFile)) {
    try {
      const previous = JSON.parse(await fs.readFile(manifestFile, 'utf8')) as Partial<TransformManifest>;
      for (const key of previous.objects ?? []) {
        // Only keys this run could have written itself; a damaged manifest must not delete anything else.
        if (typeof key === 'string' && lake.isCuratedObjectOf(key, args.dataset, args.sourceId)) {
          if (existsSync(path.join(args.lakeDir, key))) owned.add(key);
        }
      }
    } catch {
      // An unreadable manifest is replaced at the end of this run; the folder scan above suffices.
    }
  }
  return [...owned].sort();
}

async function renameIntoPlace(from: string, to: string): Promise<void> {
  await fs.mkdir(path.dirname(to), { recursive: true });
  try {
    await fs.rename(from, to);
  } catch (e) {
    // Another run may have removed the (then empty) partition folder between mkdir and rename.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync(from)) throw e;
    await fs.mkdir(path.dirname(to), { recursive: true });
    await fs.rename(from, to);
  }
}

async function removeIfEmpty(dir: string): Promise<void> {
  try {
    await fs.rmdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw e;
  }
}
