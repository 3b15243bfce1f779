/**
 * The record-failure step (target of the execution-status EventBridge rule, not a Task state),
 * free of AWS: `createRecordFailureStep(ports)`.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import type { LedgerRecord } from '../../core/ports';
import { recordFailure, type ExecutionStatusChange, type RecordFailureDeps } from './record-failure';

export function createRecordFailureStep(
  ports: RecordFailureDeps,
): (event: ExecutionStatusChange) => Promise<LedgerRecord | undefined> {
  return async (event) => {
    bindRun({ runId: event.detail.name });
    const record = await recordFailure(event, ports);
    // settle() leaves a REJECTED record alone (rejected runs also end FAILED, at the Fail
    // state); only a record that really is FAILED counts as a failed run.
    if (record?.status === 'FAILED') {
      logger.warn('run failed', { status: event.detail.status, ledgerStatus: record.status });
      metrics.addMetric('RunsFailed', MetricUnit.Count, 1);
    }
    return record;
  };
}
