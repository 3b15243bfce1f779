/**
 * Files in the local landing folder, seen as objects of the landing bucket: which names are
 * uploads in progress (never run), how a file maps to its key, and making a file dropped in by
 * hand a proper object version (so it has a version id, like every object in a versioned bucket).
 */
import { createReadStream, readdirSync } from 'node:fs';
import path from 'node:path';
import { hasLandingSuffix, LANDING_PREFIX, landingContentType } from '../core/layout';
import type { ObjectInfo } from '../core/ports';
import type { LocalObjectStore } from '../adapters/local/object-store';
import type { EtlHome } from './home';

/**
 * Names that are not finished uploads: hidden files, editor and browser partials, and the object
 * store's own temp files (`%tmp-`). Only landing suffixes run (core/layout LANDING_SUFFIXES).
 */
export function isInProgressName(name: string): boolean {
  return (
    name.startsWith('.') ||
    name.startsWith('~') ||
    name.startsWith('%tmp-') ||
    /\.(tmp|temp|part|partial|crdownload|download|swp|filepart|uploading)$/i.test(name) ||
    name.endsWith('~')
  );
}

/** Is this file name one the pipeline runs (a landing suffix in any case, core/layout), and a finished upload? */
export function isTriggerName(name: string): boolean {
  return !isInProgressName(name) && hasLandingSuffix(name);
}

/** `<home>/landing/incoming/a/b.csv` → `incoming/a/b.csv`; undefined outside the landing folder. */
export function landingKeyOfFile(home: EtlHome, file: string): string | undefined {
  const rel = path.relative(home.landingDir, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const key = rel.split(path.sep).join('/');
  return key.startsWith(LANDING_PREFIX) ? key : undefined;
}

/** Every trigger-worthy file under `<home>/landing/incoming/`, sorted. */
export function landingFiles(home: EtlHome): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile() && isTriggerName(e.name)) found.push(full);
    }
  };
  walk(home.incomingDir);
  return found.sort();
}

/**
 * The object for a landing file: its current version, or — for a file copied into the folder by
 * hand, which has none — a new version made from its bytes (the same file afterwards). Undefined
 * when the file's path is not the store's path for any key (a name the store would have encoded).
 */
export async function landingObject(
  store: LocalObjectStore,
  home: EtlHome,
  file: string,
): Promise<{ key: string; info: ObjectInfo } | undefined> {
  const key = landingKeyOfFile(home, file);
  if (key === undefined || store.pathOf(home.landingBucket, key) !== file) return undefined;
  const info = await store.head({ bucket: home.landingBucket, key });
  if (!info) return undefined;
  if (info.versionId !== undefined) return { key, info };
  const adopted = await store.put(home.landingBucket, key, createReadStream(file), {
    contentType: landingContentType(key),
  });
  return { key, info: adopted };
}
