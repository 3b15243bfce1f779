/**
 * Sizes the Transform Lambda (functions/transform) and the routing threshold (issue 12): the
 * Lambda's path — `runTransformOnStore` over an ObjectStore, exactly as the handler runs it — on
 * the validate step's staging of generated registrations files, each in a fresh process with the
 * engine options the Lambda uses. Prints staging MiB, wall and CPU seconds, peak RSS and the scratch
 * space (/tmp) each size needed, and how long a Lambda with N vCPUs would take by CPU time.
 *
 *   npx tsx bench/lambda-transform.ts                               # 10MB,50MB,100MB,250MB
 *   npx tsx bench/lambda-transform.ts --sizes 10MB,100MB --threads 2 --memory-limit 2GB
 *
 * Sizes are CSV sizes (the staging is about 2.3× larger: JSON Lines with every value as text).
 * Nothing is written to bench/RESULTS.md; transform/README.md keeps the figures and the reasoning.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { BENCH_DIR, ensureInput } from './inputs';
import { buildWorkers, runWorker } from './measure';
import { parseSize } from './registrations-generator';
import { machineInfo, mib, renderTable } from './report';

interface Options {
  readonly sizes: string[];
  readonly threads: number;
  readonly memoryLimit: string;
  readonly seed: number;
}

async function main(options: Options): Promise<void> {
  console.log(machineInfo().join('\n'));
  for (const [worker, why] of await buildWorkers()) console.log(`  (worker ${worker} left out: ${why})`);
  const rows: string[][] = [];
  for (const label of options.sizes) {
    const input = await ensureInput(label, parseSize(label), options.seed, (l) => console.log(l));
    const root = path.join(BENCH_DIR, `lambda-${label}-seed${options.seed}`);
    const marker = `${root}.staging.json`;
    let staging = existsSync(marker)
      ? (JSON.parse(readFileSync(marker, 'utf8')) as { stagingDir: string }).stagingDir
      : undefined;
    if (staging === undefined || !existsSync(staging)) {
      console.log(`  validating ${label} (staging for the transform) ...`);
      const v = await runWorker('validate', { file: input.file, root });
      if (!v.ok) throw new Error(`validate of ${label} failed: ${v.error}`);
      staging = (v.details as { stagingDir: string }).stagingDir;
      const { writeFileSync } = await import('node:fs');
      writeFileSync(marker, JSON.stringify(v.details));
    }
    const stagingPrefix = `${path.relative(path.join(root, 'lake'), staging)}/`;
    console.log(`  transform (store path) of ${label} ...`);
    const m = await runWorker('duckdb-store', {
      root,
      stagingPrefix,
      stagingDir: staging,
      dataset: 'registrations',
      options: { threads: options.threads, memoryLimit: options.memoryLimit },
    });
    if (!m.ok) {
      rows.push([label, 'failed', m.error ?? '', '', '', '', '', '']);
      continue;
    }
    const d = m.details as { scratchBytes: number; files: number; timingsMs: Record<string, number> };
    rows.push([
      label,
      mib(m.bytes),
      (m.rows ?? 0).toLocaleString('en'),
      m.seconds.toFixed(1),
      m.cpuSeconds.toFixed(1),
      mib(m.peakRssBytes),
      mib(d.scratchBytes),
      String(d.files),
      Object.entries(d.timingsMs)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ]);
  }
  console.log(
    `\nTransform Lambda path (runTransformOnStore over LocalObjectStore), threads ${options.threads}, memory_limit ${options.memoryLimit}:\n`,
  );
  console.log(
    renderTable(
      [
        'CSV',
        'staging MiB',
        'rows out',
        'seconds',
        'CPU s',
        'peak RSS MiB',
        'scratch MiB',
        'files',
        'phases (ms)',
      ],
      rows,
    ),
  );
}

const list = (v: string) => v.split(',').map((s) => s.trim().toUpperCase());
const program = new Command()
  .name('lambda-transform')
  .option('--sizes <list>', 'CSV sizes, binary units', list, ['10MB', '50MB', '100MB', '250MB'])
  .option('--threads <n>', 'DuckDB threads (a 3,008 MB Lambda has 2 vCPUs)', (v) => Number(v), 2)
  .option('--memory-limit <size>', 'DuckDB memory_limit', '2GB')
  .option('--seed <n>', 'generator seed', (v) => Number(v), 1);
program.parse();
main(program.opts<Options>()).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
