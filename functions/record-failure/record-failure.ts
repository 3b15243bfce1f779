/**
 * Record failure: pipeline faults are not caught in the state machine (so a redrive resumes at
 * the failing task), which means no state can write FAILED to the ledger. This function does it
 * from outside: an EventBridge rule on "Step Functions Execution Status Change" (FAILED,
 * TIMED_OUT, ABORTED) invokes it with the execution's original input — the S3 event.
 * A redriven run that then succeeds moves the record on to SUCCEEDED.
 */
import { sourceObjectOf, type S3ObjectCreatedEvent } from '../../core/events';
import { versionTagOf } from '../../core/layout';
import type { Ledger, LedgerRecord } from '../../core/ports';

/** The EventBridge event (only the fields used). */
export interface ExecutionStatusChange {
  readonly 'detail-type': 'Step Functions Execution Status Change';
  readonly detail: {
    readonly name: string;
    readonly status: string;
    /** The execution input as a JSON string (the S3 event); null when too large to include. */
    readonly input: string | null;
  };
}

export interface RecordFailureDeps {
  readonly ledger: Ledger;
}

const FAILED_STATUSES = new Set(['FAILED', 'TIMED_OUT', 'ABORTED']);

/** Returns the ledger record after the update, or undefined when the event is not about a file run. */
export async function recordFailure(
  event: ExecutionStatusChange,
  deps: RecordFailureDeps,
): Promise<LedgerRecord | undefined> {
  if (!FAILED_STATUSES.has(event.detail.status) || !event.detail.input) return undefined;
  let input: S3ObjectCreatedEvent;
  try {
    input = JSON.parse(event.detail.input) as S3ObjectCreatedEvent;
  } catch {
    return undefined;
  }
  if (input?.['detail-type'] !== 'Object Created' || !input.detail?.object) return undefined;
  const source = sourceObjectOf(input);
  return deps.ledger.settle(
    { bucket: source.bucket, key: source.key, versionTag: versionTagOf(source.versionId, source.etag) },
    'FAILED',
    event.detail.name,
    event.detail.status,
  );
}
