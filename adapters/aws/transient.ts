/**
 * Maps an AWS SDK error that is worth retrying (throttling, 5xx, timeouts) to
 * TransientDependencyError, the one name the ASL retries with backoff for every Lambda step.
 * The SDK has already retried a few times by then; the state machine's retry waits longer.
 */
import { TransientDependencyError } from '../../core/errors';

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'InternalServerError',
  'InternalServerException',
  'InternalServiceException',
  'InternalFailure',
  'InternalErrorException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'OperationTimeoutException',
  'TimeoutError',
  'RequestTimeout',
]);

interface SdkErrorShape {
  name?: string;
  message?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

export function isTransient(e: unknown): boolean {
  const err = e as SdkErrorShape;
  if (typeof err !== 'object' || err === null) return false;
  const status = err.$metadata?.httpStatusCode;
  return (
    THROTTLING.has(err.name ?? '') || err.$retryable !== undefined || (status !== undefined && status >= 500)
  );
}

/** Rethrows `e` as TransientDependencyError when it is transient, unchanged otherwise. */
export function rethrowTransient(e: unknown, doing: string): never {
  if (isTransient(e)) {
    const err = e as SdkErrorShape;
    throw new TransientDependencyError(`${doing}: ${err.name ?? 'Error'}: ${err.message ?? ''}`);
  }
  throw e;
}
