/** The Archive state's step, free of AWS: `createArchiveStep(ports)`. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import { archiveObject, type ArchiveDeps, type ArchiveInput, type ArchiveResult } from './archive';

export function createArchiveStep(ports: ArchiveDeps): (input: ArchiveInput) => Promise<ArchiveResult> {
  return async (input) => {
    bindRun({ runId: input.runId, dataset: input.dataset, objectKey: input.source.key });
    const result = await archiveObject(input, ports);
    logger.info('original archived', {
      archived: result.archived.key,
      originalRemoved: result.originalRemoved,
    });
    metrics.addMetric('FilesSucceeded', MetricUnit.Count, 1);
    metrics.addMetric('RowsWritten', MetricUnit.Count, input.counts.rowsOut);
    return result;
  };
}
