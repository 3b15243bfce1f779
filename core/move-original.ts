/**
 * Moving an original landing object into the lake (archive/ or quarantine/): copy, check the
 * copy, then delete — never the other way round, so at every moment the bytes exist somewhere a
 * person can find them. Safe to run again at any point (a retried or redriven task).
 */
import type { Location } from './steps';
import type { SourceObject } from './events';
import type { ObjectInfo, ObjectStore } from './ports';
import { TransientDependencyError } from './errors';

export interface MoveOutcome {
  readonly destination: Location;
  readonly size: number;
  /** Whether the landing key still shows this version (false once moved). */
  readonly originalRemoved: boolean;
  /**
   * Why the landing key was left alone: a newer upload now owns it (its own run moves it), or
   * this version was already gone.
   */
  readonly note?: string;
}

/**
 * Copies `source` (that exact version) to `destination`, verifies the copy, then removes the
 * landing object — but only while the landing key still holds this version, so a newer upload of
 * the same key is never hidden. In a versioned bucket the removal is a delete marker: the
 * original version stays recoverable.
 */
export async function moveOriginal(
  store: ObjectStore,
  source: SourceObject,
  destination: Location,
): Promise<MoveOutcome> {
  const ref = {
    bucket: source.bucket,
    key: source.key,
    ...(source.versionId !== undefined && { versionId: source.versionId }),
  };
  let original = await store.head(ref);
  // Without a version id the key may hold a newer upload by now; its bytes are not ours to move.
  if (original && source.versionId === undefined && original.etag !== source.etag) original = undefined;
  let copy = await store.head(destination);
  if (!original) {
    if (copy) return { destination, size: copy.size, originalRemoved: true, note: 'already moved' };
    throw new Error(
      `s3://${source.bucket}/${JSON.stringify(source.key).slice(1, -1)} (version ${source.versionId ?? source.etag}) no longer exists and no copy is at s3://${destination.bucket}/${destination.key}. Look for it in the landing bucket's versions before re-uploading.`,
    );
  }
  if (!copy || copy.size !== original.size) {
    await store.copy(ref, destination.bucket, destination.key);
    copy = await store.head(destination);
    if (!copy || copy.size !== original.size) {
      // Retried by the ASL; the original has not been touched.
      throw new TransientDependencyError(
        `copy to s3://${destination.bucket}/${destination.key} is not visible yet (or has the wrong size); the original is untouched`,
      );
    }
  }
  const current = await store.head({ bucket: source.bucket, key: source.key });
  if (!current) return { destination, size: copy.size, originalRemoved: true, note: 'already moved' };
  if (!isSameVersion(current, original)) {
    return {
      destination,
      size: copy.size,
      originalRemoved: false,
      note: 'a newer upload owns the landing key; left in place',
    };
  }
  await store.delete({ bucket: source.bucket, key: source.key });
  return { destination, size: copy.size, originalRemoved: true };
}

function isSameVersion(current: ObjectInfo, original: ObjectInfo): boolean {
  if (original.versionId !== undefined || current.versionId !== undefined)
    return current.versionId === original.versionId;
  return current.etag === original.etag && current.size === original.size;
}
