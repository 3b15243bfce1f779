/**
 * The {@link SourceLedger} in DynamoDB: the bookmarks of pulled sources (sources/pull.ts). One item
 * per claimed period and one bookmark item per source, every write conditional, so two overlapping
 * pull invocations never pull one period twice and the bookmark never moves backwards.
 *
 * Table (the stack creates it with {@link SOURCE_LEDGER_TABLE_KEYS}): partition key `pk` = the
 * source's name, sort key `sk` = `period#<YYYY-MM-DDTHH:00:00Z>` for a period, `bookmark` for the
 * source's bookmark. Periods sort by time within a source, so a person can read a source's history
 * with one Query.
 *
 * - claim: only if there is no record, or it is RELEASED or MISSING, or CLAIMED by the same owner, or
 *   CLAIMED with a lease that has expired (by this adapter's clock); never when DONE.
 * - complete / markMissing: only while `owner` holds the claim, else SourceLeaseLostError.
 * - release: only while `owner` holds the claim; a lost claim is left alone.
 * - advance: only if the bookmark is still `from` (absent when undefined) and `to` is after it.
 *
 * Tested against a moto server (test/adapters/source-ledger-dynamodb.test.ts), including racing
 * claimers and lease expiry.
 */
import {
  GetItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { SourceLeaseLostError } from '../../core/errors';
import type {
  PulledObject,
  SourceLedger,
  SourcePeriod,
  SourcePeriodRecord,
  SourcePeriodStatus,
} from '../../core/ports';
import { rethrowTransient } from './transient';

/** Key schema of the bookmarks table (both strings), for the CDK stack and the tests. */
export const SOURCE_LEDGER_TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;

const BOOKMARK = 'bookmark';
const PERIOD = /^\d{4}-\d{2}-\d{2}T\d{2}:00:00Z$/;
const periodSk = (period: SourcePeriod) => `period#${period}`;
/** By name: the SDK's error classes are not shared across bundled copies of the client. */
const isConditionFailed = (e: unknown) => (e as Error)?.name === 'ConditionalCheckFailedException';
const S = (s: string): AttributeValue => ({ S: s });
const N = (n: number): AttributeValue => ({ N: String(n) });

function checkPeriod(period: SourcePeriod): SourcePeriod {
  if (!PERIOD.test(period))
    throw new Error(`source ledger: "${period}" is not a period (YYYY-MM-DDTHH:00:00Z)`);
  return period;
}

function fromItem(item: Record<string, AttributeValue>): SourcePeriodRecord {
  const s = (name: string) => item[name]?.S;
  const n = (name: string) => (item[name]?.N !== undefined ? Number(item[name].N) : undefined);
  const landed = item.landed?.M;
  return {
    source: s('source')!,
    period: s('period')!,
    status: s('status') as SourcePeriodStatus,
    ...(s('owner') !== undefined && { owner: s('owner')! }),
    ...(n('leaseUntilMs') !== undefined && { leaseUntilMs: n('leaseUntilMs')! }),
    attempts: n('attempts') ?? 0,
    ...(s('lastError') !== undefined && { lastError: s('lastError')! }),
    ...(landed !== undefined && {
      landed: {
        key: landed.key!.S!,
        bytes: Number(landed.bytes!.N),
        ...(landed.etag?.S !== undefined && { etag: landed.etag.S }),
        ...(landed.versionId?.S !== undefined && { versionId: landed.versionId.S }),
      },
    }),
    updatedAt: s('updatedAt')!,
  };
}

function landedItem(landed: PulledObject): AttributeValue {
  return {
    M: {
      key: S(landed.key),
      bytes: N(landed.bytes),
      ...(landed.etag !== undefined && { etag: S(landed.etag) }),
      ...(landed.versionId !== undefined && { versionId: S(landed.versionId) }),
    },
  };
}

export interface DynamoDbSourceLedgerOptions {
  /** The clock leases are judged by. @default Date.now */
  readonly now?: () => number;
}

/** @example new DynamoDbSourceLedger(new DynamoDBClient({}), process.env.SOURCE_LEDGER_TABLE!) */
export class DynamoDbSourceLedger implements SourceLedger {
  private readonly now: () => number;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    options: DynamoDbSourceLedgerOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async bookmark(source: string): Promise<SourcePeriod | undefined> {
    return (await this.getItem(source, BOOKMARK))?.bookmark?.S;
  }

  async advance(source: string, from: SourcePeriod | undefined, to: SourcePeriod): Promise<boolean> {
    checkPeriod(to);
    if (from !== undefined && checkPeriod(from) >= to) return false; // never backwards, never in place
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: S(source), sk: S(BOOKMARK) },
          UpdateExpression: 'SET bookmark = :to, updatedAt = :now',
          // Periods are fixed-width ISO strings: string order is time order.
          ConditionExpression:
            from === undefined ? 'attribute_not_exists(bookmark)' : 'bookmark = :from AND bookmark < :to',
          ExpressionAttributeValues: {
            ':to': S(to),
            ':now': S(this.isoNow()),
            ...(from !== undefined && { ':from': S(from) }),
          },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      return rethrowTransient(e, 'source ledger: advance bookmark');
    }
  }

  async get(source: string, period: SourcePeriod): Promise<SourcePeriodRecord | undefined> {
    const item = await this.getItem(source, periodSk(checkPeriod(period)));
    return item ? fromItem(item) : undefined;
  }

  async claim(source: string, period: SourcePeriod, owner: string, leaseUntilMs: number): Promise<boolean> {
    checkPeriod(period);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: S(source), sk: S(periodSk(period)) },
          UpdateExpression:
            'SET #source = :source, #period = :period, #status = :claimed, #owner = :owner, leaseUntilMs = :lease, attempts = if_not_exists(attempts, :zero), updatedAt = :now',
          ConditionExpression:
            'attribute_not_exists(pk) OR #status IN (:released, :missing) OR (#status = :claimed AND (#owner = :owner OR leaseUntilMs <= :nowMs))',
          ExpressionAttributeNames: {
            '#source': 'source',
            '#period': 'period',
            '#status': 'status',
            '#owner': 'owner',
          },
          ExpressionAttributeValues: {
            ':source': S(source),
            ':period': S(period),
            ':claimed': S('CLAIMED'),
            ':released': S('RELEASED'),
            ':missing': S('MISSING'),
            ':owner': S(owner),
            ':lease': N(leaseUntilMs),
            ':zero': N(0),
            ':now': S(this.isoNow()),
            ':nowMs': N(this.now()),
          },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      return rethrowTransient(e, 'source ledger: claim period');
    }
  }

  async complete(source: string, period: SourcePeriod, owner: string, landed: PulledObject): Promise<void> {
    checkPeriod(period);
    await this.ownedUpdate(source, period, owner, 'complete', {
      UpdateExpression:
        'SET #status = :done, landed = :landed, updatedAt = :now REMOVE leaseUntilMs, lastError',
      ExpressionAttributeValues: { ':done': S('DONE'), ':landed': landedItem(landed) },
    });
  }

  async release(source: string, period: SourcePeriod, owner: string, error?: string): Promise<void> {
    checkPeriod(period);
    try {
      await this.ownedUpdate(source, period, owner, 'release', {
        UpdateExpression:
          error === undefined
            ? 'SET #status = :released, updatedAt = :now REMOVE leaseUntilMs'
            : 'SET #status = :released, updatedAt = :now, lastError = :error ADD attempts :one REMOVE leaseUntilMs',
        ExpressionAttributeValues: {
          ':released': S('RELEASED'),
          ...(error !== undefined && { ':error': S(error), ':one': N(1) }),
        },
      });
    } catch (e) {
      // Another invocation took the period over after our lease ran out: nothing to give back.
      if (!(e instanceof SourceLeaseLostError)) throw e;
    }
  }

  async markMissing(source: string, period: SourcePeriod, owner: string, reason: string): Promise<void> {
    checkPeriod(period);
    await this.ownedUpdate(source, period, owner, 'mark missing', {
      UpdateExpression:
        'SET #status = :missing, lastError = :reason, updatedAt = :now ADD attempts :one REMOVE leaseUntilMs',
      ExpressionAttributeValues: { ':missing': S('MISSING'), ':reason': S(reason), ':one': N(1) },
    });
  }

  /** An update conditional on `owner` holding the period's claim; SourceLeaseLostError when not. */
  private async ownedUpdate(
    source: string,
    period: SourcePeriod,
    owner: string,
    doing: string,
    update: { UpdateExpression: string; ExpressionAttributeValues: Record<string, AttributeValue> },
  ): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: S(source), sk: S(periodSk(period)) },
          UpdateExpression: update.UpdateExpression,
          ConditionExpression: '#status = :claimedBy AND #owner = :owner',
          ExpressionAttributeNames: { '#status': 'status', '#owner': 'owner' },
          ExpressionAttributeValues: {
            ...update.ExpressionAttributeValues,
            ':claimedBy': S('CLAIMED'),
            ':owner': S(owner),
            ':now': S(this.isoNow()),
          },
        }),
      );
    } catch (e) {
      if (!isConditionFailed(e)) rethrowTransient(e, `source ledger: ${doing}`);
      const record = await this.get(source, period);
      throw new SourceLeaseLostError(
        `${source} ${period} is no longer claimed by ${owner} (${record ? `${record.status} by ${record.owner ?? 'nobody'}` : 'no claim'}); cannot ${doing}`,
      );
    }
  }

  private isoNow(): string {
    return new Date(this.now()).toISOString();
  }

  private async getItem(pk: string, sk: string): Promise<Record<string, AttributeValue> | undefined> {
    try {
      const out = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { pk: S(pk), sk: S(sk) },
          ConsistentRead: true,
        }),
      );
      return out.Item;
    } catch (e) {
      return rethrowTransient(e, 'source ledger: read');
    }
  }
}
