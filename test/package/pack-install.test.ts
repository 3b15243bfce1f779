/* eslint-disable @typescript-eslint/no-explicit-any -- synthesized CloudFormation is untyped JSON */
/**
 * The package as a team gets it (issue 16 item 1): `npm pack` (prepack builds dist/: tsc's .js +
 * .d.ts, the ASL and Glue script, every step's prebuilt Lambda bundle), the tarball installed into a
 * fresh CDK app outside the repository with aws-cdk-lib and constructs as the app's own packages
 * (peer dependencies), and the code example of infra/README.md ("Use it in your own CDK app")
 * type-checked against the package's .d.ts and synthesized there with plain `node`.
 *
 * The template must hold the state machine and every step's Lambda, each with code staged from the
 * package plus the app's contracts, and be the template the repository synthesizes from source for
 * the same app (only asset hashes differ): the prebuilt bundles are the stack's own bundling.
 *
 * Needs the npm registry (or npm's cache) for the app's install; slow (pack ≈ 30 s, install ≈ 15-60 s).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO = path.resolve(__dirname, '../..');
const CONTRACTS = path.join(REPO, 'test/fixtures/infra/schemas');
/** A pulled source beside the team's contracts (issue 14): the installed package schedules it. */
const SOURCE = path.join(REPO, 'test/fixtures/sources/schemas/registrations-feed.source.json');
const BIN = path.join(REPO, 'node_modules', '.bin');
const STEPS_DIR = path.join(REPO, 'functions');

/** The README block after this marker is the example the test builds. */
const EXAMPLE_MARKER = '<!-- synthesized by test/package/pack-install.test.ts -->';

function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env, PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ''}` },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 900_000,
  });
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`,
    );
  }
  return r;
}

/** The fenced TypeScript block right after the marker in infra/README.md. */
function readmeExample(): string {
  const readme = readFileSync(path.join(REPO, 'infra/README.md'), 'utf8');
  const at = readme.indexOf(EXAMPLE_MARKER);
  if (at < 0) throw new Error(`infra/README.md has no ${EXAMPLE_MARKER}`);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!block) throw new Error('infra/README.md: no ```ts block after the example marker');
  return block[1]!;
}

/** Every step the repository builds a Lambda for. */
const stepFolders = () =>
  readdirSync(STEPS_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(STEPS_DIR, e.name, 'handler.ts')))
    .map((e) => e.name);

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, any> }> };
const ofType = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);

/** The template with every asset's content hash blanked (they name where code is, not what it does). */
function withoutAssetHashes(t: Template): string {
  return JSON.stringify(t).replace(/[0-9a-f]{64}(\.zip|\.py)?/g, '<asset>$1');
}

const work = mkdtempSync(path.join(os.tmpdir(), 'etl-pack-'));
const appDir = path.join(work, 'team-app');
let installed: Template;
let fromSource: Template;
let tarball: string;
let cdkOut: string;

beforeAll(() => {
  // 1. Pack (prepack: npm run build:package).
  const packed = run('npm', ['pack', '--pack-destination', work, '--json'], REPO);
  // npm's JSON is the last thing on stdout (prepack's build reports go to stderr).
  // Its outer array opens at the start of a line; anything a lifecycle script printed comes before.
  const out = packed.stdout;
  const manifest = JSON.parse(out.slice(out.startsWith('[') ? 0 : out.lastIndexOf('\n[\n') + 1)) as [
    { filename: string; files: { path: string }[] },
  ];
  tarball = path.join(work, manifest[0].filename);

  // 2. A fresh app outside the repository: the tarball, and the peers at the repo's versions.
  const version = (pkg: string) =>
    (
      JSON.parse(readFileSync(path.join(REPO, 'node_modules', pkg, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  cpSync(CONTRACTS, path.join(appDir, 'contracts'), { recursive: true });
  cpSync(SOURCE, path.join(appDir, 'contracts', path.basename(SOURCE)));
  writeFileSync(
    path.join(appDir, 'package.json'),
    JSON.stringify({ name: 'team-app', version: '1.0.0', private: true }, null, 2),
  );
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      tarball,
      `aws-cdk-lib@${version('aws-cdk-lib')}`,
      `constructs@${version('constructs')}`,
    ],
    appDir,
  );

  // 3. The README's example, type-checked against the package's .d.ts, compiled, synthesized.
  writeFileSync(path.join(appDir, 'app.ts'), readmeExample());
  writeFileSync(
    path.join(appDir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'node16',
        moduleResolution: 'node16',
        strict: true,
        skipLibCheck: true,
        types: [],
      },
      files: ['app.ts'],
    }),
  );
  run(path.join(BIN, 'tsc'), ['-p', 'tsconfig.json'], appDir);
  cdkOut = path.join(appDir, 'cdk.out');
  run(process.execPath, ['app.js'], appDir, { CDK_OUTDIR: cdkOut });
  installed = JSON.parse(readFileSync(path.join(cdkOut, 'TeamData.template.json'), 'utf8')) as Template;

  // 4. The same example from the repository's sources (import rewritten to infra/index.ts, the
  // repository's aws-cdk-lib), bundling skipped: the template to compare with.
  const srcDir = path.join(work, 'from-source');
  writeFileSync(
    path.join(work, 'from-source.ts'),
    readmeExample().replace(
      `from 'serverless-etl'`,
      `from ${JSON.stringify(path.join(REPO, 'infra', 'index'))}`,
    ),
  );
  run(path.join(BIN, 'tsx'), [path.join(work, 'from-source.ts')], appDir, {
    CDK_OUTDIR: srcDir,
    CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [] }),
    NODE_PATH: path.join(REPO, 'node_modules'),
  });
  fromSource = JSON.parse(readFileSync(path.join(srcDir, 'TeamData.template.json'), 'utf8')) as Template;
}, 1_200_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm pack → install in a fresh CDK app → synth', () => {
  test('the tarball holds the built library, its assets and a bundle per step, no TypeScript sources', () => {
    const listing = run('tar', ['-tzf', tarball], work).stdout.split('\n');
    expect(listing).toEqual(
      expect.arrayContaining([
        'package/dist/infra/index.js',
        'package/dist/infra/index.d.ts',
        'package/dist/statemachines/pipeline.asl.json',
        'package/dist/glue/etl_job.py',
      ]),
    );
    const steps = stepFolders();
    expect(steps.length).toBeGreaterThanOrEqual(14);
    for (const step of steps) expect(listing).toContain(`package/dist/lambda/${step}/functions/index.js`);
    expect(listing.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(listing.filter((f) => f.includes('/schemas/'))).toEqual([]);
  });

  test('aws-cdk-lib and constructs are the app’s own (peer dependencies), not a second copy', () => {
    const pkgDir = path.join(appDir, 'node_modules', 'serverless-etl');
    const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>;
    };
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    expect(existsSync(path.join(pkgDir, 'node_modules', 'aws-cdk-lib'))).toBe(false);
    expect(existsSync(path.join(pkgDir, 'node_modules', 'constructs'))).toBe(false);
  });

  test('the template has the state machine and every step’s Lambda, code from the package plus the app’s contracts', () => {
    const machines = ofType(installed, 'AWS::StepFunctions::StateMachine');
    expect(machines).toHaveLength(1);
    expect(JSON.stringify(machines[0]![1].Properties!.DefinitionString)).toContain('FileRejected');
    const functions = ofType(installed, 'AWS::Lambda::Function');
    // One per step folder (functions/<step>/handler.ts): the 15 of today (pull: the app has a source).
    expect(functions).toHaveLength(stepFolders().length);
    const contracts = readdirSync(CONTRACTS).sort();
    const assets = JSON.parse(readFileSync(path.join(cdkOut, 'TeamData.assets.json'), 'utf8')) as {
      files: Record<string, { source: { path: string } }>;
    };
    for (const [id, fn] of functions) {
      const hash = String(fn.Properties!.Code.S3Key).replace(/\.zip$/, '');
      const staged = path.join(cdkOut, assets.files[hash]!.source.path);
      expect(`${id}: ${existsSync(path.join(staged, 'functions', 'index.js'))}`).toBe(`${id}: true`);
      // The contracts travel with every function; the source definition only with the pull function.
      const pull = String(fn.Properties!.FunctionName).endsWith('-pull');
      expect(`${id}: ${readdirSync(path.join(staged, 'schemas')).sort().join(' ')}`).toBe(
        `${id}: ${(pull ? [...contracts, path.basename(SOURCE)].sort() : contracts).join(' ')}`,
      );
    }
    const schedules = ofType(installed, 'AWS::Scheduler::Schedule').map(([, r]) => r.Properties!.Name);
    expect(schedules.filter((n: string) => n.endsWith('-pull-registrations-feed'))).toHaveLength(1);
    // The transform step (arm64) ships DuckDB's Linux arm64 binding where Node finds it.
    const transform = functions.find(([, fn]) => String(fn.Properties!.FunctionName).endsWith('-transform'));
    const staged = path.join(
      cdkOut,
      assets.files[String(transform![1].Properties!.Code.S3Key).replace(/\.zip$/, '')]!.source.path,
    );
    expect(existsSync(path.join(staged, 'node_modules', '@duckdb', 'node-bindings-linux-arm64'))).toBe(true);
  });

  test('it is the template the repository synthesizes from source for the same app (asset hashes aside)', () => {
    expect(Object.keys(installed.Resources).sort()).toEqual(Object.keys(fromSource.Resources).sort());
    expect(withoutAssetHashes(installed)).toEqual(withoutAssetHashes(fromSource));
  });
});
