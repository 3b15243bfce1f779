/**
 * Benchmark inputs: registrations CSVs generated once per (size, seed) under `.bench/` (git-ignored)
 * and reused by every later run. A file counts as present only when its `.stats.json` exists: the
 * stats are written after the CSV is complete and renamed into place, so a run killed half-way
 * through generating 1 GB never leaves a short file that looks finished.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeRegistrationsCsv, type GenerationStats } from './registrations-generator';

export const REPO_ROOT = path.resolve(__dirname, '..');
export const BENCH_DIR = path.join(REPO_ROOT, '.bench');

export interface BenchInput {
  /** As the user wrote it, e.g. `100MB`. */
  readonly label: string;
  readonly file: string;
  readonly stats: GenerationStats;
}

/**
 * Returns the cached input for `label`/`seed` (and `years` of event dates, default 1), generating
 * it first when missing.
 */
export async function ensureInput(
  label: string,
  targetBytes: number,
  seed: number,
  log: (line: string) => void,
  years = 1,
): Promise<BenchInput> {
  mkdirSync(BENCH_DIR, { recursive: true });
  const span = years === 1 ? '' : `-${years}y`;
  const file = path.join(BENCH_DIR, `registrations-${label}${span}-seed${seed}.csv`);
  const statsFile = `${file}.stats.json`;
  if (existsSync(statsFile) && existsSync(file)) {
    return { label, file, stats: JSON.parse(readFileSync(statsFile, 'utf8')) as GenerationStats };
  }
  log(`generating ${path.relative(REPO_ROOT, file)} (once; cached for later runs) ...`);
  const started = performance.now();
  const partial = `${file}.partial`;
  const stats = await writeRegistrationsCsv(partial, { targetBytes, seed, years });
  renameSync(partial, file);
  writeFileSync(statsFile, JSON.stringify(stats, null, 2));
  log(`  ${stats.rows.toLocaleString('en')} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { label, file, stats };
}
