/**
 * The sinks' ports. The DynamoDB sink reads rows itself (sinks/rows.ts) and hands items to an
 * {@link ItemTable}; the warehouse sink hands a whole run to a {@link WarehouseSink}. Each has an
 * AWS adapter (adapters/aws: DynamoDB, the Redshift Data API) and a local stand-in
 * (adapters/local: Parquet under the local home, readable by `etl query`) with the same semantics.
 */
import type { RedshiftSinkConfig } from '../core/sinks';
import type { SinkRun, SinkTable } from './table';

/** A DynamoDB attribute value as this project writes them: no binary, no sets, no nulls. */
export type ItemValue = { readonly S: string } | { readonly N: string } | { readonly BOOL: boolean };
export type SinkItem = Readonly<Record<string, ItemValue>>;

/** Which version wrote an item: compared against the stored one before it is replaced. */
export interface SourceGuard {
  readonly sourceId: string;
  /** null: an unordered version; it never loses on order. */
  readonly sourceOrder: string | null;
}

export interface ItemWriteResult {
  readonly written: number;
  /** Items kept as they were because a newer version of the same source wrote them. */
  readonly skippedNewer: number;
  /** Throttled writes retried (after backoff). */
  readonly retried: number;
}

export interface ItemTable {
  /**
   * Writes every item (replacing the item with its key) unless the stored item was written from
   * a newer version of the same source (`_source_id` equal and `_source_order` greater). Items
   * from another source are replaced: there is no order between different files.
   */
  putNewerWins(batches: AsyncIterable<readonly SinkItem[]>, guard: SourceGuard): Promise<ItemWriteResult>;
}

export interface WarehouseLoadResult {
  /** Rows of this source in the target after the load (null when the warehouse does not say). */
  readonly rowsLoaded: number | null;
  /** true when a newer version of this source was already loaded and nothing changed. */
  readonly skippedNewer: boolean;
}

export interface WarehouseSink {
  /**
   * Loads exactly this run's rows into the target in one transaction: this source's earlier rows
   * (and, with a key, rows with the same key) are replaced; nothing else changes. A newer
   * version of the source already loaded wins.
   */
  load(run: SinkRun, table: SinkTable, target: RedshiftSinkConfig): Promise<WarehouseLoadResult>;
}

/**
 * Runs SQL statements in order as ONE transaction (a single statement: its own transaction) and
 * returns the rows each affected (null where the engine does not say). Rejects with
 * SinkLoadFailedError naming the failed statement and the engine's message.
 */
export interface SqlRunner {
  run(sqls: readonly string[]): Promise<readonly (number | null)[]>;
}
