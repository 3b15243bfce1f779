// Starts the `etl` CLI fast. Why: through tsx every TypeScript module is transformed and
// source-mapped at load, about half a second of CPU per command. Instead the CLI's own sources
// are bundled once with esbuild (packages stay external, `__dirname` of each module is kept) into
// node_modules/.cache/etl/, and rebuilt when any bundled source file changes. If bundling fails,
// the CLI runs through tsx as before.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const entry = path.join(root, 'cli', 'main.ts');
const cacheDir = path.join(root, 'node_modules', '.cache', 'etl');
const bundle = path.join(cacheDir, 'main.cjs');
const inputsFile = path.join(cacheDir, 'inputs.json');

/** True when the bundle exists and no file it was built from changed since. */
function isFresh() {
  let built;
  try {
    built = fs.statSync(bundle).mtimeMs;
    const { builtFrom, inputs } = JSON.parse(fs.readFileSync(inputsFile, 'utf8'));
    // A bundle built from another checkout that shares this node_modules (a linked copy) is not ours.
    if (builtFrom !== root) return false;
    return inputs.every((file) => fs.statSync(path.join(root, file)).mtimeMs < built);
  } catch {
    return false;
  }
}

/**
 * Worker threads the bundled code starts. Their entry is bundled beside the bundle, and the module
 * that starts one sees the bundle's folder as `__dirname`, which is how the Lambda bundle ships
 * them (csv/parallel.ts looks for `validate-parse-worker.js` next to itself). From
 * the sources they would need tsx in the worker, which a bundled process does not have.
 */
const WORKERS = [
  {
    entry: 'csv/parse-worker.ts',
    out: 'validate-parse-worker.js',
    startedBy: 'csv/parallel.ts',
  },
];

/** Each module's own folder for `__dirname` (files such as schemas/ are found relative to it). */
const keepDirname = {
  name: 'keep-dirname',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const rel = path.relative(root, args.path).split(path.sep).join('/');
      const dir = WORKERS.some((w) => w.startedBy === rel) ? cacheDir : path.dirname(args.path);
      const text = fs.readFileSync(args.path, 'utf8');
      return {
        contents: text
          .replace(/\b__dirname\b/g, JSON.stringify(dir))
          .replace(/\b__filename\b/g, JSON.stringify(args.path)),
        loader: 'ts',
      };
    });
  },
};

async function build() {
  const esbuild = require('esbuild');
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = `${bundle}.${process.pid}.tmp`;
  const result = await esbuild.build({
    entryPoints: [entry],
    // Metafile inputs are relative to this folder: the freshness check resolves them against root.
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    packages: 'external',
    outfile: tmp,
    metafile: true,
    logLevel: 'silent',
    plugins: [keepDirname],
  });
  const inputs = Object.keys(result.metafile.inputs);
  for (const w of WORKERS) {
    if (!fs.existsSync(path.join(root, w.entry))) continue;
    const worker = await esbuild.build({
      entryPoints: [path.join(root, w.entry)],
      absWorkingDir: root,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node22',
      packages: 'external',
      outfile: `${path.join(cacheDir, w.out)}.${process.pid}.tmp`,
      metafile: true,
      logLevel: 'silent',
      plugins: [keepDirname],
    });
    fs.renameSync(`${path.join(cacheDir, w.out)}.${process.pid}.tmp`, path.join(cacheDir, w.out));
    inputs.push(...Object.keys(worker.metafile.inputs));
  }
  // Inputs first, bundle last: a reader never pairs a new bundle with an old input list.
  fs.writeFileSync(`${inputsFile}.${process.pid}.tmp`, JSON.stringify({ builtFrom: root, inputs }));
  fs.renameSync(`${inputsFile}.${process.pid}.tmp`, inputsFile);
  fs.renameSync(tmp, bundle);
}

async function start() {
  // V8's code cache on disk (Node 22's module.enableCompileCache): the bundle and the packages it
  // loads are compiled once and read back by the next command, not compiled at every start.
  try {
    require('node:module').enableCompileCache?.(path.join(cacheDir, 'v8'));
  } catch {
    // no cache: compiled as before
  }
  if (process.env.ETL_NO_BUNDLE !== '1') {
    try {
      if (!isFresh()) await build();
      require(bundle).runCli();
      return;
    } catch (e) {
      if (process.env.ETL_DEBUG) process.stderr.write(`etl: bundle unavailable (${e.message}); using tsx\n`);
    }
  }
  require('tsx/cjs');
  require(entry).runCli();
}

void start();
