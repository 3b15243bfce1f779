/* eslint-disable @typescript-eslint/no-explicit-any -- synthesized CloudFormation is untyped JSON */
/**
 * Alarms that matter (issue 16): data-volume anomaly per dataset, a cost budget, errors/throttles/
 * durations of every step function, failures counted without rejections, the e-mail filter policy,
 * the execution timeout, and Glue's log groups with retention.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EtlPipeline } from '../../infra';
import { emailFilterPolicy } from '../../infra/constructs/pipeline-alerts';
import { controlFlowErrorsOf, stateMachineSteps, stepTimeouts } from '../../infra/etl-pipeline';
import {
  stateWorstCaseSeconds,
  worstCaseExecutionSeconds,
  type AslDefinition,
} from '../../infra/execution-timeout';
import { readDefinitionText, TRANSFORM_TASK_TIMEOUT_SECONDS } from '../../statemachines/definition';
import { synthPipeline, TEST_EMAIL, type Synthesized } from './synth';

const FIXTURE_SCHEMAS = path.resolve(__dirname, '../fixtures/infra/schemas');

let synth: Synthesized;
let resources: Record<string, { Type: string; Properties: Record<string, any> }>;
const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);
const alarmNamed = (name: string) =>
  ofType('AWS::CloudWatch::Alarm').find((a) => a.Properties.AlarmName === name);

beforeAll(() => {
  synth = synthPipeline({ settings: { schemasDir: FIXTURE_SCHEMAS } });
  resources = synth.template.toJSON().Resources;
});

describe('data volume', () => {
  test.each(['registrations', 'payments'])(
    "%s has an anomaly-detection alarm on the validate step's RowsRead sum, both directions",
    (dataset) => {
      const a = alarmNamed(`serverless-etl-RowsReadAnomaly-${dataset}`)!.Properties;
      expect(a.ComparisonOperator).toBe('LessThanLowerOrGreaterThanUpperThreshold');
      expect(a.TreatMissingData).toBe('notBreaching');
      const band = (a.Metrics as any[]).find((m) => m.Expression);
      expect(band.Expression).toMatch(/^ANOMALY_DETECTION_BAND\(\w+, ?3\)$/);
      expect(a.ThresholdMetricId).toBe(band.Id);
      const stat = (a.Metrics as any[]).find((m) => m.MetricStat).MetricStat;
      expect(stat.Metric).toMatchObject({ Namespace: 'ServerlessEtl', MetricName: 'RowsRead' });
      expect(stat.Metric.Dimensions).toEqual(expect.arrayContaining([{ Name: 'dataset', Value: dataset }]));
      expect(stat).toMatchObject({ Period: 3600, Stat: 'Sum' });
    },
  );
});

describe('cost budget', () => {
  test('a monthly USD cost budget e-mails the notification address at 80 % actual and 100 % forecast', () => {
    const [budget] = ofType('AWS::Budgets::Budget');
    expect(budget!.Properties.Budget).toMatchObject({
      BudgetType: 'COST',
      TimeUnit: 'MONTHLY',
      BudgetLimit: { Amount: 100, Unit: 'USD' },
    });
    const notices = budget!.Properties.NotificationsWithSubscribers as any[];
    expect(notices.map((n) => [n.Notification.NotificationType, n.Notification.Threshold])).toEqual([
      ['ACTUAL', 80],
      ['FORECASTED', 100],
    ]);
    for (const n of notices)
      expect(n.Subscribers).toEqual([{ SubscriptionType: 'EMAIL', Address: TEST_EMAIL }]);
  });

  test('the amount and a cost-allocation tag are props; 0 means no budget', () => {
    const app = new App({
      context: { 'aws:cdk:bundling-stacks': [] },
      outdir: mkdtempSync(path.join(os.tmpdir(), 'etl-b-')),
    });
    const stack = new Stack(app, 'Team');
    new EtlPipeline(stack, 'A', {
      notificationEmail: TEST_EMAIL,
      contractsDir: FIXTURE_SCHEMAS,
      monthlyBudgetUsd: 250,
      budgetTag: { key: 'CostCenter', value: 'data' },
    });
    new EtlPipeline(stack, 'B', {
      notificationEmail: TEST_EMAIL,
      contractsDir: FIXTURE_SCHEMAS,
      monthlyBudgetUsd: 0,
    });
    const budgets = Template.fromStack(stack).findResources('AWS::Budgets::Budget');
    expect(Object.values(budgets).map((b: any) => b.Properties.Budget)).toEqual([
      expect.objectContaining({
        BudgetLimit: { Amount: 250, Unit: 'USD' },
        CostFilters: { TagKeyValue: ['user:CostCenter$data'] },
      }),
    ]);
  });
});

describe('step functions', () => {
  test('every step function has a throttles and a duration alarm at 80 % of its timeout', () => {
    const timeouts = stepTimeouts();
    const steps = [...stateMachineSteps(), 'reconcile', 'record-failure'];
    for (const step of steps) {
      const title = step
        .split('-')
        .map((w) => w[0]!.toUpperCase() + w.slice(1))
        .join('');
      const throttles = alarmNamed(`serverless-etl-${title}Throttles`)?.Properties;
      expect({ step, metric: throttles?.MetricName }).toEqual({ step, metric: 'Throttles' });
      const duration = alarmNamed(`serverless-etl-${title}Duration`)!.Properties;
      expect(duration.MetricName).toBe('Duration');
      expect(duration.Statistic).toBe('Maximum');
      const timeoutMs =
        step === 'reconcile'
          ? 300_000
          : step === 'record-failure'
            ? 30_000
            : timeouts.get(step)!.toMilliseconds();
      expect(duration.Threshold).toBe(Math.floor(timeoutMs * 0.8));
    }
  });

  test('steps whose errors are only faults alarm on one error; steps that raise errors as control flow do not', () => {
    // Read from the definition: the errors its retriers and catchers name that are not Lambda's,
    // Step Functions' or TransientDependencyError.
    expect(controlFlowErrorsOf('validate')).toContain('FileRejectedError');
    expect(controlFlowErrorsOf('poll-crawl')).toContain('CrawlerNotReadyError');
    expect(controlFlowErrorsOf('start-crawl')).toContain('CrawlerRunningError');
    const fakeAsl = JSON.stringify({
      States: {
        A: { Resource: '${ClaimFunctionArn}', Retry: [{ ErrorEquals: ['Lambda.ServiceException', 'X'] }] },
        B: { Resource: '${ClaimFunctionArn}', Catch: [{ ErrorEquals: ['States.ALL', 'Y'] }] },
      },
    });
    expect(controlFlowErrorsOf('claim', fakeAsl)).toEqual(['X', 'Y']);

    for (const step of stateMachineSteps()) {
      const title = step
        .split('-')
        .map((w) => w[0]!.toUpperCase() + w.slice(1))
        .join('');
      const errors = alarmNamed(`serverless-etl-${title}Errors`);
      expect({ step, alarmed: errors !== undefined }).toEqual({
        step,
        alarmed: controlFlowErrorsOf(step).length === 0,
      });
      if (errors) expect(errors.Properties).toMatchObject({ MetricName: 'Errors', Threshold: 1 });
    }
    expect(alarmNamed('serverless-etl-ValidateErrors')).toBeUndefined();
  });
});

describe('failures apart from rejections', () => {
  test("ExecutionsFailed counts the failure e-mail rule's matches (FAILED, not FileRejectedError), not AWS/States ExecutionsFailed", () => {
    const a = alarmNamed('serverless-etl-ExecutionsFailed')!.Properties;
    expect(a.Namespace).toBe('AWS/Events');
    expect(a.MetricName).toBe('MatchedEvents');
    expect(a.Dimensions).toEqual([
      {
        Name: 'RuleName',
        Value: {
          Ref: synth.stack.getLogicalId(synth.stack.alerts.executionFailedRule.node.defaultChild as never),
        },
      },
    ]);
    const pattern =
      resources[synth.stack.getLogicalId(synth.stack.alerts.executionFailedRule.node.defaultChild as never)]!
        .Properties.EventPattern;
    expect(JSON.stringify(pattern)).toContain('"anything-but":["FileRejectedError"]');
    expect(JSON.stringify(pattern)).not.toContain('TIMED_OUT');
  });

  test('the dashboard counts rejected files on their own line', () => {
    const [dashboard] = ofType('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard!.Properties.DashboardBody);
    expect(body).toContain('MetricName=\\\\\\"FilesRejected\\\\\\"');
    expect(body).toContain('rejected files');
  });
});

describe('notices by filter policy', () => {
  test('the e-mail subscription drops SUCCEEDED notices and keeps everything else, attribute-less alarms included', () => {
    const [sub] = ofType('AWS::SNS::Subscription');
    expect(sub!.Properties.Protocol).toBe('email');
    const policy = sub!.Properties.FilterPolicy;
    expect(policy).toEqual({ status: [{ 'anything-but': ['SUCCEEDED'] }, { exists: false }] });

    // SNS semantics for one attribute: the message passes when any condition in the list matches.
    const passes = (attrs: Record<string, string>) =>
      (policy.status as any[]).some((c) =>
        'exists' in c
          ? c.exists
            ? 'status' in attrs
            : !('status' in attrs)
          : 'status' in attrs && !c['anything-but'].includes(attrs.status),
      );
    expect(passes({ status: 'SUCCEEDED' })).toBe(false);
    expect(passes({ status: 'REJECTED' })).toBe(true);
    expect(passes({})).toBe(true); // alarms, failure e-mails
    // The state machine's notices carry that attribute.
    const asl = JSON.parse(readDefinitionText());
    expect(asl.States.Notify.Parameters.MessageAttributes.status.StringValue).toBe('SUCCEEDED');
    expect(asl.States.NotifyRejected.Parameters.MessageAttributes.status.StringValue).toBe('REJECTED');
  });

  test('notifySuccesses: true drops the filter', () => {
    expect(emailFilterPolicy(true)).toBeUndefined();
    const app = new App({
      context: { 'aws:cdk:bundling-stacks': [] },
      outdir: mkdtempSync(path.join(os.tmpdir(), 'etl-n-')),
    });
    const stack = new Stack(app, 'Team');
    new EtlPipeline(stack, 'A', {
      notificationEmail: TEST_EMAIL,
      contractsDir: FIXTURE_SCHEMAS,
      notifySuccesses: true,
    });
    const subs = Object.values(Template.fromStack(stack).findResources('AWS::SNS::Subscription'));
    expect(subs).toHaveLength(1);
    expect((subs[0] as any).Properties.FilterPolicy).toBeUndefined();
  });
});

describe('execution timeout', () => {
  test('the definition has a top-level TimeoutSeconds above its slowest path and above the Transform with its retries', () => {
    const asl = JSON.parse(readDefinitionText()) as AslDefinition;
    const worst = worstCaseExecutionSeconds(asl);
    const transform = stateWorstCaseSeconds(asl.States.Transform!);

    expect(asl.TimeoutSeconds).toBe(28_800);
    expect(transform).toBeGreaterThan(TRANSFORM_TASK_TIMEOUT_SECONDS);
    expect(asl.TimeoutSeconds!).toBeGreaterThan(transform);
    expect(asl.TimeoutSeconds!).toBeGreaterThanOrEqual(worst);
    // Not absurdly long either: a stuck run should end the same day.
    expect(asl.TimeoutSeconds!).toBeLessThan(worst * 2);
    const [sm] = ofType('AWS::StepFunctions::StateMachine');
    expect(JSON.parse(sm!.Properties.DefinitionString).TimeoutSeconds).toBe(28_800);
  });

  test('the worst case adds timeout retries and capped backoffs, follows the longest branch, refuses loops', () => {
    const task = {
      Type: 'Task',
      TimeoutSeconds: 100,
      Retry: [
        { ErrorEquals: ['States.Timeout'], MaxAttempts: 2, IntervalSeconds: 10, BackoffRate: 2 },
        { ErrorEquals: ['Other'], MaxAttempts: 3, IntervalSeconds: 10, BackoffRate: 10, MaxDelaySeconds: 50 },
      ],
    };
    // 3 attempts × 100 s + (10 + 20) + (10 + 50 + 50)
    expect(stateWorstCaseSeconds(task)).toBe(300 + 30 + 110);
    expect(
      worstCaseExecutionSeconds({
        StartAt: 'C',
        States: {
          C: { Type: 'Choice', Choices: [{ Next: 'Slow' }], Default: 'Fast' },
          Slow: { ...task, Next: 'End' },
          Fast: { Type: 'Wait', Seconds: 5, Next: 'End' },
          End: { Type: 'Succeed' },
        },
      }),
    ).toBe(440);
    expect(() =>
      worstCaseExecutionSeconds({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'A' } } }),
    ).toThrow(/loop/);
  });
});

describe('Glue log groups', () => {
  test("the job's error, output and continuous log groups and the crawler's exist with the configured retention and the key", () => {
    const groups = ofType('AWS::Logs::LogGroup').filter((g) =>
      JSON.stringify(g.Properties.LogGroupName).includes('/aws-glue/'),
    );
    const names = groups.map((g) => JSON.stringify(g.Properties.LogGroupName));
    expect(names).toEqual(
      expect.arrayContaining([
        '"/aws-glue/jobs/serverless-etl/error"',
        '"/aws-glue/jobs/serverless-etl/output"',
        '"/aws-glue/jobs/serverless-etl/logs-v2"',
        expect.stringContaining('/aws-glue/crawlers-role/'),
      ]),
    );
    for (const g of groups) {
      expect(g.Properties.RetentionInDays).toBe(30);
      expect(g.Properties.KmsKeyId).toBeDefined();
    }
    const [job] = ofType('AWS::Glue::Job');
    expect(job!.Properties.DefaultArguments).toMatchObject({
      '--custom-logGroup-prefix': '/aws-glue/jobs/serverless-etl',
      '--continuous-log-logGroup': '/aws-glue/jobs/serverless-etl/logs-v2',
    });
  });
});
