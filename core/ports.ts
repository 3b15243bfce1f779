/**
 * Ports: the only way step logic touches the outside world. Each has an AWS adapter
 * (adapters/aws/*, tested against a moto server) and a local adapter (adapters/local/*, the
 * folder-backed lake the local runtime uses). Core logic is handed a port and never imports an SDK.
 */
import type { Readable } from 'node:stream';
import type { TableSchema } from './table-schema';

export interface ObjectRef {
  readonly bucket: string;
  readonly key: string;
  /** Read this exact version (versioned buckets); omitted = current version. */
  readonly versionId?: string;
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly versionId?: string;
  readonly lastModified: Date;
}

export interface PutOptions {
  readonly contentType?: string;
  /** Small string metadata (S3 user metadata); values must be ASCII. */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * `'*'`: create only. The put succeeds only if the key holds no current object, atomically (S3's
   * conditional write `If-None-Match: *`; O_EXCL semantics locally), so of two racing puts exactly
   * one wins; the other rejects with {@link ObjectExistsError} and writes nothing. A key whose
   * current version is a delete marker counts as free. What locks (e.g. the transform's publish
   * lock) are built on.
   * @default unconditional: the put replaces whatever is there
   */
  readonly ifNoneMatch?: '*';
}

export interface ObjectStore {
  /** Streams an object's bytes. Rejects with NoSuchKeyError when it does not exist. */
  get(ref: ObjectRef): Promise<Readable>;
  /** Metadata, or undefined when the object (version) does not exist. */
  head(ref: ObjectRef): Promise<ObjectInfo | undefined>;
  /**
   * Writes an object from bytes or a stream (streams are uploaded without buffering it all).
   * Rejects with ObjectExistsError when `options.ifNoneMatch` is set and the key is taken.
   */
  put(
    bucket: string,
    key: string,
    body: Buffer | string | Readable,
    options?: PutOptions,
  ): Promise<ObjectInfo>;
  /**
   * Optional: {@link put} of a local file the caller wrote and no longer needs (a step's scratch);
   * the store may take the file itself instead of copying its bytes (the local lake moves it into
   * its version folder), so the file may be gone afterwards. Without it, callers stream the file
   * through `put` (core/uploads.ts putScratchFile).
   */
  putScratchFile?(bucket: string, key: string, file: string, options?: PutOptions): Promise<ObjectInfo>;
  /** Server-side copy of one version; idempotent. */
  copy(source: ObjectRef, bucket: string, key: string): Promise<void>;
  /** Deletes the current version (a delete marker in a versioned bucket); idempotent. */
  delete(ref: ObjectRef): Promise<void>;
  /** Every current object under a prefix, in key order. */
  list(bucket: string, prefix: string): AsyncIterable<ObjectInfo>;
}

export class NoSuchKeyError extends Error {
  override readonly name = 'NoSuchKeyError';
}

/** A create-only put (`ifNoneMatch: '*'`) found the key taken: another writer got there first. */
export class ObjectExistsError extends Error {
  override readonly name = 'ObjectExistsError';
}

// ---------------------------------------------------------------------------------------------
// Ledger: which bucket/key/version has been claimed by which run, and how it ended.
// ---------------------------------------------------------------------------------------------

/** CLAIMED while a run owns the version; STALE when a newer version was claimed first. */
export type LedgerStatus = 'CLAIMED' | 'STALE' | 'SUCCEEDED' | 'REJECTED' | 'FAILED';

/** One version of one landing object. `versionTag` is versionTagOf(versionId, etag). */
export interface LedgerRef {
  readonly bucket: string;
  readonly key: string;
  readonly versionTag: string;
}

export interface LedgerClaim extends LedgerRef {
  readonly runId: string;
  readonly versionId?: string;
  /**
   * sequencerOrderKey(event sequencer) (core/events.ts): fixed width, so string order is event
   * order. Omitted when the event carries none; then no staleness check is possible.
   */
  readonly sequencerKey?: string;
  readonly claimedAt: string;
}

export interface LedgerRecord extends LedgerClaim {
  readonly status: LedgerStatus;
  readonly updatedAt: string;
  /** Short machine-readable outcome detail, e.g. the rejection reason code. */
  readonly detail?: string;
}

export type ClaimOutcome =
  | { readonly outcome: 'CLAIMED'; readonly record: LedgerRecord }
  /** This bucket/key/version was claimed before (by another run). */
  | { readonly outcome: 'DUPLICATE'; readonly record: LedgerRecord }
  /** A newer version of the key is already claimed; `latest` says which. */
  | {
      readonly outcome: 'STALE';
      readonly latest: { readonly versionTag: string; readonly sequencerKey: string };
    };

export interface Ledger {
  /**
   * First write wins: records the claim unless this version is already claimed (DUPLICATE) or a
   * newer version of the key is (STALE). Re-claiming with the same runId (a retried task) returns
   * CLAIMED again, so a retry after a crash between the two writes cannot strand a run.
   */
  claim(claim: LedgerClaim): Promise<ClaimOutcome>;
  /**
   * Records how a run ended. Only a CLAIMED, FAILED (a redriven run may still end otherwise) or
   * never-claimed version moves; SUCCEEDED, REJECTED and STALE are final and returned unchanged.
   * STALE: the run stopped because a newer version of the key was claimed meanwhile.
   */
  settle(
    ref: LedgerRef,
    status: 'SUCCEEDED' | 'REJECTED' | 'FAILED' | 'STALE',
    runId: string,
    detail?: string,
  ): Promise<LedgerRecord>;
  get(ref: LedgerRef): Promise<LedgerRecord | undefined>;
  /** The newest claimed version of a key (by sequencer), when any claim carried a sequencer. */
  latest(ref: { readonly bucket: string; readonly key: string }): Promise<LatestClaim | undefined>;
}

export interface LatestClaim {
  readonly versionTag: string;
  readonly sequencerKey: string;
  readonly runId: string;
}

// ---------------------------------------------------------------------------------------------
// Catalog: the crawler that registers curated/ tables and partitions.
// ---------------------------------------------------------------------------------------------

export type CrawlerState = 'READY' | 'RUNNING' | 'STOPPING';

export interface LastCrawl {
  readonly status: 'SUCCEEDED' | 'CANCELLED' | 'FAILED';
  readonly startTime?: Date;
  readonly errorMessage?: string;
}

export interface CrawlerStatus {
  readonly state: CrawlerState;
  /** Absent until the crawler has run once. */
  readonly lastCrawl?: LastCrawl;
}

export interface Catalog {
  /** Starts a crawl. Rejects with CrawlerRunningError (core/errors) when one is in progress. */
  startCrawler(name: string): Promise<void>;
  getCrawler(name: string): Promise<CrawlerStatus>;
}

/** A table as the catalog holds it: its schema (core/table-schema.ts) and where its data lives. */
export interface CatalogTableInfo extends TableSchema {
  /** The table's storage location: `s3://<lake>/curated/<dataset>/` on AWS, the lake prefix locally. */
  readonly location: string;
}

/** One partition to add: the key's value (`2024-07-14`, `2024-07`, `2024`, a text value). */
export interface PartitionToRegister {
  readonly value: string;
}

export interface PartitionRegistration {
  /** Partitions this call created. */
  readonly created: number;
  /** Partitions that were already in the catalog (a rerun, another file of the same day). */
  readonly existing: number;
}

/**
 * The tables and partitions of the catalog, written directly instead of by a crawl (Glue
 * GetTable + BatchCreatePartition on AWS, the JSON catalog file locally). Idempotent: registering
 * a partition that exists counts it as existing.
 */
export interface PartitionRegistry {
  /** The table, or undefined when the catalog has none by that name. */
  getTable(database: string, table: string): Promise<CatalogTableInfo | undefined>;
  /**
   * Adds partitions of `table` (one partition key), each located at `<table location><key>=<value>/`
   * with the table's storage format. Rejects with TransientDependencyError on throttling and with
   * PartitionRegistrationError for any other refusal.
   */
  registerPartitions(
    database: string,
    table: CatalogTableInfo & { readonly name: string },
    partitions: readonly PartitionToRegister[],
  ): Promise<PartitionRegistration>;
}

// ---------------------------------------------------------------------------------------------
// QueryEngine: SQL over the curated tables (Athena on AWS, DuckDB locally).
// ---------------------------------------------------------------------------------------------

export type QueryParameter = string | number | boolean;
/** Every value as text (Athena returns text; the local engine converts to match), null for NULL. */
export type QueryRow = Readonly<Record<string, string | null>>;

export interface QueryOptions {
  /** Database (Glue database) the table names resolve in. */
  readonly database: string;
  /**
   * The statement reads only these objects of `table`: its SQL restricts `"$path"` to exactly
   * their {@link QueryEngine.objectPath} values, so the rows are the same with or without this. An
   * engine that builds its own view of the table (the local one) then reads just these files
   * instead of listing the whole table; Athena ignores it (the statement's partition predicates
   * and `"$path"` list prune there).
   */
  readonly only?: {
    readonly table: string;
    readonly bucket: string;
    readonly keys: readonly string[];
  };
}

export interface QueryEngine {
  /**
   * Runs one statement with `?` placeholders bound to `parameters` in order, and returns every
   * row. Values are always passed as parameters, never spliced into the SQL text. Tables expose
   * the pseudo-column `"$path"` (the data file's location), as Athena does.
   */
  query(sql: string, parameters: readonly QueryParameter[], options: QueryOptions): Promise<QueryRow[]>;
  /**
   * The `"$path"` value this engine's tables show for a lake object: `s3://<bucket>/<key>` on
   * Athena, the file's path in the lake folder locally.
   */
  objectPath(bucket: string, key: string): string;
}

// ---------------------------------------------------------------------------------------------
// Notifier: SUCCEEDED / REJECTED notices (SNS on AWS, an outbox file locally).
// ---------------------------------------------------------------------------------------------

export interface Notice {
  /** ASCII, at most 100 characters (SNS e-mail subject rules). */
  readonly subject: string;
  readonly message: string;
  /** String message attributes subscribers filter on (e.g. status, dataset). */
  readonly attributes?: Readonly<Record<string, string>>;
}

export interface Notifier {
  publish(notice: Notice): Promise<{ readonly messageId: string }>;
}

// ---------------------------------------------------------------------------------------------
// SourceLedger: per pulled source, which periods are done (DynamoDB on AWS, a JSON file locally).
// ---------------------------------------------------------------------------------------------

/**
 * A period of a pulled source (sources/): its start in UTC, always `YYYY-MM-DDTHH:00:00Z`, so
 * string order is time order.
 */
export type SourcePeriod = string;

/** What a pull landed for one period. */
export interface PulledObject {
  readonly key: string;
  readonly bytes: number;
  readonly etag?: string;
  readonly versionId?: string;
}

/**
 * CLAIMED: an invocation holds it until `leaseUntilMs`. RELEASED: given back (not published yet,
 * or failed: `attempts`, `lastError`). DONE: landed. MISSING: the origin answered 404 for it too
 * many times while later periods existed; given up so the bookmark can move past it.
 */
export type SourcePeriodStatus = 'CLAIMED' | 'RELEASED' | 'DONE' | 'MISSING';

export interface SourcePeriodRecord {
  readonly source: string;
  readonly period: SourcePeriod;
  readonly status: SourcePeriodStatus;
  /** Who claimed it last (an invocation id). */
  readonly owner?: string;
  readonly leaseUntilMs?: number;
  /** Failed attempts so far (a release with an error; "not published yet" does not count). */
  readonly attempts: number;
  readonly lastError?: string;
  readonly landed?: PulledObject;
  readonly updatedAt: string;
}

/**
 * Bookmarks of pulled sources. Every write is conditional, so two overlapping invocations never
 * pull one period twice: a period is fetched only by the owner of a live claim, and only a claim's
 * owner can complete or release it. The pull logic (sources/pull.ts) decides what is due; the
 * ledger only keeps state. Times are the adapter's clock (Date.now()).
 */
export interface SourceLedger {
  /**
   * The newest period such that it and every period before it (from the source's start) is DONE
   * or MISSING; undefined when none is.
   */
  bookmark(source: string): Promise<SourcePeriod | undefined>;
  /**
   * Moves the bookmark from `from` (undefined: no bookmark yet) to `to`, only if it still is
   * `from`. False when another invocation moved it first (nothing changes).
   */
  advance(source: string, from: SourcePeriod | undefined, to: SourcePeriod): Promise<boolean>;
  /** The period's record, undefined when never claimed. */
  get(source: string, period: SourcePeriod): Promise<SourcePeriodRecord | undefined>;
  /**
   * Conditional claim of one period until `leaseUntilMs`. True when there was no record, it was
   * RELEASED or MISSING, its lease has expired, or `owner` already holds it; false when it is
   * DONE or another owner's lease is live. Keeps `attempts`.
   */
  claim(source: string, period: SourcePeriod, owner: string, leaseUntilMs: number): Promise<boolean>;
  /**
   * Conditional on `owner` holding the claim: DONE with what landed. Rejects with
   * SourceLeaseLostError (core/errors) when the claim is no longer this owner's.
   */
  complete(source: string, period: SourcePeriod, owner: string, landed: PulledObject): Promise<void>;
  /**
   * Conditional on `owner`: RELEASED for the next invocation. With `error`, attempts + 1 and
   * lastError = error; without (not published yet), attempts unchanged. A lost claim is ignored.
   */
  release(source: string, period: SourcePeriod, owner: string, error?: string): Promise<void>;
  /**
   * Conditional on `owner`: MISSING (terminal unless pulled again explicitly), lastError = reason.
   * Rejects with SourceLeaseLostError when the claim is no longer this owner's.
   */
  markMissing(source: string, period: SourcePeriod, owner: string, reason: string): Promise<void>;
}

/** A header value kept out of the source definition: a Secrets Manager secret (or a JSON field of it). */
export interface SecretRef {
  /** Secrets Manager id (name or ARN). Locally: looked up in the environment, then a secrets file. */
  readonly secret: string;
  /** When the secret's value is a JSON object: the field to use. */
  readonly field?: string;
}

/** Resolves {@link SecretRef}s (Secrets Manager on AWS, env/file locally). */
export interface SecretResolver {
  /** The secret's value. Rejects with SecretNotFoundError (core/errors) naming the id (never the value). */
  resolve(ref: SecretRef): Promise<string>;
}
