import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../support/python';
import { synthPipeline, type Synthesized } from './synth';

const CFN_LINT = path.join(REPO_ROOT, '.venv', 'bin', 'cfn-lint');

let synth: Synthesized;
let synthError: Error | undefined;
let outdir: string;

beforeAll(() => {
  outdir = mkdtempSync(path.join(os.tmpdir(), 'etl-nag-'));
  synth = synthPipeline({ nag: true, outdir });
  try {
    // With the AWS Solutions pack registered, any finding not acknowledged fails the synth.
    synth.app.synth();
  } catch (e) {
    synthError = e as Error;
  }
});

interface Acknowledged {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

/** Every acknowledgement recorded on any construct, with where it sits. */
function acknowledgements(): Acknowledged[] {
  const out: Acknowledged[] = [];
  for (const c of synth.app.node.findAll()) {
    for (const entry of c.node.metadata.filter(
      (m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY,
    )) {
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        out.push({ path: c.node.path, id, reason });
      }
    }
  }
  return out;
}

describe('cdk-nag AwsSolutions', () => {
  test('synth passes with no finding that is not acknowledged', () => {
    const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; conclusion: string; violations: { ruleName: string }[] }[];
    };

    expect(synthError?.message).toBeUndefined();
    const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions')!;
    expect(nag.violations.map((v) => v.ruleName)).toEqual([]);
    expect(nag.conclusion).toBe('success');
  });

  test('every acknowledgement is scoped to a resource below the stack and carries a real reason', () => {
    const acks = acknowledgements();

    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.path.split('/').length).toBeGreaterThan(1); // never the app or the whole stack
      expect(ack.id).toMatch(/^AwsSolutions::AwsSolutions-/);
      expect(ack.reason.length).toBeGreaterThan(40);
    }
  });

  test('wildcard-resource acknowledgements are only for actions without resource-level permissions', () => {
    const star = acknowledgements().filter((a) => a.id.endsWith('[Resource::*]'));

    for (const ack of star) expect(ack.reason).toMatch(/support no resource-level permissions/);
  });

  test('the check is live: an unacknowledged finding fails a synth', () => {
    const app = new App({ outdir: mkdtempSync(path.join(os.tmpdir(), 'etl-nag-live-')) });
    new s3.Bucket(new Stack(app, 'Careless'), 'NoLogsNoTls');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    expect(() => app.synth()).toThrow(/AwsSolutions-S1/);
  });
});

describe('cfn-lint', () => {
  test('the synthesized template has zero errors', () => {
    if (!existsSync(CFN_LINT)) {
      const msg = 'cfn-lint: NOT RUN — .venv/bin/cfn-lint missing. Run `npm run setup:python` to include it.';
      if (process.env.CI === 'true') throw new Error(msg);
      console.warn(msg);
      return;
    }
    const templateFile = path.join(outdir, `${synth.stack.artifactId}.template.json`);

    const result = spawnSync(CFN_LINT, ['--format', 'parseable', '--', templateFile], { encoding: 'utf8' });

    // cfn-lint's exit code is a bit field: 2 = errors, 4 = warnings, 8 = informational.
    const errors = result.stdout.split('\n').filter((l) => /:E\d{4}:/.test(l));
    expect(errors).toEqual([]);
    expect(result.status! & 2).toBe(0);
    expect(result.status! & 1).toBe(0); // 1 = cfn-lint itself failed
  });
});
