/**
 * Pulled sources on AWS (issue 14): per source definition (`<contractsDir>/<name>.source.json`,
 * sources/definition.ts) one EventBridge Scheduler schedule at the source's cadence invokes the
 * pull Lambda (functions/pull) with `{"source": "<name>"}`; the Lambda downloads every due period
 * once, streams it into the landing bucket under `incoming/<dataset>/` (where the ordinary trigger
 * takes it through the pipeline) and keeps per-source bookmarks in a DynamoDB table with
 * conditional writes.
 *
 * - Table `<prefix>-source-bookmarks`: `pk`/`sk` (adapters/aws/dynamodb-source-ledger.ts), on
 *   demand, the pipeline's KMS key, point-in-time recovery.
 * - Lambda `<prefix>-pull`: like every step (own role = exactly its iamNeeds, own encrypted log
 *   group with retention, X-Ray), the landing bucket only under the pulled datasets' prefixes, only
 *   the secrets the definitions name. Timeout 15 minutes; a claim's lease outlives it.
 * - Schedules `<prefix>-pull-<source>`: cron in UTC a few minutes after each period is due
 *   (cadence + the definition's publishDelayMinutes), flexible window off, retries, an SSE-KMS SQS
 *   dead-letter queue for invocations the scheduler could not deliver.
 * - Alarms to the pipeline topic: `PullFailures-<source>` (the step's metric: periods that failed
 *   after their retries, or were given up as missing), `PullErrors` (the function failed: a broken
 *   definition, an unreadable secret, the table unreachable), `PullThrottles`,
 *   `PullDeadLettersNotEmpty`. No duration alarm: a catch-up run works until its deadline on purpose.
 */
import { ArnFormat, Duration, Stack, TimeZone, type RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import { SOURCE_LEDGER_TABLE_KEYS } from '../../adapters/aws/dynamodb-source-ledger';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../core/instrumentation';
import { LANDING_PREFIX } from '../../core/layout';
import { STEP_MEMORY_MIB } from '../../functions/sizing';
import type { SourceDefinition } from '../../sources/definition';
import type { IamResourceArns } from '../iam-needs';
import { StepFunctions, type StepFunction, type StepFunctionsProps } from './step-functions';

/** The pull Lambda's timeout (Lambda's maximum: a catch-up of many periods streams for a while). */
export const PULL_TIMEOUT = Duration.minutes(15);
/** A schedule fires this many minutes after a period is due (origins publish a little late). */
export const PULL_SCHEDULE_SLACK_MINUTES = 5;

export interface SourcePullsProps {
  /** Prefix of the physical names (table, function, schedules, queue, alarms). */
  readonly namePrefix: string;
  /** The loaded source definitions, one schedule each. */
  readonly sources: readonly SourceDefinition[];
  /** The pipeline's key: the table, the queue and (through the step group) the log group. */
  readonly key: kms.IKey;
  /** Where pulled periods land (under `incoming/<dataset>/`). */
  readonly landingBucket: s3.IBucket;
  /** What the table does on stack deletion. */
  readonly removalPolicy: RemovalPolicy;
  /** What the step functions of the pipeline share (resources, environment, bundling, logs). */
  readonly stepFunctions: Omit<StepFunctionsProps, 'steps'>;
  /** Alarm actions go to this topic. */
  readonly topic: sns.ITopic;
  /** Create the schedules enabled. @default true */
  readonly schedulesEnabled?: boolean;
}

/** `cron(...)` in UTC that fires {@link PULL_SCHEDULE_SLACK_MINUTES} after each period of `def` is due. */
export function pullScheduleExpression(def: Pick<SourceDefinition, 'cadence' | 'publishDelayMs'>): string {
  const minutes = Math.ceil(def.publishDelayMs / 60_000) + PULL_SCHEDULE_SLACK_MINUTES;
  return def.cadence === 'hourly'
    ? `cron(${minutes % 60} * * * ? *)`
    : `cron(${minutes % 60} ${Math.floor(minutes / 60) % 24} * * ? *)`;
}

/** The ARN(s) IAM needs for a secret id (a name matches its 6-character random suffix). */
export function secretArnOf(stack: Stack, id: string): string {
  if (id.startsWith('arn:')) return id;
  return stack.formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${id}-??????`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** Every secret id the definitions' headers name, sorted and unique. */
export function secretIdsOf(sources: readonly SourceDefinition[]): string[] {
  const ids = new Set<string>();
  for (const def of sources)
    for (const value of Object.values(def.headers)) if (typeof value !== 'string') ids.add(value.secret);
  return [...ids].sort();
}

/** `github-events` → `GithubEvents` (construct ids). */
const titleOf = (name: string) =>
  name
    .split(/[-_]/)
    .filter((w) => w !== '')
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');

export class SourcePulls extends Construct {
  readonly table: dynamodb.Table;
  /** `incoming/<dataset>/` of every dataset the sources feed: all the pull function may write. */
  readonly landingPrefixes: readonly string[];
  readonly functions: StepFunctions;
  readonly pull: StepFunction;
  readonly deadLetterQueue: sqs.Queue;
  readonly schedulerRole: iam.Role;
  /** By source name. */
  readonly schedules: ReadonlyMap<string, scheduler.Schedule>;
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: SourcePullsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = props.namePrefix;
    if (props.sources.length === 0) throw new Error('SourcePulls: no source definitions');

    this.table = new dynamodb.Table(this, 'Bookmarks', {
      tableName: `${prefix}-source-bookmarks`,
      partitionKey: { name: SOURCE_LEDGER_TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: SOURCE_LEDGER_TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy,
    });

    const datasets = [...new Set(props.sources.map((s) => s.dataset))].sort();
    this.landingPrefixes = datasets.map((d) => `${LANDING_PREFIX}${d}/`);
    const secretArns = secretIdsOf(props.sources).map((s) => secretArnOf(stack, s));
    const resources = {
      ...props.stepFunctions.resources,
      sourceLanding: {
        kind: 'bucketPrefixes',
        bucketArn: props.landingBucket.bucketArn,
        prefixes: this.landingPrefixes,
      },
      sourceLedgerTable: { kind: 'arns', arns: [this.table.tableArn] },
      sourceSecrets: secretArns.length > 0 ? { kind: 'arns', arns: secretArns } : { kind: 'none' },
    } satisfies Record<string, IamResourceArns>;
    this.functions = new StepFunctions(this, 'Functions', {
      ...props.stepFunctions,
      resources,
      environmentValues: {
        ...props.stepFunctions.environmentValues,
        sourceLedgerTable: this.table.tableName,
      },
      steps: { pull: { memoryMiB: STEP_MEMORY_MIB.pull!, timeout: PULL_TIMEOUT } },
    });
    this.pull = this.functions.get('pull');

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      queueName: `${prefix}-pull-dlq`,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    // One role for every pull schedule: invoke the pull function, dead-letter to the queue, and
    // encrypt for that SSE-KMS queue (the scheduler targets' grants cover the first two only).
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'Pull schedules: invoke the pull function, dead-letter undeliverable invocations',
    });
    this.schedulerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DeadLetterToEncryptedQueue',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [props.key.keyArn],
      }),
    );

    const schedules = new Map<string, scheduler.Schedule>();
    for (const def of props.sources) {
      const scheduleName = boundedName(`${prefix}-pull-${def.name}`, 64);
      schedules.set(
        def.name,
        new scheduler.Schedule(this, `Schedule${titleOf(def.name)}`, {
          scheduleName,
          description: `Pulls every due ${def.cadence} period of ${def.file} into ${LANDING_PREFIX}${def.dataset}/ (functions/pull)`,
          schedule: scheduler.ScheduleExpression.expression(pullScheduleExpression(def), TimeZone.ETC_UTC),
          timeWindow: scheduler.TimeWindow.off(),
          enabled: props.schedulesEnabled ?? true,
          target: new schedulerTargets.LambdaInvoke(this.pull.fn, {
            input: scheduler.ScheduleTargetInput.fromObject({ source: def.name }),
            role: this.schedulerRole,
            deadLetterQueue: this.deadLetterQueue,
            // Delivery retries (throttling, Lambda unavailable); a missed run is caught up by the next.
            retryAttempts: 10,
            maxEventAge: Duration.hours(def.cadence === 'hourly' ? 1 : 6),
          }),
        }),
      );
    }
    this.schedules = schedules;

    const alarm = (id: string, description: string, metric: cloudwatch.IMetric, threshold = 1) => {
      const a = new cloudwatch.Alarm(this, id, {
        alarmName: `${prefix}-${id}`,
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator:
          threshold === 0
            ? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
            : cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(new cwActions.SnsAction(props.topic));
      return a;
    };
    const alarms: cloudwatch.Alarm[] = [];
    for (const def of props.sources) {
      alarms.push(
        alarm(
          `PullFailures-${def.name}`,
          `Source ${def.name} (${def.file}): a period failed after its retries (5xx, timeout, truncated body, 401/403) or was given up as MISSING; the next scheduled pull retries failed periods. Logs: /aws/lambda/${prefix}-pull`,
          new cloudwatch.Metric({
            namespace: METRICS_NAMESPACE,
            metricName: 'PullFailures',
            dimensionsMap: { service: SERVICE_NAME, dataset: def.dataset, source: def.name },
            period: Duration.hours(1),
            statistic: 'Sum',
          }),
        ),
      );
    }
    alarms.push(
      alarm(
        'PullErrors',
        'functions/pull failed: a source definition that does not load, a secret it cannot read, or the bookmarks table unreachable; no period of that source is pulled until it is fixed',
        this.pull.fn.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
      ),
      // No duration alarm: a catch-up run works until its deadline (90 s before the timeout) by design.
      alarm(
        'PullThrottles',
        "functions/pull was throttled (the account's concurrency exhausted): the schedule retries delivery; periods are caught up by the next runs",
        this.pull.fn.metricThrottles({ period: Duration.hours(1), statistic: 'Sum' }),
      ),
      alarm(
        'PullDeadLettersNotEmpty',
        'A pull schedule could not invoke functions/pull and its event waits in the dead-letter queue (the next run catches the periods up)',
        this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        0,
      ),
    );
    this.alarms = alarms;
  }
}

/** `name`, or its first characters and a hash of the whole when longer than `max`. */
function boundedName(name: string, max: number): string {
  if (name.length <= max) return name;
  return `${name.slice(0, max - 9)}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}
