/**
 * `cdk synth` the way a user runs it: the local CDK CLI, cdk.json's app (tsx infra/app.ts), real
 * esbuild bundling of every function, and no AWS credentials anywhere in the environment.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stepRegistration } from '../../functions/steps';
import { REPO_ROOT } from '../support/python';

const BIN = path.join(REPO_ROOT, 'node_modules', '.bin');

interface AssetManifest {
  files: Record<string, { source: { path: string; packaging?: string } }>;
}

test('cdk synth bundles every function offline and needs no AWS credentials', () => {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'etl-cdk-cli-'));
  const noCredentials = path.join(outdir, 'no-such-aws-file');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ''}`, // Node 22 from node_modules first
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_DEFAULT_PROFILE: '',
    AWS_CONFIG_FILE: noCredentials,
    AWS_SHARED_CREDENTIALS_FILE: noCredentials,
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    CI: 'true',
  };
  delete env.CDK_DEFAULT_ACCOUNT;
  delete env.CDK_DEFAULT_REGION;

  const result = spawnSync(
    path.join(BIN, 'cdk'),
    [
      'synth',
      '--no-notices',
      '--quiet',
      '--output',
      outdir,
      '-c',
      'etl:notificationEmail=oncall@pipeline.test',
    ],
    { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 240_000 },
  );

  expect({ status: result.status, stderr: result.status === 0 ? '' : result.stderr.slice(-3000) }).toEqual({
    status: 0,
    stderr: '',
  });
  const template = JSON.parse(readFileSync(path.join(outdir, 'ServerlessEtl.template.json'), 'utf8')) as {
    Resources: Record<
      string,
      {
        Type: string;
        Metadata?: Record<string, string>;
        Properties: { FunctionName: string; Environment: { Variables: Record<string, unknown> } };
      }
    >;
  };
  const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
  // twelve Task-state steps + reconcile + record-failure + pull (schemas/ has a source definition)
  expect(functions).toHaveLength(15);

  // What the nodejs22.x runtime provides besides the bundle: the AWS SDK v3, nothing else.
  const runtimeModules = path.join(outdir, 'lambda-runtime', 'node_modules');
  mkdirSync(runtimeModules, { recursive: true });
  symlinkSync(path.join(REPO_ROOT, 'node_modules', '@aws-sdk'), path.join(runtimeModules, '@aws-sdk'), 'dir');

  const assets = JSON.parse(
    readFileSync(path.join(outdir, 'ServerlessEtl.assets.json'), 'utf8'),
  ) as AssetManifest;
  for (const fn of functions) {
    const bundle = path.join(outdir, fn.Metadata!['aws:asset:path']!);
    const code = readFileSync(path.join(bundle, 'functions', 'index.js'), 'utf8');

    // Worker-thread entries (functions/steps.ts) are started by file name, so each ships beside the handler.
    const step = fn.Properties.FunctionName.replace(/^serverless-etl-/, '');
    for (const worker of stepRegistration(step).workers ?? []) {
      const bundled = `${step}-${path.basename(worker).replace(/\.ts$/, '.js')}`;
      expect({ bundled, exists: existsSync(path.join(bundle, 'functions', bundled)) }).toEqual({
        bundled,
        exists: true,
      });
    }
    // A step with native packages ships them with the Linux binary of its own architecture (the
    // arm64 binding is fetched from the npm registry when this machine's npm installed x64 only).
    const registration = stepRegistration(step);
    if ((registration.nativeModules ?? []).length > 0) {
      const arch = (fn.Properties as unknown as { Architectures: string[] }).Architectures[0];
      const binding = path.join(
        bundle,
        'node_modules',
        '@duckdb',
        `node-bindings-linux-${arch === 'arm64' ? 'arm64' : 'x64'}`,
        'duckdb.node',
      );
      // ELF e_machine (offset 18, little-endian): 0xB7 aarch64, 0x3E x86-64.
      const machine = readFileSync(binding).readUInt16LE(18);
      expect({ step, machine }).toEqual({ step, machine: arch === 'arm64' ? 0xb7 : 0x3e });
      expect(existsSync(path.join(bundle, 'node_modules', 'detect-libc', 'package.json'))).toBe(true);
    }
    // The contracts travel with the code; SCHEMAS_DIR points at them. The source definitions only
    // with the function that reads them (functions/pull).
    expect(existsSync(path.join(bundle, 'schemas', 'registrations.schema.json'))).toBe(true);
    expect({ step, sources: existsSync(path.join(bundle, 'schemas', 'github-events.source.json')) }).toEqual({
      step,
      sources: registration.sourceDefinitions === true,
    });
    // AWS SDK v3 stays external (the runtime ships it): required, never inlined.
    expect(code).not.toMatch(/class S3Client\b|class DynamoDBClient\b/);
    expect(statSync(path.join(bundle, 'functions', 'index.js')).size).toBeLessThan(2 * 1024 * 1024);
    // It loads on Node 22 with only the AWS SDK available and the environment the stack sets (as on
    // Lambda; values CloudFormation resolves at deploy time stand in as text), and exports `handler`.
    const environment = Object.fromEntries(
      Object.entries(fn.Properties.Environment.Variables).map(([k, v]) => [
        k,
        typeof v === 'string'
          ? v
          : k.endsWith('_ARN')
            ? `arn:aws:states:us-east-1:123456789012:stateMachine:${k}` // ARN-shaped: reconcile parses it
            : `${k}-resolved-at-deploy`,
      ]),
    );
    const load = spawnSync(
      path.join(BIN, 'node'),
      [
        '-e',
        `process.stdout.write(typeof require(${JSON.stringify(path.join(bundle, 'functions', 'index.js'))}).handler)`,
      ],
      {
        cwd: os.tmpdir(),
        env: { ...environment, PATH: env.PATH, NODE_PATH: runtimeModules },
        encoding: 'utf8',
      },
    );
    expect({
      bundle: fn.Metadata!['aws:asset:path'],
      exported: load.stdout,
      error: load.stderr.slice(-500),
    }).toEqual({
      bundle: fn.Metadata!['aws:asset:path'],
      exported: 'function',
      error: '',
    });
  }
  expect(Object.values(assets.files).some((f) => f.source.path.endsWith('.py'))).toBe(true); // the Glue script
}, 300_000);
