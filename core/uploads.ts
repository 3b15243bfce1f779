/**
 * Uploading the files a step wrote in its own scratch folder (staging parts, output partitions),
 * several at once, through whatever {@link ObjectStore} the step was given.
 */
import { createReadStream } from 'node:fs';
import type { ObjectInfo, ObjectStore, PutOptions } from './ports';

/** Uploads in flight at once: S3 round trips overlap; the local lake overlaps hashing with file I/O. */
export const TRANSFERS_AT_ONCE = 4;

/**
 * Puts a scratch file's bytes as `bucket/key`. A store that can take the file itself
 * ({@link ObjectStore.putScratchFile}: the local lake moves it into place) does; any other
 * streams it. The caller must not use the file afterwards: it may be gone.
 */
export function putScratchFile(
  store: ObjectStore,
  bucket: string,
  key: string,
  file: string,
  options: PutOptions = {},
): Promise<ObjectInfo> {
  return store.putScratchFile
    ? store.putScratchFile(bucket, key, file, options)
    : store.put(bucket, key, createReadStream(file), options);
}

/**
 * `work` over every item, at most `limit` at once; results in item order. The first failure
 * rejects (after the calls in flight settle, so nothing writes into a folder being removed).
 */
export async function inPool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i]!);
      } catch (e) {
        failed = true; // no worker starts another item
        throw e;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejected = settled.find((s) => s.status === 'rejected');
  if (rejected) throw (rejected as PromiseRejectedResult).reason;
  return results;
}
