/**
 * The reconcile sweep: every `.csv` under incoming/ of the landing bucket whose current version
 * has no ledger record gets one pipeline execution, as if its S3 event had arrived. It catches
 * what the trigger missed — an event dead-lettered after a day of retries, a rule disabled during
 * an incident, objects copied in before the stack existed.
 *
 * It never re-runs a version the ledger knows: a CLAIMED version is running or failed (a redrive
 * resumes it at the failed state), and a finished one is done. Execution names are derived from
 * the version, so two sweeps racing each other start one execution, not two.
 */
import { createHash } from 'node:crypto';
import { objectCreatedEventFor, type S3ObjectCreatedEvent } from '../../core/events';
import { isTriggerKey, LANDING_PREFIX, versionTagOf } from '../../core/layout';
import type { Ledger, ObjectInfo, ObjectStore } from '../../core/ports';

/** Starts one execution of the pipeline; says so when one by that name already exists. */
export interface RunStarter {
  start(name: string, event: S3ObjectCreatedEvent): Promise<'STARTED' | 'ALREADY_STARTED'>;
}

export interface ReconcileDeps {
  readonly store: ObjectStore;
  readonly ledger: Ledger;
  readonly starter: RunStarter;
  readonly landingBucket: string;
  /** Account and region written into the synthesized event (the state machine's). */
  readonly account: string;
  readonly region: string;
  readonly now?: () => Date;
}

export interface ReconcileInput {
  /**
   * Objects younger than this are left alone: their event may still be on its way (EventBridge
   * retries a failed delivery for up to a day; the usual delay is seconds). @default 15
   */
  readonly minAgeMinutes?: number;
  /** At most this many executions per sweep, so a backlog is worked off over several sweeps. @default 100 */
  readonly maxStarts?: number;
}

export interface ReconcileDecision {
  readonly key: string;
  readonly versionTag?: string;
  readonly action: 'started' | 'already-started' | 'known' | 'too-recent' | 'deferred' | 'gone';
  readonly execution?: string;
  readonly ledgerStatus?: string;
}

export interface ReconcileResult {
  readonly scanned: number;
  readonly started: number;
  readonly decisions: readonly ReconcileDecision[];
}

/** Keys the trigger rule would have matched (core/layout: `incoming/**` ending in `.csv`, any case). */
export { isTriggerKey };

/** `reconcile-<versionTag>-<16 hex of the key>`: the same version always gets the same name. */
export function executionNameOf(bucket: string, key: string, versionTag: string): string {
  return `reconcile-${versionTag}-${createHash('sha256').update(`${bucket}/${key}`).digest('hex').slice(0, 16)}`;
}

/** The EventBridge "Object Created" event S3 would have sent for this version. */
export function objectCreatedEventOf(
  bucket: string,
  info: ObjectInfo,
  at: { account: string; region: string; now: Date; name: string },
): S3ObjectCreatedEvent {
  return objectCreatedEventFor(bucket, info, {
    id: at.name,
    account: at.account,
    region: at.region,
    time: at.now,
    // No S3 sequencer exists for a listed object: an empty one tells claim to skip the
    // out-of-order check, which the ledger's first-write-wins still backs up.
    sequencer: '',
    requestId: 'reconcile',
    requester: 'serverless-etl-reconcile',
  });
}

/** Runs one sweep. */
export async function reconcileLanding(input: ReconcileInput, deps: ReconcileDeps): Promise<ReconcileResult> {
  const minAgeMs = (input.minAgeMinutes ?? 15) * 60_000;
  const maxStarts = input.maxStarts ?? 100;
  const now = (deps.now ?? (() => new Date()))();
  const decisions: ReconcileDecision[] = [];
  let scanned = 0;
  let started = 0;

  for await (const listed of deps.store.list(deps.landingBucket, LANDING_PREFIX)) {
    if (!isTriggerKey(listed.key)) continue;
    scanned++;
    if (now.getTime() - listed.lastModified.getTime() < minAgeMs) {
      decisions.push({ key: listed.key, action: 'too-recent' });
      continue;
    }
    // Listing has no version ids; the ledger is keyed by version, so ask for the current one.
    const info = await deps.store.head({ bucket: deps.landingBucket, key: listed.key });
    if (!info) {
      decisions.push({ key: listed.key, action: 'gone' }); // archived or quarantined meanwhile
      continue;
    }
    const versionTag = versionTagOf(info.versionId, info.etag);
    const record = await deps.ledger.get({ bucket: deps.landingBucket, key: info.key, versionTag });
    if (record) {
      decisions.push({ key: info.key, versionTag, action: 'known', ledgerStatus: record.status });
      continue;
    }
    if (started >= maxStarts) {
      decisions.push({ key: info.key, versionTag, action: 'deferred' });
      continue;
    }
    const name = executionNameOf(deps.landingBucket, info.key, versionTag);
    const event = objectCreatedEventOf(deps.landingBucket, info, {
      account: deps.account,
      region: deps.region,
      now,
      name,
    });
    const outcome = await deps.starter.start(name, event);
    if (outcome === 'STARTED') started++;
    decisions.push({
      key: info.key,
      versionTag,
      action: outcome === 'STARTED' ? 'started' : 'already-started',
      execution: name,
    });
  }
  return { scanned, started, decisions };
}
