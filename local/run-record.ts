/**
 * Run records: `.etl/runs/<runId>.json`, one per execution, rewritten atomically (temp file +
 * rename) after every history event, so a reader never sees half a file and a killed runner
 * leaves the last consistent state behind.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunCostModel } from '../core/cost';
import type { S3ObjectCreatedEvent } from '../core/events';
import { stateVisits, type HistoryEvent, type StateVisit } from './history';

/** Step Functions execution statuses. */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
/** What people see: REJECTED is a FAILED run that ended in the FileRejected Fail state. */
export type DisplayStatus = ExecutionStatus | 'REJECTED';

export const TERMINAL_STATUSES: readonly ExecutionStatus[] = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];
/** RedriveExecution accepts only these. */
export const REDRIVABLE_STATUSES: readonly ExecutionStatus[] = ['FAILED', 'TIMED_OUT', 'ABORTED'];

export interface RunCounts {
  rowsRead?: number;
  rowsValid?: number;
  rowsRejected?: number;
  rowsWritten?: number;
  duplicatesDropped?: number;
  /** Rows equal to an earlier row in every column (kept when the dataset has no key; the manifest's exactDuplicates). */
  exactDuplicates?: number;
}

/**
 * How the run made its output queryable (from RegisterPartitions' `$.partitions` and the crawl
 * states): `skipped` — its partitions were registered in the catalog, no crawl; `ran` — the table
 * was missing or its schema changed, so the crawler ran; `required` — a crawl was needed but has not
 * finished (the run failed or is still in it).
 */
export interface RunCatalog {
  crawl: 'skipped' | 'ran' | 'required';
  /** Partitions this run added to the catalog. */
  registered?: number;
  /** This run's partitions that were in the catalog already. */
  existing?: number;
  /** Why a crawl was needed. */
  reason?: string;
}

/** Where a person finds what the run produced. Absolute paths under the home. */
export interface RunOutputs {
  curated?: string;
  partitions?: readonly string[];
  rejects?: string;
  report?: string;
  quarantine?: string;
  /** reason.json next to the quarantined original. */
  reasonFile?: string;
  archive?: string;
}

export interface RunRecord {
  readonly runId: string;
  readonly executionArn: string;
  readonly stateMachineArn: string;
  status: ExecutionStatus;
  displayStatus: DisplayStatus;
  dataset?: string;
  /** Decoded landing key and version the run is about. */
  source?: { bucket: string; key: string; versionId?: string };
  engine: string;
  readonly input: S3ObjectCreatedEvent;
  output?: unknown;
  error?: string;
  cause?: string;
  /** The state the run ended in (Succeed/Fail name, or the failing Task). */
  endState?: string;
  readonly startDate: string;
  stopDate?: string;
  redriveCount: number;
  redriveDate?: string;
  counts: RunCounts;
  outputs: RunOutputs;
  /** Crawl skipped (partitions registered) or ran; absent until the run reaches RegisterPartitions. */
  catalog?: RunCatalog;
  /**
   * Modeled AWS cost (line items, total in USD) and upload→queryable latency of the run
   * (core/cost.ts, local/run-cost.ts); set once the run has stopped.
   */
  cost?: RunCostModel;
  /** Why the file was rejected (REJECTED runs): the stable reason code and the message. */
  rejection?: { reason: string; message: string };
  /** The process running it; a RUNNING record whose process is gone was interrupted. */
  pid: number;
  events: HistoryEvent[];
}

/** Sortable, unique, valid as a Step Functions execution name (≤ 80 chars, [A-Za-z0-9-_]). */
export function newRunId(dataset: string | undefined, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const ds = (dataset ?? 'unknown').replace(/[^a-z0-9_]/g, '').slice(0, 40);
  return `${stamp}-${ds}-${randomBytes(3).toString('hex')}`;
}

const RUN_ID = /^[A-Za-z0-9_-]{1,80}$/;

/** Reads and writes run records in one folder. */
export class RunStore {
  constructor(readonly dir: string) {}

  fileOf(runId: string): string {
    if (!RUN_ID.test(runId)) throw new Error(`"${runId}" is not a run id (letters, digits, - and _ only)`);
    return path.join(this.dir, `${runId}.json`);
  }

  /** Writes atomically: a concurrent reader sees the previous or the new record, never a mix. */
  save(record: RunRecord): void {
    mkdirSync(this.dir, { recursive: true });
    const file = this.fileOf(record.runId);
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, JSON.stringify(record, null, 1));
    renameSync(tmp, file);
  }

  /** The record, or undefined when there is none. */
  load(runId: string): RunRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.fileOf(runId), 'utf8')) as RunRecord;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /**
   * Every record, oldest first: by start time to the millisecond (run ids carry only the second,
   * so two runs started in one second would otherwise be ordered by their random suffix).
   */
  list(): RunRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const order = (r: RunRecord) => `${r.startDate ?? ''} ${r.runId}`;
    return names
      .filter((n) => n.endsWith('.json'))
      .flatMap((n) => {
        try {
          return [JSON.parse(readFileSync(path.join(this.dir, n), 'utf8')) as RunRecord];
        } catch {
          return []; // a foreign or damaged file is not a run
        }
      })
      .sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  }
}

/** True when the process that owns a RUNNING record is gone (the runner was killed). */
export function isInterrupted(record: RunRecord): boolean {
  if (record.status !== 'RUNNING') return false;
  if (record.pid === process.pid) return false;
  try {
    process.kill(record.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The state visits of a record (see history.ts). */
export function visitsOf(record: RunRecord): StateVisit[] {
  return stateVisits(record.events);
}

/**
 * What RedriveExecution needs: the state that did not finish and the input it received. For a
 * FAILED run it is the failing state; for an ABORTED or TIMED_OUT one, the state in progress.
 */
export function redrivePoint(record: RunRecord): { state: string; input: unknown } | undefined {
  const visits = visitsOf(record);
  for (let i = visits.length - 1; i >= 0; i--) {
    const v = visits[i]!;
    if (v.status === 'FAILED' || v.status === 'RUNNING' || v.status === 'ABORTED')
      return { state: v.name, input: v.input };
  }
  return undefined;
}
