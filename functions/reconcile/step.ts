/**
 * The reconcile sweep's step (invoked by the EventBridge Scheduler schedule, not a Task state),
 * free of AWS: `createReconcileStep(ports)`.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger, metrics } from '../../core/instrumentation';
import { reconcileLanding, type ReconcileDeps, type ReconcileInput, type ReconcileResult } from './reconcile';

export function createReconcileStep(
  ports: ReconcileDeps,
): (input?: ReconcileInput) => Promise<ReconcileResult> {
  return async (input) => {
    const result = await reconcileLanding(input ?? {}, ports);
    const count = (action: string) => result.decisions.filter((d) => d.action === action).length;
    logger.info('reconcile sweep', {
      scanned: result.scanned,
      started: result.started,
      alreadyStarted: count('already-started'),
      deferred: count('deferred'),
      tooRecent: count('too-recent'),
      startedKeys: result.decisions.filter((d) => d.action === 'started').map((d) => d.key),
    });
    metrics.addMetric('ReconcileStarted', MetricUnit.Count, result.started);
    return result;
  };
}
