/**
 * Standing down for a newer version of the same key. Two versions of one landing key share one
 * source id, so one set of curated objects: only the newest claimed version may own them. A run
 * that finds a newer version claimed (CheckStillLatest before its transform, Verify after it)
 * stops with the ledger saying STALE; the newer version's run produces the output. The original
 * stays where it is: a version of the landing key (a newer upload owns the key, so it is a
 * noncurrent version), found with ListObjectVersions.
 */
import { sourceOrderKeyOf, type SourceObject } from './events';
import type { Ledger } from './ports';

export interface StandDownInput {
  readonly runId: string;
  readonly source: SourceObject;
  readonly versionTag: string;
}

export type StandDownOutcome =
  | { readonly superseded: false }
  /** `latestVersionTag`: the newer version that owns the key now. */
  | { readonly superseded: true; readonly latestVersionTag: string };

/**
 * Whether a newer version of this run's key has been claimed (by sequencer order, as Claim
 * decides); if so, records this version STALE (`superseded by version …`). Without a usable
 * sequencer no order is known and the run is never superseded.
 */
export async function standDownIfSuperseded(
  input: StandDownInput,
  ledger: Pick<Ledger, 'latest' | 'settle'>,
): Promise<StandDownOutcome> {
  const ours = sourceOrderKeyOf(input.source.sequencer);
  const latest = await ledger.latest({ bucket: input.source.bucket, key: input.source.key });
  if (
    ours === undefined ||
    !latest ||
    latest.versionTag === input.versionTag ||
    latest.sequencerKey <= ours
  ) {
    return { superseded: false };
  }
  await ledger.settle(
    { bucket: input.source.bucket, key: input.source.key, versionTag: input.versionTag },
    'STALE',
    input.runId,
    `superseded by version ${latest.versionTag}`,
  );
  return { superseded: true, latestVersionTag: latest.versionTag };
}
