/** The RegisterPartitions state's step, free of AWS: `createRegisterPartitionsStep(ports)`. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import {
  registerPartitions,
  type RegisterPartitionsDeps,
  type RegisterPartitionsInput,
  type RegisterPartitionsResult,
} from './register-partitions';

export function createRegisterPartitionsStep(
  ports: RegisterPartitionsDeps,
): (input: RegisterPartitionsInput) => Promise<RegisterPartitionsResult> {
  return async (input) => {
    bindRun({ runId: input.runId, dataset: input.dataset });
    const result = await registerPartitions(input, ports);
    if (result.schemaChanged) {
      logger.info('schema changed: the crawler runs', { table: result.table, reason: result.reason });
      metrics.addMetric('CrawlsRequired', MetricUnit.Count, 1);
    } else {
      logger.info('partitions registered, crawl skipped', {
        table: result.table,
        registered: result.registered,
        existing: result.existing,
      });
      metrics.addMetric('PartitionsRegistered', MetricUnit.Count, result.registered);
      metrics.addMetric('CrawlsSkipped', MetricUnit.Count, 1);
    }
    return result;
  };
}
