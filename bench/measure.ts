/**
 * The parent side of a measurement: bundles the workers (so a child is plain `node file.js`, with
 * no TypeScript loader inflating its memory — tsx adds ≈37 MB of RSS to every process), then runs
 * each measurement in a fresh child and collects its {@link WorkerReport}.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { BENCH_DIR, REPO_ROOT } from './inputs';
import { sampleTreePeak } from './process-tree';
import type { WorkerReport } from './workers/worker';

const WORKERS_SRC = path.join(REPO_ROOT, 'bench', 'workers');
const WORKERS_OUT = path.join(BENCH_DIR, 'workers');

/** A finished measurement: the child's own report plus the wall clock the parent saw. */
export interface Measurement extends WorkerReport {
  readonly worker: string;
  /** Including process start and module loading. */
  readonly wallSeconds: number;
  /**
   * Peak of the summed RSS of the worker and every process it started (Spark's JVM, say), sampled
   * from /proc every 250 ms (bench/process-tree.ts); absent off Linux.
   */
  readonly treePeakBytes?: number;
}

/**
 * Modules find files next to them through `__dirname` (core/contract.ts → schemas/, the Spark
 * engine → glue/). In a bundle `__dirname` would be .bench/workers for all of them, so each module
 * that uses it gets its own real folder as a module-level constant (esbuild renames the copies).
 */
function dirnamePlugin(outDir: string): Plugin {
  return {
    name: 'real-dirname',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('__dirname')) return undefined;
        // The validate step looks for its bundled parse-worker thread next to itself, as a Lambda
        // bundle ships it; the bench builds that file into outDir, so that is "next to itself".
        const dir = COMPANIONS.some((c) => c.lookedUpBy === args.path) ? outDir : path.dirname(args.path);
        return { contents: `const __dirname = ${JSON.stringify(dir)};\n${text}`, loader: 'ts' };
      });
    },
  };
}

/**
 * Extra bundles some code under test starts by file name (worker threads), built the way a
 * deployment bundles them, so the bench measures them as deployed (no TypeScript loader in the
 * thread) rather than from source.
 */
const COMPANIONS = [
  {
    entry: path.join(REPO_ROOT, 'csv', 'parse-worker.ts'),
    // csv/parallel.ts BUNDLED_PARSE_WORKER
    outFile: 'validate-parse-worker.js',
    lookedUpBy: path.join(REPO_ROOT, 'csv', 'parallel.ts'),
  },
];

/**
 * Bundles every bench/workers/*.ts except the shared worker.ts (packages stay external). Each is
 * built on its own, so a worker whose code under test is not there yet (another engineer's module)
 * is left out — reported by the returned map — instead of stopping the whole bench.
 */
export async function buildWorkers(outDir: string = WORKERS_OUT): Promise<Map<string, string>> {
  rmSync(outDir, { recursive: true, force: true });
  const failed = new Map<string, string>();
  const common: BuildOptions = {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'silent',
    plugins: [dirnamePlugin(outDir)],
  };
  for (const companion of COMPANIONS) {
    if (!existsSync(companion.entry)) continue; // the code under test falls back to its own way
    await build({ ...common, entryPoints: [companion.entry], outfile: path.join(outDir, companion.outFile) });
  }
  const entries = readdirSync(WORKERS_SRC).filter((f) => f.endsWith('.ts') && f !== 'worker.ts');
  for (const entry of entries) {
    try {
      await build({ ...common, entryPoints: [path.join(WORKERS_SRC, entry)], outdir: outDir });
    } catch (e) {
      failed.set(entry.replace(/\.ts$/, ''), (e as Error).message.split('\n').slice(0, 2).join(' '));
    }
  }
  return failed;
}

/** True when `worker` was built (its code under test exists). */
export function workerBuilt(worker: string, workersDir: string = WORKERS_OUT): boolean {
  return existsSync(path.join(workersDir, `${worker}.js`));
}

export interface RunOptions {
  /** Kill the child after this long (it then reports as failed). @default 1 hour */
  readonly timeoutMs?: number;
  /** Extra Node flags, e.g. `--max-old-space-size=4096` or `--cpu-prof`. */
  readonly nodeFlags?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Where {@link buildWorkers} put the bundles. @default .bench/workers */
  readonly workersDir?: string;
  /**
   * Run the child on one CPU (`taskset -c 0`, util-linux): every thread it has shares one core, as
   * in a Lambda of one vCPU, and `os.availableParallelism()` is 1 in it. Check {@link canPinToOneCore}.
   */
  readonly oneCore?: boolean;
}

/** Whether `taskset` (util-linux) is here to run a worker on one core. */
export function canPinToOneCore(): boolean {
  return spawnSync('taskset', ['-c', '0', 'true']).status === 0;
}

let profileDir: string | undefined;

/**
 * From now on, every worker writes a V8 CPU profile (`--cpu-prof`) into `dir`, named after the
 * worker; open them in Chrome DevTools or VS Code. Profiling slows the workers: numbers measured
 * with it on are for finding the hot spots, not for the tables.
 */
export function profileWorkersInto(dir: string): void {
  profileDir = dir;
}

/** Runs `worker` (a bench/workers file name without .ts) in a fresh Node process. */
export async function runWorker(
  worker: string,
  args: object,
  options: RunOptions = {},
): Promise<Measurement> {
  const file = path.join(options.workersDir ?? WORKERS_OUT, `${worker}.js`);
  const started = performance.now();
  const profileFlags = profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${worker}-${Date.now()}.cpuprofile`]
    : [];
  const flags = [...profileFlags, ...(options.nodeFlags ?? [])];
  const command = [process.execPath, ...flags, file, JSON.stringify(args)];
  if (options.oneCore) command.unshift('taskset', '-c', '0'); // execs node: same pid
  const child = spawn(command[0]!, command.slice(1), {
    cwd: REPO_ROOT,
    // The code under test may log to stdout; only errors are worth showing.
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      POWERTOOLS_LOG_LEVEL: 'WARN',
      POWERTOOLS_METRICS_DISABLED: 'true',
      ...options.env,
    },
  });
  const treeSampler = child.pid !== undefined ? sampleTreePeak(child.pid) : undefined;
  let stderr = '';
  let reported = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
    reported += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 3_600_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  clearTimeout(timer);
  const wallSeconds = (performance.now() - started) / 1000;
  const sampledPeak = treeSampler?.stop();
  const treePeakBytes = sampledPeak ? sampledPeak : undefined;
  const line = reported.trim().split('\n').pop();
  if (line) {
    return {
      worker,
      wallSeconds,
      ...(treePeakBytes !== undefined && { treePeakBytes }),
      ...(JSON.parse(line) as WorkerReport),
    };
  }
  const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
  return {
    worker,
    wallSeconds,
    ok: false,
    seconds: wallSeconds,
    cpuSeconds: 0,
    bytes: 0,
    peakRssBytes: 0,
    error: `${why} without a report${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
  };
}
