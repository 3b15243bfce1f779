/**
 * The child-process side of a measurement. Each measurement runs in a fresh Node process so the
 * peak RSS it reports is its own: nothing another measurement allocated (or a cached input, or the
 * harness itself) can inflate or hide it. The result travels on fd 3, because the code under test
 * may log to stdout (Powertools does).
 */
import { readdirSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';

/** What a worker's job returns: the bytes it processed and anything worth printing. */
export interface WorkDone {
  /** Input bytes the throughput is computed from. */
  readonly bytes: number;
  readonly rows?: number;
  readonly details?: Record<string, unknown>;
}

/** The JSON one worker writes on fd 3 when it ends. */
export interface WorkerReport {
  readonly ok: boolean;
  /** Seconds spent in the job itself (after module loading). */
  readonly seconds: number;
  /**
   * CPU seconds (user + system, all threads) this process spent on the job. On a busy shared
   * machine this moves far less than wall time, so ratios of it show the code's own cost.
   */
  readonly cpuSeconds: number;
  readonly bytes: number;
  readonly rows?: number;
  /** The process's own peak resident set (`process.resourceUsage().maxRSS`), in bytes. */
  readonly peakRssBytes: number;
  readonly details?: Record<string, unknown>;
  readonly error?: string;
}

/** Lets a job leave its set-up (copying an input into a store, say) out of the timing. */
export interface WorkClock {
  /** Starts timing again from now. */
  restart(): void;
}

/** Runs `job` with the JSON arguments the harness passed, then reports on fd 3 and exits. */
export function runAsWorker<A>(job: (args: A, clock: WorkClock) => Promise<WorkDone>): void {
  const args = JSON.parse(process.argv[2] ?? '{}') as A;
  let started = performance.now();
  let cpuAtStart = process.cpuUsage();
  const clock: WorkClock = {
    restart: () => {
      started = performance.now();
      cpuAtStart = process.cpuUsage();
    },
  };
  const report = (r: Omit<WorkerReport, 'seconds' | 'cpuSeconds' | 'peakRssBytes'>) => {
    const cpu = process.cpuUsage(cpuAtStart);
    const full: WorkerReport = {
      ...r,
      seconds: (performance.now() - started) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
    };
    writeSync(3, JSON.stringify(full) + '\n');
  };
  job(args, clock).then(
    (done) => {
      report({ ok: true, ...done });
      process.exit(0);
    },
    (e: unknown) => {
      report({ ok: false, bytes: 0, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
      process.exit(1);
    },
  );
}

/** The part files (`*.jsonl`) of a validate run's staging folder, and their total size: a transform's input. */
export function stagingParts(stagingDir: string): { readonly files: string[]; readonly bytes: number } {
  const files = readdirSync(stagingDir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((f) => path.join(stagingDir, f));
  return { files, bytes: files.reduce((sum, f) => sum + statSync(f).size, 0) };
}
