/**
 * `etl watch`: the landing folder behaves like the bucket. A CSV dropped into
 * `<home>/landing/incoming/<dataset>/` starts a run once it has stopped changing (an upload in
 * progress never runs; temp and partial names are ignored), at most `--concurrency` at a time.
 * Ctrl-C stops watching, lets the runs in flight finish, and exits 0 (a second Ctrl-C exits now;
 * those runs are then shown as INTERRUPTED and `etl reconcile` resumes them).
 *
 * Per-file fs events are not trusted: the watcher sits on the bucket folder (`<home>/landing/`,
 * never removed, unlike `incoming/<dataset>/` folders a delete prunes), and any event — plus a
 * rescan every {@link RESCAN_MS} ms, for events the platform drops — rescans the dataset folders.
 * Each file is run once per object version (key + version id, checked against the run records),
 * so a second upload under a name already archived runs too.
 */
import { mkdirSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { checkLandingKey } from '../../core/layout';
import { landingFiles, landingObject } from '../../local/landing-files';
import { objectCreatedEvent } from '../../local/landing';
import { readFaultFile } from '../../local/faults';
import type { RunRecord } from '../../local/run-record';
import { WorkQueue } from '../../local/work-queue';
import { EXIT, type CliIo } from '../io';
import { runResultView, shortPath } from '../render';
import { brokenContract } from './contract';
import { openPipeline, schemasDirOf, type PipelineFlags } from './shared';

export interface WatchFlags extends PipelineFlags {
  readonly concurrency: number;
  readonly settleMs: number;
}

/** Periodic rescan of the landing folder, like a quick `etl reconcile` for new files. */
export const RESCAN_MS = 1000;
/** Events come in bursts (a copy is several writes): one rescan per burst. */
const RESCAN_DEBOUNCE_MS = 50;
/** How long a read of the run records answers "has this version run?" before it is read again. */
const RUNS_CACHE_MS = 1000;

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

function statIfFile(file: string): Stats | undefined {
  try {
    const stat = statSync(file);
    return stat.isFile() ? stat : undefined;
  } catch {
    return undefined;
  }
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
  /** Files already looked at, by path, as they were then: a rescan skips them while unchanged. */
  const handled = new Map<string, Stats>();
  /**
   * Files held back because their dataset's contract is broken (file → dataset and the error):
   * no run is started or recorded; they run once the contract loads again.
   */
  const heldForContract = new Map<string, { dataset: string; error: string }>();
  const contracts = schemasDirOf(opts, io);

  // Run records written by other processes (etl run, etl reconcile) count too; reading them all
  // for every file would be O(files²), so one read serves every check for a short while.
  let recorded: { at: number; versions: Set<string> } | undefined;
  const recordedVersions = () => {
    if (!recorded || Date.now() - recorded.at > RUNS_CACHE_MS) {
      const versions = new Set(runs.list().map((r) => `${r.source?.key}#${r.source?.versionId}`));
      recorded = { at: Date.now(), versions };
    }
    return recorded.versions;
  };
  const alreadyRun = (key: string, versionId: string | undefined) =>
    started.has(`${key}#${versionId}`) || recordedVersions().has(`${key}#${versionId}`);

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
    const check = checkLandingKey(key);
    const broken = check.ok ? brokenContract(check.dataset, contracts, io.cwd) : undefined;
    if (check.ok && broken !== undefined) {
      if (heldForContract.get(file)?.error !== broken)
        io.err(
          `etl watch: ${key} waits in landing, not run: the contract of dataset "${check.dataset}" is broken: ${broken}. It runs once the contract is fixed (check it with \`etl contract check ${check.dataset}\`)\n`,
        );
      heldForContract.set(file, { dataset: check.dataset, error: broken });
      return;
    }
    heldForContract.delete(file);
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
          handled.set(file, now);
          startRun(file)
            .catch((e: unknown) =>
              io.err(
                `etl watch: ${shortPath(file, io.cwd)}: ${e instanceof Error ? e.message : String(e)}\n`,
              ),
            )
            .finally(() => {
              // Adopting a file dropped by hand replaces it with the version's link: note that too.
              const after = statIfFile(file);
              if (after) handled.set(file, after);
            });
        } else settle(file, now);
      }, opts.settleMs),
    );
  };

  /** Every trigger file in the dataset folders that is new or changed since it was last handled. */
  const rescan = () => {
    const present = new Set(landingFiles(home));
    // A file held for a broken contract is looked at again once that contract loads (or is gone).
    for (const [file, held] of heldForContract) {
      if (!present.has(file)) heldForContract.delete(file);
      else if (brokenContract(held.dataset, contracts, io.cwd) !== held.error) handled.delete(file);
    }
    for (const file of handled.keys()) if (!present.has(file)) handled.delete(file);
    for (const file of present) {
      if (timers.has(file)) continue; // already settling
      const seen = handled.get(file);
      const now = statIfFile(file);
      if (!now || (seen && sameFile(seen, now))) continue;
      settle(file);
    }
  };
  let rescanTimer: NodeJS.Timeout | undefined;
  const rescanSoon = () => {
    rescanTimer ??= setTimeout(() => {
      rescanTimer = undefined;
      rescan();
    }, RESCAN_DEBOUNCE_MS);
  };

  const watcher: FSWatcher = watch(home.landingDir, { recursive: true }, rescanSoon);
  const periodic = setInterval(rescanSoon, RESCAN_MS);
  rescanSoon(); // files already waiting when the watcher starts
  watcher.on('error', (e) => io.err(`etl watch: ${e.message}\n`));
  if (!opts.json)
    io.out(
      `watching ${shortPath(home.incomingDir, io.cwd)}/<dataset>/*.csv|.jsonl|.json[.gz] (concurrency ${opts.concurrency}, engine ${pipeline.engine}); Ctrl-C stops\n`,
    );

  // The periodic rescan holds the process open until Ctrl-C (Node's recursive fs.watch on Linux does not).
  await new Promise<void>((resolve) => {
    if (io.signal?.aborted) resolve();
    io.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  clearInterval(periodic);
  clearTimeout(rescanTimer);
  watcher.close();
  for (const t of timers.values()) clearTimeout(t);
  if (queue.active > 0 && !opts.json) io.out(`stopping: waiting for ${queue.active} run(s) to finish\n`);
  await queue.idle();
  pipeline.close();
  if (!opts.json) io.out('stopped\n');
  // Files still held for a broken contract: a usage problem (exit 64), as `etl run` reports it.
  return heldForContract.size > 0 ? EXIT.usage : EXIT.ok;
}
