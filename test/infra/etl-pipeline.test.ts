/* eslint-disable @typescript-eslint/no-explicit-any -- synthesized CloudFormation is untyped JSON */
/**
 * EtlPipeline used the way a team's own CDK app uses it: placed in their stack, with their landing
 * bucket and key, their contracts folder, and names derived from the construct path.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InfraConfigError } from '../../infra/config';
import { derivedNamePrefix, EtlPipeline } from '../../infra';
import { STACK_OUTPUTS } from '../../remote/stack-outputs';

const CONTRACTS = path.resolve(__dirname, '../fixtures/infra/schemas');
const EMAIL = 'data-oncall@team.test';

function teamApp() {
  // Bundling skipped: these checks are about the template, not the functions' code.
  const app = new App({
    context: { 'aws:cdk:bundling-stacks': [] },
    outdir: mkdtempSync(path.join(os.tmpdir(), 'etl-construct-')),
  });
  return { app, stack: new Stack(app, 'TeamData') };
}

const PHYSICAL_NAME =
  /^(FunctionName|TableName|AlarmName|QueueName|LogGroupName|ScheduleName|DashboardName|TopicName|StateMachineName|AliasName|Name)$/;

/** Every physical name the template sets, as `<resource type> <name>` (a name is unique per type). */
function physicalNames(template: Template): string[] {
  const names: string[] = [];
  for (const r of Object.values(template.toJSON().Resources as Record<string, any>)) {
    for (const [k, v] of Object.entries(r.Properties ?? {})) {
      if (PHYSICAL_NAME.test(k) && typeof v === 'string') names.push(`${r.Type} ${v}`);
    }
  }
  return names;
}

describe('EtlPipeline in a team stack', () => {
  test('their landing bucket and key are used, not created; the bucket sends events to EventBridge; the key gets the service statements', () => {
    const { stack } = teamApp();
    const key = new kms.Key(stack, 'TeamKey', { enableKeyRotation: true });
    const landing = new s3.Bucket(stack, 'TeamLanding', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      enforceSSL: true,
    });
    const etl = new EtlPipeline(stack, 'Etl', {
      notificationEmail: EMAIL,
      contractsDir: CONTRACTS,
      landingBucket: landing,
      key,
    });
    const template = Template.fromStack(stack);

    expect(etl.storage.landingBucket).toBe(landing);
    expect(etl.storage.key).toBe(key);
    // Only the team's key exists; the pipeline made the lake, Athena results and access-log buckets.
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.resourceCountIs('AWS::S3::Bucket', 4);
    template.hasResourceProperties('AWS::S3::Bucket', {
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({
            ServerSideEncryptionByDefault: Match.objectLike({
              KMSMasterKeyID: { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as never), 'Arn'] },
            }),
          }),
        ],
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'CloudWatchLogsUseForPipelineLogGroups' }),
          Match.objectLike({ Sid: 'EventBridgeAndAlarmsPublishToEncryptedTopicAndQueue' }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        detail: Match.objectLike({
          bucket: { name: [{ Ref: stack.getLogicalId(landing.node.defaultChild as never) }] },
        }),
      }),
    });
  });

  test('an imported bucket and key are used as they are, with warnings saying what to turn on', () => {
    const { stack } = teamApp();
    const landing = s3.Bucket.fromBucketName(stack, 'Imported', 'team-uploads');
    const key = kms.Key.fromKeyArn(
      stack,
      'ImportedKey',
      'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    );
    new EtlPipeline(stack, 'Etl', {
      notificationEmail: EMAIL,
      contractsDir: CONTRACTS,
      landingBucket: landing,
      key,
    });
    const warnings = Annotations.fromStack(stack)
      .findWarning('*', Match.anyValue())
      .map((w) => String(w.entry.data));

    expect(warnings.some((w) => w.includes('turn on its EventBridge notifications'))).toBe(true);
    expect(warnings.some((w) => w.includes('add these statements to its key policy'))).toBe(true);
    Template.fromStack(stack).resourceCountIs('AWS::KMS::Key', 0);
  });

  test('names come from the construct path: two pipelines in one stack do not collide, none uses the example app prefix', () => {
    const { stack } = teamApp();
    const a = new EtlPipeline(stack, 'Orders', { notificationEmail: EMAIL, contractsDir: CONTRACTS });
    const b = new EtlPipeline(stack, 'Payments', { notificationEmail: EMAIL, contractsDir: CONTRACTS });
    const names = physicalNames(Template.fromStack(stack));

    const prefixA = derivedNamePrefix(a);
    const prefixB = derivedNamePrefix(b);
    expect(prefixA).toMatch(/^[a-z][a-z0-9-]{1,30}$/);
    expect(prefixA).not.toBe(prefixB);
    expect(a.steps.get('validate').fn.node.defaultChild).toBeDefined();
    expect(names.filter((n) => n.includes(` ${prefixA}-`)).length).toBeGreaterThan(10);
    expect(names.filter((n) => n.includes(` ${prefixB}-`)).length).toBeGreaterThan(10);
    expect(names.filter((n) => n.includes('serverless-etl'))).toEqual([]);
    // Names scoped by a prefix are unique across both (Glue table names repeat, each in its own database).
    const prefixed = names.filter((n) => n.includes(prefixA) || n.includes(prefixB));
    expect(new Set(prefixed).size).toBe(prefixed.length);
  });

  test('a given namePrefix wins; a bad one and a missing contracts folder are refused naming the prop', () => {
    const { stack } = teamApp();
    new EtlPipeline(stack, 'Etl', {
      notificationEmail: EMAIL,
      contractsDir: CONTRACTS,
      namePrefix: 'team-etl',
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'team-etl-validate',
    });

    expect(
      () =>
        new EtlPipeline(stack, 'Bad', {
          notificationEmail: EMAIL,
          contractsDir: CONTRACTS,
          namePrefix: 'Bad_Prefix',
        }),
    ).toThrow(/EtlPipeline prop namePrefix/);
    expect(() => new EtlPipeline(stack, 'NoContracts', { notificationEmail: EMAIL })).toThrow(
      InfraConfigError,
    );
    expect(() => new EtlPipeline(stack, 'NoContracts2', { notificationEmail: EMAIL })).toThrow(
      /contractsDir is required/,
    );
  });

  test('addStackOutputs publishes exactly the outputs the CLI reads (and more); a second pipeline in the stack is refused with the fix', () => {
    const { stack } = teamApp();
    const first = new EtlPipeline(stack, 'Etl', { notificationEmail: EMAIL, contractsDir: CONTRACTS });
    const second = new EtlPipeline(stack, 'Etl2', { notificationEmail: EMAIL, contractsDir: CONTRACTS });
    first.addStackOutputs();
    const outputs = Template.fromStack(stack).toJSON().Outputs as Record<string, any>;
    // The CLI finds a stack by these names (remote/stack-outputs.ts), unhashed.
    expect(Object.keys(outputs)).toEqual(expect.arrayContaining(Object.keys(STACK_OUTPUTS)));
    expect(outputs.StateMachineArn.Value).toEqual({
      Ref: stack.getLogicalId(first.stateMachine.node.defaultChild as never),
    });
    expect(() => second.addStackOutputs()).toThrow(/already has LandingBucketName.*one pipeline per stack/);
  });
});
