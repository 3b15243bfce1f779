/**
 * `etl runs` and `etl runs show <id>`: the local run records, listed and drawn the way the Step
 * Functions console does (the view model in remote/run-view.ts is shared with the deployed-stack
 * backend, so both worlds print the same thing).
 */
import type { HistoryEvent as SfnHistoryEvent } from '@aws-sdk/client-sfn';
import { runStepsFromHistory } from '../../remote/run-view';
import { isInterrupted, REDRIVABLE_STATUSES, RunStore, type RunRecord } from '../../local/run-record';
import { UsageError, EXIT, type CliIo } from '../io';
import { costLines } from '../cost-lines';
import { catalogLine, formatDuration, runGraphLines, table } from '../render';
import { homeOf, type HomeFlag } from './shared';

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT', 'ABORTED'];

export interface RunsFlags extends HomeFlag {
  readonly status?: string;
  readonly dataset?: string;
  readonly json?: boolean;
}

/** A record as listed: a RUNNING record whose process is gone is shown as INTERRUPTED. */
function listedStatus(r: RunRecord): string {
  return isInterrupted(r) ? 'INTERRUPTED' : r.displayStatus;
}

function durationOf(r: RunRecord): number | undefined {
  return r.stopDate ? Date.parse(r.stopDate) - Date.parse(r.startDate) : undefined;
}

export async function runsCommand(opts: RunsFlags, io: CliIo): Promise<number> {
  const status = opts.status?.toUpperCase();
  if (status !== undefined && !STATUSES.includes(status))
    throw new UsageError(`unknown status "${opts.status}". Use one of ${STATUSES.join(', ')}`);
  const store = new RunStore(homeOf(opts, io).runsDir);
  const runs = store
    .list()
    .filter(
      (r) =>
        status === undefined ||
        r.displayStatus === status ||
        (status === 'FAILED' && r.status === 'FAILED' && r.displayStatus !== 'REJECTED'),
    )
    .filter((r) => opts.dataset === undefined || r.dataset === opts.dataset)
    .reverse();
  if (opts.json) {
    io.out(
      `${JSON.stringify(
        runs.map((r) => ({
          id: r.runId,
          status: listedStatus(r),
          executionStatus: r.status,
          dataset: r.dataset,
          sourceKey: r.source?.key,
          startedAt: r.startDate,
          stoppedAt: r.stopDate,
          durationMs: durationOf(r),
          endState: r.endState,
          redriveCount: r.redriveCount,
          counts: r.counts,
        })),
      )}\n`,
    );
    return EXIT.ok;
  }
  if (runs.length === 0) {
    io.out('no runs yet. Start one with: etl run <file.csv>\n');
    return EXIT.ok;
  }
  const rows = runs.map((r) => [
    r.runId,
    listedStatus(r),
    r.dataset ?? '',
    r.startDate.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    formatDuration(durationOf(r)),
    r.endState ?? '',
    r.redriveCount > 0 ? String(r.redriveCount) : '',
    r.source?.key ?? '',
  ]);
  io.out(
    `${table(['RUN', 'STATUS', 'DATASET', 'STARTED', 'DURATION', 'END STATE', 'REDRIVES', 'FILE'], rows).join('\n')}\n`,
  );
  return EXIT.ok;
}

export async function showCommand(
  id: string,
  opts: HomeFlag & { json?: boolean },
  io: CliIo,
): Promise<number> {
  const store = new RunStore(homeOf(opts, io).runsDir);
  let record: RunRecord | undefined;
  try {
    record = store.load(id);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (!record) throw new UsageError(`no run "${id}". List runs with: etl runs`);
  const steps = runStepsFromHistory(record.events as unknown as SfnHistoryEvent[]);
  const status = listedStatus(record);
  if (opts.json) {
    io.out(
      `${JSON.stringify({
        id: record.runId,
        where: 'local',
        status,
        executionStatus: record.status,
        dataset: record.dataset,
        sourceKey: record.source?.key,
        startedAt: record.startDate,
        stoppedAt: record.stopDate,
        durationMs: durationOf(record),
        redriveCount: record.redriveCount,
        error: record.error,
        cause: record.cause,
        counts: record.counts,
        outputs: record.outputs,
        ...(record.catalog && { catalog: record.catalog }),
        ...(record.cost && { cost: record.cost }),
        steps,
      })}\n`,
    );
    return EXIT.ok;
  }
  const lines = runGraphLines(
    {
      id: record.runId,
      status,
      ...(record.dataset !== undefined && { dataset: record.dataset }),
      ...(record.source && { source: `${record.source.bucket}/${record.source.key}` }),
      redriveCount: record.redriveCount,
      ...(record.error !== undefined && { error: record.error }),
      ...(record.cause !== undefined && { cause: record.cause }),
    },
    steps,
  );
  const c = record.counts;
  if (c.rowsRead !== undefined)
    lines.push(
      '',
      `  rows read ${c.rowsRead} · valid ${c.rowsValid ?? '?'} · rejected ${c.rowsRejected ?? '?'}` +
        (c.rowsWritten !== undefined ? ` · written ${c.rowsWritten}` : ''),
    );
  if (record.catalog) lines.push(`  catalog: ${catalogLine(record.catalog)}`);
  if (record.cost) lines.push('', ...costLines(record.cost));
  if (record.rejection) lines.push(`  rejected: ${record.rejection.reason}: ${record.rejection.message}`);
  if (REDRIVABLE_STATUSES.includes(record.status) && record.displayStatus !== 'REJECTED')
    lines.push(`  resume it with: etl redrive ${record.runId}`);
  io.out(`${lines.join('\n')}\n`);
  return EXIT.ok;
}
