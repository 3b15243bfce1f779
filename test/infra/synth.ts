/**
 * Synthesizes the pipeline stack in-process for the infra tests: the real config loader, the real
 * functions/ (or a fixture folder), bundling skipped unless asked for (the one bundling test does).
 */
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { mkdtempSync, readFileSync } from 'node:fs';
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
    ...(options.functionsDir !== undefined && { functionsDir: options.functionsDir }),
  });
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const template = Template.fromStack(stack);
  return { app, stack, template, config };
}
