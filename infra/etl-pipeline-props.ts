/**
 * What a CDK app gives {@link EtlPipeline} (infra/etl-pipeline.ts), and how those props become the
 * validated {@link PipelineConfig}: the same checks and messages as `cdk.json` context
 * (infra/config.ts `loadConfig`), so a prop is refused exactly like the setting of the same name.
 */
import { Names } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { InfraConfigError, loadConfig, type PipelineConfig } from './config';

export interface EtlPipelineProps {
  /**
   * Where failure and rejection e-mails go (an SNS e-mail subscription the recipient confirms).
   * @default the `config`'s; one of the two is required
   */
  readonly notificationEmail?: string;
  /**
   * Folder with your dataset contracts (`<dataset>.schema.json`, written by `etl init`), read at
   * synth time and bundled beside every function. A relative path is resolved from the working
   * directory of `cdk synth` (your app's root).
   * @default the `config`'s; one of the two is required
   */
  readonly contractsDir?: string;
  /** The datasets this pipeline processes, by name. @default every contract in `contractsDir` */
  readonly datasets?: readonly string[];
  /**
   * Prefix of every physical name (functions, log groups, Glue database, job, crawler, workgroup,
   * alarms, dashboard, key alias): 2-31 lower-case letters, digits or `-`.
   * @default derived from the construct's path (stack name, id and a hash), unique per stack
   */
  readonly namePrefix?: string;
  /**
   * Your own landing bucket: uploads under `incoming/<dataset>/` start runs. It must send events to
   * EventBridge (set here when the bucket is a `s3.Bucket` of this app; a synth warning says what to
   * turn on when it is imported), and its objects must be readable with `key` (encrypt it with the
   * same key, or with SSE-S3). The pipeline reads, tags and never deletes its objects.
   * @default a new versioned bucket encrypted with the pipeline's key
   */
  readonly landingBucket?: s3.IBucket;
  /**
   * Your own KMS key for the buckets, ledger, topic, queues and logs. A `kms.Key` of this app gets
   * the policy statements CloudWatch Logs, EventBridge and CloudWatch alarms need; for an imported
   * key a synth warning lists them for you to add to its policy.
   * @default a new key with yearly rotation
   */
  readonly key?: kms.IKey;
  /** Retention of every log group, Glue's included (a value CloudWatch Logs accepts). @default 30 */
  readonly logRetentionDays?: number;
  /** staging/ objects expire after this many days (they are rebuilt from the original). @default 7 */
  readonly stagingExpirationDays?: number;
  /** Overwritten and deleted object versions are kept this long, then expire. @default 90 */
  readonly noncurrentVersionExpirationDays?: number;
  /** Athena query results expire after this many days. @default 30 */
  readonly athenaResultsExpirationDays?: number;
  /** Athena refuses queries that would scan more than this many bytes. @default 10 GiB */
  readonly athenaBytesScannedCutoff?: number;
  /** Upper bound of the transform job's autoscaling G.1X workers per run. @default 10 */
  readonly glueMaxWorkers?: number;
  /** Glue transform runs allowed at once (more wait in Glue's job-run queue). @default 5 */
  readonly glueMaxConcurrentRuns?: number;
  /**
   * Files whose staged copy is at most this many bytes are transformed in a Lambda (DuckDB)
   * instead of a Glue job run; `0` sends every file to Glue.
   * @default 1 GiB (transform/README.md has the measurement)
   */
  readonly transformLambdaMaxBytes?: number;
  /** Memory of the transform Lambda, 3008-10240 MiB. @default 3008 */
  readonly transformLambdaMemoryMiB?: number;
  /** /tmp of the transform Lambda, 512-10240 MiB. @default 3072 */
  readonly transformLambdaEphemeralStorageMiB?: number;
  /** Concurrency reserved for (and capping) the transform Lambda. @default 10 */
  readonly transformLambdaReservedConcurrency?: number;
  /** Concurrency reserved for the validate Lambda, so a burst cannot starve the other steps; `0` = none. @default 10 */
  readonly validateReservedConcurrency?: number;
  /**
   * Largest landing file (bytes) the validate Lambda takes; a larger one is REJECTED
   * `FILE_TOO_LARGE` (split it) from its size, instead of timing out and being retried.
   * @default the measured figure in core/file-size-limit.ts (one-thread throughput × timeout × 0.6)
   */
  readonly validateMaxFileBytes?: number;
  /** The validate function's /tmp in MiB (room for the DuckDB fast path). @default 4096 */
  readonly validateEphemeralStorageMiB?: number;
  /** Minutes between reconcile sweeps (files whose event was missed). @default 60 */
  readonly reconcileEveryMinutes?: number;
  /** Keep the buckets, the key and the ledger when the stack is deleted. @default true */
  readonly retainData?: boolean;
  /**
   * Monthly AWS Budgets cost budget, in USD, e-mailed to `notificationEmail` at 80 % of actual and
   * 100 % of forecast spend. `0` creates no budget.
   * @default 100
   */
  readonly monthlyBudgetUsd?: number;
  /**
   * Cost-allocation tag the budget counts (`{ key, value }`), e.g. the `PipelinePrefix` tag the
   * example app sets; the tag must be activated for cost allocation in the billing console.
   * @default none: the budget counts the whole account's spend
   */
  readonly budgetTag?: { readonly key: string; readonly value: string };
  /**
   * E-mail a notice for every file that succeeded, too. Failures, rejections and alarms are always
   * e-mailed (the subscription's filter policy).
   * @default false
   */
  readonly notifySuccesses?: boolean;
  /**
   * The pulled sources to schedule, by name (`<name>.source.json` beside the contracts: URL
   * template, cadence, dataset, start, secret headers). Each gets an EventBridge Scheduler schedule
   * invoking the pull Lambda; none (no definition there, or `[]`) creates no pull resources.
   * @default every `<name>.source.json` in `contractsDir`
   */
  readonly sources?: readonly string[];
  /**
   * Create the pull schedules enabled. `false` deploys them disabled: set the secrets and check the
   * endpoint first, then enable them (infra/README.md "Pulled sources").
   * @default true
   */
  readonly pullSchedulesEnabled?: boolean;
  /**
   * Settings already loaded by infra/config.ts `loadConfig` (the example app, from `cdk.json`
   * context); when given, the settings props above are ignored.
   * @default none: the props above
   */
  readonly config?: PipelineConfig;
  /**
   * Folder with one sub-folder per step function (`<step>/handler.ts`), bundled from source with
   * esbuild; development only (the repository's own layout and package-lock.json are needed).
   * @default the repository's functions/ in a checkout; the prebuilt bundles (dist/lambda/) in an installed package
   */
  readonly functionsDir?: string;
}

/** Names CloudWatch, Glue and Lambda accept: lower-case, `-`, a letter first, at most 31 characters. */
export function derivedNamePrefix(scope: Construct): string {
  const unique = Names.uniqueResourceName(scope, { maxLength: 31, separator: '-' })
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '')
    .replace(/-+/g, '-')
    .replace(/^[^a-z]+/, '');
  return (unique.length >= 2 ? unique : `etl-${unique}`).slice(0, 31).replace(/-$/, '0');
}

/** Props → the validated configuration (the same rules and messages as `cdk.json` context). */
export function resolvePipelineConfig(scope: Construct, props: EtlPipelineProps): PipelineConfig {
  if (props.config) return props.config;
  if (props.notificationEmail === undefined || props.contractsDir === undefined) {
    throw new InfraConfigError(
      `EtlPipeline ${scope.node.path}: ${props.notificationEmail === undefined ? 'notificationEmail' : 'contractsDir'} is required. Fix: new EtlPipeline(this, '${scope.node.id}', { notificationEmail: 'oncall@your.org', contractsDir: 'schemas' }).`,
    );
  }
  const settings: Record<string, unknown> = {
    namePrefix: props.namePrefix ?? derivedNamePrefix(scope),
    notificationEmail: props.notificationEmail,
    schemasDir: props.contractsDir,
    datasets: props.datasets === undefined ? undefined : [...props.datasets],
    logRetentionDays: props.logRetentionDays,
    stagingExpirationDays: props.stagingExpirationDays,
    noncurrentVersionExpirationDays: props.noncurrentVersionExpirationDays,
    athenaResultsExpirationDays: props.athenaResultsExpirationDays,
    athenaBytesScannedCutoff: props.athenaBytesScannedCutoff,
    glueMaxWorkers: props.glueMaxWorkers,
    glueMaxConcurrentRuns: props.glueMaxConcurrentRuns,
    transformLambdaMaxBytes: props.transformLambdaMaxBytes,
    transformLambdaMemoryMiB: props.transformLambdaMemoryMiB,
    transformLambdaEphemeralStorageMiB: props.transformLambdaEphemeralStorageMiB,
    transformLambdaReservedConcurrency: props.transformLambdaReservedConcurrency,
    validateReservedConcurrency: props.validateReservedConcurrency,
    validateMaxFileBytes: props.validateMaxFileBytes,
    validateEphemeralStorageMiB: props.validateEphemeralStorageMiB,
    reconcileEveryMinutes: props.reconcileEveryMinutes,
    retainData: props.retainData,
  };
  return loadConfig({
    context: (key) => settings[key.replace(/^etl:/, '')],
    env: {},
    label: (name) => `EtlPipeline prop ${name === 'schemasDir' ? 'contractsDir' : name}`,
  });
}
