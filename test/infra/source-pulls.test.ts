/* eslint-disable @typescript-eslint/no-explicit-any -- synthesized CloudFormation is untyped JSON */
/**
 * Pulled sources on AWS (issue 14), in the synthesized stack: per `<name>.source.json` beside the
 * contracts one EventBridge Scheduler schedule invoking the pull Lambda with {source}; the
 * bookmarks table; the pull function with exactly its iamNeeds (landing only under the pulled
 * datasets' prefixes, only the named secrets); the schedules' role and dead-letter queue; the
 * alarms; cdk-nag and cfn-lint clean. Fixture: test/fixtures/sources/schemas (a daily source with
 * a secret by name and a publish delay, an hourly one with a secret by ARN, two datasets).
 */
import { App, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { STEP_ENV, type IamNeeds } from '../../core/steps';
import { STEP_MEMORY_MIB } from '../../functions/sizing';
import { pullScheduleExpression, secretArnOf } from '../../infra/constructs/source-pulls';
import { EtlPipeline } from '../../infra/etl-pipeline';
import { statementsFor, type IamResourceMap } from '../../infra/iam-needs';
import {
  LAMBDA_TRACING_ACTIONS,
  audit,
  grantsOf,
  usesOfNeeds,
  withSourceLandingPrefixes,
  type ResourceMarkers,
  type TemplateJson,
  type Use,
} from './iam-audit';
import { REPO_ROOT, synthPipeline, type Synthesized } from './synth';

const FIXTURE = 'test/fixtures/sources/schemas';
const SECRET_BY_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sessions-api-AbCdEf';
const CFN_LINT = path.join(REPO_ROOT, '.venv', 'bin', 'cfn-lint');

let synth: Synthesized;
let t: TemplateJson;
let outdir: string;
let synthError: Error | undefined;
const idOf = (construct: { node: { defaultChild?: unknown } }) =>
  synth.stack.getLogicalId(construct.node.defaultChild as never);
const ofType = (type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);

beforeAll(() => {
  outdir = mkdtempSync(path.join(os.tmpdir(), 'etl-pulls-'));
  synth = synthPipeline({ settings: { schemasDir: FIXTURE }, nag: true, outdir });
  t = synth.template.toJSON() as TemplateJson;
  try {
    synth.app.synth(); // with the nag pack registered, an unacknowledged finding fails here
  } catch (e) {
    synthError = e as Error;
  }
});

const pulls = () => synth.stack.pipeline.pulls!;

describe('schedules', () => {
  test('one schedule per source definition, invoking the pull function with {source}, UTC cron after each period is due, flexible window off', () => {
    const schedules = ofType('AWS::Scheduler::Schedule')
      .map(([, r]) => r.Properties)
      .filter((p) => p.Name.includes('-pull-'));

    expect(
      schedules
        .map((p) => [p.Name, p.ScheduleExpression, p.ScheduleExpressionTimezone, p.Target.Input])
        .sort(),
    ).toEqual([
      // daily, publishDelayMinutes 90: due at 01:30 UTC, pulled 5 minutes later
      [
        'serverless-etl-pull-registrations-feed',
        'cron(35 1 * * ? *)',
        'Etc/UTC',
        '{"source":"registrations-feed"}',
      ],
      ['serverless-etl-pull-session-log', 'cron(5 * * * ? *)', 'Etc/UTC', '{"source":"session-log"}'],
    ]);
    for (const p of schedules) {
      expect(p.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
      expect(p.State).toBe('ENABLED');
      expect(p.Target.Arn).toEqual({ 'Fn::GetAtt': [idOf(pulls().pull.fn), 'Arn'] });
      expect(p.Target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
      expect(p.Target.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': [idOf(pulls().deadLetterQueue), 'Arn'] });
      expect(p.Target.RoleArn).toEqual({ 'Fn::GetAtt': [idOf(pulls().schedulerRole), 'Arn'] });
    }
  });

  test('the schedule expression: hourly at the publish delay past the hour, daily at its time of day, both plus 5 minutes', () => {
    const at = (cadence: 'hourly' | 'daily', delayMinutes: number) =>
      pullScheduleExpression({ cadence, publishDelayMs: delayMinutes * 60_000 });

    expect(at('hourly', 0)).toBe('cron(5 * * * ? *)');
    expect(at('hourly', 15)).toBe('cron(20 * * * ? *)');
    expect(at('hourly', 58)).toBe('cron(3 * * * ? *)');
    expect(at('daily', 0)).toBe('cron(5 0 * * ? *)');
    expect(at('daily', 23 * 60 + 59)).toBe('cron(4 0 * * ? *)');
  });

  test('the dead-letter queue is SSE-KMS with the key, enforces TLS, and alarms when not empty', () => {
    const q = t.Resources[idOf(pulls().deadLetterQueue)]!.Properties;
    expect(q.QueueName).toBe('serverless-etl-pull-dlq');
    expect(JSON.stringify(q.KmsMasterKeyId)).toContain(idOf(synth.stack.storage.key as never));
    const policy = ofType('AWS::SQS::QueuePolicy').find(([, r]) =>
      JSON.stringify(r.Properties.Queues).includes(idOf(pulls().deadLetterQueue)),
    )!;
    expect(JSON.stringify(policy[1].Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
  });

  test('the schedules role invokes only the pull function and dead-letters only to its queue (encrypting for it)', () => {
    const grants = grantsOf(t, idOf(pulls().schedulerRole));
    const uses: Use[] = [
      { action: 'lambda:InvokeFunction', markers: [idOf(pulls().pull.fn)], why: 'the target' },
      { action: 'sqs:SendMessage', markers: [idOf(pulls().deadLetterQueue)], why: 'dead letters' },
      {
        action: 'kms:GenerateDataKey',
        markers: [idOf(synth.stack.storage.key as never)],
        why: 'SSE-KMS queue',
      },
      { action: 'kms:Decrypt', markers: [idOf(synth.stack.storage.key as never)], why: 'SSE-KMS queue' },
    ];

    expect(audit(grants, uses)).toEqual([]);
    for (const g of grants.filter((x) => x.action === 'lambda:InvokeFunction'))
      expect(g.resource).toContain(idOf(pulls().pull.fn));
    const trust = t.Resources[idOf(pulls().schedulerRole)]!.Properties.AssumeRolePolicyDocument;
    expect(JSON.stringify(trust)).toContain('scheduler.amazonaws.com');
    expect(JSON.stringify(trust)).toContain('aws:SourceAccount');
  });

  test('pullSchedulesEnabled: false deploys the schedules disabled; sources: [] deploys no pull resources', () => {
    const build = (props: { pullSchedulesEnabled?: boolean; sources?: string[] }) => {
      const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
      const stack = new Stack(app, 'Team');
      const p = new EtlPipeline(stack, 'Etl', {
        notificationEmail: 'oncall@team.test',
        contractsDir: path.join(REPO_ROOT, FIXTURE),
        namePrefix: 'team-etl',
        monthlyBudgetUsd: 0,
        ...props,
      });
      return { p, json: app.synth().getStackByName('Team').template as TemplateJson };
    };

    const disabled = build({ pullSchedulesEnabled: false, sources: ['session-log'] });
    const states = Object.values(disabled.json.Resources)
      .filter((r) => r.Type === 'AWS::Scheduler::Schedule' && r.Properties.Name.includes('-pull-'))
      .map((r) => [r.Properties.Name, r.Properties.State]);
    expect(states).toEqual([['team-etl-pull-session-log', 'DISABLED']]);

    const none = build({ sources: [] });
    expect(none.p.pulls).toBeUndefined();
    expect(JSON.stringify(none.json)).not.toMatch(/source-bookmarks|-pull/);
  });
});

describe('the bookmarks table and the pull function', () => {
  test('the table: pk/sk strings, on demand, the pipeline key, point-in-time recovery, retained', () => {
    const table = t.Resources[idOf(pulls().table)]!;

    expect(table.Properties).toMatchObject({
      TableName: 'serverless-etl-source-bookmarks',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
    });
    expect(JSON.stringify(table.Properties.SSESpecification.KMSMasterKeyId)).toContain(
      idOf(synth.stack.storage.key as never),
    );
    expect((table as any).DeletionPolicy).toBe('Retain');
  });

  test('the function: nodejs22.x arm64, 15-minute timeout, its memory from functions/sizing.ts, table and landing bucket in its environment, its own log group with retention', () => {
    const fn = t.Resources[idOf(pulls().pull.fn)]!.Properties;

    expect(fn).toMatchObject({
      FunctionName: 'serverless-etl-pull',
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: 900,
      MemorySize: STEP_MEMORY_MIB.pull,
      TracingConfig: { Mode: 'Active' },
    });
    const env = fn.Environment.Variables;
    expect(env[STEP_ENV.sourceLedgerTable]).toEqual({ Ref: idOf(pulls().table) });
    expect(env[STEP_ENV.landingBucket]).toEqual({ Ref: idOf(synth.stack.storage.landingBucket) });
    expect(env[STEP_ENV.schemasDir]).toBe('/var/task/schemas');
    const logs = t.Resources[idOf(pulls().pull.logGroup)]!.Properties;
    expect(logs).toMatchObject({ LogGroupName: '/aws/lambda/serverless-etl-pull', RetentionInDays: 30 });
    expect(JSON.stringify(logs.KmsKeyId)).toContain(idOf(synth.stack.storage.key as never));
  });

  test('least privilege: the pull role grants exactly its iamNeeds — landing only under the pulled datasets, the table, the named secrets', () => {
    const built = pulls().pull;
    const markers = {
      landingBucket: idOf(synth.stack.storage.landingBucket),
      sourceLedgerTable: idOf(pulls().table),
      sourceSecrets: ':secretsmanager:',
      key: idOf(synth.stack.storage.key as never),
    } as ResourceMarkers;
    const uses: Use[] = [
      ...usesOfNeeds(withSourceLandingPrefixes(built.iamNeeds, pulls().landingPrefixes), markers),
      ...['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) => ({
        action,
        markers: [idOf(built.logGroup)],
        why: 'its own log group',
      })),
      ...LAMBDA_TRACING_ACTIONS.map((action) => ({ action, markers: ['*'], why: 'active tracing' })),
    ];
    const grants = grantsOf(t, idOf(built.role));

    expect(pulls().landingPrefixes).toEqual(['incoming/event_sessions/', 'incoming/registrations/']);
    expect(audit(grants, uses)).toEqual([]);
    // Writes: exactly the two datasets' prefixes of the landing bucket, nothing else anywhere.
    const writes = grants.filter((g) => /^s3:(Put|Abort)/.test(g.action));
    expect(writes.map((g) => /"(\/incoming\/[a-z_]+\/\*)"/.exec(g.resource)?.[1]).sort()).toEqual([
      '/incoming/event_sessions/*',
      '/incoming/event_sessions/*',
      '/incoming/registrations/*',
      '/incoming/registrations/*',
    ]);
    for (const g of grants.filter((x) => x.action.startsWith('s3:')))
      expect(g.resource).toContain(markers.landingBucket);
    // Secrets: the one named by ARN as written, the one named by name with its random suffix only.
    const secrets = grants.filter((g) => g.action === 'secretsmanager:GetSecretValue').map((g) => g.resource);
    expect(secrets).toHaveLength(2);
    expect(secrets).toContain(SECRET_BY_ARN);
    expect(secrets.find((r) => r !== SECRET_BY_ARN)).toMatch(/:secret:etl\/registrations-feed-\?\?\?\?\?\?"/);
    expect(
      grants
        .map((g) => g.action)
        .filter((a) => a.startsWith('dynamodb:'))
        .sort(),
    ).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
  });

  test("a bucketPrefixes resource: the stack's prefixes scope the need; a need naming prefixes itself, or no prefix at all, is refused or grants nothing", () => {
    const stack = new Stack();
    const key = new kms.Key(stack, 'K');
    const resources = {
      sourceLanding: { kind: 'bucketPrefixes', bucketArn: 'arn:aws:s3:::landing', prefixes: ['incoming/a/'] },
    } as const;
    const render = (needs: IamNeeds, r: IamResourceMap = resources) =>
      statementsFor('functions/pull', needs, r, key).map((st) => stack.resolve(st.toStatementJson()));

    const granted = render([
      { on: 'sourceLanding', actions: ['s3:PutObject', 's3:ListBucket'], why: 'test' },
    ]);
    expect(granted.slice(0, 2)).toEqual([
      { Action: 's3:PutObject', Effect: 'Allow', Resource: 'arn:aws:s3:::landing/incoming/a/*' },
      {
        Action: 's3:ListBucket',
        Effect: 'Allow',
        Resource: 'arn:aws:s3:::landing',
        Condition: { StringLike: { 's3:prefix': ['incoming/a/*'] } },
      },
    ]);
    expect(granted[2].Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(() =>
      render([{ on: 'sourceLanding', actions: ['s3:PutObject'], prefixes: ['incoming/'], why: 'test' }]),
    ).toThrow(/names prefixes; the stack supplies them \(incoming\/a\/\)/);
    expect(
      render([{ on: 'sourceLanding', actions: ['s3:PutObject'], why: 'test' }], {
        sourceLanding: { kind: 'bucketPrefixes', bucketArn: 'arn:aws:s3:::landing', prefixes: [] },
      }),
    ).toEqual([]);
  });

  test('a secret id becomes its ARN pattern; an ARN stays as written', () => {
    const stack = new Stack(undefined, 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
    expect(stack.resolve(secretArnOf(stack, 'etl/token'))).toEqual({
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:eu-west-1:123456789012:secret:etl/token-??????'],
      ],
    });
    expect(secretArnOf(stack, SECRET_BY_ARN)).toBe(SECRET_BY_ARN);
  });
});

describe('alarms', () => {
  const alarmsByName = () =>
    new Map(
      ofType('AWS::CloudWatch::Alarm').map(([, r]) => [r.Properties.AlarmName as string, r.Properties]),
    );
  const topicRef = () => ({ Ref: idOf(synth.stack.notifications.topic) });

  test("PullFailures per source on the step's metric (service, dataset, source), PullErrors, throttles, dead letters — all to the topic; no duration alarm (a catch-up run works to its deadline)", () => {
    const alarms = alarmsByName();
    for (const [source, dataset] of [
      ['registrations-feed', 'registrations'],
      ['session-log', 'event_sessions'],
    ]) {
      const a = alarms.get(`serverless-etl-PullFailures-${source}`)!;
      expect(a).toMatchObject({
        Namespace: 'ServerlessEtl',
        MetricName: 'PullFailures',
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      expect(a.Dimensions).toEqual(
        expect.arrayContaining([
          { Name: 'service', Value: 'serverless-etl' },
          { Name: 'dataset', Value: dataset },
          { Name: 'source', Value: source },
        ]),
      );
      expect(a.Dimensions).toHaveLength(3);
      expect(a.AlarmActions).toEqual([topicRef()]);
    }
    const errors = alarms.get('serverless-etl-PullErrors')!;
    expect(errors).toMatchObject({ MetricName: 'Errors', Namespace: 'AWS/Lambda', Threshold: 1 });
    expect(errors.Dimensions).toEqual([{ Name: 'FunctionName', Value: { Ref: idOf(pulls().pull.fn) } }]);
    for (const name of ['PullErrors', 'PullDeadLettersNotEmpty', 'PullThrottles'])
      expect(alarms.get(`serverless-etl-${name}`)?.AlarmActions).toEqual([topicRef()]);
    expect([...alarms.keys()].filter((n) => n.includes('Pull')).sort()).toEqual([
      'serverless-etl-PullDeadLettersNotEmpty',
      'serverless-etl-PullErrors',
      'serverless-etl-PullFailures-registrations-feed',
      'serverless-etl-PullFailures-session-log',
      'serverless-etl-PullThrottles',
    ]);
  });
});

describe('definitions that cannot be deployed stop the synth', () => {
  const copyFixture = (edit: (dir: string) => void) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'etl-pull-defs-'));
    cpSync(path.join(REPO_ROOT, FIXTURE), dir, { recursive: true });
    edit(dir);
    return dir;
  };

  test('a source feeding a dataset the pipeline does not process names the file, the field and the fix', () => {
    expect(() => synthPipeline({ settings: { schemasDir: FIXTURE, datasets: 'registrations' } })).toThrow(
      /session-log\.source\.json#\/dataset: "event_sessions" is not a dataset this pipeline processes \(registrations\)\. Fix: /,
    );
  });

  test('a broken definition names the file and the pointer', () => {
    const dir = copyFixture((d) => {
      const file = path.join(d, 'session-log.source.json');
      const def = JSON.parse(readFileSync(file, 'utf8'));
      writeFileSync(file, JSON.stringify({ ...def, cadence: 'weekly' }));
    });
    expect(() => synthPipeline({ settings: { schemasDir: dir } })).toThrow(
      /session-log\.source\.json#\/cadence: not an allowed value/,
    );
  });

  test('a source named in the props that has no file lists the ones there are', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    expect(
      () =>
        new EtlPipeline(new Stack(app, 'Team'), 'Etl', {
          notificationEmail: 'oncall@team.test',
          contractsDir: path.join(REPO_ROOT, FIXTURE),
          sources: ['nope'],
        }),
    ).toThrow(/no nope\.source\.json in .*Fix: use one of registrations-feed, session-log/);
  });
});

describe('checks on the whole template', () => {
  test('cdk-nag AwsSolutions: no finding that is not acknowledged', () => {
    const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; conclusion: string; violations: { ruleName: string }[] }[];
    };
    const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions')!;

    expect(synthError?.message).toBeUndefined();
    expect(nag.violations.map((v) => v.ruleName)).toEqual([]);
    expect(nag.conclusion).toBe('success');
  });

  test('cfn-lint: zero errors', () => {
    if (!existsSync(CFN_LINT)) {
      const msg = 'cfn-lint: NOT RUN — .venv/bin/cfn-lint missing. Run `npm run setup:python` to include it.';
      if (process.env.CI === 'true') throw new Error(msg);
      console.warn(msg);
      return;
    }
    const templateFile = path.join(outdir, `${synth.stack.artifactId}.template.json`);
    const result = spawnSync(CFN_LINT, ['--format', 'parseable', '--', templateFile], { encoding: 'utf8' });

    expect(result.stdout.split('\n').filter((l) => /:E\d{4}:/.test(l))).toEqual([]);
    expect(result.status! & 3).toBe(0);
  });
});
