/**
 * CheckStillLatest: runs between Validate and Transform, because a newer upload of the same key
 * may have been claimed while this run validated; transforming now would overwrite the newer
 * version's output. A superseded run is recorded STALE and the state machine ends at Superseded.
 */
import type { SourceObject } from '../../core/events';
import type { Ledger } from '../../core/ports';
import { standDownIfSuperseded } from '../../core/superseded';

/** CheckStillLatest: Parameters { runId, source ($.claim.source), versionTag }. */
export interface CheckStillLatestInput {
  readonly runId: string;
  readonly source: SourceObject;
  readonly versionTag: string;
}

/** Kept at $.recheck. */
export interface CheckStillLatestResult {
  readonly status: 'CURRENT' | 'SUPERSEDED';
  /** The newer version that owns the key now, when SUPERSEDED. */
  readonly latestVersionTag?: string;
}

export interface CheckStillLatestDeps {
  /** Which version of the key is the newest claimed; where a superseded run is recorded STALE. */
  readonly ledger: Pick<Ledger, 'latest' | 'settle'>;
}

export async function checkStillLatest(
  input: CheckStillLatestInput,
  deps: CheckStillLatestDeps,
): Promise<CheckStillLatestResult> {
  const outcome = await standDownIfSuperseded(input, deps.ledger);
  return outcome.superseded
    ? { status: 'SUPERSEDED', latestVersionTag: outcome.latestVersionTag }
    : { status: 'CURRENT' };
}
