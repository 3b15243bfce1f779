/**
 * Claim: the first step of every execution. Decides whether this event may start a run at all:
 * the key must pass the allowlist, its dataset must have a contract, and this bucket/key/version
 * must not be claimed already (duplicate delivery) nor be older than a claimed version (stale).
 */
import { findContract } from '../../core/contract';
import { FileRejectedError } from '../../core/errors';
import { sourceObjectOf, sourceOrderKeyOf, UNORDERED_SOURCE } from '../../core/events';
import { checkLandingKey, sourceIdOf, versionTagOf } from '../../core/layout';
import type { Ledger } from '../../core/ports';
import type { ClaimInput, ClaimResult } from '../../core/steps';

export interface ClaimDeps {
  readonly ledger: Ledger;
  /** Folder of dataset contracts. @default the repository's schemas/ */
  readonly schemasDir?: string;
  readonly now?: () => Date;
}

/**
 * Claims the event's object version for this run.
 * @throws FileRejectedError KEY_NOT_ALLOWED when the key fails the allowlist, UNKNOWN_DATASET
 *   when no contract exists for its dataset folder (both go to quarantine, unrouted).
 */
export async function claimObject(input: ClaimInput, deps: ClaimDeps): Promise<ClaimResult> {
  const source = sourceObjectOf(input.event);
  const where = `s3://${source.bucket}/${JSON.stringify(source.key).slice(1, -1)}`;
  const sourceId = sourceIdOf(source.key);
  const versionTag = versionTagOf(source.versionId, source.etag);
  const orderKey = sourceOrderKeyOf(source.sequencer);
  const sourceOrder = orderKey ?? UNORDERED_SOURCE;
  // A second delivery of an event already rejected (and quarantined) is a duplicate, not a
  // second rejection: one REJECTED notice per file version.
  const rejectOnce = async (rejection: FileRejectedError, dataset: string): Promise<ClaimResult> => {
    const earlier = await deps.ledger.get({ bucket: source.bucket, key: source.key, versionTag });
    if (earlier?.status !== 'REJECTED') throw rejection;
    return { status: 'DUPLICATE', runId: input.runId, dataset, source, sourceId, versionTag, sourceOrder };
  };
  const check = checkLandingKey(source.key);
  if (!check.ok) {
    return rejectOnce(
      new FileRejectedError('KEY_NOT_ALLOWED', `${where}: ${check.problem}. Fix: ${check.fix}`),
      '',
    );
  }
  if (!findContract(check.dataset, deps.schemasDir)) {
    return rejectOnce(
      new FileRejectedError(
        'UNKNOWN_DATASET',
        `${where}: no contract for dataset "${check.dataset}". Fix: upload under incoming/<dataset>/ for a dataset with a schemas/<dataset>.schema.json, or add that contract`,
      ),
      check.dataset,
    );
  }
  const outcome = await deps.ledger.claim({
    bucket: source.bucket,
    key: source.key,
    versionTag,
    runId: input.runId,
    ...(source.versionId !== undefined && { versionId: source.versionId }),
    ...(orderKey !== undefined && { sequencerKey: orderKey }),
    claimedAt: (deps.now ?? (() => new Date()))().toISOString(),
  });
  const status =
    outcome.outcome === 'CLAIMED' ? 'CLAIMED' : outcome.outcome === 'DUPLICATE' ? 'DUPLICATE' : 'STALE';
  return {
    status,
    runId: input.runId,
    dataset: check.dataset,
    source,
    sourceId,
    versionTag,
    sourceOrder,
  };
}
