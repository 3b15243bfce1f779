/**
 * The DynamoDB sink's {@link ItemTable}: one conditional PutItem per item, a bounded number in
 * flight. Why not BatchWriteItem (25 items a request): it takes no condition, so "a newer version
 * of the same source is never overwritten" could only be a read before the batch, and a newer run
 * writing between that read and the batch would be overwritten by the older one. A conditional
 * PutItem decides on the stored item atomically. It costs the same write capacity per item as a
 * batch (capacity is per item, not per request); only the request count is 25× higher, which
 * concurrency hides (sinks/README.md has the measurement). TransactWriteItems would also carry
 * conditions, but one failed condition cancels the whole transaction and it costs twice the capacity.
 *
 * Throttling (and 5xx) is retried here with exponential backoff and full jitter, a bounded number
 * of times; then the error becomes TransientDependencyError and the state machine retries the
 * state — safe, because every write is idempotent and newer-wins.
 */
import { PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SinkLoadFailedError, TransientDependencyError } from '../../core/errors';
import type { ItemTable, ItemWriteResult, SinkItem, SourceGuard } from '../../sinks/ports';
import { SINK_META_COLUMNS } from '../../sinks/table';
import { isTransient } from './transient';

export interface DynamoDbItemTableOptions {
  /** PutItem requests in flight. @default 16 */
  readonly concurrency?: number;
  /** Attempts per item before giving up with TransientDependencyError. @default 8 */
  readonly maxAttempts?: number;
  /** First backoff ceiling; doubles per attempt up to `maxDelayMs`. @default 50 */
  readonly baseDelayMs?: number;
  /** @default 5000 */
  readonly maxDelayMs?: number;
  /** For tests. @default Math.random */
  readonly random?: () => number;
}

const isConditionFailed = (e: unknown) => (e as Error)?.name === 'ConditionalCheckFailedException';

/** @example new DynamoDbItemTable(new DynamoDBClient({}), 'etl-registrations') */
export class DynamoDbItemTable implements ItemTable {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: DynamoDbItemTableOptions = {},
  ) {}

  async putNewerWins(
    batches: AsyncIterable<readonly SinkItem[]>,
    guard: SourceGuard,
  ): Promise<ItemWriteResult> {
    const limit = this.options.concurrency ?? 16;
    const inFlight = new Set<Promise<void>>();
    let written = 0;
    let skippedNewer = 0;
    let retried = 0;
    let failure: unknown;
    const start = (item: SinkItem) => {
      const p = this.put(item, guard)
        .then((r) => {
          if (r.written) written++;
          else skippedNewer++;
          retried += r.retries;
        })
        .catch((e: unknown) => {
          failure ??= e;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    };
    outer: for await (const batch of batches) {
      for (const item of batch) {
        if (failure !== undefined) break outer;
        if (inFlight.size >= limit) await Promise.race(inFlight);
        start(item);
      }
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    return { written, skippedNewer, retried };
  }

  private async put(item: SinkItem, guard: SourceGuard): Promise<{ written: boolean; retries: number }> {
    const command = new PutItemCommand({
      TableName: this.tableName,
      Item: item as Record<string, AttributeValue>,
      // Order keys are fixed-width hex, so text order is version order (core/events). Only the
      // same source's versions are comparable; an unordered version writes unconditionally.
      ...(guard.sourceOrder !== null && {
        ConditionExpression: 'attribute_not_exists(#so) OR #sid <> :sid OR #so <= :so',
        ExpressionAttributeNames: {
          '#so': SINK_META_COLUMNS.sourceOrder,
          '#sid': SINK_META_COLUMNS.sourceId,
        },
        ExpressionAttributeValues: { ':so': { S: guard.sourceOrder }, ':sid': { S: guard.sourceId } },
      }),
    });
    const maxAttempts = this.options.maxAttempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(command);
        return { written: true, retries: attempt - 1 };
      } catch (e) {
        if (isConditionFailed(e)) return { written: false, retries: attempt - 1 };
        if (!isTransient(e)) throw this.explain(e);
        if (attempt >= maxAttempts) {
          throw new TransientDependencyError(
            `dynamodb sink: PutItem on ${this.tableName} still throttled after ${attempt} attempts: ${(e as Error).name}: ${(e as Error).message}`,
          );
        }
        await new Promise((r) => setTimeout(r, this.backoff(attempt)));
      }
    }
  }

  /** Full jitter: uniform in [0, min(max, base·2^(attempt-1))] (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
  private backoff(attempt: number): number {
    const ceiling = Math.min(
      this.options.maxDelayMs ?? 5000,
      (this.options.baseDelayMs ?? 50) * 2 ** (attempt - 1),
    );
    return Math.floor((this.options.random ?? Math.random)() * ceiling);
  }

  private explain(e: unknown): Error {
    const err = e as Error;
    if (err.name === 'ResourceNotFoundException') {
      return new SinkLoadFailedError(
        `dynamodb sink: table ${this.tableName} does not exist. Fix: deploy the stack (it creates the dataset's table) or name an existing table in the contract's dynamodb sink`,
      );
    }
    if (err.name === 'ValidationException') {
      return new SinkLoadFailedError(
        `dynamodb sink: ${this.tableName} refused an item: ${err.message}. Fix: the table's key schema must be the contract's primary key (same names, S for text/date/timestamp, N for numbers)`,
      );
    }
    return err;
  }
}
