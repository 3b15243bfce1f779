/**
 * The repository's stack: one {@link EtlPipeline} (infra/etl-pipeline.ts) and the outputs the CLI
 * reads (`etl ... --stack <name>`, remote/stack-outputs.ts).
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { PipelineConfig } from './config';
import type { GlueTransform } from './constructs/glue-transform';
import type { LakeCatalog } from './constructs/lake-catalog';
import type { LakeStorage } from './constructs/lake-storage';
import type { NotificationTopic, PipelineAlerts } from './constructs/pipeline-alerts';
import type { SinkResources } from './constructs/sinks';
import type { StepFunctions } from './constructs/step-functions';
import { EtlPipeline } from './etl-pipeline';

export {
  REJECTED_FAIL_STATE,
  placeholderOf,
  rejectionErrorOf,
  stateMachineSteps,
  stepTimeouts,
} from './etl-pipeline';

export interface EtlPipelineStackProps extends StackProps {
  /**
   * The pipeline's settings (infra/config.ts `loadConfig`): name prefix, datasets and their
   * contracts folder, notification e-mail, Glue sizing, retention, reconcile cadence.
   */
  readonly config: PipelineConfig;
  /**
   * Folder with one sub-folder per step function (`<step>/handler.ts`, bundled as the entry); each
   * step's IAM needs come from the registry functions/steps.ts.
   * @default <repo>/functions
   */
  readonly functionsDir?: string;
}

export class EtlPipelineStack extends Stack {
  /** The pipeline construct; the fields below are its parts, kept here for the tests and the CLI. */
  readonly pipeline: EtlPipeline;
  readonly storage: LakeStorage;
  readonly ledger: dynamodb.Table;
  readonly sinks: SinkResources;
  readonly catalog: LakeCatalog;
  readonly transform: GlueTransform;
  readonly steps: StepFunctions;
  readonly stateMachine: sfn.StateMachine;
  readonly stateMachineName: string;
  readonly stateMachineRole: iam.Role;
  readonly triggerRule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;
  readonly notifications: NotificationTopic;
  readonly alerts: PipelineAlerts;
  readonly reconcile: StepFunctions;
  readonly reconcileSchedule: scheduler.Schedule;
  readonly recordFailure: StepFunctions;
  readonly recordFailureRule: events.Rule;
  readonly recordFailureDeadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: EtlPipelineStackProps) {
    super(scope, id, props);
    const p = new EtlPipeline(this, 'Pipeline', {
      config: props.config,
      ...(props.functionsDir !== undefined && { functionsDir: props.functionsDir }),
    });
    this.pipeline = p;
    this.storage = p.storage;
    this.ledger = p.ledger;
    this.sinks = p.sinks;
    this.catalog = p.catalog;
    this.transform = p.transform;
    this.steps = p.steps;
    this.stateMachine = p.stateMachine;
    this.stateMachineName = p.stateMachineName;
    this.stateMachineRole = p.stateMachineRole;
    this.triggerRule = p.triggerRule;
    this.deadLetterQueue = p.deadLetterQueue;
    this.notifications = p.notifications;
    this.alerts = p.alerts;
    this.reconcile = p.reconcile;
    this.reconcileSchedule = p.reconcileSchedule;
    this.recordFailure = p.recordFailure;
    this.recordFailureRule = p.recordFailureRule;
    this.recordFailureDeadLetterQueue = p.recordFailureDeadLetterQueue;
    const topic = p.notifications.topic;

    // --- outputs the CLI reads (etl ... --stack <name>) ----------------------------------------
    new CfnOutput(this, 'LandingBucketName', { value: p.storage.landingBucket.bucketName });
    new CfnOutput(this, 'LakeBucketName', { value: p.storage.lakeBucket.bucketName });
    new CfnOutput(this, 'AthenaResultsBucketName', { value: p.storage.athenaResultsBucket.bucketName });
    new CfnOutput(this, 'StateMachineArn', { value: p.stateMachine.stateMachineArn });
    new CfnOutput(this, 'LedgerTableName', { value: p.ledger.tableName });
    new CfnOutput(this, 'GlueDatabaseName', { value: p.catalog.databaseName });
    new CfnOutput(this, 'GlueJobName', { value: p.transform.jobName });
    new CfnOutput(this, 'CrawlerName', { value: p.catalog.crawlerName });
    new CfnOutput(this, 'AthenaWorkGroupName', { value: p.catalog.workGroupName });
    new CfnOutput(this, 'NotificationTopicArn', { value: topic.topicArn });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: p.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'DashboardName', { value: p.alerts.dashboard.dashboardName });
  }
}
