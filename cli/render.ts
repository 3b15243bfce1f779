/**
 * Everything `etl` prints for people: progress lines, the run summary, the runs table, the state
 * graph of `runs show`, query tables. Machine output (`--json`) never goes through here.
 */
import path from 'node:path';
import { formatUsd, type RunCostModel } from '../core/cost';
import type { StepView } from '../remote/run-view';
import type { HistoryEvent } from '../local/history';
import type { DisplayStatus, RunRecord } from '../local/run-record';
import { visitsOf } from '../local/run-record';

export const MARK = { ok: '✓', failed: '✗', retry: '↻', running: '…', caught: '↪' } as const;

/** 1234 → "1.2 s", 87 → "87 ms". */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Shows a path relative to the working directory when it is inside it. */
export function shortPath(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

function oneLine(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * A Lambda Cause is JSON `{"errorType","errorMessage",...}`, a Glue one the JobRun: show the
 * message a person needs, not the envelope.
 */
export function readableCause(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string; ErrorMessage?: string };
    return parsed.errorMessage ?? parsed.ErrorMessage ?? cause;
  } catch {
    return cause;
  }
}

/**
 * The progress line for one history event of a running execution, or undefined when the event
 * is not worth a line. One line per state visit (name, status, duration), plus a line per
 * failed attempt.
 */
export function progressLine(event: HistoryEvent, record: RunRecord): string | undefined {
  const visits = visitsOf(record);
  const pad = (name: string) => name.padEnd(18);
  if (event.stateExitedEventDetails) {
    const v = visits.findLast((x) => x.name === event.stateExitedEventDetails!.name);
    if (!v) return undefined;
    const retries = v.retries > 0 ? `  (${v.retries} ${v.retries === 1 ? 'retry' : 'retries'})` : '';
    if (v.status === 'CAUGHT') {
      const last = v.errors.at(-1);
      return `  ${MARK.caught} ${pad(v.name)} CAUGHT     ${formatDuration(v.durationMs).padStart(8)}  ${last?.error ?? ''}: ${oneLine(readableCause(last?.cause))}`;
    }
    return `  ${MARK.ok} ${pad(v.name)} SUCCEEDED  ${formatDuration(v.durationMs).padStart(8)}${retries}`;
  }
  if (event.type === 'TaskScheduled') {
    // A second schedule of the same visit is a Retry at work: say which error it answers.
    const v = visits.at(-1);
    if (!v || v.attempts < 2) return undefined;
    const last = v.errors.at(-1);
    return `  ${MARK.retry} ${pad(v.name)} retry ${v.attempts - 1} after ${last?.error ?? 'an error'}: ${oneLine(readableCause(last?.cause), 100)}`;
  }
  if (
    event.type === 'ExecutionFailed' ||
    event.type === 'ExecutionTimedOut' ||
    event.type === 'ExecutionAborted'
  ) {
    const v = visits.at(-1);
    if (!v) return undefined;
    const status =
      event.type === 'ExecutionFailed'
        ? 'FAILED'
        : event.type === 'ExecutionTimedOut'
          ? 'TIMED_OUT'
          : 'ABORTED';
    return `  ${MARK.failed} ${pad(v.name)} ${status.padEnd(10)} ${formatDuration(v.durationMs).padStart(8)}`;
  }
  if (event.type === 'ExecutionRedriven') {
    return `  ${MARK.retry} redrive ${event.executionRedrivenEventDetails!.redriveCount}`;
  }
  return undefined;
}

/** Where a run left things, for the summary and `--json`. */
export interface RunResultView {
  readonly runId: string;
  readonly status: DisplayStatus;
  readonly executionStatus: string;
  readonly dataset?: string;
  readonly source?: string;
  readonly rowsRead?: number;
  readonly rowsValid?: number;
  readonly rowsRejected?: number;
  readonly rowsWritten?: number;
  readonly duplicatesDropped?: number;
  /** Rows equal to an earlier row in every column (exact duplicate lines). */
  readonly exactDuplicates?: number;
  readonly partitions?: number;
  /** Crawl skipped (this run's partitions registered) or ran (table missing or schema changed). */
  readonly catalog?: NonNullable<RunRecord['catalog']>;
  /** Modeled AWS cost and upload→queryable latency (core/cost.ts). */
  readonly cost?: RunCostModel;
  readonly endState?: string;
  readonly error?: string;
  readonly cause?: string;
  readonly redriveCount: number;
  readonly durationMs?: number;
  /** REJECTED runs: the reason code and message. */
  readonly rejection?: { readonly reason: string; readonly message: string };
  readonly outputs: RunRecord['outputs'] & { readonly record: string };
  readonly states: readonly {
    name: string;
    type: string;
    status: string;
    durationMs?: number;
    attempts: number;
    retries: number;
    error?: string;
    cause?: string;
  }[];
}

/** The `--json` object of `etl run` / `etl redrive`. */
export function runResultView(record: RunRecord, recordFile: string): RunResultView {
  const c = record.counts;
  const durationMs =
    record.stopDate !== undefined ? Date.parse(record.stopDate) - Date.parse(record.startDate) : undefined;
  return {
    runId: record.runId,
    status: record.displayStatus,
    executionStatus: record.status,
    ...(record.dataset !== undefined && { dataset: record.dataset }),
    ...(record.source && { source: `${record.source.bucket}/${record.source.key}` }),
    ...(c.rowsRead !== undefined && { rowsRead: c.rowsRead }),
    ...(c.rowsValid !== undefined && { rowsValid: c.rowsValid }),
    ...(c.rowsRejected !== undefined && { rowsRejected: c.rowsRejected }),
    ...(c.rowsWritten !== undefined && { rowsWritten: c.rowsWritten }),
    ...(c.duplicatesDropped !== undefined && { duplicatesDropped: c.duplicatesDropped }),
    ...(c.exactDuplicates !== undefined && { exactDuplicates: c.exactDuplicates }),
    ...(record.outputs.partitions && { partitions: record.outputs.partitions.length }),
    ...(record.catalog && { catalog: record.catalog }),
    ...(record.cost && { cost: record.cost }),
    ...(record.endState !== undefined && { endState: record.endState }),
    ...(record.error !== undefined && { error: record.error }),
    ...(record.cause !== undefined && { cause: record.cause }),
    redriveCount: record.redriveCount,
    ...(durationMs !== undefined && { durationMs }),
    ...(record.rejection && { rejection: record.rejection }),
    outputs: { ...record.outputs, record: recordFile },
    states: visitsOf(record).map((v) => {
      const last = v.status === 'SUCCEEDED' ? undefined : v.errors.at(-1);
      return {
        name: v.name,
        type: v.type,
        status: v.status,
        ...(v.durationMs !== undefined && { durationMs: v.durationMs }),
        attempts: v.attempts,
        retries: v.retries,
        ...(last && { error: last.error, cause: last.cause }),
      };
    }),
  };
}

/** How the run's output became queryable: `crawl skipped · 1 partition registered, 2 existing`. */
export function catalogLine(c: NonNullable<RunRecord['catalog']>): string {
  const counts =
    c.registered !== undefined || c.existing !== undefined
      ? ` · ${c.registered ?? 0} partition${c.registered === 1 ? '' : 's'} registered, ${c.existing ?? 0} existing`
      : '';
  if (c.crawl === 'skipped') return `crawl skipped${counts}`;
  const why = c.reason !== undefined ? ` (${oneLine(c.reason, 200)})` : '';
  return c.crawl === 'ran' ? `crawl ran${why}` : `crawl required, not finished${why}`;
}

/** The closing block of `etl run`. */
export function summaryLines(view: RunResultView, cwd: string): string[] {
  const lines: string[] = [];
  const mark = view.status === 'SUCCEEDED' ? MARK.ok : MARK.failed;
  lines.push(
    '',
    `${mark} ${view.status}${view.endState && view.status === 'SUCCEEDED' && view.endState !== 'Succeeded' ? ` (${view.endState})` : ''} in ${formatDuration(view.durationMs)} — run ${view.runId}`,
  );
  if (view.rowsRead !== undefined) {
    const written =
      view.rowsWritten !== undefined
        ? ` · written ${view.rowsWritten}${view.duplicatesDropped ? ` (${view.duplicatesDropped} duplicates dropped)` : ''}`
        : '';
    // Without a key nothing is dropped: exact duplicate lines are kept, and said so.
    const exact =
      view.exactDuplicates && !view.duplicatesDropped
        ? ` · ${view.exactDuplicates} exact duplicate lines kept`
        : '';
    lines.push(
      `  rows       read ${view.rowsRead} · valid ${view.rowsValid ?? '?'} · rejected ${view.rowsRejected ?? '?'}${written}${exact}`,
    );
  }
  const o = view.outputs;
  if (o.partitions && o.partitions.length > 0) {
    const first = o.partitions[0];
    const last = o.partitions[o.partitions.length - 1];
    lines.push(
      `  partitions ${o.partitions.length}${o.partitions.length > 1 ? ` (${first} … ${last})` : ` (${first})`}`,
    );
  }
  if (view.catalog) lines.push(`  catalog    ${catalogLine(view.catalog)}`);
  if (view.cost)
    lines.push(
      `  AWS cost   ${formatUsd(view.cost.totalUsd)} modeled · upload→queryable ${formatDuration(view.cost.latency.totalMs)} (items: etl runs show ${view.runId})`,
    );
  if (o.curated) lines.push(`  output     ${shortPath(o.curated, cwd)}`);
  if (o.rejects) lines.push(`  rejects    ${shortPath(o.rejects, cwd)}`);
  if (o.report) lines.push(`  report     ${shortPath(o.report, cwd)}`);
  if (view.rejection)
    lines.push(`  reason     ${view.rejection.reason}: ${oneLine(view.rejection.message, 400)}`);
  if (o.quarantine) lines.push(`  quarantine ${shortPath(o.quarantine, cwd)} (the original)`);
  if (o.reasonFile) lines.push(`  why        ${shortPath(o.reasonFile, cwd)}`);
  if (o.archive) lines.push(`  archive    ${shortPath(o.archive, cwd)}`);
  const failedRun = view.status === 'FAILED' || view.status === 'TIMED_OUT' || view.status === 'ABORTED';
  if (failedRun || (view.status === 'REJECTED' && !view.rejection)) {
    const failing = view.states.findLast((s) => s.error !== undefined);
    if (failing)
      lines.push(
        `  error      ${failing.name}: ${failing.error}: ${oneLine(readableCause(failing.cause), 400)}`,
      );
    else if (view.error) lines.push(`  error      ${view.error}: ${oneLine(readableCause(view.cause), 400)}`);
  }
  if (view.status === 'REJECTED')
    lines.push('  next       fix the file and run it again; a redrive would fail the same way');
  else if (view.status !== 'SUCCEEDED')
    lines.push(`  next       fix the cause, then: etl redrive ${view.runId}`);
  lines.push(`  record     ${shortPath(o.record, cwd)}`);
  return lines;
}

/** A fixed-width text table. */
export function table(columns: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)];
}

/** A query cell as text: null shown as NULL, objects as JSON. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** `etl runs show`: the state path as the console graph shows it, top to bottom. */
export function runGraphLines(
  header: {
    id: string;
    status: string;
    dataset?: string;
    source?: string;
    redriveCount: number;
    error?: string;
    cause?: string;
  },
  steps: readonly StepView[],
): string[] {
  const lines = [
    `run ${header.id}  ${header.status}${header.dataset ? `  ${header.dataset}` : ''}${header.redriveCount > 0 ? `  (redriven ${header.redriveCount}×)` : ''}`,
  ];
  if (header.source) lines.push(`  ${header.source}`);
  lines.push('');
  steps.forEach((s, i) => {
    const mark =
      s.status === 'SUCCEEDED'
        ? s.retries > 0
          ? MARK.retry
          : MARK.ok
        : s.status === 'RUNNING'
          ? MARK.running
          : s.status === 'CAUGHT'
            ? MARK.caught
            : MARK.failed;
    const extra = [
      s.retries > 0
        ? `${s.retries} ${s.retries === 1 ? 'retry' : 'retries'} (${[...new Set(s.retriedErrors)].join(', ')})`
        : '',
      s.visits > 1 ? `${s.visits} visits` : '',
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(
      `  ${mark} ${s.name.padEnd(18)} ${s.status.padEnd(9)} ${formatDuration(s.durationMs).padStart(8)}${extra ? `  ${extra}` : ''}`,
    );
    if (s.error !== undefined && s.status !== 'SUCCEEDED') {
      lines.push(`  │   error: ${s.error}`);
      if (s.cause) lines.push(`  │   cause: ${oneLine(readableCause(s.cause), 300)}`);
    }
    if (i < steps.length - 1) lines.push('  │');
  });
  if (header.error && !steps.some((s) => s.error === header.error)) {
    lines.push('', `  execution error: ${header.error}: ${oneLine(readableCause(header.cause), 300)}`);
  }
  return lines;
}
