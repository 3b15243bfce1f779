/**
 * The DynamoDB sink: one item per verified row of this run, keyed by the contract's primary key,
 * written through the {@link ItemTable} port (DynamoDB on AWS, a Parquet stand-in locally).
 *
 * Types, without loss: decimals, integers and doubles are numbers (`N`) carrying DuckDB's exact
 * text of the value (never a JS float on the way); timestamps are ISO-8601 UTC strings with
 * microseconds; dates `YYYY-MM-DD` strings; booleans `BOOL`. A null is left out of the item (not
 * `NULL`): absent and null read the same through GetItem, items stay small, and a sparse GSI on a
 * nullable column only indexes rows that have a value.
 */
import type { ObjectStore } from '../core/ports';
import type { DynamoDbSinkConfig } from '../core/sinks';
import type { ItemTable, ItemValue, ItemWriteResult, SinkItem } from './ports';
import { withRunRows, type RunRowsOptions, type SinkRow } from './rows';
import { SINK_META_COLUMNS, type SinkRun, type SinkTable } from './table';

const NUMBER_TYPES = new Set(['integer', 'decimal', 'double']);

/** The item for one row (`row` as {@link withRunRows} reads it: exact text). */
export function itemOf(row: SinkRow, table: SinkTable, run: SinkRun): SinkItem {
  const item: Record<string, ItemValue> = {};
  for (const column of table.columns) {
    const value = row[column.name];
    if (value === null || value === undefined) {
      if (table.key.includes(column.name)) {
        throw new Error(
          `${run.dataset}/${run.sourceId}: key column "${column.name}" is null in a verified row`,
        );
      }
      continue;
    }
    if (typeof value === 'boolean') item[column.name] = { BOOL: value };
    else if (NUMBER_TYPES.has(column.type)) item[column.name] = { N: numberText(value, column.name) };
    else item[column.name] = { S: value };
  }
  item[SINK_META_COLUMNS.sourceId] = { S: run.sourceId };
  item[SINK_META_COLUMNS.sourceVersion] = { S: run.versionTag };
  item[SINK_META_COLUMNS.runId] = { S: run.runId };
  if (run.sourceOrder !== null) item[SINK_META_COLUMNS.sourceOrder] = { S: run.sourceOrder };
  return item;
}

/** DynamoDB numbers: up to 38 significant digits, no NaN or infinity. */
function numberText(text: string, column: string): string {
  if (!/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) {
    throw new Error(`column "${column}": ${text} is not a number DynamoDB can store (no NaN or infinity)`);
  }
  return text;
}

export interface DynamoDbSinkResult extends ItemWriteResult {
  readonly sink: 'dynamodb';
  readonly rows: number;
}

/**
 * Loads this run's rows into the table behind `items`.
 * @example await loadDynamoDbSink({ store, items: new DynamoDbItemTable(client, 'registrations', ['id']) }, run, table, config)
 */
export async function loadDynamoDbSink(
  deps: { readonly store: ObjectStore; readonly items: ItemTable },
  run: SinkRun,
  table: SinkTable,
  config: DynamoDbSinkConfig,
  options: RunRowsOptions = {},
): Promise<DynamoDbSinkResult> {
  const keyed: SinkTable = { ...table, key: config.key };
  return withRunRows(
    deps.store,
    run,
    keyed,
    async (rows) => {
      let count = 0;
      async function* batches() {
        for await (const chunk of rows.textRows()) {
          count += chunk.length;
          yield chunk.map((row) => itemOf(row, keyed, run));
        }
      }
      const result = await deps.items.putNewerWins(batches(), {
        sourceId: run.sourceId,
        sourceOrder: run.sourceOrder,
      });
      return { sink: 'dynamodb' as const, rows: count, ...result };
    },
    options,
  );
}
