/**
 * What each state of the pipeline receives and returns: the data contract between the ASL,
 * the Lambda handlers, the Glue job and the local runtime. Keep state small (Step Functions caps
 * a state's payload at 256 KB): counts and locations, never rows.
 *
 * Execution input is the EventBridge S3 "Object Created" event (core/events.ts). Each step's
 * result is kept under its own ResultPath: $.claim, $.validate, $.transform, $.catalog, $.verify,
 * $.archive. Every step folder exports `createHandler(deps)` (core logic wired to ports — what the
 * local runtime calls with local adapters) and `handler` (the same, wired to AWS adapters from
 * the environment, created lazily at first invocation).
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
  /** Cells that start with = + - @ tab or CR: stored as text, counted and listed in the report. */
  readonly formulaCells: number;
  /** Prefix holding part-*.jsonl, plan.json (the compiled TransformPlan) and _SUCCESS. */
  readonly staging: Location;
  /** rejects.jsonl (one line per rejected row: line, column, value, reason), when any. */
  readonly rejects?: Location;
  /** report.json: counts, reasons by code, first N row errors, formula cells. */
  readonly report: Location;
}

/** What the transform (Glue job or local engine) writes to lake.manifest(dataset, sourceId). */
export interface TransformManifest {
  readonly dataset: string;
  readonly sourceId: string;
  readonly versionTag: string;
  readonly engine: 'glue' | 'spark' | 'duckdb';
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly duplicatesDropped: number;
  /** Partition values (YYYY-MM-DD) written. */
  readonly partitions: readonly string[];
  /** Lake keys of the Parquet objects this source file now owns. */
  readonly objects: readonly string[];
  readonly startedAt: string;
  readonly finishedAt: string;
}
