/**
 * Builds the construct library into dist/ (`npm run build:package`; `npm pack` runs it as prepack):
 *
 * 1. `tsc -p tsconfig.build.json`: infra/index.ts and what it imports, as CommonJS `.js` + `.d.ts`,
 *    in the repository's layout (dist/infra, dist/core, dist/statemachines, ...), so every asset
 *    path those files resolve from `__dirname` points inside the package, never at a cwd.
 * 2. The files they read at synth: statemachines/pipeline.asl.json, glue/etl_job.py.
 * 3. Every step's Lambda bundle, built by the stack's own bundling (infra/constructs/step-functions.ts
 *    bundles each `functions/<step>/handler.ts` with the local esbuild, its workers and its Linux
 *    native packages for its architecture), taken from a synthesized EtlPipeline and kept in
 *    dist/lambda/<step>/ without the contracts (an app adds its own at synth). An installed package
 *    then needs neither esbuild, Docker, the network nor package-lock.json to synthesize.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import type * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { STEPS } from '../functions/steps';
import { EtlPipeline } from '../infra/etl-pipeline';
import { PREBUILT_NATIVE_DIR } from '../infra/constructs/step-functions';

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
/** Files the built code reads at synth, relative to the repository (and to dist/). */
const ASSET_FILES = ['statemachines/pipeline.asl.json', 'glue/etl_job.py'];

function fail(message: string): never {
  console.error(`build-package: ${message}`);
  process.exit(1);
}

function compile(): void {
  const tsc = spawnSync(
    path.join(ROOT, 'node_modules', '.bin', 'tsc'),
    ['-p', path.join(ROOT, 'tsconfig.build.json')],
    { cwd: ROOT, stdio: 'inherit' },
  );
  if (tsc.status !== 0) fail(`tsc -p tsconfig.build.json exited ${tsc.status ?? tsc.signal}`);
}

function copyAssetFiles(): void {
  for (const rel of ASSET_FILES) {
    mkdirSync(path.dirname(path.join(DIST, rel)), { recursive: true });
    cpSync(path.join(ROOT, rel), path.join(DIST, rel));
  }
}

/** The bundle folder CDK staged for a function built by StepFunctions. */
function stagedBundleOf(app: App, fn: { node: { findChild(id: string): unknown } }): string {
  const asset = fn.node.findChild('Code') as s3assets.Asset;
  return path.resolve(app.outdir, asset.assetPath);
}

function bundleLambdas(): string[] {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'etl-package-'));
  try {
    const app = new App({ outdir });
    const pipeline = new EtlPipeline(new Stack(app, 'PackageBuild'), 'Etl', {
      notificationEmail: 'package-build@example.com',
      // Any valid contracts: they are left out of the bundles below.
      contractsDir: path.join(ROOT, 'schemas'),
      namePrefix: 'package-build',
    });
    const built: string[] = [];
    const groups = [pipeline.steps, pipeline.recordFailure, pipeline.reconcile];
    // functions/pull exists only in a stack with a source definition beside its contracts.
    if (pipeline.pulls) groups.push(pipeline.pulls.functions);
    else fail('schemas/ has no <name>.source.json: the pull function would not be bundled');
    for (const group of groups) {
      for (const [step, { fn }] of group.byStep) {
        const staged = stagedBundleOf(app, fn);
        const target = path.join(DIST, 'lambda', step);
        rmSync(target, { recursive: true, force: true });
        for (const entry of readdirSync(staged)) {
          if (entry === 'schemas') continue;
          // npm pack drops node_modules folders: the native packages travel as native_modules/.
          cpSync(
            path.join(staged, entry),
            path.join(target, entry === 'node_modules' ? PREBUILT_NATIVE_DIR : entry),
            { recursive: true },
          );
        }
        built.push(step);
      }
    }
    const missing = Object.keys(STEPS).filter((s) => !built.includes(s));
    if (missing.length > 0)
      fail(`no bundle built for step(s) ${missing.join(', ')} (functions/steps.ts STEPS)`);
    return built;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function sizeOf(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? sizeOf(p) : statSync(p).size;
  }
  return total;
}

rmSync(DIST, { recursive: true, force: true });
compile();
copyAssetFiles();
const steps = bundleLambdas();
if (!existsSync(path.join(DIST, 'infra', 'index.d.ts'))) fail('dist/infra/index.d.ts was not emitted');
console.error(
  `build-package: dist/ ready — ${steps.length} step bundles (${steps.join(', ')}), ${(sizeOf(DIST) / 2 ** 20).toFixed(1)} MiB`,
);
