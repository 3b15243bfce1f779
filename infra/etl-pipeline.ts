/**
 * The pipeline as one construct, `EtlPipeline`: storage, ledger, step functions, the Glue
 * transform, the catalog and Athena, the state machine from statemachines/pipeline.asl.json, the
 * trigger rule, the reconcile schedule, and alerts. Several datasets share it (one crawler target
 * and one reject-rate alarm per dataset contract). infra/pipeline-stack.ts is the repository's
 * stack around it; a team's own CDK app can place it in any stack.
 */
import { DEFAULT_MEMORY_MIB, STEP_MEMORY_MIB } from '../functions/sizing';
import { Annotations, ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LEDGER_TABLE_KEYS } from '../adapters/aws/dynamodb-ledger';
import { LANDING_PREFIX, triggerKeyPattern } from '../core/layout';
import { VALIDATE_MAX_FILE_BYTES_ENV } from '../core/file-size-limit';
import { TRANSFORM_LAMBDA_MAX_BYTES_ENV } from '../core/steps';
import { STAGING_FORMAT_ENV } from '../core/staging';

/** Lambda gives a function one vCPU per 1,769 MB of memory. */
const LAMBDA_MIB_PER_VCPU = 1769;
import {
  DEFINITION_PLACEHOLDERS,
  TASK_STATES,
  loadDefinition,
  readDefinitionText,
  type DefinitionSubstitutions,
} from '../statemachines/definition';
import { resolvePipelineConfig, type EtlPipelineProps } from './etl-pipeline-props';
import { executionsArnOf, type IamResourceArns, type IamResourceMap } from './iam-needs';
import { GlueLogGroups } from './constructs/glue-logs';
import { GlueTransform } from './constructs/glue-transform';
import { LakeCatalog } from './constructs/lake-catalog';
import { LakeStorage } from './constructs/lake-storage';
import { NotificationTopic, PipelineAlerts } from './constructs/pipeline-alerts';
import { StepFunctions, type StepFunctionSettings } from './constructs/step-functions';
import { SinkResources } from './constructs/sinks';
import { SourcePulls } from './constructs/source-pulls';
import { sourcesOfPipeline } from './sources';
import { addPipelineNagSuppressions } from './nag-suppressions';

export type { EtlPipelineProps } from './etl-pipeline-props';

/** The Fail state a rejected file ends in; its `Error` is what the failure e-mail rule skips. */
export const REJECTED_FAIL_STATE = 'FileRejected';

/** The `Error` of the rejected-file Fail state (`FileRejectedError`), read from the definition. */
export function rejectionErrorOf(definitionText: string = readDefinitionText()): string {
  const asl = JSON.parse(definitionText) as { States: Record<string, { Type: string; Error?: string }> };
  const state = asl.States[REJECTED_FAIL_STATE];
  if (state?.Type !== 'Fail' || typeof state.Error !== 'string' || state.Error === '') {
    throw new Error(
      `statemachines/pipeline.asl.json: no Fail state ${REJECTED_FAIL_STATE} with an Error; the failure e-mail rule needs it to leave rejected files out.`,
    );
  }
  return state.Error;
}

/** Lambda steps of the state machine, from the definition module (TASK_STATES), in order of first use. */
export function stateMachineSteps(): string[] {
  const steps: string[] = [];
  for (const t of Object.values(TASK_STATES)) {
    if (t.kind === 'lambda' && !steps.includes(t.function)) steps.push(t.function);
  }
  return steps;
}

/**
 * `check-still-latest` → `CheckStillLatestFunctionArn`: the definition's placeholder for that step,
 * read from the `Resource` of the Task state that runs it (TASK_STATES), so a state whose name is
 * not the folder's (`LoadDynamoDbSink` → `load-dynamodb-sink`, `TransformInLambda` → `transform`
 * with `${TransformFunctionArn}`) still maps; the folder in PascalCase when no state runs it.
 */
export function placeholderOf(step: string): string {
  const state = Object.entries(TASK_STATES).find(([, t]) => t.kind === 'lambda' && t.function === step)?.[0];
  if (state !== undefined) {
    const asl = JSON.parse(readDefinitionText()) as { States: Record<string, { Resource?: string }> };
    const placeholder = /^\$\{([A-Za-z0-9]+FunctionArn)\}$/.exec(asl.States[state]?.Resource ?? '')?.[1];
    if (placeholder !== undefined) return placeholder;
  }
  return `${step
    .split('-')
    .map((w) => `${w[0]!.toUpperCase()}${w.slice(1)}`)
    .join('')}FunctionArn`;
}

/**
 * Each step's timeout: a little under the shortest TimeoutSeconds of the Task states that call
 * it, so Lambda's own timeout (with its log line) fires before the state's States.Timeout.
 */
export function stepTimeouts(): Map<string, Duration> {
  const asl = JSON.parse(readDefinitionText()) as {
    States: Record<string, { Resource?: string; TimeoutSeconds?: number }>;
  };
  const out = new Map<string, Duration>();
  for (const step of stateMachineSteps()) {
    const seconds = Object.values(asl.States)
      .filter((s) => s.Resource === `\${${placeholderOf(step)}}`)
      .map((s) => s.TimeoutSeconds ?? 60);
    if (seconds.length === 0)
      throw new Error(`statemachines/pipeline.asl.json: no Task state uses \${${placeholderOf(step)}}`);
    const task = Math.min(...seconds);
    out.set(step, Duration.seconds(Math.min(900, Math.max(3, task - Math.max(2, Math.ceil(task * 0.05))))));
  }
  return out;
}

/** Errors a retrier or catcher of any Task state names that are not Lambda's, Step Functions' or TransientDependencyError. */
const isControlFlowError = (e: string) =>
  !/^(Lambda|States|Sandbox)\./.test(e) && e !== 'TransientDependencyError';

/**
 * The errors the state machine expects from `step` as control flow (caught or retried by name:
 * `FileRejectedError`, `CrawlerNotReadyError`, ...), read from the definition. Lambda's Errors
 * metric counts them like faults, so those steps get no Errors alarm (infra/constructs/pipeline-alerts.ts).
 */
export function controlFlowErrorsOf(step: string, definitionText: string = readDefinitionText()): string[] {
  const asl = JSON.parse(definitionText) as {
    States: Record<
      string,
      { Resource?: string; Retry?: { ErrorEquals: string[] }[]; Catch?: { ErrorEquals: string[] }[] }
    >;
  };
  const names = new Set<string>();
  for (const s of Object.values(asl.States)) {
    if (s.Resource !== `\${${placeholderOf(step)}}`) continue;
    for (const r of [...(s.Retry ?? []), ...(s.Catch ?? [])])
      for (const e of r.ErrorEquals) if (isControlFlowError(e)) names.add(e);
  }
  return [...names].sort();
}

export class EtlPipeline extends Construct {
  readonly storage: LakeStorage;
  readonly ledger: dynamodb.Table;
  /** The sinks' tables and COPY role (infra/constructs/sinks.ts). */
  readonly sinks: SinkResources;
  readonly catalog: LakeCatalog;
  readonly transform: GlueTransform;
  /** Glue's job and crawler log groups, with retention (infra/constructs/glue-logs.ts). */
  readonly glueLogs: GlueLogGroups;
  readonly steps: StepFunctions;
  readonly stateMachine: sfn.StateMachine;
  /** The state machine's physical name (`<prefix>-pipeline`), known at synth time. */
  readonly stateMachineName: string;
  readonly stateMachineRole: iam.Role;
  readonly triggerRule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;
  readonly notifications: NotificationTopic;
  readonly alerts: PipelineAlerts;
  readonly reconcile: StepFunctions;
  readonly reconcileSchedule: scheduler.Schedule;
  /** functions/record-failure: marks the ledger FAILED for runs that failed, timed out or were aborted. */
  readonly recordFailure: StepFunctions;
  readonly recordFailureRule: events.Rule;
  readonly recordFailureDeadLetterQueue: sqs.Queue;
  /**
   * Pulled sources (issue 14): the bookmarks table, the pull function, one schedule per source
   * definition beside the contracts, their alarms. Undefined when there is no definition.
   */
  readonly pulls?: SourcePulls;

  constructor(scope: Construct, id: string, props: EtlPipelineProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const config = resolvePipelineConfig(this, props);
    const prefix = config.namePrefix;
    const retention = config.logRetentionDays as logs.RetentionDays;
    const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.storage = new LakeStorage(this, 'Storage', {
      namePrefix: prefix,
      stagingExpirationDays: config.stagingExpirationDays,
      noncurrentVersionExpirationDays: config.noncurrentVersionExpirationDays,
      athenaResultsExpirationDays: config.athenaResultsExpirationDays,
      retainData: config.retainData,
      ...(props.key !== undefined && { existingKey: props.key }),
      ...(props.landingBucket !== undefined && { existingLandingBucket: props.landingBucket }),
    });
    const key = this.storage.key;

    this.ledger = new dynamodb.Table(this, 'Ledger', {
      tableName: `${prefix}-ledger`,
      // The claim step's ledger adapter owns the key schema (pk = bucket/key, sk = version or latest).
      partitionKey: { name: LEDGER_TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
    });

    this.transform = new GlueTransform(this, 'Transform', {
      namePrefix: prefix,
      lakeBucket: this.storage.lakeBucket,
      key,
      maxWorkers: config.glue.maxWorkers,
      maxConcurrentRuns: config.glue.maxConcurrentRuns,
    });
    this.catalog = new LakeCatalog(this, 'Catalog', {
      namePrefix: prefix,
      datasets: config.datasets,
      lakeBucket: this.storage.lakeBucket,
      athenaResultsBucket: this.storage.athenaResultsBucket,
      key,
      securityConfigurationName: this.transform.securityConfigurationName,
      bytesScannedCutoffPerQuery: config.athenaBytesScannedCutoff,
    });
    this.catalog.crawler.node.addDependency(this.transform.job);
    // Glue's own log groups, made here so they expire (logRetentionDays) and are encrypted.
    this.glueLogs = new GlueLogGroups(this, 'GlueLogs', {
      namePrefix: prefix,
      job: this.transform.job,
      crawlerRole: this.catalog.crawlerRole,
      securityConfigurationName: this.transform.securityConfigurationName,
      key,
      retention,
      removalPolicy,
    });
    for (const g of this.glueLogs.logGroups) this.catalog.crawler.node.addDependency(g);

    // The notification topic is needed by the steps (the state machine publishes to it) and the
    // alerts need the state machine: the topic lives in alerts, created before the machine.
    const stateMachineName = `${prefix}-pipeline`;
    this.stateMachineName = stateMachineName;
    const stateMachineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    this.notifications = new NotificationTopic(this, 'Notifications', {
      namePrefix: prefix,
      key,
      notificationEmail: config.notificationEmail,
      notifySuccesses: props.notifySuccesses ?? false,
    });
    const topic = this.notifications.topic;

    this.sinks = new SinkResources(this, 'Sinks', {
      namePrefix: prefix,
      datasets: config.datasets,
      lakeBucket: this.storage.lakeBucket,
      key,
      removalPolicy,
    });
    const sinks = this.sinks;

    const arnsOrNone = (arns: readonly string[]): IamResourceArns =>
      arns.length > 0 ? { kind: 'arns', arns } : { kind: 'none' };
    const resources: IamResourceMap = {
      landingBucket: { kind: 'bucket', bucketArn: this.storage.landingBucket.bucketArn },
      lakeBucket: { kind: 'bucket', bucketArn: this.storage.lakeBucket.bucketArn },
      athenaResultsBucket: { kind: 'bucket', bucketArn: this.storage.athenaResultsBucket.bucketArn },
      ledgerTable: { kind: 'arns', arns: [this.ledger.tableArn] },
      glueDatabase: { kind: 'arns', arns: this.catalog.catalogArns },
      glueCrawler: {
        kind: 'arns',
        arns: [
          stack.formatArn({ service: 'glue', resource: 'crawler', resourceName: this.catalog.crawlerName }),
        ],
      },
      glueJob: {
        kind: 'arns',
        arns: [stack.formatArn({ service: 'glue', resource: 'job', resourceName: this.transform.jobName })],
      },
      athenaWorkGroup: {
        kind: 'arns',
        arns: [
          stack.formatArn({
            service: 'athena',
            resource: 'workgroup',
            resourceName: this.catalog.workGroupName,
          }),
        ],
      },
      notificationTopic: { kind: 'arns', arns: [topic.topicArn] },
      sinkTables: sinks.tableArns.length > 0 ? { kind: 'arns', arns: sinks.tableArns } : { kind: 'none' },
      redshiftWarehouses:
        sinks.warehouseArns.length > 0 ? { kind: 'arns', arns: sinks.warehouseArns } : { kind: 'none' },
      redshiftWorkgroups: arnsOrNone(sinks.workgroupArns),
      redshiftClusterDatabases: arnsOrNone(sinks.clusterDatabaseArns),
      redshiftClusterUsers: arnsOrNone(sinks.clusterUserArns),
      redshiftSecrets: arnsOrNone(sinks.secretArns),
      // The Data API's statement calls take no resource; they act on the caller's own statements.
      redshiftStatements: sinks.warehouseArns.length > 0 ? { kind: 'arns', arns: ['*'] } : { kind: 'none' },
    };
    const environmentValues = {
      landingBucket: this.storage.landingBucket.bucketName,
      lakeBucket: this.storage.lakeBucket.bucketName,
      athenaResultsBucket: this.storage.athenaResultsBucket.bucketName,
      ledgerTable: this.ledger.tableName,
      glueDatabase: this.catalog.databaseName,
      glueCrawler: this.catalog.crawlerName,
      glueJob: this.transform.jobName,
      athenaWorkGroup: this.catalog.workGroupName,
      notificationTopic: topic.topicArn,
      ...(sinks.createdTables.size > 0 && {
        sinkTables: stack.toJsonString(
          Object.fromEntries([...sinks.createdTables].map(([dataset, t]) => [dataset, t.tableName])),
        ),
      }),
      ...(sinks.copyRole !== null && { redshiftCopyRole: sinks.copyRole.roleArn }),
    };

    const timeouts = stepTimeouts();
    const stepSettings: Record<string, StepFunctionSettings> = {};
    for (const step of stateMachineSteps()) {
      stepSettings[step] = {
        memoryMiB: STEP_MEMORY_MIB[step] ?? DEFAULT_MEMORY_MIB,
        timeout: timeouts.get(step)!,
      };
    }
    // The right-sized engine (issue 12): Validate routes by staging size; the Transform Lambda is
    // sized by the measurement in transform/README.md and capped by reserved concurrency.
    stepSettings.validate = {
      ...stepSettings.validate!,
      environment: {
        [TRANSFORM_LAMBDA_MAX_BYTES_ENV]: String(config.transformLambda.maxBytes),
        // FILE_TOO_LARGE above it (core/file-size-limit.ts): never a timeout-retry loop.
        [VALIDATE_MAX_FILE_BYTES_ENV]: String(config.validateLambda.maxFileBytes),
        // The checked fast path's staging (functions/validate `stagingFormat`; both transform engines
        // read both): CSV with one vCPU (below 3,538 MB), where converting to Parquet would take the
        // byte pass's core; Parquet with two or more, where it runs beside it (from 24 MiB; a smaller
        // file is staged as CSV by either, with no DuckDB to start). Set here, not left
        // to os.availableParallelism(): a Lambda's CPU share is not its visible CPU count.
        [STAGING_FORMAT_ENV]: stepSettings.validate!.memoryMiB < 2 * LAMBDA_MIB_PER_VCPU ? 'csv' : 'parquet',
      },
      // Room for the DuckDB fast path's download and Parquet staging (issue 13).
      ephemeralStorageMiB: config.validateLambda.ephemeralStorageMiB,
      // Every file passes Validate: reserved so a burst cannot starve the other steps (issue 12).
      ...(config.validateLambda.reservedConcurrency > 0 && {
        reservedConcurrency: config.validateLambda.reservedConcurrency,
      }),
    };
    stepSettings.transform = {
      ...stepSettings.transform!,
      memoryMiB: config.transformLambda.memoryMiB,
      ephemeralStorageMiB: config.transformLambda.ephemeralStorageMiB,
      reservedConcurrency: config.transformLambda.reservedConcurrency,
    };
    /** What every group of step functions shares: resources, environment, key, logs, bundling. */
    const stepFunctionsProps = {
      resources,
      environmentValues,
      key,
      logRetention: retention,
      namePrefix: prefix,
      functionsDir: props.functionsDir,
      schemasDir: config.schemasDir,
    };
    this.steps = new StepFunctions(this, 'Steps', { steps: stepSettings, ...stepFunctionsProps });

    // --- the state machine -------------------------------------------------------------------
    this.deadLetterQueue = new sqs.Queue(this, 'TriggerDeadLetters', {
      queueName: `${prefix}-trigger-dlq`,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', {
      // The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy small when many
      // state machines log (AWS's recommendation for Step Functions).
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
      retention,
      encryptionKey: key,
      removalPolicy,
    });

    const substitutions: Record<string, string> = {
      GlueJobName: this.transform.jobName,
      CrawlerName: this.catalog.crawlerName,
      GlueDatabase: this.catalog.databaseName,
      LakeBucket: this.storage.lakeBucket.bucketName,
      TopicArn: topic.topicArn,
    };
    for (const step of stateMachineSteps())
      substitutions[placeholderOf(step)] = this.steps.get(step).fn.functionArn;
    const missing = Object.keys(DEFINITION_PLACEHOLDERS).filter((p) => !(p in substitutions));
    if (missing.length > 0) {
      throw new Error(
        `EtlPipeline: no value for definition placeholder(s) ${missing.join(', ')} (statemachines/definition.ts).`,
      );
    }
    // Fails the synth, not the deploy, when the file and this map disagree on a placeholder.
    loadDefinition(substitutions as DefinitionSubstitutions);

    this.stateMachineRole = new iam.Role(this, 'StateMachineRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description:
        'Pipeline state machine: invoke the step functions, run the transform job, publish notices',
    });
    this.stateMachineRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeStepFunctions',
        actions: ['lambda:InvokeFunction'],
        resources: stateMachineSteps().map((step) => this.steps.get(step).fn.functionArn),
      }),
    );
    // glue:startJobRun.sync starts the run, polls it, and stops it when the execution is stopped.
    this.stateMachineRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunTransformJobSync',
        actions: ['glue:StartJobRun', 'glue:GetJobRun', 'glue:GetJobRuns', 'glue:BatchStopJobRun'],
        resources: [
          stack.formatArn({ service: 'glue', resource: 'job', resourceName: this.transform.jobName }),
        ],
      }),
    );
    this.stateMachineRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PublishNotices',
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
      }),
    );
    this.stateMachineRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PublishToEncryptedTopic',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [key.keyArn],
      }),
    );

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      // The file itself, inline: one definition for both runtimes; CloudFormation fills the
      // placeholders (definitionSubstitutions), the local runtime fills them with local values.
      definitionBody: sfn.DefinitionBody.fromString(readDefinitionText()),
      definitionSubstitutions: substitutions,
      role: this.stateMachineRole,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });

    // --- the trigger -------------------------------------------------------------------------
    this.triggerRule = new events.Rule(this, 'Trigger', {
      description: `An object created under ${LANDING_PREFIX} in the landing bucket starts one pipeline execution`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [this.storage.landingBucket.bucketName] },
          // Every key under incoming/: Claim's allowlist (core/layout LANDING_SUFFIXES, any case)
          // runs .csv/.jsonl/.json (optionally .gz) and refuses the rest as KEY_NOT_ALLOWED. An
          // exact pattern cannot be written (core/layout triggerKeyPattern says why). Outputs live
          // in the lake bucket and never start with incoming/, so they can never trigger a run.
          object: { key: triggerKeyPattern() },
        },
      },
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          deadLetterQueue: this.deadLetterQueue,
          maxEventAge: Duration.hours(24),
          retryAttempts: 185,
        }),
      ],
    });

    this.alerts = new PipelineAlerts(this, 'Alerts', {
      namePrefix: prefix,
      topic,
      stateMachine: this.stateMachine,
      glueJobName: this.transform.jobName,
      deadLetterQueue: this.deadLetterQueue,
      triggerRule: this.triggerRule,
      rejectionError: rejectionErrorOf(),
      functions: stateMachineSteps().map((step) => ({
        step,
        fn: this.steps.get(step).fn,
        timeout: timeouts.get(step)!,
        controlFlowErrors: controlFlowErrorsOf(step),
      })),
      ...((props.monthlyBudgetUsd ?? 100) > 0 && {
        budget: {
          monthlyLimitUsd: props.monthlyBudgetUsd ?? 100,
          email: config.notificationEmail,
          ...(props.budgetTag && { tag: props.budgetTag }),
        },
      }),
      datasets: config.datasets,
    });

    // --- record-failure: the ledger learns of runs that failed, timed out or were aborted -------
    // Faults are not caught in the state machine (a redrive resumes at the failing task), so no
    // state can write FAILED: this rule does, from outside. It matches rejected runs too (they end
    // FAILED): the ledger's conditional settle leaves their final REJECTED record as it is.
    this.recordFailure = new StepFunctions(this, 'RecordFailure', {
      steps: {
        'record-failure': { memoryMiB: STEP_MEMORY_MIB['record-failure'], timeout: Duration.seconds(30) },
      },
      ...stepFunctionsProps,
    });
    const recordFailureFn = this.recordFailure.get('record-failure').fn;
    this.recordFailureDeadLetterQueue = new sqs.Queue(this, 'RecordFailureDeadLetters', {
      queueName: `${prefix}-record-failure-dlq`,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.recordFailureRule = new events.Rule(this, 'RecordFailureRule', {
      description:
        'A pipeline execution FAILED, TIMED_OUT or was ABORTED: record FAILED in the ledger (functions/record-failure)',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
          stateMachineArn: [this.stateMachine.stateMachineArn],
        },
      },
      targets: [
        new targets.LambdaFunction(recordFailureFn, {
          deadLetterQueue: this.recordFailureDeadLetterQueue,
          maxEventAge: Duration.hours(24),
          retryAttempts: 185,
        }),
      ],
    });
    const recordFailureAlarms = [
      new cloudwatch.Alarm(this, 'RecordFailureErrors', {
        alarmName: `${prefix}-RecordFailureErrors`,
        alarmDescription:
          'functions/record-failure failed: a failed run may still show CLAIMED in the ledger (its failure e-mail is sent regardless)',
        metric: recordFailureFn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'RecordFailureDeadLettersNotEmpty', {
        alarmName: `${prefix}-RecordFailureDeadLettersNotEmpty`,
        alarmDescription:
          'Execution status events could not reach functions/record-failure and wait in its dead-letter queue: the ledger misses those FAILED records',
        metric: this.recordFailureDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
    for (const a of recordFailureAlarms) a.addAlarmAction(new cwActions.SnsAction(topic));

    // --- reconcile: files whose event was missed ----------------------------------------------
    this.reconcile = new StepFunctions(this, 'Reconcile', {
      steps: { reconcile: { memoryMiB: STEP_MEMORY_MIB.reconcile, timeout: Duration.minutes(5) } },
      resources: {
        ...resources,
        stateMachine: {
          kind: 'stateMachine',
          stateMachineArn,
          executionsArn: executionsArnOf(stack, stateMachineName),
        },
      },
      environmentValues: { ...environmentValues, stateMachine: stateMachineArn },
      key,
      logRetention: retention,
      namePrefix: prefix,
      functionsDir: props.functionsDir,
      schemasDir: config.schemasDir,
    });
    this.reconcileSchedule = new scheduler.Schedule(this, 'ReconcileSchedule', {
      scheduleName: `${prefix}-reconcile`,
      description: `Starts runs for ${LANDING_PREFIX} files with no finished ledger record (missed or dead-lettered events)`,
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(config.reconcileEveryMinutes)),
      target: new schedulerTargets.LambdaInvoke(this.reconcile.get('reconcile').fn, {
        // functions/reconcile ReconcileInput: leave uploads younger than 15 minutes to their own
        // event, and start at most 100 runs per sweep so a backlog drains over several sweeps.
        input: scheduler.ScheduleTargetInput.fromObject({ minAgeMinutes: 15, maxStarts: 100 }),
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      }),
    });

    // A sweep that fails is silent by nature (nothing is started): its errors alarm like the rest.
    const reconcileErrors = new cloudwatch.Alarm(this, 'ReconcileErrors', {
      alarmName: `${prefix}-ReconcileErrors`,
      alarmDescription: 'The reconcile sweep failed: files whose event was missed are not being started',
      metric: this.reconcile
        .get('reconcile')
        .fn.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    reconcileErrors.addAlarmAction(new cwActions.SnsAction(topic));

    for (const warning of config.warnings) Annotations.of(this).addWarningV2('etl:config', warning);
    // record-failure and reconcile have their own Errors alarms (above); throttles and durations here.
    this.alerts.watchFunction({
      step: 'record-failure',
      fn: recordFailureFn,
      timeout: Duration.seconds(30),
      controlFlowErrors: [],
      errorsAlarm: false,
    });
    this.alerts.watchFunction({
      step: 'reconcile',
      fn: this.reconcile.get('reconcile').fn,
      timeout: Duration.minutes(5),
      controlFlowErrors: [],
      errorsAlarm: false,
    });
    // --- pulled sources: a schedule per <name>.source.json beside the contracts ----------------
    const sources = sourcesOfPipeline(config, props.sources);
    if (sources.length > 0) {
      this.pulls = new SourcePulls(this, 'Pulls', {
        namePrefix: prefix,
        sources,
        key,
        landingBucket: this.storage.landingBucket,
        removalPolicy,
        stepFunctions: stepFunctionsProps,
        topic,
        schedulesEnabled: props.pullSchedulesEnabled ?? true,
      });
    }

    addPipelineNagSuppressions(this, {
      deadLetterQueues: [
        this.deadLetterQueue,
        this.recordFailureDeadLetterQueue,
        ...(this.pulls ? [this.pulls.deadLetterQueue] : []),
      ],
    });
  }

  /**
   * Publishes, on the stack, the outputs the `etl` CLI reads from a deployed stack (`etl run
   * --stack <stack name>`, `etl query --stack`, `etl runs --stack`; remote/stack-outputs.ts) under
   * the fixed names it looks for, plus the names an operator looks up (job, crawler, dashboard, DLQ).
   * Output ids are stack-wide: one pipeline per stack can publish them.
   */
  addStackOutputs(): void {
    const stack = Stack.of(this);
    const outputs: Record<string, string> = {
      LandingBucketName: this.storage.landingBucket.bucketName,
      LakeBucketName: this.storage.lakeBucket.bucketName,
      AthenaResultsBucketName: this.storage.athenaResultsBucket.bucketName,
      StateMachineArn: this.stateMachine.stateMachineArn,
      LedgerTableName: this.ledger.tableName,
      GlueDatabaseName: this.catalog.databaseName,
      GlueJobName: this.transform.jobName,
      CrawlerName: this.catalog.crawlerName,
      AthenaWorkGroupName: this.catalog.workGroupName,
      NotificationTopicArn: this.notifications.topic.topicArn,
      DeadLetterQueueUrl: this.deadLetterQueue.queueUrl,
      DashboardName: this.alerts.dashboard.dashboardName,
    };
    const taken = Object.keys(outputs).filter((id) => stack.node.tryFindChild(id) !== undefined);
    if (taken.length > 0) {
      throw new Error(
        `EtlPipeline ${this.node.path}.addStackOutputs(): stack ${stack.stackName} already has ${taken.join(', ')} (another pipeline's outputs?). Fix: one pipeline per stack publishes the CLI's outputs; put a second pipeline in its own stack.`,
      );
    }
    for (const [id, value] of Object.entries(outputs)) new CfnOutput(stack, id, { value });
  }
}
