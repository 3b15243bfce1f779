/**
 * The error catalogue. Every error a step throws on purpose is a small class whose `name` is
 * part of the state machine's contract: ASL `ErrorEquals` matches these names, and a test checks
 * that every name the ASL uses is listed in {@link ERROR_NAMES}. Never rename one casually.
 *
 * Two families, handled differently (see shared DESIGN.md):
 *  - data rejections (the file is bad): caught in the ASL, quarantined, never retried;
 *  - pipeline faults (something failed): retried with backoff where transient, otherwise the
 *    execution fails at the task so a redrive resumes there.
 */

/** Why a whole file was rejected. Stable codes: reports, notifications and dashboards key on them. */
export const REJECTION_REASONS = [
  'EMPTY_FILE',
  'HEADER_ONLY',
  'UNREADABLE_ENCODING',
  'BINARY_CONTENT',
  'MALFORMED_CSV',
  'HEADER_MISMATCH',
  'TOO_MANY_BAD_ROWS',
  'UNKNOWN_DATASET',
  'KEY_NOT_ALLOWED',
  'FILE_TOO_LARGE',
  /** jsonl with no line that is JSON; json that is not one array of values (issue 14). */
  'MALFORMED_JSON',
  /** Named `.gz` but not gzip, or its gzip data is cut short or corrupt. */
  'NOT_GZIP',
  /** The file name's format (.csv / .jsonl / .json) is not the contract's `format`. */
  'FORMAT_MISMATCH',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** The file itself is unusable; a corrected upload is the fix. Caught by the ASL → quarantine. */
export class FileRejectedError extends Error {
  override readonly name = 'FileRejectedError';
  constructor(
    readonly reason: RejectionReason,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(`${reason}: ${message}`);
  }
}

/**
 * A {@link FileRejectedError} in the shape every rejection message has: the quoted key, the
 * problem, then "Fix: ..." — so a person reading a notice always sees which file and what to do.
 */
export function rejectionOf(
  reason: RejectionReason,
  key: string,
  problem: string,
  fix: string,
  details: Record<string, unknown> = {},
): FileRejectedError {
  return new FileRejectedError(reason, `${JSON.stringify(key)}: ${problem}. Fix: ${fix}`, {
    key,
    ...details,
  });
}

/**
 * A dataset contract is itself broken: names the file, the JSON pointer, the column when the
 * problem is in one (`/columns/3 (column "amount")`), and the fix. A usage problem, never a
 * run: the CLI exits 64 on it, and `etl contract check` finds it without a run.
 */
export class ContractError extends Error {
  override readonly name = 'ContractError';
  constructor(
    readonly file: string,
    readonly pointer: string,
    readonly problem: string,
    readonly fix: string,
    /** The column's name (or its header text when it has no valid name), when one is concerned. */
    readonly column?: string,
  ) {
    const named =
      column !== undefined && !pointer.split('/').includes(column.replace(/~/g, '~0').replace(/\//g, '~1'))
        ? ` (column ${JSON.stringify(column)})`
        : '';
    super(`${file}#${pointer}${named}: ${problem}. Fix: ${fix}`);
  }
}

/** The claim step found this bucket/key/version already claimed: the event is a duplicate. */
export class DuplicateDeliveryError extends Error {
  override readonly name = 'DuplicateDeliveryError';
}

/** An event for an older version of a key arrived after a newer version was claimed. */
export class StaleVersionError extends Error {
  override readonly name = 'StaleVersionError';
}

/** A transient dependency failure (throttling, 5xx, timeout) worth retrying with backoff. */
export class TransientDependencyError extends Error {
  override readonly name = 'TransientDependencyError';
}

/** The crawler is already running; retried with backoff by the ASL. */
export class CrawlerRunningError extends Error {
  override readonly name = 'CrawlerRunningError';
}

/** The crawler has not reached READY yet; the poll loop retries. */
export class CrawlerNotReadyError extends Error {
  override readonly name = 'CrawlerNotReadyError';
}

/** The last crawl ended FAILED or CANCELLED. A pipeline fault: fails the run at Catalog. */
export class CrawlFailedError extends Error {
  override readonly name = 'CrawlFailedError';
}

/** Athena's view of the output disagrees with what validate/transform reported. */
export class VerificationFailedError extends Error {
  override readonly name = 'VerificationFailedError';
}

/** The transform engine failed (Glue job FAILED/TIMEOUT/ERROR, or the local engine threw). */
export class TransformFailedError extends Error {
  override readonly name = 'TransformFailedError';
}

/**
 * A sink (DynamoDB, Redshift) refused this run's rows for a reason a retry will not fix: a SQL
 * error (the message has the statement and the warehouse's own message), a table whose key does
 * not match the contract. Not retried: the execution fails at the sink's state; redrive after the fix.
 */
export class SinkLoadFailedError extends Error {
  override readonly name = 'SinkLoadFailedError';
}

/**
 * The catalog refused a partition of this run for a reason other than "it exists already" or
 * throttling (e.g. the table vanished mid-call, access denied, an invalid value). A pipeline
 * fault, never retried: the execution fails at RegisterPartitions; redrive after the fix.
 */
export class PartitionRegistrationError extends Error {
  override readonly name = 'PartitionRegistrationError';
}

/**
 * A pulled source's period claim (core/ports SourceLedger) is no longer this invocation's: its
 * lease expired and another invocation claimed it. The pull stops that period without marking it.
 */
export class SourceLeaseLostError extends Error {
  override readonly name = 'SourceLeaseLostError';
}

/** A secret a source definition names (a request header value) does not exist or lacks the field. */
export class SecretNotFoundError extends Error {
  override readonly name = 'SecretNotFoundError';
}

/** Names the project throws on purpose. */
export const PROJECT_ERROR_NAMES = [
  'FileRejectedError',
  'ContractError',
  'DuplicateDeliveryError',
  'StaleVersionError',
  'TransientDependencyError',
  'CrawlerRunningError',
  'CrawlerNotReadyError',
  'CrawlFailedError',
  'VerificationFailedError',
  'TransformFailedError',
  'SinkLoadFailedError',
  'PartitionRegistrationError',
  'SourceLeaseLostError',
  'SecretNotFoundError',
] as const;

/** Names raised by AWS services and the Step Functions runtime that the ASL may match. */
export const SERVICE_ERROR_NAMES = [
  'States.ALL',
  'States.Timeout',
  'States.TaskFailed',
  'States.Permissions',
  'States.HeartbeatTimeout',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
  // A Lambda function that ran past its own timeout (the errorType Lambda reports; with the
  // function ARN as Resource it is the state's error name).
  'Sandbox.Timedout',
  'Glue.ConcurrentRunsExceededException',
  'Glue.AWSGlueException',
  'Glue.InternalServiceException',
  'Glue.OperationTimeoutException',
  'Glue.ThrottlingException',
  'Glue.CrawlerRunningException',
  'Athena.TooManyRequestsException',
  'Athena.InternalServerException',
  'Sns.ThrottledException',
  'Sns.InternalErrorException',
] as const;

export const ERROR_NAMES: readonly string[] = [...PROJECT_ERROR_NAMES, ...SERVICE_ERROR_NAMES];
