/**
 * Telling people: the encrypted notification topic (the state machine's SUCCEEDED/REJECTED
 * notices and every alarm), a readable e-mail for each failed/timed-out/aborted execution with
 * the console link and the redrive commands (not for rejected files: they get the REJECTED
 * notice), Glue job failures, the alarms, and one dashboard.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as budgets from 'aws-cdk-lib/aws-budgets';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { DatasetContract } from '../../core/contract';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../core/instrumentation';

/** Metric names the validate step emits (EMF, namespace ServerlessEtl, dimensions service + dataset). */
export const PIPELINE_METRICS = {
  rowsRead: 'RowsRead',
  rowsValid: 'RowsValid',
  rowsRejected: 'RowsRejected',
  /** functions/quarantine: one per rejected file, dimensions service + reason. */
  filesRejected: 'FilesRejected',
} as const;

/** The SNS message attribute the state machine's notices carry (statemachines/pipeline.asl.json Notify*). */
export const NOTICE_STATUS_ATTRIBUTE = 'status';

/**
 * The e-mail subscription's filter policy: every message except SUCCEEDED notices. Alarms and the
 * EventBridge failure e-mails carry no attributes (`exists: false`), REJECTED notices carry
 * `status: REJECTED`; both pass. With `notifySuccesses` there is no filter.
 */
export function emailFilterPolicy(
  notifySuccesses: boolean,
): Record<string, sns.SubscriptionFilter> | undefined {
  if (notifySuccesses) return undefined;
  return {
    [NOTICE_STATUS_ATTRIBUTE]: new sns.SubscriptionFilter([
      { 'anything-but': ['SUCCEEDED'] },
      { exists: false },
    ]),
  };
}

/** A step function the alerts watch: throttles and near-timeout durations always, errors unless said. */
export interface WatchedFunction {
  /** The step's folder name (`validate`); alarm names use it in PascalCase. */
  readonly step: string;
  /** The function. */
  readonly fn: lambda.IFunction;
  /** Its timeout: the duration alarm fires at 80 % of it. */
  readonly timeout: Duration;
  /**
   * Error names the state machine expects from this step as control flow (retried or caught:
   * `FileRejectedError`, `CrawlerNotReadyError`, ...). Lambda's Errors metric counts them too, so
   * such a step gets no Errors alarm: its real faults fail the execution (ExecutionsFailed).
   * An empty list gets an Errors alarm at one error.
   */
  readonly controlFlowErrors: readonly string[];
  /** Whether to add the Errors alarm at all (false: the function has its own). @default true */
  readonly errorsAlarm?: boolean;
}

/** The monthly cost budget. */
export interface BudgetSettings {
  /** Limit in USD per calendar month. */
  readonly monthlyLimitUsd: number;
  /** Who gets Budgets' e-mails (at 80 % of actual and 100 % of forecast spend). */
  readonly email: string;
  /** Cost-allocation tag to count (`user:<key>$<value>`). @default none: the account's whole spend */
  readonly tag?: { readonly key: string; readonly value: string };
}

export interface PipelineAlertsProps {
  /** Prefix of physical names: alarms are `<prefix>-<alarm>`, the dashboard `<prefix>-pipeline`. */
  readonly namePrefix: string;
  /** The notification topic (see {@link NotificationTopic}); alarms and notices publish to it. */
  readonly topic: sns.ITopic;
  /** The pipeline's state machine: its failed, timed-out and aborted executions alarm and are e-mailed. */
  readonly stateMachine: sfn.IStateMachine;
  /** Name of the transform job (`GlueTransform.jobName`): its failed or timed-out runs are e-mailed and alarm. */
  readonly glueJobName: string;
  /** The trigger's dead-letter queue: any message in it alarms (an event that could not start a run). */
  readonly deadLetterQueue: sqs.IQueue;
  /** The trigger rule (S3 Object Created → state machine): its failed deliveries alarm. */
  readonly triggerRule: events.IRule;
  /**
   * The `Error` of the state machine's Fail state for rejected files (`FileRejectedError`). Such
   * executions end FAILED, but the state machine has already sent their REJECTED notice: no
   * failure e-mail for them.
   */
  readonly rejectionError: string;
  /** One reject-ratio alarm and dashboard line per dataset, at its contract's `rejectThreshold`. */
  readonly datasets: readonly DatasetContract[];
  /** Period over which alarms evaluate. @default 5 minutes */
  readonly alarmPeriod?: Duration;
  /** Step functions to alarm on (errors, throttles, duration). @default none */
  readonly functions?: readonly WatchedFunction[];
  /** A monthly AWS Budgets cost budget with e-mail. @default none */
  readonly budget?: BudgetSettings;
  /**
   * Period of the per-dataset rows-read anomaly alarms (CloudWatch anomaly detection on the
   * validate step's RowsRead sum). @default 1 hour
   */
  readonly volumePeriod?: Duration;
}

export interface NotificationTopicProps {
  /** Prefix of physical names: the topic is `<prefix>-notifications`. */
  readonly namePrefix: string;
  /** Encrypts messages at rest; its policy must let EventBridge and CloudWatch use it (LakeStorage's does). */
  readonly key: kms.IKey;
  /** Subscribed by e-mail (the recipient must confirm the subscription). */
  readonly notificationEmail: string;
  /** E-mail SUCCEEDED notices too (no filter policy on the subscription). @default false */
  readonly notifySuccesses?: boolean;
}

/** The encrypted topic every notice and alarm goes to, with the e-mail subscription. */
export class NotificationTopic extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: NotificationTopicProps) {
    super(scope, id);
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.notificationEmail)) {
      throw new Error(
        `NotificationTopic: notificationEmail "${props.notificationEmail}" is not an e-mail address`,
      );
    }
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: `${props.namePrefix}-notifications`,
      displayName: 'serverless-etl',
      masterKey: props.key,
      enforceSSL: true,
    });
    const filterPolicy = emailFilterPolicy(props.notifySuccesses ?? false);
    this.topic.addSubscription(
      new subs.EmailSubscription(props.notificationEmail, { ...(filterPolicy && { filterPolicy }) }),
    );
  }
}

/**
 * The `detail` of the failure e-mail rule's pattern: FAILED executions unless their `error` is the
 * rejection error (those already got the REJECTED notice). TIMED_OUT and ABORTED ones have their
 * own rule ({@link executionStoppedDetail}), so this rule's MatchedEvents counts real failures only.
 * EventBridge's `anything-but` matches any value present, `null` included, but never a missing
 * field: the `exists: false` branch keeps a FAILED event without `error` mailed too.
 */
export function executionFailedDetail(
  stateMachineArn: string,
  rejectionError: string,
): Record<string, unknown> {
  return {
    stateMachineArn: [stateMachineArn],
    $or: [
      { status: ['FAILED'], error: [{ 'anything-but': [rejectionError] }] },
      { status: ['FAILED'], error: [{ exists: false }] },
    ],
  };
}

/** The `detail` of the timed-out/aborted e-mail rule's pattern. */
export function executionStoppedDetail(stateMachineArn: string): Record<string, unknown> {
  return { stateMachineArn: [stateMachineArn], status: ['TIMED_OUT', 'ABORTED'] };
}

export class PipelineAlerts extends Construct {
  readonly topic: sns.ITopic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly executionFailedRule: events.Rule;
  /** Timed-out and aborted executions: the same e-mail as failures. */
  readonly executionStoppedRule: events.Rule;
  /** The monthly cost budget, when asked for. */
  readonly budget?: budgets.CfnBudget;
  readonly glueJobFailedRule: events.Rule;
  readonly dashboard: cloudwatch.Dashboard;
  private readonly addAlarm: (
    alarmId: string,
    description: string,
    metric: cloudwatch.IMetric,
    threshold?: number,
    op?: cloudwatch.ComparisonOperator,
  ) => cloudwatch.Alarm;
  private readonly period: Duration;

  constructor(scope: Construct, id: string, props: PipelineAlertsProps) {
    super(scope, id);
    const period = props.alarmPeriod ?? Duration.minutes(5);
    const stack = Stack.of(this);

    this.topic = props.topic;

    const executionArn = events.EventField.fromPath('$.detail.executionArn');
    const executionName = events.EventField.fromPath('$.detail.name');
    const region = events.EventField.fromPath('$.region');
    const failureEmail = () => [
      new targets.SnsTopic(this.topic, {
        message: events.RuleTargetInput.fromMultilineText(
          [
            `serverless-etl run ${executionName} ended ${events.EventField.fromPath('$.detail.status')}.`,
            '',
            `Started: ${events.EventField.fromPath('$.detail.startDate')} (epoch ms)`,
            `Execution: ${executionArn}`,
            `Console: https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`,
            '',
            'Fix the cause (the console shows the failed state and its error), then resume the run at the failed state:',
            `  aws stepfunctions redrive-execution --execution-arn ${executionArn}`,
            `  etl redrive ${executionName} --stack ${stack.stackName}`,
            '',
            'A rejected file is not a failure: it arrives as a REJECTED notice and is fixed by a corrected upload.',
          ].join('\n'),
        ),
      }),
    ];
    this.executionFailedRule = new events.Rule(this, 'ExecutionFailedNotice', {
      description: `A pipeline execution FAILED (other than ${props.rejectionError}): e-mail how to look and how to redrive`,
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: executionFailedDetail(props.stateMachine.stateMachineArn, props.rejectionError),
      },
      targets: failureEmail(),
    });
    this.executionStoppedRule = new events.Rule(this, 'ExecutionStoppedNotice', {
      description: 'A pipeline execution TIMED_OUT or was ABORTED: e-mail how to look and how to redrive',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: executionStoppedDetail(props.stateMachine.stateMachineArn),
      },
      targets: failureEmail(),
    });

    this.glueJobFailedRule = new events.Rule(this, 'GlueJobFailedNotice', {
      description: 'The transform job run FAILED, TIMED OUT or ERRORED',
      eventPattern: {
        source: ['aws.glue'],
        detailType: ['Glue Job State Change'],
        detail: { jobName: [props.glueJobName], state: ['FAILED', 'TIMEOUT', 'ERROR'] },
      },
      targets: [
        new targets.SnsTopic(this.topic, {
          message: events.RuleTargetInput.fromMultilineText(
            [
              `Glue job ${events.EventField.fromPath('$.detail.jobName')} run ${events.EventField.fromPath('$.detail.jobRunId')} ended ${events.EventField.fromPath('$.detail.state')}.`,
              `Message: ${events.EventField.fromPath('$.detail.message')}`,
              `Console: https://${region}.console.aws.amazon.com/gluestudio/home?region=${region}#/job/${props.glueJobName}/run/${events.EventField.fromPath('$.detail.jobRunId')}`,
              'The pipeline execution that started it fails at its Transform state; redrive it once fixed (see the execution e-mail).',
            ].join('\n'),
          ),
        }),
      ],
    });

    const alarmAction = new cwActions.SnsAction(this.topic);
    const alarm = (
      alarmId: string,
      description: string,
      metric: cloudwatch.IMetric,
      threshold = 1,
      op = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        alarmName: `${props.namePrefix}-${alarmId}`,
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: op,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(alarmAction);
      this.alarms.push(a);
      return a;
    };

    const sm = props.stateMachine;
    // AWS/States ExecutionsFailed counts rejected files too (their run ends in the Fail state
    // FileRejected): the failure e-mail rule's matches leave them out, so they are what alarms.
    alarm(
      'ExecutionsFailed',
      `Pipeline executions FAILED for a fault (rejected files, ${props.rejectionError}, are not counted: they arrive as REJECTED notices): see the execution e-mail, fix, redrive`,
      new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName: 'MatchedEvents',
        dimensionsMap: { RuleName: this.executionFailedRule.ruleName },
        period,
        statistic: 'Sum',
      }),
    );
    alarm(
      'ExecutionsTimedOut',
      'Pipeline executions timed out',
      sm.metricTimedOut({ period, statistic: 'Sum' }),
    );
    alarm(
      'ExecutionsAborted',
      'Pipeline executions were aborted',
      sm.metricAborted({ period, statistic: 'Sum' }),
    );
    alarm(
      'GlueJobFailed',
      'Transform job runs failed or timed out (Glue Job State Change events matched)',
      new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName: 'MatchedEvents',
        dimensionsMap: { RuleName: this.glueJobFailedRule.ruleName },
        period,
        statistic: 'Sum',
      }),
    );
    alarm(
      'DeadLetterQueueNotEmpty',
      'Trigger events could not start the state machine and wait in the dead-letter queue: fix, then `etl reconcile` or redrive them',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
      0,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    );
    const watchedRules = {
      Trigger: props.triggerRule,
      ExecutionFailedNotice: this.executionFailedRule,
      ExecutionStoppedNotice: this.executionStoppedRule,
      GlueJobFailedNotice: this.glueJobFailedRule,
    };
    Object.entries(watchedRules).forEach(([name, rule]) => {
      alarm(
        `${name}RuleFailedInvocations`,
        `EventBridge could not deliver the ${name} rule's events to its target`,
        new cloudwatch.Metric({
          namespace: 'AWS/Events',
          metricName: 'FailedInvocations',
          dimensionsMap: { RuleName: rule.ruleName },
          period,
          statistic: 'Sum',
        }),
      );
    });

    const datasetMetric = (dataset: string, metricName: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        // Powertools Metrics always adds the service dimension; the validate step adds dataset.
        dimensionsMap: { service: SERVICE_NAME, dataset },
        period,
        statistic: 'Sum',
      });
    const rejectRates: cloudwatch.IMetric[] = [];
    for (const d of props.datasets) {
      // Ids are per dataset: the dashboard graphs every dataset's ratio in one widget.
      const read = `read_${d.dataset}`;
      const rejected = `rejected_${d.dataset}`;
      const rate = new cloudwatch.MathExpression({
        expression: `IF(${read} > 0, ${rejected} / ${read}, 0)`,
        usingMetrics: {
          [read]: datasetMetric(d.dataset, PIPELINE_METRICS.rowsRead),
          [rejected]: datasetMetric(d.dataset, PIPELINE_METRICS.rowsRejected),
        },
        label: `${d.dataset} reject ratio`,
        period,
      });
      rejectRates.push(rate);
      alarm(
        `RejectRate-${d.dataset}`,
        `Share of rejected rows in ${d.dataset} above the contract's rejectThreshold (${d.rejectThreshold})`,
        rate,
        d.rejectThreshold,
        cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      );
    }

    // Data volume: CloudWatch learns each dataset's usual rows per period (hour of day, day of
    // week) and alarms when a period's sum leaves the band. A period with no file has no data
    // point and does not alarm; the model needs about two weeks of data before it is useful.
    const volumePeriod = props.volumePeriod ?? Duration.hours(1);
    for (const d of props.datasets) {
      const a = new cloudwatch.AnomalyDetectionAlarm(this, `RowsReadAnomaly-${d.dataset}`, {
        alarmName: `${props.namePrefix}-RowsReadAnomaly-${d.dataset}`,
        alarmDescription: `Rows read for ${d.dataset} in ${volumePeriod.toHumanString()} outside the expected band (3 standard deviations of the learned pattern): a missing or duplicated feed, or a truncated file`,
        metric: datasetMetric(d.dataset, PIPELINE_METRICS.rowsRead).with({ period: volumePeriod }),
        stdDevs: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_LOWER_OR_GREATER_THAN_UPPER_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(alarmAction);
      this.alarms.push(a);
    }

    this.addAlarm = alarm;
    this.period = period;
    for (const w of props.functions ?? []) this.watchFunction(w);

    if (props.budget) {
      const b = props.budget;
      if (!(b.monthlyLimitUsd > 0))
        throw new Error(`PipelineAlerts: budget.monthlyLimitUsd must be > 0, got ${b.monthlyLimitUsd}`);
      const subscribers = [{ subscriptionType: 'EMAIL', address: b.email }];
      this.budget = new budgets.CfnBudget(this, 'Budget', {
        budget: {
          budgetName: `${props.namePrefix}-monthly`,
          budgetType: 'COST',
          timeUnit: 'MONTHLY',
          budgetLimit: { amount: b.monthlyLimitUsd, unit: 'USD' },
          ...(b.tag && { costFilters: { TagKeyValue: [`user:${b.tag.key}$${b.tag.value}`] } }),
        },
        notificationsWithSubscribers: [
          {
            notification: {
              notificationType: 'ACTUAL',
              comparisonOperator: 'GREATER_THAN',
              threshold: 80,
              thresholdType: 'PERCENTAGE',
            },
            subscribers,
          },
          {
            notification: {
              notificationType: 'FORECASTED',
              comparisonOperator: 'GREATER_THAN',
              threshold: 100,
              thresholdType: 'PERCENTAGE',
            },
            subscribers,
          },
        ],
      });
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${props.namePrefix}-pipeline`,
      defaultInterval: Duration.days(1),
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Runs by status',
        width: 12,
        left: [
          sm.metricStarted({ period, statistic: 'Sum', label: 'started' }),
          sm.metricSucceeded({ period, statistic: 'Sum', label: 'succeeded' }),
          sm.metricFailed({ period, statistic: 'Sum', label: 'failed (rejected files included)' }),
          new cloudwatch.MathExpression({
            expression: `SUM(SEARCH('{${METRICS_NAMESPACE},service,reason} MetricName="${PIPELINE_METRICS.filesRejected}"', 'Sum', ${period.toSeconds()}))`,
            label: 'rejected files',
            period,
          }),
          sm.metricTimedOut({ period, statistic: 'Sum', label: 'timed out' }),
          sm.metricAborted({ period, statistic: 'Sum', label: 'aborted' }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Run duration (ms)',
        width: 12,
        left: [
          sm.metricTime({ period, statistic: 'Average', label: 'average' }),
          sm.metricTime({ period, statistic: 'p90', label: 'p90' }),
          sm.metricTime({ period, statistic: 'Maximum', label: 'max' }),
        ],
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Rows read / valid / rejected',
        width: 12,
        left: props.datasets.flatMap((d) => [
          datasetMetric(d.dataset, PIPELINE_METRICS.rowsRead).with({ label: `${d.dataset} read` }),
          datasetMetric(d.dataset, PIPELINE_METRICS.rowsValid).with({ label: `${d.dataset} valid` }),
          datasetMetric(d.dataset, PIPELINE_METRICS.rowsRejected).with({ label: `${d.dataset} rejected` }),
        ]),
      }),
      new cloudwatch.GraphWidget({
        title: 'Reject ratio',
        width: 6,
        left: rejectRates,
        leftAnnotations: props.datasets.map((d) => ({
          value: d.rejectThreshold,
          label: `${d.dataset} threshold`,
        })),
      }),
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queue depth',
        width: 6,
        left: [
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        ],
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', width: 24, alarms: this.alarms }),
    );
  }
  /**
   * Alarms on one step function: throttles, durations above 80 % of its timeout, and errors unless
   * the state machine uses its errors as control flow (see {@link WatchedFunction}).
   */

  watchFunction(w: WatchedFunction): void {
    const alarm = this.addAlarm;
    const period = this.period;
    const title = w.step
      .split('-')
      .map((p) => p[0]!.toUpperCase() + p.slice(1))
      .join('');
    if (w.controlFlowErrors.length === 0 && w.errorsAlarm !== false) {
      alarm(
        `${title}Errors`,
        `functions/${w.step} returned an error (a fault, or a transient dependency error the state machine retried)`,
        w.fn.metricErrors({ period, statistic: 'Sum' }),
      );
    }
    alarm(
      `${title}Throttles`,
      `functions/${w.step} was throttled (account or reserved concurrency exhausted); the state machine retries, runs slow down`,
      w.fn.metricThrottles({ period, statistic: 'Sum' }),
    );
    const limitMs = Math.floor(w.timeout.toMilliseconds() * 0.8);
    alarm(
      `${title}Duration`,
      `functions/${w.step} ran longer than 80 % of its ${w.timeout.toSeconds()} s timeout: it is close to timing out (bigger files, slower dependency): raise its memory or timeout`,
      w.fn.metricDuration({ period, statistic: 'Maximum' }),
      limitMs,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    );
  }
}
