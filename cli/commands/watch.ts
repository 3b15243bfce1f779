/**
 * `etl watch`: the landing folder behaves like the bucket. A CSV dropped into
 * `<home>/landing/incoming/<dataset>/` starts a run once it has stopped changing (an upload in
 * progress never runs; temp and partial names are ignored), at most `--concurrency` at a time.
 * Ctrl-C stops watching, lets the runs in flight finish, and exits 0 (a second Ctrl-C exits now;
 * those runs are then shown as INTERRUPTED and `etl reconcile` resumes them).
 */
import { mkdirSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import path from 'node:path';
import { isTriggerName, landingObject } from '../../local/landing-files';
import { objectCreatedEvent } from '../../local/landing';
import { readFaultFile } from '../../local/faults';
import type { RunRecord } from '../../local/run-record';
import { WorkQueue } from '../../local/work-queue';
import { EXIT, type CliIo } from '../io';
import { runResultView, shortPath } from '../render';
import { openPipeline, type PipelineFlags } from './shared';

export interface WatchFlags extends PipelineFlags {
  readonly concurrency: number;
  readonly settleMs: number;
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

/** One-line outcome of a finished run. */
export function outcomeLine(record: RunRecord): string {
  const c = record.counts;
  const mark = record.displayStatus === 'SUCCEEDED' ? '✓' : '✗';
  const rows =
    c.rowsRead !== undefined
      ? `  rows read ${c.rowsRead} valid ${c.rowsValid ?? '?'} rejected ${c.rowsRejected ?? '?'} written ${c.rowsWritten ?? '-'}`
      : '';
  const end = record.endState && record.endState !== 'Succeeded' ? ` at ${record.endState}` : '';
  return `${mark} ${record.runId} ${record.displayStatus}${end}${rows}`;
}

export async function watchCommand(opts: WatchFlags, io: CliIo): Promise<number> {
  const shortId = (r: RunRecord) => `[${r.runId.slice(-6)}] `;
  // Per-state lines of concurrent runs interleave; each carries its run's short id.
  const pipeline = openPipeline(opts, io, shortId);
  const { home, store, runs, runtime } = pipeline;
  mkdirSync(home.incomingDir, { recursive: true });
  const queue = new WorkQueue(opts.concurrency);
  const timers = new Map<string, NodeJS.Timeout>();
  /** key#versionId already started by this watcher (our own adoption rename fires events too). */
  const started = new Set<string>();

  const alreadyRun = (key: string, versionId: string | undefined) =>
    started.has(`${key}#${versionId}`) ||
    runs.list().some((r) => r.source?.key === key && r.source.versionId === versionId);

  const startRun = async (file: string) => {
    const object = await landingObject(store, home, file);
    if (!object) {
      io.err(
        `etl watch: ${shortPath(file, io.cwd)} has a name the landing bucket cannot hold as is; rename it\n`,
      );
      return;
    }
    const { key, info } = object;
    if (alreadyRun(key, info.versionId)) return;
    started.add(`${key}#${info.versionId}`);
    queue.push(async () => {
      const handle = runtime.start(objectCreatedEvent(home.landingBucket, info), {
        faults: readFaultFile(home.faultsFile),
      });
      if (!opts.json) io.out(`▶ ${key} → run ${handle.runId}\n`);
      const record = await handle.done;
      if (opts.json) io.out(`${JSON.stringify(runResultView(record, runs.fileOf(record.runId)))}\n`);
      else io.out(`${outcomeLine(record)}\n`);
    });
  };

  /** Runs `file` once two looks `settleMs` apart see the same size, time and inode. */
  const settle = (file: string, last?: Stats) => {
    clearTimeout(timers.get(file));
    timers.set(
      file,
      setTimeout(() => {
        timers.delete(file);
        let now: Stats;
        try {
          now = statSync(file);
        } catch {
          return; // moved away or deleted before it settled
        }
        if (!now.isFile()) return;
        if (last && sameFile(last, now)) {
          startRun(file).catch((e: unknown) =>
            io.err(`etl watch: ${shortPath(file, io.cwd)}: ${e instanceof Error ? e.message : String(e)}\n`),
          );
        } else settle(file, now);
      }, opts.settleMs),
    );
  };

  const watcher: FSWatcher = watch(home.incomingDir, { recursive: true }, (_event, name) => {
    if (!name) return;
    const file = path.join(home.incomingDir, name.toString());
    if (isTriggerName(path.basename(file))) settle(file);
  });
  watcher.on('error', (e) => io.err(`etl watch: ${e.message}\n`));
  if (!opts.json)
    io.out(
      `watching ${shortPath(home.incomingDir, io.cwd)}/<dataset>/*.csv (concurrency ${opts.concurrency}, engine ${pipeline.engine}); Ctrl-C stops\n`,
    );

  // Node's recursive fs.watch on Linux does not hold the process open by itself: this does, until Ctrl-C.
  const keepAlive = setInterval(() => {}, 1 << 30);
  await new Promise<void>((resolve) => {
    if (io.signal?.aborted) resolve();
    io.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  clearInterval(keepAlive);
  watcher.close();
  for (const t of timers.values()) clearTimeout(t);
  if (queue.active > 0 && !opts.json) io.out(`stopping: waiting for ${queue.active} run(s) to finish\n`);
  await queue.idle();
  pipeline.close();
  if (!opts.json) io.out('stopped\n');
  return EXIT.ok;
}
