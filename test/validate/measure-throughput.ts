/**
 * Manual measurement (not a test, jest does not run it): the validate step on one thread and on
 * two, against bare csv-parse (arrays of strings, no casting: bench/workers/csv-parse.ts), with the
 * bench's method — each measurement a fresh `node` process running an esbuild bundle (no tsx in
 * the measured process), its own CPU seconds (all threads) and peak RSS — interleaved and repeated.
 *
 *   PATH=/work/main/node_modules/.bin:$PATH tsx test/validate/measure-throughput.ts \
 *     [--size 100MB | --file some.csv] [--modes parse,one,two] [--repeat 2]
 *
 * Inputs come from the bench's cache (.bench/registrations-<size>-seed1.csv, generated once).
 * The parse worker is bundled beside the validate bundle, as a Lambda package ships it.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { ensureInput, REPO_ROOT } from '../../bench/inputs';
import { runWorker, type Measurement } from '../../bench/measure';
import { parseSize } from '../../bench/registrations-generator';

const PARALLEL_TS = path.join(REPO_ROOT, 'functions', 'validate', 'parallel.ts');

/** Each module keeps its own folder as `__dirname`, except parallel.ts, which sees the bundle's. */
function dirnames(outDir: string): Plugin {
  return {
    name: 'dirnames',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('__dirname')) return undefined;
        const dir = args.path === PARALLEL_TS ? outDir : path.dirname(args.path);
        return { contents: `const __dirname = ${JSON.stringify(dir)};\n${text}`, loader: 'ts' };
      });
    },
  };
}

async function bundle(outDir: string): Promise<void> {
  const entries: [string, string][] = [
    ['bench/workers/csv-parse.ts', 'csv-parse.js'],
    ['test/validate/throughput-worker.ts', 'validate.js'],
    ['functions/validate/parse-worker.ts', 'validate-parse-worker.js'],
  ];
  for (const [entry, out] of entries) {
    await build({
      entryPoints: [path.join(REPO_ROOT, entry)],
      outfile: path.join(outDir, out),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node22',
      packages: 'external',
      logLevel: 'silent',
      plugins: [dirnames(outDir)],
    });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '100MB' },
      file: { type: 'string' },
      modes: { type: 'string', default: 'parse,one,two' },
      repeat: { type: 'string', default: '2' },
    },
  });
  const file =
    values.file ?? (await ensureInput(values.size, parseSize(values.size), 1, (l) => console.log(l))).file;
  // Inside the repository, so the bundles (packages external) find node_modules.
  const cache = path.join(REPO_ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(path.join(cache, 'validate-measure-'));
  try {
    await bundle(dir);
    const workersDir = dir;
    const runs = new Map<string, Measurement[]>();
    for (let r = 0; r < Number(values.repeat); r++) {
      for (const mode of values.modes.split(',')) {
        const load = loadavg()[0]!.toFixed(1);
        const m =
          mode === 'parse'
            ? await runWorker('csv-parse', { file }, { workersDir })
            : await runWorker(
                'validate',
                { file, root: path.join(dir, 'lake'), parallel: mode === 'two' },
                { workersDir },
              );
        if (!m.ok) throw new Error(`${mode}: ${m.error}`);
        runs.set(mode, [...(runs.get(mode) ?? []), m]);
        const mib = m.bytes / 1048576;
        console.log(
          `${mode.padEnd(5)} ${m.seconds.toFixed(2)} s, ${m.cpuSeconds.toFixed(2)} CPU s, ${(mib / m.seconds).toFixed(1)} MiB/s, ` +
            `${(mib / m.cpuSeconds).toFixed(1)} MiB per CPU-s, peak ${(m.peakRssBytes / 1048576).toFixed(0)} MB (load ${load})`,
        );
      }
    }
    // Best run of each (the least disturbed by other processes), then the ratios to bare csv-parse.
    const best = (mode: string) => runs.get(mode)?.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const parse = best('parse');
    for (const mode of ['one', 'two']) {
      const m = best(mode);
      if (!parse || !m) continue;
      console.log(
        `validate (${mode === 'one' ? 'one thread' : 'two threads'}) / csv-parse: ` +
          `${(parse.seconds / m.seconds).toFixed(2)} wall, ${(parse.cpuSeconds / m.cpuSeconds).toFixed(2)} CPU, ` +
          `peak ${(m.peakRssBytes / 1048576).toFixed(0)} MB`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
