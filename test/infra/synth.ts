/**
 * Synthesizes the pipeline stack in-process for the infra tests: the real config loader, the real
 * functions/ (or a fixture folder), bundling skipped unless asked for (the one bundling test does).
 */
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type PipelineConfig } from '../../infra/config';
import { EtlPipelineStack } from '../../infra/pipeline-stack';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const TEST_EMAIL = 'data-oncall@pipeline.test';

export interface SynthOptions {
  /** Context settings (without the `etl:` prefix). */
  readonly settings?: Record<string, unknown>;
  /** Bundle the functions with esbuild (slow: only the bundling test). @default false */
  readonly bundle?: boolean;
  /** Register the AWS Solutions nag pack. @default false */
  readonly nag?: boolean;
  readonly functionsDir?: string;
  readonly outdir?: string;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: EtlPipelineStack;
  readonly template: Template;
  readonly config: PipelineConfig;
}

const STEPS = ['claim', 'validate', 'quarantine', 'catalog', 'verify', 'archive', 'reconcile'];

/**
 * The functions folder the tests synthesize: each step's real folder under functions/ once its
 * handler declares iamNeeds, else the fixture stand-in (while that step is still being written).
 */
export function functionsDirForTests(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'etl-functions-'));
  for (const step of STEPS) {
    const real = path.join(REPO_ROOT, 'functions', step);
    const handler = path.join(real, 'handler.ts');
    const ready = existsSync(handler) && /export const iamNeeds\b/.test(readFileSync(handler, 'utf8'));
    symlinkSync(
      ready ? real : path.join(REPO_ROOT, 'test/fixtures/infra/functions', step),
      path.join(dir, step),
      'dir',
    );
  }
  return dir;
}

export function synthPipeline(options: SynthOptions = {}): Synthesized {
  // The same context `cdk synth` uses (cdk.json: feature flags and default settings).
  const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const context: Record<string, unknown> = {
    ...cdkJson.context,
    'etl:notificationEmail': TEST_EMAIL,
    ...Object.fromEntries(Object.entries(options.settings ?? {}).map(([k, v]) => [`etl:${k}`, v])),
  };
  if (!options.bundle) context['aws:cdk:bundling-stacks'] = [];
  const app = new App({
    context,
    outdir: options.outdir ?? mkdtempSync(path.join(os.tmpdir(), 'etl-infra-')),
  });
  const config = loadConfig({ context: (k) => app.node.tryGetContext(k), env: {} });
  const stack = new EtlPipelineStack(app, 'EtlTest', {
    config,
    functionsDir: options.functionsDir ?? functionsDirForTests(),
  });
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const template = Template.fromStack(stack);
  return { app, stack, template, config };
}
