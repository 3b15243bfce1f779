/**
 * Quarantine: where a rejected file goes. The original is moved (copy, check, delete) next to a
 * machine-readable reason.json, the ledger records REJECTED, and the result carries the notice
 * the state machine publishes as "REJECTED". Running it again changes nothing but timestamps.
 */
import { findContract } from '../../core/contract';
import { REJECTION_REASONS, type RejectionReason } from '../../core/errors';
import { sourceObjectOf, type S3ObjectCreatedEvent, type SourceObject } from '../../core/events';
import { checkLandingKey, lake, sourceIdOf, versionTagOf } from '../../core/layout';
import { moveOriginal } from '../../core/move-original';
import type { Ledger, ObjectStore } from '../../core/ports';
import type { Location } from '../../core/steps';

/** What the Catch of a Lambda task puts at $.rejection. */
export interface CaughtError {
  readonly Error: string;
  /** On AWS: JSON `{"errorType","errorMessage","trace"}`; locally: the error message itself. */
  readonly Cause: string;
}

/** Quarantine: Parameters { runId, "detail.$": "$.detail", "rejection.$": "$.rejection", lakeBucket }. */
export interface QuarantineInput {
  readonly runId: string;
  readonly detail: S3ObjectCreatedEvent['detail'];
  readonly rejection: CaughtError;
  readonly lakeBucket: string;
}

/** The REJECTED notice (SNS message body, JSON). */
export interface RejectedNotice {
  readonly status: 'REJECTED';
  readonly runId: string;
  readonly reason: RejectionCode;
  readonly message: string;
  readonly file: { readonly bucket: string; readonly key: string; readonly versionId?: string };
  /** Where the original is now. */
  readonly quarantined: string;
  readonly reasonFile: string;
  readonly fix: string;
}

export interface QuarantineResult {
  readonly reason: RejectionCode;
  readonly message: string;
  readonly quarantined: Location;
  readonly reasonFile: Location;
  readonly originalRemoved: boolean;
  readonly notice: RejectedNotice;
  /**
   * `JSON.stringify(notice)`: the SNS message exactly as published. NotifyRejected sends this
   * string as is rather than `States.JsonToString($.quarantine.notice)`, whose local
   * implementation (aws-local-stepfunctions) strips backslashes and so breaks the JSON whenever
   * the message or key holds a quote or backslash. The state machine keeps this, not `notice`.
   */
  readonly noticeText: string;
}

/** A reason code from core/errors, or UNCLASSIFIED when the Cause carried none. */
export type RejectionCode = RejectionReason | 'UNCLASSIFIED';

export interface QuarantineDeps {
  readonly store: ObjectStore;
  readonly ledger: Ledger;
  /** Folder of dataset contracts. @default the repository's schemas/ */
  readonly schemasDir?: string;
  readonly now?: () => Date;
}

/** Reads `REASON: message` out of a caught error's Cause (Lambda's JSON envelope or plain text). */
export function parseRejection(rejection: CaughtError): { reason: RejectionCode; message: string } {
  let text = rejection.Cause ?? '';
  try {
    const envelope = JSON.parse(text) as { errorMessage?: unknown };
    if (typeof envelope?.errorMessage === 'string') text = envelope.errorMessage;
  } catch {
    // Not JSON: the local runtime passes the message itself.
  }
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(text);
  if (m && (REJECTION_REASONS as readonly string[]).includes(m[1]!)) {
    return { reason: m[1] as RejectionReason, message: m[2]! };
  }
  return { reason: 'UNCLASSIFIED', message: text || `${rejection.Error} without a message` };
}

/**
 * Where a rejected file goes. A file with a routable key and a known dataset keeps its name under
 * quarantine/<dataset>/...; anything else goes under quarantine/_unrouted/ named by its hash id only.
 */
export function quarantineLocation(
  source: SourceObject,
  reason: RejectionCode,
  lakeBucket: string,
  schemasDir?: string,
): { prefix: string; object: Location } {
  const sourceId = sourceIdOf(source.key);
  const versionTag = versionTagOf(source.versionId, source.etag);
  const check = checkLandingKey(source.key);
  const routable =
    check.ok &&
    reason !== 'KEY_NOT_ALLOWED' &&
    reason !== 'UNKNOWN_DATASET' &&
    findContract(check.dataset, schemasDir);
  const prefix = routable
    ? lake.quarantinePrefix(check.dataset, sourceId, versionTag)
    : lake.unroutedQuarantinePrefix(sourceId, versionTag);
  const name = routable ? check.fileName : 'original';
  return { prefix, object: { bucket: lakeBucket, key: `${prefix}${name}` } };
}

const FIX: Record<RejectionCode, string> = {
  EMPTY_FILE: 'upload the file again with its data rows',
  HEADER_ONLY: 'upload the file again with its data rows',
  UNREADABLE_ENCODING: 'save the file as UTF-8 and upload it again',
  BINARY_CONTENT: 'upload the CSV itself (not a compressed, Parquet or spreadsheet file)',
  MALFORMED_CSV: 'fix the quoting at the line named in the message and upload again',
  HEADER_MISMATCH: "make the header match the dataset's contract and upload again",
  TOO_MANY_BAD_ROWS: 'fix the rows listed in the rejects report and upload again',
  UNKNOWN_DATASET: 'upload under incoming/<dataset>/ for a dataset that has a contract',
  KEY_NOT_ALLOWED: 'rename the file as the message says and upload again',
  FILE_TOO_LARGE: 'split the file and upload the parts',
  MALFORMED_JSON:
    "save the file as the contract's format (JSON Lines: one object per line; JSON: one array of objects) and upload again",
  NOT_GZIP: 'compress the file with gzip (or upload it without the .gz suffix) and upload again',
  FORMAT_MISMATCH:
    "name the file with the suffix of the contract's format (.csv, .jsonl or .json, optionally .gz) and upload again",
  UNCLASSIFIED: 'read the message, correct the file and upload again',
};

export async function quarantineObject(
  input: QuarantineInput,
  deps: QuarantineDeps,
): Promise<QuarantineResult> {
  const source = sourceObjectOf({ detail: input.detail } as S3ObjectCreatedEvent);
  const { reason, message } = parseRejection(input.rejection);
  const { prefix, object } = quarantineLocation(source, reason, input.lakeBucket, deps.schemasDir);
  const reasonFile: Location = { bucket: input.lakeBucket, key: `${prefix}reason.json` };
  const at = (deps.now ?? (() => new Date()))().toISOString();

  const move = await moveOriginal(deps.store, source, object);
  const file = {
    bucket: source.bucket,
    key: source.key,
    ...(source.versionId !== undefined && { versionId: source.versionId }),
  };
  // Written after the copy exists and before the notice: whoever finds the file finds why.
  await deps.store.put(
    reasonFile.bucket,
    reasonFile.key,
    `${JSON.stringify(
      {
        code: reason,
        message,
        fix: FIX[reason],
        runId: input.runId,
        original: { ...file, etag: source.etag, size: source.size },
        quarantined: object,
        quarantinedAt: at,
        originalRemovedFromLanding: move.originalRemoved,
        ...(move.note !== undefined && { note: move.note }),
      },
      null,
      2,
    )}\n`,
    { contentType: 'application/json' },
  );
  await deps.ledger.settle(
    { bucket: source.bucket, key: source.key, versionTag: versionTagOf(source.versionId, source.etag) },
    'REJECTED',
    input.runId,
    reason,
  );
  const url = (l: Location) => `s3://${l.bucket}/${l.key}`;
  const notice: RejectedNotice = {
    status: 'REJECTED',
    runId: input.runId,
    reason,
    message,
    file,
    quarantined: url(object),
    reasonFile: url(reasonFile),
    fix: FIX[reason],
  };
  return {
    reason,
    message,
    quarantined: object,
    reasonFile,
    originalRemoved: move.originalRemoved,
    notice,
    noticeText: JSON.stringify(notice),
  };
}
