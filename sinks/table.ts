/**
 * What a sink needs to know about a dataset and a run, independent of the contract file's shape:
 * the output columns with their SQL types (the partition column included when it lives only in
 * the folder name), the key, and which version of which source file this run loads.
 */
import { SOURCE_ORDER_KEY } from '../core/events';
import type { TransformManifest } from '../core/steps';

export type SinkColumnType = 'string' | 'integer' | 'decimal' | 'double' | 'boolean' | 'date' | 'timestamp';

export interface SinkColumn {
  readonly name: string;
  readonly type: SinkColumnType;
  /** decimal only */
  readonly precision?: number;
  readonly scale?: number;
}

export interface SinkTable {
  readonly dataset: string;
  /** Output columns in contract order; every one a SQL identifier. */
  readonly columns: readonly SinkColumn[];
  /** The contract's primary key ([] = none). */
  readonly key: readonly string[];
  /**
   * The partition column when its values live only in the folder names (`<name>=<value>/`, a date
   * partitioned by day or a text partition): the Parquet files do not hold it, so the sinks read
   * it back from the object key. null when every output column is inside the files.
   */
  readonly folderColumn: string | null;
}

/** One version of one source file, as the transform left it (its manifest). */
export interface SinkRun {
  readonly runId: string;
  readonly dataset: string;
  readonly sourceId: string;
  readonly versionTag: string;
  /**
   * The version's order key (64 hex digits, core/events), compared as text; null when the event
   * had none ("unordered"): such a run is never refused as older, as the transform publishes it.
   */
  readonly sourceOrder: string | null;
  /** The lake bucket and the curated objects this version owns. */
  readonly bucket: string;
  readonly objects: readonly string[];
}

/** The bookkeeping columns live beside the contract's sink settings (core/sinks.ts). */
export { SINK_META_COLUMNS } from '../core/sinks';

export function sinkRunOf(manifest: TransformManifest, runId: string, bucket: string): SinkRun {
  return {
    runId,
    dataset: manifest.dataset,
    sourceId: manifest.sourceId,
    versionTag: manifest.versionTag,
    sourceOrder:
      manifest.sourceOrder !== undefined && SOURCE_ORDER_KEY.test(manifest.sourceOrder)
        ? manifest.sourceOrder
        : null,
    bucket,
    objects: manifest.objects,
  };
}
