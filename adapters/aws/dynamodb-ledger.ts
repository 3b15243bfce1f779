/**
 * The ledger in DynamoDB: one item per claimed version plus one "latest" item per key, written
 * with conditional writes so the first claim wins and an older version never replaces a newer one.
 *
 * Table (the stack creates it with {@link LEDGER_TABLE_KEYS}): partition key `pk` = `<bucket>/<key>`,
 * sort key `sk` = `v#<versionTag>` for a version, `latest` for the newest claimed version of the key.
 */
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import type {
  ClaimOutcome,
  LatestClaim,
  Ledger,
  LedgerClaim,
  LedgerRecord,
  LedgerRef,
  LedgerStatus,
} from '../../core/ports';
import { rethrowTransient } from './transient';

/** Key schema of the ledger table (both strings), for the CDK stack. */
export const LEDGER_TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;

const LATEST = 'latest';
const versionSk = (versionTag: string) => `v#${versionTag}`;
const pkOf = (ref: { bucket: string; key: string }) => `${ref.bucket}/${ref.key}`;
/** By name: the SDK's error classes are not shared across bundled copies of the client. */
const isConditionFailed = (e: unknown) => (e as Error)?.name === 'ConditionalCheckFailedException';
const S = (s: string): AttributeValue => ({ S: s });

function toItem(r: LedgerRecord): Record<string, AttributeValue> {
  return {
    pk: S(pkOf(r)),
    sk: S(versionSk(r.versionTag)),
    bucket: S(r.bucket),
    objectKey: S(r.key),
    versionTag: S(r.versionTag),
    runId: S(r.runId),
    claimedAt: S(r.claimedAt),
    status: S(r.status),
    updatedAt: S(r.updatedAt),
    ...(r.versionId !== undefined && { versionId: S(r.versionId) }),
    ...(r.sequencerKey !== undefined && { sequencerKey: S(r.sequencerKey) }),
    ...(r.detail !== undefined && { detail: S(r.detail) }),
  };
}

function fromItem(item: Record<string, AttributeValue>): LedgerRecord {
  const s = (name: string) => item[name]?.S;
  return {
    bucket: s('bucket')!,
    key: s('objectKey')!,
    versionTag: s('versionTag')!,
    runId: s('runId')!,
    claimedAt: s('claimedAt')!,
    status: s('status') as LedgerStatus,
    updatedAt: s('updatedAt')!,
    ...(s('versionId') !== undefined && { versionId: s('versionId')! }),
    ...(s('sequencerKey') !== undefined && { sequencerKey: s('sequencerKey')! }),
    ...(s('detail') !== undefined && { detail: s('detail')! }),
  };
}

/**
 * @example new DynamoDbLedger(new DynamoDBClient({}), process.env.LEDGER_TABLE!)
 */
export class DynamoDbLedger implements Ledger {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async claim(claim: LedgerClaim): Promise<ClaimOutcome> {
    const record: LedgerRecord = { ...claim, status: 'CLAIMED', updatedAt: claim.claimedAt };
    if (!(await this.putIfAbsent(record))) {
      const existing = (await this.get(claim))!;
      // The same run claiming again is a retried task: carry on where it stopped.
      if (existing.runId !== claim.runId) return { outcome: 'DUPLICATE', record: existing };
    }
    if (claim.sequencerKey === undefined) return { outcome: 'CLAIMED', record };
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: S(pkOf(claim)), sk: S(LATEST) },
          UpdateExpression: 'SET sequencerKey = :s, versionTag = :v, runId = :r',
          // Fixed-width sequencer keys: string order is event order (core/events sequencerOrderKey).
          ConditionExpression: 'attribute_not_exists(pk) OR sequencerKey <= :s',
          ExpressionAttributeValues: {
            ':s': S(claim.sequencerKey),
            ':v': S(claim.versionTag),
            ':r': S(claim.runId),
          },
        }),
      );
      return { outcome: 'CLAIMED', record };
    } catch (e) {
      if (!isConditionFailed(e)) rethrowTransient(e, 'ledger: update latest version');
    }
    const latest = await this.getItem(pkOf(claim), LATEST);
    await this.client
      .send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: S(pkOf(claim)), sk: S(versionSk(claim.versionTag)) },
          UpdateExpression: 'SET #status = :stale, updatedAt = :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':stale': S('STALE'), ':now': S(new Date().toISOString()) },
        }),
      )
      .catch((e: unknown) => rethrowTransient(e, 'ledger: mark version stale'));
    return {
      outcome: 'STALE',
      latest: { versionTag: latest?.versionTag?.S ?? '', sequencerKey: latest?.sequencerKey?.S ?? '' },
    };
  }

  async settle(
    ref: LedgerRef,
    status: 'SUCCEEDED' | 'REJECTED' | 'FAILED' | 'STALE',
    runId: string,
    detail?: string,
  ): Promise<LedgerRecord> {
    const now = new Date().toISOString();
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: S(pkOf(ref)), sk: S(versionSk(ref.versionTag)) },
          UpdateExpression: `SET #status = :st, updatedAt = :now${detail !== undefined ? ', detail = :d' : ''}`,
          // Only a run in progress (or a FAILED one being redriven) moves; a final status stays.
          ConditionExpression: 'attribute_exists(pk) AND (#status = :claimed OR #status = :failed)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':st': S(status),
            ':now': S(now),
            ':claimed': S('CLAIMED'),
            ':failed': S('FAILED'),
            ...(detail !== undefined && { ':d': S(detail) }),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem(out.Attributes!);
    } catch (e) {
      if (!isConditionFailed(e)) rethrowTransient(e, 'ledger: settle');
    }
    const existing = await this.get(ref);
    if (existing) return existing;
    // Never claimed (rejected by Claim itself): record the outcome so a repeat is visible.
    const record: LedgerRecord = {
      ...ref,
      runId,
      claimedAt: now,
      status,
      updatedAt: now,
      ...(detail !== undefined && { detail }),
    };
    if (await this.putIfAbsent(record)) return record;
    return (await this.get(ref))!;
  }

  async get(ref: LedgerRef): Promise<LedgerRecord | undefined> {
    const item = await this.getItem(pkOf(ref), versionSk(ref.versionTag));
    return item ? fromItem(item) : undefined;
  }

  async latest(ref: { bucket: string; key: string }): Promise<LatestClaim | undefined> {
    const item = await this.getItem(pkOf(ref), LATEST);
    if (!item?.versionTag?.S || !item.sequencerKey?.S) return undefined;
    return { versionTag: item.versionTag.S, sequencerKey: item.sequencerKey.S, runId: item.runId?.S ?? '' };
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
      return rethrowTransient(e, 'ledger: read');
    }
  }

  /** True when this call created the item. */
  private async putIfAbsent(record: LedgerRecord): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: toItem(record),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      return rethrowTransient(e, 'ledger: claim version');
    }
  }
}
