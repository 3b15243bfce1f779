/**
 * The step factories know nothing of AWS: loading any `functions/<step>/step.ts` (and so the step's
 * logic, core/ and csv/ behind it), the step registry, the local adapters or the local pipeline
 * loads no `@aws-sdk/*` module. Only the `handler.ts` entries may, and they are never loaded locally.
 *
 * Checked in a fresh Node process (Jest's module registry is its own, and other tests load the SDK):
 * each module is required in turn through tsx, and `require.cache` says which files came with it.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const REPO = path.resolve(__dirname, '../..');
const NODE = path.join(REPO, 'node_modules/.bin/node');

const STEP_FACTORIES = readdirSync(path.join(REPO, 'functions'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => `functions/${d.name}/step.ts`);

/** Requires each module in order; returns, per module, the `@aws-sdk/` files it brought in. */
function sdkFilesLoadedBy(modules: readonly string[]): Record<string, string[]> {
  const script = `
    const loaded = {};
    // The AWS SDK, and the X-Ray SDK the Powertools Tracer loads (core/tracer.ts, AWS entries only).
    const sdk = () => Object.keys(require.cache).filter((k) => k.includes('/@aws-sdk/') || k.includes('/aws-xray-sdk'));
    for (const m of JSON.parse(process.argv[1])) {
      const before = new Set(sdk());
      require(require('node:path').resolve(m));
      loaded[m] = sdk().filter((k) => !before.has(k)).map((k) => k.slice(k.lastIndexOf('node_modules/') + 'node_modules/'.length));
    }
    process.stdout.write(JSON.stringify(loaded));
  `;
  const child = spawnSync(NODE, ['--import', 'tsx', '-e', script, JSON.stringify(modules)], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, POWERTOOLS_TRACE_ENABLED: 'false', POWERTOOLS_LOG_LEVEL: 'SILENT' },
  });
  if (child.status !== 0) throw new Error(`node exited ${child.status}: ${child.stderr}`);
  return JSON.parse(child.stdout) as Record<string, string[]>;
}

test('every Lambda folder has a step factory (the list below is not empty by accident)', () => {
  expect(STEP_FACTORIES).toEqual(
    expect.arrayContaining([
      'functions/claim/step.ts',
      'functions/validate/step.ts',
      'functions/check-still-latest/step.ts',
      'functions/start-crawl/step.ts',
      'functions/poll-crawl/step.ts',
      'functions/verify/step.ts',
      'functions/archive/step.ts',
      'functions/quarantine/step.ts',
      'functions/record-failure/step.ts',
      'functions/reconcile/step.ts',
    ]),
  );
});

test('no step factory, nor the step registry, the local adapters or the local pipeline, loads @aws-sdk', () => {
  const modules = [
    ...STEP_FACTORIES,
    'functions/steps.ts',
    'adapters/local/ledger.ts',
    'adapters/local/catalog.ts',
    'adapters/local/query-engine.ts',
    'adapters/local/object-store.ts',
    'adapters/local/notifier.ts',
    'local/pipeline.ts',
  ];

  const loaded = sdkFilesLoadedBy(modules);

  expect(Object.keys(loaded)).toEqual(modules);
  expect(Object.fromEntries(Object.entries(loaded).filter(([, files]) => files.length > 0))).toEqual({});
});

test('the check sees the SDK when a module does load it (an AWS adapter)', () => {
  const loaded = sdkFilesLoadedBy(['adapters/aws/s3-object-store.ts']);

  expect(loaded['adapters/aws/s3-object-store.ts']).toEqual(
    expect.arrayContaining([expect.stringMatching(/^@aws-sdk\/client-s3\//)]),
  );
});

test('the check sees the X-Ray SDK the Tracer loads, which only the AWS entries import', () => {
  const loaded = sdkFilesLoadedBy(['core/tracer.ts']);

  expect(loaded['core/tracer.ts']).toEqual(
    expect.arrayContaining([expect.stringMatching(/^aws-xray-sdk-core\//)]),
  );
});
