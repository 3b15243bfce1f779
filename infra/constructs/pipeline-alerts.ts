/**
 * Telling people: the encrypted notification topic (the state machine's SUCCEEDED/REJECTED
 * notices and every alarm), a readable e-mail for each failed/timed-out/aborted execution with
 * the console link and the redrive commands (not for rejected files: they get the REJECTED
 * notice), Glue job failures, the alarms, and one dashboard.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
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
} as const;

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
}

export interface NotificationTopicProps {
  /** Prefix of physical names: the topic is `<prefix>-notifications`. */
  readonly namePrefix: string;
  /** Encrypts messages at rest; its policy must let EventBridge and CloudWatch use it (LakeStorage's does). */
  readonly key: kms.IKey;
  /** Subscribed by e-mail (the recipient must confirm the subscription). */
  readonly notificationEmail: string;
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
    this.topic.addSubscription(new subs.EmailSubscription(props.notificationEmail));
  }
}

/**
 * The `detail` of the failure e-mail rule's pattern: TIMED_OUT and ABORTED executions, and FAILED
 * ones unless their `error` is the rejection error (those already got the REJECTED notice).
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
      { status: ['TIMED_OUT', 'ABORTED'] },
    ],
  };
}

export class PipelineAlerts extends Construct {
  readonly topic: sns.ITopic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly executionFailedRule: events.Rule;
  readonly glueJobFailedRule: events.Rule;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: PipelineAlertsProps) {
    super(scope, id);
    const period = props.alarmPeriod ?? Duration.minutes(5);
    const stack = Stack.of(this);

    this.topic = props.topic;

    const executionArn = events.EventField.fromPath('$.detail.executionArn');
    const executionName = events.EventField.fromPath('$.detail.name');
    const region = events.EventField.fromPath('$.region');
    this.executionFailedRule = new events.Rule(this, 'ExecutionFailedNotice', {
      description: `A pipeline execution FAILED (other than ${props.rejectionError}), TIMED_OUT or was ABORTED: e-mail how to look and how to redrive`,
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: executionFailedDetail(props.stateMachine.stateMachineArn, props.rejectionError),
      },
      targets: [
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
      ],
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
    alarm(
      'ExecutionsFailed',
      'Pipeline executions failed (a rejected file counts too: its run ends FAILED): see the execution e-mail (or the REJECTED notice), fix, redrive',
      sm.metricFailed({ period, statistic: 'Sum' }),
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
          sm.metricFailed({ period, statistic: 'Sum', label: 'failed' }),
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
}
