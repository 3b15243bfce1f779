/**
 * What each state of the pipeline receives and returns: the data contract between the ASL,
 * the Lambda handlers, the Glue job and the local runtime. Keep state small (Step Functions caps
 * a state's payload at 256 KB): counts and locations, never rows.
 *
 * Execution input is the EventBridge S3 "Object Created" event (core/events.ts). Each step's
 * result is kept under its own ResultPath: $.claim, $.validate, $.transform, $.catalog, $.verify,
 * $.archive. Every step folder has `step.ts`, an SDK-free factory `create<Step>Step(ports)` (what the
 * local runtime calls with local adapters), and `handler.ts`, the AWS entry that builds the same
 * factory with AWS adapters from the environment (statemachines/README.md maps state → files).
 */
import type { SourceObject } from './events';

export interface Location {
  readonly bucket: string;
  /** A key, or a prefix ending in `/`. */
  readonly key: string;
}

/** Claim: Parameters { "event.$": "$", "runId.$": "$$.Execution.Name" }. */
export interface ClaimInput {
  readonly runId: string;
  readonly event: import('./events').S3ObjectCreatedEvent;
}
export interface ClaimResult {
  /** DUPLICATE: this bucket/key/version is already claimed; STALE: a newer version is. */
  readonly status: 'CLAIMED' | 'DUPLICATE' | 'STALE';
  readonly runId: string;
  readonly dataset: string;
  readonly source: SourceObject;
  readonly sourceId: string;
  readonly versionTag: string;
  /**
   * core/events sequencerOrderKey of the event's sequencer (what the ledger orders versions by),
   * or UNORDERED_SOURCE. The Transform's `--source_order`: the engine never publishes over the
   * output of a version with a greater one.
   */
  readonly sourceOrder: string;
}

/** Validate: Parameters { "runId.$": "$.claim.runId", "source.$": "$.claim.source" }. */
export interface ValidateInput {
  readonly runId: string;
  readonly source: SourceObject;
}
export interface ValidateResult {
  readonly dataset: string;
  readonly sourceId: string;
  readonly versionTag: string;
  readonly rowsRead: number;
  readonly rowsValid: number;
  readonly rowsRejected: number;
  /** rowsRejected / rowsRead (0 when rowsRead is 0). */
  readonly rejectRatio: number;
  readonly bytesRead: number;
  /**
   * Bytes of the staging parts written (JSON Lines, ≈2.3× the CSV for the sample's shape): what
   * the transform reads, and what the Validate step routes the transform by (see
   * {@link ValidateStepResult}).
   */
  readonly stagingBytes: number;
  /**
   * How the staging parts are written (core/staging.ts): JSON Lines, Parquet, or CSV (the checked
   * fast path's records as they were; such a file always goes to the Transform Lambda). Absent in
   * results written before the field existed.
   */
  readonly stagingFormat?: 'jsonl' | 'parquet' | 'csv';
  /** Cells that start with = + - @ tab or CR: stored as text, counted and listed in the report. */
  readonly formulaCells: number;
  /** Prefix holding part-*.jsonl, plan.json (the compiled TransformPlan) and _SUCCESS. */
  readonly staging: Location;
  /** rejects.jsonl (one line per rejected row: line, column, value, reason), when any. */
  readonly rejects?: Location;
  /** report.json: counts, reasons by code, first N row errors, formula cells. */
  readonly report: Location;
}

/** Which engine runs a file's transform: the Transform Lambda (DuckDB) or the Glue Spark job. */
export type TransformEngine = 'lambda' | 'glue';

/**
 * Files whose staging is at most this many bytes are transformed in the Transform Lambda
 * (functions/transform, DuckDB); larger ones by the Glue job. Set from the measurement in
 * transform/README.md ("Right-sized engine"); configurable per stack (`etl:transformLambdaMaxBytes`)
 * and locally (`ETL_TRANSFORM_LAMBDA_MAX_BYTES`).
 */
export const DEFAULT_TRANSFORM_LAMBDA_MAX_BYTES = 1024 * 1024 * 1024;

/**
 * What the Validate state returns at $.validate: the validation result plus the routing the
 * TransformEngine Choice reads (`transformEngine`), and the size and threshold it was decided on.
 */
export interface ValidateStepResult extends ValidateResult {
  readonly transformEngine: TransformEngine;
  /** The threshold `stagingBytes` was compared with (≤ → lambda). */
  readonly transformLambdaMaxBytes: number;
}

/** The engine for a staging size: the Lambda up to and including the threshold, Glue above it. */
export function transformEngineFor(stagingBytes: number, lambdaMaxBytes: number): TransformEngine {
  return stagingBytes <= lambdaMaxBytes ? 'lambda' : 'glue';
}

/** The environment variable of the validate Lambda holding the routing threshold (infra sets it). */
export const TRANSFORM_LAMBDA_MAX_BYTES_ENV = 'TRANSFORM_LAMBDA_MAX_BYTES';

/** The threshold from its environment variable's text; undefined when unset (the default applies). */
export function transformLambdaMaxBytesOf(
  text: string | undefined,
  name = TRANSFORM_LAMBDA_MAX_BYTES_ENV,
): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) {
    throw new Error(
      `${name}=${JSON.stringify(text)} is not a whole number of bytes. Fix: set it to the staging size in bytes up to which the Transform Lambda runs (0: always Glue)`,
    );
  }
  return n;
}

/** What the transform (Glue job or local engine) writes to lake.manifest(dataset, sourceId). */
export interface TransformManifest {
  readonly dataset: string;
  readonly sourceId: string;
  readonly versionTag: string;
  /**
   * The version's order key (`--source_order`, core/events sequencerOrderKey); absent when the
   * event had no usable sequencer (or the output predates the field). A transform never publishes
   * over a manifest whose sourceOrder is greater than its own.
   */
  readonly sourceOrder?: string;
  readonly engine: 'glue' | 'spark' | 'duckdb';
  readonly rowsIn: number;
  readonly rowsOut: number;
  /** rowsIn − rowsOut: rows that lost the dedupe on their key (0 when the plan has no key). */
  readonly duplicatesDropped: number;
  /**
   * Staging rows equal to an earlier row in every staging column except `_line` (exact duplicate
   * lines), counted whether or not there is a key: with no key they are all kept, with a key
   * they are among the dropped.
   */
  readonly exactDuplicates: number;
  /** Partition folder values written (YYYY-MM-DD, YYYY-MM, YYYY or text), sorted; [] with no partition. */
  readonly partitions: readonly string[];
  /** Lake keys of the Parquet objects this source file now owns. */
  readonly objects: readonly string[];
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Where the time went, in milliseconds, by phase (engine-specific names, e.g. read, write, publish). */
  readonly timingsMs?: Readonly<Record<string, number>>;
  /**
   * Only in what an engine returns, never in a written manifest: the run found a newer version's
   * output in place and published nothing (objects empty; the lake is as the newer run left it).
   */
  readonly superseded?: { readonly byVersionTag: string; readonly bySourceOrder: string };
}

/**
 * What a step's code does to AWS, declared as data next to the handler (`export const iamNeeds`).
 * The CDK stack grants exactly these (infra/ resolves each name to the deployed resource) and
 * test/infra/least-privilege.test.ts fails when a declared action is not granted or a granted
 * action is not declared. KMS use is derived by the stack from the S3/DynamoDB/SNS actions on
 * key-encrypted resources; CloudWatch Logs and X-Ray for the function itself are added by the stack.
 *
 * @example
 * export const iamNeeds: IamNeeds = [
 *   { on: 'landingBucket', actions: ['s3:GetObject', 's3:GetObjectVersion'], prefixes: ['incoming/'], why: 'stream the CSV' },
 *   { on: 'lakeBucket', actions: ['s3:PutObject'], prefixes: ['staging/', 'rejects/'], why: 'write staging and rejects' },
 * ];
 */
export type IamResourceName =
  | 'landingBucket'
  | 'lakeBucket'
  | 'athenaResultsBucket'
  | 'ledgerTable'
  | 'glueDatabase'
  | 'glueCrawler'
  | 'glueJob'
  | 'athenaWorkGroup'
  | 'notificationTopic'
  | 'stateMachine'
  /** The DynamoDB sinks' tables (made by the stack per dataset, or named in a contract). */
  | 'sinkTables'
  /** The Redshift workgroups and clusters the contracts' sinks name (the stack creates none). */
  | 'redshiftWarehouses'
  /** Workgroups a sink signs in to as the Lambda's IAM identity (no `secretArn`). */
  | 'redshiftWorkgroups'
  /** `dbname:<cluster>/<database>` of cluster sinks signed in as the Lambda's IAM identity. */
  | 'redshiftClusterDatabases'
  /** `dbuser:<cluster>/<dbUser>` and `dbname:<cluster>/<database>` of cluster sinks with a `dbUser`. */
  | 'redshiftClusterUsers'
  /** The Secrets Manager secrets the sinks' `secretArn` name. */
  | 'redshiftSecrets'
  /** Data API statements: no resource-level permissions (scoped to the caller's own statements). */
  | 'redshiftStatements'
  /** The role COPY reads the curated objects with (passed in the SQL, not assumed by the Lambda). */
  | 'redshiftCopyRole'
  /**
   * The landing bucket, only under `incoming/<dataset>/` of the datasets pulled sources feed
   * (functions/pull); the stack supplies those prefixes, so a need on it names none.
   */
  | 'sourceLanding'
  /** The bookmarks table of pulled sources (adapters/aws/dynamodb-source-ledger.ts). */
  | 'sourceLedgerTable'
  /** The Secrets Manager secrets the source definitions' request headers name. */
  | 'sourceSecrets';

export interface IamNeed {
  /** The stack resource the actions apply to. */
  readonly on: IamResourceName;
  /** IAM actions, exact names (no wildcards), e.g. `s3:GetObject`, `dynamodb:PutItem`. */
  readonly actions: readonly string[];
  /**
   * Buckets only: key prefixes (ending in `/`) the object actions are limited to, and the
   * `s3:prefix` condition for `s3:ListBucket*`. Omitted = the whole bucket.
   */
  readonly prefixes?: readonly string[];
  /** Why the code needs it (shown in reviews and test failures). */
  readonly why: string;
}

export type IamNeeds = readonly IamNeed[];

/**
 * Environment variables the stack sets on the step functions, by resource (values are resource
 * names or ARNs, never secrets). Handlers' AWS wiring reads these. The state machine's ARN is only
 * given to functions outside the state machine (reconcile), since a task cannot know its own
 * machine's ARN without a dependency cycle — tasks get `$$.StateMachine.Id` from the context object.
 */
export const STEP_ENV: Readonly<Record<IamResourceName | 'schemasDir', string>> = {
  landingBucket: 'LANDING_BUCKET',
  lakeBucket: 'LAKE_BUCKET',
  athenaResultsBucket: 'ATHENA_RESULTS_BUCKET',
  ledgerTable: 'LEDGER_TABLE',
  glueDatabase: 'GLUE_DATABASE',
  glueCrawler: 'GLUE_CRAWLER',
  glueJob: 'GLUE_JOB',
  athenaWorkGroup: 'ATHENA_WORKGROUP',
  notificationTopic: 'NOTIFICATION_TOPIC_ARN',
  stateMachine: 'STATE_MACHINE_ARN',
  /** JSON `{"<dataset>": "<table name>"}` of the tables the stack made for DynamoDB sinks. */
  sinkTables: 'SINK_TABLES',
  redshiftWarehouses: 'REDSHIFT_WAREHOUSES',
  redshiftWorkgroups: 'REDSHIFT_WORKGROUPS',
  redshiftClusterDatabases: 'REDSHIFT_CLUSTER_DATABASES',
  redshiftClusterUsers: 'REDSHIFT_CLUSTER_USERS',
  redshiftSecrets: 'REDSHIFT_SECRETS',
  redshiftStatements: 'REDSHIFT_STATEMENTS',
  redshiftCopyRole: 'REDSHIFT_COPY_ROLE_ARN',
  /** Not set: functions/pull writes to LANDING_BUCKET, under the prefixes its role allows. */
  sourceLanding: 'SOURCE_LANDING_BUCKET',
  sourceLedgerTable: 'SOURCE_LEDGER_TABLE',
  /** Not set: the definitions name their secrets. */
  sourceSecrets: 'SOURCE_SECRETS',
  /** Folder holding the bundled dataset contracts (`<dataset>.schema.json`). */
  schemasDir: 'SCHEMAS_DIR',
};
