/**
 * Small files (issue 12): what a lake fed one sample-sized file after another costs locally.
 *
 *  - 20 files of 3,000 rows (the sample's size, each its own seed and name) copied into a fresh
 *    `--home`'s landing folder and run by ONE `bin/etl reconcile --concurrency 1` — how a user runs
 *    files that arrived while nothing watched, one after another in one process. files/s is 20
 *    over the process's wall clock (start included). The run records give each state's time per
 *    file, and Verify of the last files against the first (Verify must not grow with the lake).
 *  - the sample (`samples/registrations.csv`) once more in a fresh home: how many Parquet objects
 *    it leaves under curated/.
 *  - a 1.2 MB file whose event dates span ten years, `bin/etl run` end to end in a fresh home.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, ensureInput, REPO_ROOT } from './inputs';
import { parseSize, writeRegistrationsCsv } from './registrations-generator';
import { median, renderTable, verdict } from './report';

/** The targets. */
export const SMALL_FILE_TARGETS = {
  /** 20 sample-sized files in a row through the local pipeline. */
  filesPerSecond: 2,
  /** Verify of the last files over Verify of the first. */
  verifyGrowth: 1.5,
  /** Parquet objects the 3,000-row sample writes. */
  sampleObjects: 24,
  /** A 1.2 MB file spanning ten years, `etl run` wall clock. */
  multiYearSeconds: 2,
} as const;

const FILES = 20;
/** How many runs at each end are compared for Verify's growth (medians). */
const ENDS = 5;

interface StateView {
  readonly name: string;
  readonly durationMs?: number;
}
interface RunLine {
  readonly runId: string;
  readonly status: string;
  readonly source?: string;
  readonly durationMs?: number;
  readonly states: readonly StateView[];
  readonly partitions?: number;
}

interface Spawned {
  readonly wallSeconds: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

async function etl(home: string, args: readonly string[]): Promise<Spawned> {
  const started = performance.now();
  const child = spawn(path.join(REPO_ROOT, 'bin', 'etl'), ['--home', home, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { wallSeconds: (performance.now() - started) / 1000, code, stdout, stderr };
}

function runLines(stdout: string): RunLine[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as RunLine);
}

/** Sum of a state's durations in one run (a state visited twice counts both). */
function stateMs(run: RunLine, name: string): number {
  return run.states.filter((s) => s.name === name).reduce((a, s) => a + (s.durationMs ?? 0), 0);
}

/** Parquet objects under a home's curated/ folder. */
function parquetCount(home: string): number {
  const walk = (dir: string): number =>
    existsSync(dir)
      ? readdirSync(dir, { withFileTypes: true }).reduce(
          (n, e) =>
            n + (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.parquet') ? 1 : 0),
          0,
        )
      : 0;
  return walk(path.join(home, 'lake', 'curated'));
}

/** The 20 inputs, generated once under .bench/small-files/ (3,000 rows each, seeds seed+1 …). */
async function smallInputs(seed: number): Promise<string[]> {
  const dir = path.join(BENCH_DIR, 'small-files', `seed${seed}`);
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 1; i <= FILES; i++) {
    const file = path.join(dir, `small-${String(i).padStart(2, '0')}.csv`);
    if (!existsSync(file)) {
      const partial = `${file}.partial`;
      await writeRegistrationsCsv(partial, { rows: 3000, seed: seed * 1000 + i });
      const { renameSync } = await import('node:fs');
      renameSync(partial, file);
    }
    files.push(file);
  }
  return files;
}

export async function benchSmallFiles(seed: number): Promise<string[]> {
  const out = ['## Small files (issue 12)', ''];
  if (!existsSync(path.join(REPO_ROOT, 'bin', 'etl'))) return [...out, '- not measured: no bin/etl.', ''];
  const notes: string[] = [];

  // 1. Twenty sample-sized files in a row, one process.
  const inputs = await smallInputs(seed);
  const home = path.join(BENCH_DIR, 'small-files', 'home');
  rmSync(home, { recursive: true, force: true });
  const incoming = path.join(home, 'landing', 'incoming', 'registrations');
  mkdirSync(incoming, { recursive: true });
  for (const file of inputs) copyFileSync(file, path.join(incoming, path.basename(file)));
  const batch = await etl(home, ['reconcile', '--concurrency', '1', '--json']);
  const runs = runLines(batch.stdout).sort((a, b) => (a.source ?? '').localeCompare(b.source ?? ''));
  const succeeded = runs.filter((r) => r.status === 'SUCCEEDED').length;
  const filesPerSecond = succeeded / batch.wallSeconds;
  const allOk = succeeded === FILES;
  if (!allOk)
    notes.push(
      `- WARNING: ${succeeded} of ${FILES} runs SUCCEEDED (exit ${batch.code}); stderr: ${batch.stderr.trim().split('\n').slice(-3).join(' | ')}`,
    );
  const verifyFirst = median(runs.slice(0, ENDS).map((r) => stateMs(r, 'Verify')));
  const verifyLast = median(runs.slice(-ENDS).map((r) => stateMs(r, 'Verify')));
  const growth = verifyFirst > 0 ? verifyLast / verifyFirst : Number.NaN;

  // Where the time of one file goes: each state's median over the 20 runs.
  const names: string[] = [];
  for (const r of runs) for (const s of r.states) if (!names.includes(s.name)) names.push(s.name);
  const execution = median(runs.map((r) => r.durationMs ?? 0));
  const stateRows = names
    .map((name) => ({ name, ms: median(runs.map((r) => stateMs(r, name))) }))
    .filter((s) => s.ms >= 1)
    .sort((a, b) => b.ms - a.ms);
  const executions = runs.reduce((a, r) => a + (r.durationMs ?? 0), 0) / 1000;

  // 2. The sample's Parquet objects.
  const sampleHome = path.join(BENCH_DIR, 'small-files', 'sample-home');
  rmSync(sampleHome, { recursive: true, force: true });
  const sample = await etl(sampleHome, [
    'run',
    path.join(REPO_ROOT, 'samples', 'registrations.csv'),
    '--json',
  ]);
  const sampleRun = runLines(sample.stdout)[0];
  const sampleObjects = parquetCount(sampleHome);

  // 3. A 1.2 MB file over ten years of event dates, end to end.
  const multi = await ensureInput('1.2MB', parseSize('1.2MB'), seed, (l) => console.log(l), 10);
  const multiHome = path.join(BENCH_DIR, 'small-files', 'multi-year-home');
  rmSync(multiHome, { recursive: true, force: true });
  const multiRun = await etl(multiHome, ['run', multi.file, '--dataset', 'registrations', '--json']);
  const multiView = runLines(multiRun.stdout)[0];
  const multiObjects = parquetCount(multiHome);

  const ok = (line: RunLine | undefined) => line?.status === 'SUCCEEDED';
  out.push(
    `${FILES} files of 3,000 rows (the sample's size; generated with seeds ${seed * 1000 + 1}…${seed * 1000 + FILES}) copied into a fresh`,
    "`--home`'s landing folder, then ONE `bin/etl --home H reconcile --concurrency 1 --json` runs them one after another",
    '(wall clock includes starting the process). The sample and the multi-year file each run by `bin/etl run … --json` in a fresh home.',
    '',
    renderTable(
      ['measure', 'value', 'target', 'verdict'],
      [
        [
          `${FILES} sample-sized files in a row`,
          `${filesPerSecond.toFixed(2)} files/s (${batch.wallSeconds.toFixed(2)} s; executions ${executions.toFixed(2)} s)`,
          `≥ ${SMALL_FILE_TARGETS.filesPerSecond} files/s`,
          allOk
            ? verdict(filesPerSecond >= SMALL_FILE_TARGETS.filesPerSecond)
            : 'FAIL (not every run SUCCEEDED)',
        ],
        [
          `Verify, last ${ENDS} files vs first ${ENDS} (medians)`,
          `${Math.round(verifyLast)} ms vs ${Math.round(verifyFirst)} ms (×${growth.toFixed(2)})`,
          `≤ ×${SMALL_FILE_TARGETS.verifyGrowth}`,
          allOk ? verdict(growth <= SMALL_FILE_TARGETS.verifyGrowth) : 'FAIL',
        ],
        [
          'Parquet objects of samples/registrations.csv',
          `${sampleObjects} (${sampleRun?.partitions ?? '?'} partitions)`,
          `≤ ${SMALL_FILE_TARGETS.sampleObjects}`,
          ok(sampleRun)
            ? verdict(sampleObjects <= SMALL_FILE_TARGETS.sampleObjects)
            : 'FAIL (run did not succeed)',
        ],
        [
          `${(multi.stats.bytes / 1e6).toFixed(2)} MB over ten years (${multi.stats.rows.toLocaleString('en')} rows), end to end`,
          `${multiRun.wallSeconds.toFixed(2)} s (${multiObjects} Parquet objects, ${multiView?.partitions ?? '?'} partitions)`,
          `≤ ${SMALL_FILE_TARGETS.multiYearSeconds} s`,
          ok(multiView)
            ? verdict(multiRun.wallSeconds <= SMALL_FILE_TARGETS.multiYearSeconds)
            : 'FAIL (run did not succeed)',
        ],
      ],
    ),
    '',
    `Where one file's time goes (median over the ${runs.length} runs; execution median ${Math.round(execution)} ms; the rest of the`,
    `${batch.wallSeconds.toFixed(2)} s is starting the process and reading the landing folder, once for all ${FILES}):`,
    '',
    renderTable(
      ['state', 'median ms', 'share of execution'],
      stateRows.map((s) => [
        s.name,
        String(Math.round(s.ms)),
        execution > 0 ? `${Math.round((s.ms / execution) * 100)}%` : '—',
      ]),
    ),
    '',
    ...(ok(multiView)
      ? []
      : [
          `- multi-year run: ${multiView?.status ?? 'no result'}; stderr: ${multiRun.stderr.trim().split('\n').slice(-3).join(' | ')}`,
        ]),
    ...(ok(sampleRun)
      ? []
      : [
          `- sample run: ${sampleRun?.status ?? 'no result'}; stderr: ${sample.stderr.trim().split('\n').slice(-3).join(' | ')}`,
        ]),
    ...notes,
    '',
  );
  return out;
}
