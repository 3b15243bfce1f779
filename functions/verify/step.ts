/** The Verify state's step, free of AWS: `createVerifyStep(ports)` (Athena on AWS, DuckDB locally). */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import { verifyOutput, type VerifyDeps, type VerifyInput, type VerifyResult } from './verify';

export function createVerifyStep(ports: VerifyDeps): (input: VerifyInput) => Promise<VerifyResult> {
  return async (input) => {
    bindRun({ runId: input.runId, dataset: input.dataset });
    try {
      const result = await verifyOutput(input, ports);
      if (result.status === 'SUPERSEDED') {
        logger.info('superseded: a newer version owns the output', {
          sourceId: input.sourceId,
          latestVersionTag: result.latestVersionTag,
        });
        metrics.addMetric('VerifySuperseded', MetricUnit.Count, 1);
        return result;
      }
      logger.info('output verified', {
        sourceId: input.sourceId,
        rowsOut: result.rowsOut,
        checks: result.checks,
      });
      metrics.addMetric('FilesVerified', MetricUnit.Count, 1);
      return result;
    } catch (e) {
      if ((e as Error).name === 'VerificationFailedError')
        metrics.addMetric('VerificationFailures', MetricUnit.Count, 1);
      throw e;
    }
  };
}
