/** The Verify state's step, free of AWS: `createVerifyStep(ports)` (Athena on AWS, DuckDB locally). */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { findContract } from '../../core/contract';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import { sinkFlagsOf, type SinkFlags } from '../../sinks/load';
import { verifyOutput, type VerifyDeps, type VerifyInput, type VerifyResult } from './verify';

/** Kept at $.verify: the checks' result and which sinks the state machine loads next. */
export type VerifyStepResult = VerifyResult & { readonly sinks: SinkFlags };

export function createVerifyStep(ports: VerifyDeps): (input: VerifyInput) => Promise<VerifyStepResult> {
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
        return { ...result, sinks: { dynamodb: false, redshift: false } };
      }
      logger.info('output verified', {
        sourceId: input.sourceId,
        rowsOut: result.rowsOut,
        checks: result.checks,
      });
      metrics.addMetric('FilesVerified', MetricUnit.Count, 1);
      // verifyOutput found the contract; a contract removed since is no sink to load.
      const contract = findContract(input.dataset, ports.schemasDir);
      return {
        ...result,
        sinks: contract ? sinkFlagsOf(contract) : { dynamodb: false, redshift: false },
      };
    } catch (e) {
      if ((e as Error).name === 'VerificationFailedError')
        metrics.addMetric('VerificationFailures', MetricUnit.Count, 1);
      throw e;
    }
  };
}
