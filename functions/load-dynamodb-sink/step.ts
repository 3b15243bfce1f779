/**
 * The LoadDynamoDbSink state's step, free of AWS: `createLoadDynamoDbSinkStep(ports)` (DynamoDB on
 * AWS, the Parquet stand-in locally). This run's verified rows become items keyed by the contract's
 * primary key; an item a newer version of the same source wrote is kept (sinks/README.md).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DatasetContract } from '../../core/contract';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import type { ObjectStore } from '../../core/ports';
import type { DynamoDbSinkConfig } from '../../core/sinks';
import { loadDynamoDbSink } from '../../sinks/dynamodb';
import { sinkJobOf, type SinkStepInput } from '../../sinks/load';
import type { ItemTable } from '../../sinks/ports';

export interface LoadDynamoDbSinkPorts {
  readonly store: ObjectStore;
  /** The item table of a dataset's sink (its `table`, or the one the stack made for the dataset). */
  readonly itemTable: (
    config: DynamoDbSinkConfig,
    contract: DatasetContract,
  ) => { name: string; items: ItemTable };
  /** Folder of dataset contracts. @default the repository's schemas/ */
  readonly schemasDir?: string | undefined;
  /** Where the run's objects are downloaded. @default os.tmpdir() */
  readonly scratchDir?: string | undefined;
}

/** Kept at $.sinks.dynamodb. */
export interface LoadDynamoDbSinkResult {
  /** SKIPPED: the manifest in place is a newer version's; that version's run loads the sink. */
  readonly status: 'LOADED' | 'SKIPPED';
  readonly table: string;
  readonly rows: number;
  readonly written: number;
  readonly skippedNewer: number;
  readonly retried: number;
}

export function createLoadDynamoDbSinkStep(
  ports: LoadDynamoDbSinkPorts,
): (input: SinkStepInput) => Promise<LoadDynamoDbSinkResult> {
  return async (input) => {
    bindRun({ runId: input.runId, dataset: input.dataset });
    const job = await sinkJobOf('dynamodb', input, ports);
    const { name, items } = ports.itemTable(job.config, job.contract);
    if (job.run === null) {
      logger.info('dynamodb sink skipped: a newer version owns the output', { sourceId: input.sourceId });
      return { status: 'SKIPPED', table: name, rows: 0, written: 0, skippedNewer: 0, retried: 0 };
    }
    const result = await loadDynamoDbSink(
      { store: ports.store, items },
      job.run,
      job.table,
      job.config,
      ports.scratchDir !== undefined ? { scratchDir: ports.scratchDir } : {},
    );
    logger.info('dynamodb sink loaded', { table: name, ...result });
    metrics.addMetric('SinkItemsWritten', MetricUnit.Count, result.written);
    return {
      status: 'LOADED',
      table: name,
      rows: result.rows,
      written: result.written,
      skippedNewer: result.skippedNewer,
      retried: result.retried,
    };
  };
}
