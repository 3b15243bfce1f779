/**
 * The same verbs against a deployed stack (`--stack NAME`, with `--profile` / `--region`): the
 * backend is remote/ (S3 upload, Step Functions ListExecutions / GetExecutionHistory /
 * RedriveExecution, Athena); this file only prints what it returns, with the same renderers as
 * the local runs, so both worlds look alike. Loaded only when `--stack` is given, so the AWS SDK
 * never loads for local work.
 */
import path from 'node:path';
import type { RemoteStack, RunView } from '../../remote';
import { StepLines } from '../follow';
import { EXIT, UsageError, type CliIo } from '../io';
import { formatDuration, runGraphLines, table } from '../render';
import { parseQueryParam } from './query';
import { datasetFor } from './run';
import { schemasDirOf, type SchemasFlag } from './shared';

export interface RemoteFlags {
  readonly stack: string;
  readonly profile?: string;
  readonly region?: string;
  /** One endpoint for every service (an emulator); hidden, for tests. */
  readonly endpoint?: string;
  readonly json?: boolean;
}

type Remote = typeof import('../../remote');

/** Connects, runs `verb`, releases the clients; known remote errors become one-line messages. */
async function withStack(
  flags: RemoteFlags,
  verb: (remote: RemoteStack, api: Remote) => Promise<number>,
): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const api = require('../../remote') as Remote;
  let remote: RemoteStack;
  try {
    remote = await api.connectStack({
      stack: flags.stack,
      ...(flags.profile !== undefined && { profile: flags.profile }),
      ...(flags.region !== undefined && { region: flags.region }),
      ...(flags.endpoint !== undefined && { endpoint: flags.endpoint }),
    });
  } catch (e) {
    if (
      e instanceof api.StackNotFoundError ||
      e instanceof api.RegionMissingError ||
      e instanceof api.StackOutputsMissingError
    )
      throw new UsageError(e.message);
    throw e;
  }
  try {
    return await verb(remote, api);
  } catch (e) {
    const known = [api.UploadRefusedError, api.RunNotFoundError, api.QueryFailedError, api.QueryTimeoutError];
    if (known.some((k) => e instanceof k)) throw new UsageError((e as Error).message);
    throw e;
  } finally {
    api.destroyRemoteClients(remote.clients);
  }
}

/** Exit code of a finished remote run, as locally: 0 succeeded, 2 rejected, 1 anything else. */
function exitCodeOfView(api: Remote, view: RunView): number {
  const shown = api.displayStatusOf(view);
  if (shown === 'SUCCEEDED') return EXIT.ok;
  if (shown === 'REJECTED') return EXIT.rejected;
  return EXIT.failed;
}

/** `--json` shape of a remote run: the view with REJECTED shown as such (as `etl run --json`). */
function runJson(api: Remote, view: RunView) {
  return { ...view, status: api.displayStatusOf(view), executionStatus: view.status };
}

/** Follows `id` to its end, printing each state as it finishes (unless --json); undefined if stopped. */
async function follow(
  remote: RemoteStack,
  api: Remote,
  id: string,
  flags: RemoteFlags & FollowFlags,
  io: CliIo,
): Promise<RunView | undefined> {
  const lines = new StepLines();
  return api.followRun(remote, id, {
    ...(flags.pollMs !== undefined && { pollMs: flags.pollMs }),
    ...(io.signal && { signal: io.signal }),
    ...(!flags.json && {
      onView: (view: RunView) => {
        for (const line of lines.next(view.steps)) io.out(`${line}\n`);
      },
    }),
  });
}

/** The closing line of a followed run, with its error for a failure. */
function endLines(api: Remote, view: RunView, stack: string): string[] {
  const shown = api.displayStatusOf(view);
  const out = [
    `${shown}  run ${view.id}${view.durationMs !== undefined ? ` in ${formatDuration(view.durationMs)}` : ''}`,
  ];
  if (shown !== 'SUCCEEDED' && view.error) out.push(`  ${view.error}${view.cause ? `: ${view.cause}` : ''}`);
  if (shown === 'FAILED' || shown === 'TIMED_OUT' || shown === 'ABORTED')
    out.push(`  fix the cause, then: etl redrive ${view.id} --stack ${stack}`);
  out.push(`  details: etl runs show ${view.id} --stack ${stack}`);
  return out;
}

/** `--poll-ms` (hidden, tests) for the commands that follow a run. */
export interface FollowFlags {
  readonly pollMs?: number;
}

/** A progress bar on a terminal (stderr, redrawn in place); nothing otherwise. */
function progressBar(io: CliIo, file: string): ((sent: number, total: number) => void) | undefined {
  if (!io.isTTY) return undefined;
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return (sent, total) => {
    const ratio = total > 0 ? Math.min(1, sent / total) : 1;
    const width = 30;
    const full = Math.round(ratio * width);
    io.err(
      `\r  uploading ${path.basename(file)} ▕${'█'.repeat(full)}${'░'.repeat(width - full)}▏ ${String(Math.round(ratio * 100)).padStart(3)}%  ${mib(sent)} / ${mib(total)}${ratio >= 1 ? '\n' : ''}`,
    );
  };
}

/**
 * `etl run <file> --stack S`: upload to the landing bucket (a progress bar on a terminal), find
 * the run the deployed trigger started for exactly this upload, and follow it to its end with
 * the same state lines and exit codes as a local run. `--no-wait` returns after the upload.
 */
export function remoteRun(
  file: string,
  flags: RemoteFlags &
    SchemasFlag &
    FollowFlags & { dataset?: string; wait?: boolean; startTimeout?: number },
  io: CliIo,
): Promise<number> {
  return withStack(flags, async (remote, api) => {
    const source = path.resolve(io.cwd, file);
    const contracts = schemasDirOf(flags, io);
    const { dataset } = datasetFor(source, flags.dataset, contracts, io);
    const onProgress = flags.json ? undefined : progressBar(io, source);
    const put = await api.uploadFile(remote, source, dataset, {
      schemasDir: contracts.dir,
      ...(onProgress && { onProgress }),
    });
    if (!flags.json)
      io.out(
        `${file} → s3://${put.bucket}/${put.key}${put.versionId ? ` (version ${put.versionId})` : ''}\n`,
      );
    if (flags.wait === false) {
      if (flags.json) io.out(`${JSON.stringify({ upload: put, run: null })}\n`);
      else io.out(`the trigger starts the run; list runs with: etl runs --stack ${flags.stack}\n`);
      return EXIT.ok;
    }
    const timeoutMs = (flags.startTimeout ?? 60) * 1000;
    const started = await api.findRunOfUpload(remote, put, {
      timeoutMs,
      ...(flags.pollMs !== undefined && { pollMs: flags.pollMs }),
    });
    if (!started) {
      const message = `no run started for s3://${put.bucket}/${put.key} within ${timeoutMs / 1000} s. The upload is there: the reconcile schedule starts missed files; look with etl runs --stack ${flags.stack}`;
      if (flags.json) io.out(`${JSON.stringify({ upload: put, run: null, error: message })}\n`);
      else io.err(`etl: ${message}\n`);
      return EXIT.failed;
    }
    if (!flags.json) io.out(`run ${started.id} (${dataset}, stack ${flags.stack})\n`);
    const view = await follow(remote, api, started.id, flags, io);
    if (!view) {
      io.err(
        `etl: stopped following; the run goes on: etl runs show ${started.id} --follow --stack ${flags.stack}\n`,
      );
      return EXIT.failed;
    }
    if (flags.json) io.out(`${JSON.stringify({ upload: put, run: runJson(api, view) })}\n`);
    else io.out(`${endLines(api, view, flags.stack).join('\n')}\n`);
    return exitCodeOfView(api, view);
  });
}

/** `etl runs --stack S`. */
export function remoteRuns(
  flags: RemoteFlags & { status?: string; dataset?: string },
  io: CliIo,
): Promise<number> {
  return withStack(flags, async (remote, api) => {
    const status = flags.status?.toUpperCase();
    if (
      status !== undefined &&
      !(api.RUN_STATUSES as readonly string[]).includes(status) &&
      status !== 'REJECTED'
    )
      throw new UsageError(
        `unknown status "${flags.status}". Use one of ${api.RUN_STATUSES.join(', ')}, REJECTED`,
      );
    const listing = await api.listRuns(remote, {
      ...(status !== undefined && status !== 'REJECTED' && { status: status as never }),
      ...(flags.dataset !== undefined && { dataset: flags.dataset }),
    });
    const runs = listing.runs
      .map((r) => ({ ...r, shown: api.displayStatusOf(r) }))
      .filter(
        (r) =>
          status === undefined ||
          r.shown === status ||
          (status === 'FAILED' && r.status === 'FAILED' && r.shown !== 'REJECTED'),
      );
    if (flags.json) {
      io.out(
        `${JSON.stringify(runs.map(({ shown, ...r }) => ({ ...r, status: shown, executionStatus: r.status })))}\n`,
      );
      return EXIT.ok;
    }
    const rows = runs.map((r) => [
      r.id,
      r.shown,
      r.dataset ?? '',
      r.startedAt,
      formatDuration(r.durationMs),
      r.redriveCount > 0 ? String(r.redriveCount) : '',
      r.sourceKey ?? '',
    ]);
    io.out(
      `${table(['RUN', 'STATUS', 'DATASET', 'STARTED', 'DURATION', 'REDRIVES', 'FILE'], rows).join('\n')}\n`,
    );
    if (listing.more) io.out('(more runs exist: narrow with --status or --dataset)\n');
    return EXIT.ok;
  });
}

/**
 * `etl runs show <id> --stack S`: the state path. With `--follow`, first the states as they finish
 * until the run ends, then the path, and the run's exit code (0 / 2 rejected / 1).
 */
export function remoteShow(
  id: string,
  flags: RemoteFlags & FollowFlags & { follow?: boolean },
  io: CliIo,
): Promise<number> {
  return withStack(flags, async (remote, api) => {
    let view: RunView | undefined;
    if (flags.follow) {
      view = await follow(remote, api, id, flags, io);
      if (!view) {
        io.err(`etl: stopped following; the run goes on\n`);
        return EXIT.failed;
      }
      if (!flags.json) io.out('\n');
    } else view = await api.showRun(remote, id);
    if (flags.json) {
      io.out(`${JSON.stringify(flags.follow ? runJson(api, view) : view)}\n`);
      return flags.follow ? exitCodeOfView(api, view) : EXIT.ok;
    }
    const lines = runGraphLines(
      {
        id: view.id,
        status: api.displayStatusOf(view),
        ...(view.dataset !== undefined && { dataset: view.dataset }),
        ...(view.sourceKey !== undefined && { source: view.sourceKey }),
        redriveCount: view.redriveCount,
        ...(view.error !== undefined && { error: view.error }),
        ...(view.cause !== undefined && { cause: view.cause }),
      },
      view.steps,
    );
    io.out(`${lines.join('\n')}\n`);
    return flags.follow ? exitCodeOfView(api, view) : EXIT.ok;
  });
}

/** `etl redrive <id> --stack S`. */
export function remoteRedrive(id: string, flags: RemoteFlags, io: CliIo): Promise<number> {
  return withStack(flags, async (remote, api) => {
    try {
      const r = await api.redriveRun(remote, id);
      if (flags.json) io.out(`${JSON.stringify(r)}\n`);
      else
        io.out(
          `redriven ${r.id} (was ${r.from}); follow it with: etl runs show ${r.id} --stack ${flags.stack}\n`,
        );
      return EXIT.ok;
    } catch (e) {
      if (e instanceof api.RedriveRefusedError) {
        io.err(`etl: redrive refused: ${e.message}\n`);
        return EXIT.failed;
      }
      throw e;
    }
  });
}

/** `etl query "<SQL>" --stack S`: Athena over the deployed catalog. */
export function remoteQuery(
  sql: string,
  flags: RemoteFlags & { param?: readonly string[] },
  io: CliIo,
): Promise<number> {
  return withStack(flags, async (remote, api) => {
    const r = await api.queryLake(remote, sql, {
      ...(io.signal && { signal: io.signal }),
      ...(flags.param && flags.param.length > 0 && { parameters: flags.param.map(parseQueryParam) }),
    });
    const columns = r.columns.map((c) => c.name);
    if (flags.json) {
      const rows = r.rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i] ?? null])));
      io.out(
        `${JSON.stringify({ columns, rows, truncated: r.truncated, dataScannedBytes: r.dataScannedBytes })}\n`,
      );
      return EXIT.ok;
    }
    const rows = r.rows.map((row) => row.map((v) => v ?? 'NULL'));
    io.out(
      `${table(columns, rows).join('\n')}\n(${rows.length} ${rows.length === 1 ? 'row' : 'rows'}${r.truncated ? ', truncated' : ''}; ${r.dataScannedBytes} bytes scanned)\n`,
    );
    return EXIT.ok;
  });
}
