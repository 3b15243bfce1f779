/** The "load everything in memory" baseline (bench/naive-validate.ts) on one CSV. */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findContract } from '../../core/contract';
import { validateInMemory } from '../naive-validate';
import { runAsWorker } from './worker';

runAsWorker<{ file: string }>(async ({ file }) => {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'bench-in-memory-'));
  try {
    const counts = validateInMemory(file, findContract('registrations')!, outDir);
    return { bytes: statSync(file).size, rows: counts.rowsRead, details: { ...counts } };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});
