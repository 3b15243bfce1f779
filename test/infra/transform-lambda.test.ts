/**
 * The Transform Lambda in the stack (issue 12, a right-sized engine): arm64 with DuckDB's
 * linux-arm64 binary, sized from the measurement in transform/README.md (memory, /tmp, timeout
 * under its task's), reserved concurrency, the routing threshold on the validate Lambda, exactly
 * its declared grants (staging read, curated/manifests/lock write, the key), invocable by the state
 * machine, cdk-nag clean; and every setting configurable.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from '../../infra/config';
import { EtlPipelineStack } from '../../infra/pipeline-stack';
import { DEFAULT_TRANSFORM_LAMBDA_MAX_BYTES } from '../../core/steps';
import { nativePackagesFor } from '../../infra/native-modules';
import { FUNCTION_TIMEOUT_SECONDS } from '../../statemachines/definition';
import {
  LAMBDA_TRACING_ACTIONS,
  audit,
  grantsOf,
  usesOfNeeds,
  type ResourceMarkers,
  type TemplateJson,
  type Use,
} from './iam-audit';
import { REPO_ROOT, TEST_EMAIL, synthPipeline, type Synthesized } from './synth';

let synth: Synthesized;
beforeAll(() => {
  synth = synthPipeline();
});

const fnProps = (s: Synthesized, step: string) =>
  s.template.toJSON().Resources[s.stack.getLogicalId(s.stack.steps.get(step).fn.node.defaultChild as never)]
    .Properties;

describe('the transform function', () => {
  test('arm64, Node 22, memory / ephemeral storage / timeout from the measurement, reserved concurrency', () => {
    expect(fnProps(synth, 'transform')).toMatchObject({
      FunctionName: 'serverless-etl-transform',
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 3008,
      EphemeralStorage: { Size: 3072 },
      ReservedConcurrentExecutions: 10,
      TracingConfig: { Mode: 'Active' },
    });
    // Under the TransformInLambda task's TimeoutSeconds (900), so Lambda's own timeout fires first.
    expect(FUNCTION_TIMEOUT_SECONDS.transform).toBeLessThan(900);
    expect(fnProps(synth, 'transform').Timeout).toBeGreaterThanOrEqual(FUNCTION_TIMEOUT_SECONDS.transform);
    expect(fnProps(synth, 'transform').Timeout).toBeLessThan(900);
    expect(fnProps(synth, 'transform').Environment.Variables).toMatchObject({
      LAKE_BUCKET: {
        Ref: synth.stack.getLogicalId(synth.stack.storage.lakeBucket.node.defaultChild as never),
      },
      SCHEMAS_DIR: '/var/task/schemas',
    });
  });

  test('the validate function carries the routing threshold (default: 1 GiB of staging)', () => {
    expect(fnProps(synth, 'validate').Environment.Variables).toMatchObject({
      TRANSFORM_LAMBDA_MAX_BYTES: String(DEFAULT_TRANSFORM_LAMBDA_MAX_BYTES),
    });
    expect(fnProps(synth, 'transform').Environment.Variables.TRANSFORM_LAMBDA_MAX_BYTES).toBeUndefined();
  });

  test('the validate function (1,769 MB: one vCPU) writes CSV staging; the transform function sets no staging format', () => {
    expect(fnProps(synth, 'validate').MemorySize).toBe(1769);
    expect(fnProps(synth, 'validate').Environment.Variables).toMatchObject({ ETL_STAGING_FORMAT: 'csv' });
    expect(fnProps(synth, 'transform').Environment.Variables.ETL_STAGING_FORMAT).toBeUndefined();
  });

  test('its role grants exactly its iamNeeds: staging/manifests/lock read, curated/manifests/lock write, the key; nothing on landing', () => {
    const t = synth.template.toJSON() as TemplateJson;
    const s = synth.stack;
    const idOf = (c: { node: { defaultChild?: unknown } }) => s.getLogicalId(c.node.defaultChild as never);
    const built = s.steps.get('transform');
    const markers = {
      lakeBucket: idOf(s.storage.lakeBucket),
      key: idOf(s.storage.key as never),
    } as unknown as ResourceMarkers;
    const uses: Use[] = [
      ...usesOfNeeds(built.iamNeeds, markers),
      ...['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) => ({
        action,
        markers: [idOf(built.logGroup)],
        why: 'its own log group',
      })),
      ...LAMBDA_TRACING_ACTIONS.map((action) => ({ action, markers: ['*'], why: 'active tracing' })),
    ];
    const role = t.Resources[idOf(built.fn)]!.Properties.Role['Fn::GetAtt'][0];
    const grants = grantsOf(t, role);

    expect(audit(grants, uses)).toEqual([]);
    const text = JSON.stringify(t.Resources[role]) + JSON.stringify(grants);
    expect(text).not.toContain(idOf(s.storage.landingBucket));
    expect(grants.some((g) => g.action === 'kms:GenerateDataKey')).toBe(true);
    expect(grants.some((g) => g.action === 'kms:Decrypt')).toBe(true);
  });

  test('the state machine may invoke it', () => {
    const t = synth.template.toJSON() as TemplateJson;
    const s = synth.stack;
    const fnId = s.getLogicalId(s.steps.get('transform').fn.node.defaultChild as never);
    const smRole = s.getLogicalId(s.stateMachineRole.node.defaultChild as never);
    const invoke = grantsOf(t, smRole).filter((g) => g.action === 'lambda:InvokeFunction');
    expect(JSON.stringify(invoke)).toContain(fnId);
  });

  test('cdk-nag: no finding on the transform function, its role, policy or log group', () => {
    const outdir = mkdtempSync(path.join(os.tmpdir(), 'etl-transform-nag-'));
    // Built here rather than by synthPipeline, whose Template.fromStack fails on any finding in
    // the stack: this test reads the findings about the transform function only.
    const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
      context: Record<string, unknown>;
    };
    const app = new App({
      outdir,
      context: { ...cdkJson.context, 'etl:notificationEmail': TEST_EMAIL, 'aws:cdk:bundling-stacks': [] },
    });
    const stack = new EtlPipelineStack(app, 'EtlTest', {
      config: loadConfig({ context: (k) => app.node.tryGetContext(k), env: {} }),
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    let nagError: Error | undefined;
    try {
      app.synth();
    } catch (e) {
      nagError = e as Error;
    }
    const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: {
        pluginName: string;
        violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
      }[];
    };
    const mine = stack.steps.get('transform').fn.node.path.replace(/\/[^/]+$/, '/Transform');
    const findings = report.pluginReports
      .find((r) => r.pluginName === 'AwsSolutions')!
      .violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`))
      .filter((f) => f.includes(mine));

    expect(mine).toMatch(/\/Steps\/Transform$/);
    expect(findings).toEqual([]);
    // The whole stack's nag verdict belongs to test/infra/least-privilege.test.ts.
    expect(nagError === undefined || !nagError.message.includes(mine)).toBe(true);
  });

  test('every setting is configurable: threshold, memory, /tmp, reserved concurrency', () => {
    const custom = synthPipeline({
      settings: {
        transformLambdaMaxBytes: 52428800,
        transformLambdaMemoryMiB: 10240,
        transformLambdaEphemeralStorageMiB: 10240,
        transformLambdaReservedConcurrency: 3,
      },
    });
    expect(fnProps(custom, 'transform')).toMatchObject({
      MemorySize: 10240,
      EphemeralStorage: { Size: 10240 },
      ReservedConcurrentExecutions: 3,
    });
    expect(fnProps(custom, 'validate').Environment.Variables.TRANSFORM_LAMBDA_MAX_BYTES).toBe('52428800');
    expect(() => synthPipeline({ settings: { transformLambdaMemoryMiB: 1024 } })).toThrow(
      /transformLambdaMemoryMiB.*3008–10240/,
    );
  });
});

describe('DuckDB for the Lambda architecture (infra/native-modules.ts)', () => {
  test("arm64 ships node-api, node-bindings, detect-libc and the linux-arm64 glibc binary at the lock's versions", () => {
    const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string; integrity: string }>;
    };
    const pkgs = nativePackagesFor(['@duckdb/node-api'], 'arm64', REPO_ROOT);

    expect(pkgs.map((p) => p.name).sort()).toEqual(
      [
        '@duckdb/node-api',
        '@duckdb/node-bindings',
        '@duckdb/node-bindings-linux-arm64',
        'detect-libc',
      ].sort(),
    );
    for (const p of pkgs) {
      expect({ name: p.name, version: p.version, integrity: p.integrity }).toEqual({
        name: p.name,
        version: lock.packages[`node_modules/${p.name}`]!.version,
        integrity: lock.packages[`node_modules/${p.name}`]!.integrity,
      });
    }
    expect(nativePackagesFor(['@duckdb/node-api'], 'x86_64', REPO_ROOT).map((p) => p.name)).toContain(
      '@duckdb/node-bindings-linux-x64',
    );
  });

  test('a package the lock does not pin is refused with the fix', () => {
    expect(() => nativePackagesFor(['no-such-package-here'], 'arm64', REPO_ROOT)).toThrow(
      /no entry node_modules\/no-such-package-here.*Fix: npm install/,
    );
  });
});
