/**
 * The same verbs against a deployed stack (`--stack NAME`, with `--profile` / `--region`): the
 * backend is remote/ (S3 upload, Step Functions ListExecutions / GetExecutionHistory /
 * RedriveExecution, Athena); this file only prints what it returns, with the same renderers as
 * the local runs, so both worlds look alike. Loaded only when `--stack` is given, so the AWS SDK
 * never loads for local work.
 */
import path from 'node:path';
import type { RemoteStack } from '../../remote';
import { EXIT, UsageError, type CliIo } from '../io';
import { formatDuration, runGraphLines, table } from '../render';
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

/** `etl run <file> --stack S`: upload to the landing bucket; the deployed trigger starts the run. */
export function remoteRun(
  file: string,
  flags: RemoteFlags & SchemasFlag & { dataset?: string; wait?: number },
  io: CliIo,
): Promise<number> {
  return withStack(flags, async (remote, api) => {
    const source = path.resolve(io.cwd, file);
    const contracts = schemasDirOf(flags, io);
    const { dataset } = datasetFor(source, flags.dataset, contracts, io);
    const put = await api.uploadFile(remote, source, dataset, { schemasDir: contracts.dir });
    if (!flags.json)
      io.out(`uploaded s3://${put.bucket}/${put.key}${put.versionId ? ` (version ${put.versionId})` : ''}\n`);
    const waitMs = (flags.wait ?? 30) * 1000;
    const run = waitMs > 0 ? await api.findRunOfUpload(remote, put, { timeoutMs: waitMs }) : undefined;
    if (flags.json) io.out(`${JSON.stringify({ upload: put, run: run ?? null })}\n`);
    else if (run)
      io.out(`run ${run.id} started; follow it with: etl runs show ${run.id} --stack ${flags.stack}\n`);
    else io.out(`no run has started for it yet; list runs with: etl runs --stack ${flags.stack}\n`);
    return EXIT.ok;
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

/** `etl runs show <id> --stack S`. */
export function remoteShow(id: string, flags: RemoteFlags, io: CliIo): Promise<number> {
  return withStack(flags, async (remote, api) => {
    const view = await api.showRun(remote, id);
    if (flags.json) {
      io.out(`${JSON.stringify(view)}\n`);
      return EXIT.ok;
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
    return EXIT.ok;
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
export function remoteQuery(sql: string, flags: RemoteFlags, io: CliIo): Promise<number> {
  return withStack(flags, async (remote, api) => {
    const r = await api.queryLake(remote, sql, { ...(io.signal && { signal: io.signal }) });
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
