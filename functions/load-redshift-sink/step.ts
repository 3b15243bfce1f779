/**
 * The LoadRedshiftSink state's step, free of AWS: `createLoadRedshiftSinkStep(ports)` (the Redshift
 * Data API on AWS, DuckDB over a Parquet stand-in locally). This run's rows replace this source's
 * rows in the target, in one transaction; a newer version of the source already loaded wins.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import type { ObjectStore } from '../../core/ports';
import { sinkJobOf, type SinkStepInput } from '../../sinks/load';
import type { WarehouseSink } from '../../sinks/ports';

export interface LoadRedshiftSinkPorts {
  readonly store: ObjectStore;
  readonly warehouse: WarehouseSink;
  /** Folder of dataset contracts. @default the repository's schemas/ */
  readonly schemasDir?: string | undefined;
}

/** Kept at $.sinks.redshift. */
export interface LoadRedshiftSinkResult {
  /** SKIPPED: the manifest in place is a newer version's; that version's run loads the sink. */
  readonly status: 'LOADED' | 'SKIPPED';
  /** `<database>.<schema>.<table>` */
  readonly target: string;
  readonly rowsLoaded: number | null;
  /** A newer version of this source was already loaded: nothing changed. */
  readonly skippedNewer: boolean;
}

export function createLoadRedshiftSinkStep(
  ports: LoadRedshiftSinkPorts,
): (input: SinkStepInput) => Promise<LoadRedshiftSinkResult> {
  return async (input) => {
    bindRun({ runId: input.runId, dataset: input.dataset });
    const job = await sinkJobOf('redshift', input, ports);
    const target = `${job.config.database}.${job.config.schema}.${job.config.table}`;
    if (job.run === null) {
      logger.info('redshift sink skipped: a newer version owns the output', { sourceId: input.sourceId });
      return { status: 'SKIPPED', target, rowsLoaded: 0, skippedNewer: false };
    }
    const result = await ports.warehouse.load(job.run, job.table, job.config);
    logger.info('redshift sink loaded', { target, ...result });
    if (result.rowsLoaded !== null) metrics.addMetric('SinkRowsLoaded', MetricUnit.Count, result.rowsLoaded);
    return { status: 'LOADED', target, rowsLoaded: result.rowsLoaded, skippedNewer: result.skippedNewer };
  };
}
