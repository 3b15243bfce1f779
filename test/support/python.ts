/**
 * Finds the project's Python side (.venv made by `npm run setup:python`). Tests that need Spark
 * or moto ask here; on a machine without it they say so loudly (and CI, which has CI=true, fails
 * instead of passing without them).
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const VENV_PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');

function has(module: string): boolean {
  if (!existsSync(VENV_PYTHON)) return false;
  return spawnSync(VENV_PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

function hasJava(): boolean {
  return spawnSync('java', ['-version'], { stdio: 'ignore' }).status === 0;
}

export const pythonSide = {
  moto: () => has('moto.server'),
  spark: () => hasJava() && has('pyspark'),
};

/**
 * Returns true when `what` is available. When it is not: in CI (CI=true) this throws, because CI
 * installs everything and a missing piece there is a broken set-up; elsewhere it prints a notice
 * that names what was not run and how to get it.
 */
export function requirePythonSide(what: 'moto' | 'spark', suite: string): boolean {
  if (pythonSide[what]()) return true;
  const msg = `${suite}: NOT RUN — ${what === 'spark' ? 'Java 17 + pyspark' : 'moto'} not installed. Run \`npm run setup:python\` to include it.`;
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(msg);
  return false;
}
