/* eslint-disable @typescript-eslint/no-explicit-any -- synthesized CloudFormation is untyped JSON */
/**
 * CDK feature flags (issue 16 item 5): cdk.json sets every flag the installed aws-cdk-lib
 * recommends, so `cdk synth` warns of none, and EtlPipeline does not depend on them silently: a
 * team's app with every recommended flag and an app with none get the same resources, the only
 * difference being how `@aws-cdk/aws-iam:minimizePolicies` merges policy statements (the same
 * actions on the same resources either way).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EtlPipeline } from '../../infra';

const REPO = path.resolve(__dirname, '../..');
const CONTRACTS = path.resolve(__dirname, '../fixtures/infra/schemas');

/** Flags cdk.json sets to another value than the recommended one, and why. */
const DELIBERATE: Readonly<Record<string, unknown>> = {
  // Recommended: ['aws', 'aws-cn']. The stack is checked for the commercial partition only
  // (cdk-nag, cfn-lint's default region); naming aws-cn would let CDK emit China-region lookups
  // nobody has checked. `cdk flags` accepts the value (it reports no flag left to set).
  '@aws-cdk/core:target-partitions': ['aws'],
};

const cdkContext = (
  JSON.parse(readFileSync(path.join(REPO, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;
const recommended = JSON.parse(
  readFileSync(
    path.join(path.dirname(require.resolve('aws-cdk-lib/package.json')), 'recommended-feature-flags.json'),
    'utf8',
  ),
) as Record<string, unknown>;

function synthTeamApp(flags: Record<string, unknown>): any {
  const app = new App({
    context: { ...flags, 'aws:cdk:bundling-stacks': [] },
    outdir: mkdtempSync(path.join(os.tmpdir(), 'etl-flags-')),
  });
  const stack = new Stack(app, 'TeamData');
  new EtlPipeline(stack, 'Etl', {
    notificationEmail: 'data-oncall@team.test',
    contractsDir: CONTRACTS,
    namePrefix: 'team-etl',
  });
  return Template.fromStack(stack).toJSON();
}

/** Every policy document's statements as sorted `effect action resource condition` grants. */
function expandPolicies(node: any): any {
  if (Array.isArray(node)) return node.map(expandPolicies);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(node)) {
    if ((k === 'PolicyDocument' || k === 'KeyPolicy') && Array.isArray((v as any)?.Statement)) {
      const grants = new Set<string>();
      for (const st of (v as any).Statement as Record<string, any>[]) {
        // One principal per grant: minimizePolicies also merges principals (their order is not meaning).
        const principals =
          st.Principal === undefined || typeof st.Principal !== 'object'
            ? [JSON.stringify(st.Principal ?? null)]
            : Object.entries(st.Principal as Record<string, unknown>).flatMap(([type, ids]) =>
                ([] as unknown[]).concat(ids).map((id) => `${type}:${JSON.stringify(id)}`),
              );
        for (const principal of principals)
          for (const action of [].concat(st.Action ?? st.NotAction))
            for (const res of [].concat(st.Resource ?? '(none)'))
              grants.add(
                `${st.Effect} ${principal} ${action} ${JSON.stringify(res)} ${JSON.stringify(st.Condition ?? null)}`,
              );
      }
      out[k] = { ...(v as object), Statement: [...grants].sort() };
    } else out[k] = expandPolicies(v);
  }
  return out;
}

const flagsOf = (context: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(context).filter(([k]) => k.startsWith('@aws-cdk')));

describe('CDK feature flags', () => {
  test('cdk.json sets every flag the installed aws-cdk-lib recommends, to the recommended value', () => {
    expect(Object.keys(recommended).length).toBeGreaterThan(50);
    const wrong = Object.entries(recommended)
      .filter(
        ([flag, value]) => JSON.stringify(cdkContext[flag]) !== JSON.stringify(DELIBERATE[flag] ?? value),
      )
      .map(
        ([flag, value]) =>
          `${flag}: cdk.json ${JSON.stringify(cdkContext[flag])}, recommended ${JSON.stringify(value)}`,
      );
    expect(wrong).toEqual([]);
  });

  test('EtlPipeline grants and builds the same with every recommended flag as with none', () => {
    const withFlags = synthTeamApp(flagsOf(cdkContext));
    const without = synthTeamApp({});
    // The flags act on this construct (minimizePolicies merges statements) ...
    expect(JSON.stringify(withFlags)).not.toEqual(JSON.stringify(without));
    // ... but only on how statements are grouped: the same resources, the same grants.
    expect(Object.keys(withFlags.Resources).sort()).toEqual(Object.keys(without.Resources).sort());
    expect(expandPolicies(withFlags)).toEqual(expandPolicies(without));
  });
});
