/**
 * Archive: the last step that touches data. Moves the processed original to archive/ (copy,
 * check, delete — idempotent), records SUCCEEDED in the ledger, and builds the SUCCEEDED notice
 * the state machine publishes.
 */
import type { SourceObject } from '../../core/events';
import { checkLandingKey, lake } from '../../core/layout';
import { moveOriginal } from '../../core/move-original';
import type { Ledger, ObjectStore } from '../../core/ports';
import type { Location } from '../../core/steps';

export interface ArchiveCounts {
  readonly rowsRead: number;
  readonly rowsValid: number;
  readonly rowsRejected: number;
  readonly rowsOut: number;
}

/** Archive: Parameters { runId, source ($.claim.source), dataset, sourceId, versionTag, lakeBucket, counts }. */
export interface ArchiveInput {
  readonly runId: string;
  readonly source: SourceObject;
  readonly dataset: string;
  readonly sourceId: string;
  readonly versionTag: string;
  readonly lakeBucket: string;
  readonly counts: ArchiveCounts;
}

/** The SUCCEEDED notice (SNS message body, JSON). */
export interface SucceededNotice {
  readonly status: 'SUCCEEDED';
  readonly runId: string;
  readonly dataset: string;
  readonly file: { readonly bucket: string; readonly key: string; readonly versionId?: string };
  readonly counts: ArchiveCounts;
  readonly curated: string;
  readonly manifest: string;
  readonly archived: string;
}

export interface ArchiveResult {
  readonly archived: Location;
  readonly originalRemoved: boolean;
  readonly notice: SucceededNotice;
  /**
   * `JSON.stringify(notice)`: the SNS message exactly as published. Notify sends this string as
   * is rather than `States.JsonToString($.archive.notice)`, whose local implementation
   * (aws-local-stepfunctions) strips backslashes and so breaks the JSON whenever a value holds a
   * quote or backslash. The state machine keeps this, not `notice` (ResultSelector).
   */
  readonly noticeText: string;
}

export interface ArchiveDeps {
  readonly store: ObjectStore;
  readonly ledger: Ledger;
}

export async function archiveObject(input: ArchiveInput, deps: ArchiveDeps): Promise<ArchiveResult> {
  const check = checkLandingKey(input.source.key);
  // Claim refused such keys; reaching here would mean a hand-made execution input.
  if (!check.ok)
    throw new Error(`archive: the source key is not allowed (${check.problem}); nothing was moved`);
  const archived: Location = {
    bucket: input.lakeBucket,
    key: `${lake.archivePrefix(input.dataset, input.sourceId, input.versionTag)}${check.fileName}`,
  };
  const move = await moveOriginal(deps.store, input.source, archived);
  await deps.ledger.settle(
    { bucket: input.source.bucket, key: input.source.key, versionTag: input.versionTag },
    'SUCCEEDED',
    input.runId,
  );
  const url = (key: string) => `s3://${input.lakeBucket}/${key}`;
  const notice: SucceededNotice = {
    status: 'SUCCEEDED',
    runId: input.runId,
    dataset: input.dataset,
    file: {
      bucket: input.source.bucket,
      key: input.source.key,
      ...(input.source.versionId !== undefined && { versionId: input.source.versionId }),
    },
    counts: input.counts,
    curated: url(lake.curatedTablePrefix(input.dataset)),
    manifest: url(lake.manifest(input.dataset, input.sourceId)),
    archived: url(archived.key),
  };
  return { archived, originalRemoved: move.originalRemoved, notice, noticeText: JSON.stringify(notice) };
}
