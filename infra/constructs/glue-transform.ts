/**
 * The transform: the Glue 5.0 Spark job running glue/etl_job.py, its role and its security
 * configuration. The job's timeout comes from statemachines/definition.ts, the same module that
 * sets the Transform task's TimeoutSeconds, so the job (not the task) is what times out and Glue
 * records why.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import path from 'node:path';
import { GLUE_JOB_TIMEOUT_MINUTES } from '../../statemachines/definition';
import { LAKE_PREFIXES } from './lake-storage';

/** The job script, uploaded as an asset. */
export const GLUE_SCRIPT = path.resolve(__dirname, '..', '..', 'glue', 'etl_job.py');

export interface GlueTransformProps {
  /** Prefix of physical names: the job is `<prefix>-transform`, its security configuration `<prefix>-glue`. */
  readonly namePrefix: string;
  /**
   * The lake bucket: the job reads staging/, writes tmp/ then curated/ and manifests/, and keeps
   * Glue's --TempDir under tmp/glue/; its role may touch nothing else.
   */
  readonly lakeBucket: s3.IBucket;
  /** Encrypts what the job writes to S3, its CloudWatch logs and its bookmarks (the security configuration). */
  readonly key: kms.IKey;
  /** Upper bound of autoscaling G.1X workers per run; at least 2 (a driver and one executor). @default 10 */
  readonly maxWorkers?: number;
  /**
   * Runs allowed at once. Job-run queuing is on, so a run past the limit waits in Glue's queue
   * (WAITING) rather than failing; the state machine still retries ConcurrentRunsExceededException
   * should Glue answer it. Caps cost and Glue DPU quota use, never fails files. @default 5
   */
  readonly maxConcurrentRuns?: number;
  /** The job's timeout in minutes; must stay below the Transform task's. @default GLUE_JOB_TIMEOUT_MINUTES */
  readonly timeoutMinutes?: number;
}

export class GlueTransform extends Construct {
  readonly job: glue.CfnJob;
  readonly jobName: string;
  readonly role: iam.Role;
  readonly securityConfigurationName: string;
  readonly script: s3assets.Asset;

  constructor(scope: Construct, id: string, props: GlueTransformProps) {
    super(scope, id);
    const maxWorkers = props.maxWorkers ?? 10;
    const maxConcurrentRuns = props.maxConcurrentRuns ?? 5;
    const timeoutMinutes = props.timeoutMinutes ?? GLUE_JOB_TIMEOUT_MINUTES;
    if (!Number.isInteger(maxWorkers) || maxWorkers < 2)
      throw new Error(
        `GlueTransform: maxWorkers must be an integer ≥ 2 (a driver and one executor), got ${maxWorkers}`,
      );
    if (!Number.isInteger(maxConcurrentRuns) || maxConcurrentRuns < 1)
      throw new Error(
        `GlueTransform: maxConcurrentRuns must be a positive integer, got ${maxConcurrentRuns}`,
      );
    if (!Number.isInteger(timeoutMinutes) || timeoutMinutes < 1)
      throw new Error(`GlueTransform: timeoutMinutes must be a positive integer, got ${timeoutMinutes}`);
    const stack = Stack.of(this);
    const lake = props.lakeBucket;

    this.securityConfigurationName = `${props.namePrefix}-glue`;
    const securityConfiguration = new glue.CfnSecurityConfiguration(this, 'SecurityConfiguration', {
      name: this.securityConfigurationName,
      encryptionConfiguration: {
        s3Encryptions: [{ s3EncryptionMode: 'SSE-KMS', kmsKeyArn: props.key.keyArn }],
        cloudWatchEncryption: { cloudWatchEncryptionMode: 'SSE-KMS', kmsKeyArn: props.key.keyArn },
        jobBookmarksEncryption: { jobBookmarksEncryptionMode: 'CSE-KMS', kmsKeyArn: props.key.keyArn },
      },
    });

    this.script = new s3assets.Asset(this, 'Script', { path: GLUE_SCRIPT });

    this.role = new iam.Role(this, 'JobRole', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
      description: 'Transform job: reads staging, writes curated and manifests through a temp prefix',
    });
    const statements: iam.PolicyStatement[] = [
      new iam.PolicyStatement({
        sid: 'ReadScript',
        actions: ['s3:GetObject'],
        resources: [this.script.bucket.arnForObjects(this.script.s3ObjectKey)],
      }),
      // open_staging / read_staging: _SUCCESS, plan.json and part-*.jsonl of one source file;
      // the run's own Parquet parts under tmp/ (counted, then copied into curated/) and its publish
      // lock; the manifest in place (never publish over a newer version of the key).
      new iam.PolicyStatement({
        sid: 'ReadStaging',
        actions: ['s3:GetObject'],
        resources: [
          lake.arnForObjects(`${LAKE_PREFIXES.staging}*`),
          lake.arnForObjects(`${LAKE_PREFIXES.temp}*`),
          lake.arnForObjects(`${LAKE_PREFIXES.manifests}*`),
        ],
      }),
      new iam.PolicyStatement({
        sid: 'ListStagingTempCurated',
        actions: ['s3:ListBucket'],
        resources: [lake.bucketArn],
        conditions: {
          StringLike: {
            's3:prefix': [
              `${LAKE_PREFIXES.staging}*`,
              `${LAKE_PREFIXES.temp}*`,
              `${LAKE_PREFIXES.curated}*`,
              // HEAD of a missing manifest or lock answers 404, not 403.
              `${LAKE_PREFIXES.manifests}*`,
            ],
          },
        },
      }),
      // write_partitioned → tmp/, move → curated/, manifest → manifests/.
      new iam.PolicyStatement({
        sid: 'WriteTempCuratedManifests',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [
          lake.arnForObjects(`${LAKE_PREFIXES.temp}*`),
          lake.arnForObjects(`${LAKE_PREFIXES.curated}*`),
          lake.arnForObjects(`${LAKE_PREFIXES.manifests}*`),
        ],
      }),
      // The only deletes: the run's temp prefix, and this source file's stale curated objects.
      // Staging is left to its lifecycle rule; the original and other prefixes are never deleted.
      new iam.PolicyStatement({
        sid: 'DeleteTempAndCuratedOnly',
        actions: ['s3:DeleteObject'],
        resources: [
          lake.arnForObjects(`${LAKE_PREFIXES.temp}*`),
          lake.arnForObjects(`${LAKE_PREFIXES.curated}*`),
        ],
      }),
      new iam.PolicyStatement({
        sid: 'UseDataKey',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [props.key.keyArn],
      }),
      // Glue writes driver/executor logs to /aws-glue/* and, with the security configuration,
      // associates the key with those log groups.
      new iam.PolicyStatement({
        sid: 'GlueJobLogs',
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:AssociateKmsKey'],
        resources: [
          stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '/aws-glue/*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
      new iam.PolicyStatement({
        sid: 'GlueJobMetrics',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': 'Glue' } },
      }),
    ];
    for (const s of statements) this.role.addToPrincipalPolicy(s);

    this.jobName = `${props.namePrefix}-transform`;
    this.job = new glue.CfnJob(this, 'Job', {
      name: this.jobName,
      description:
        'staging JSON Lines of one source file -> typed, deduplicated, partitioned Snappy Parquet in curated/',
      role: this.role.roleArn,
      glueVersion: '5.0',
      command: { name: 'glueetl', pythonVersion: '3', scriptLocation: this.script.s3ObjectUrl },
      workerType: 'G.1X',
      // With --enable-auto-scaling this is the maximum; Glue starts small and adds executors
      // only while Spark has pending tasks.
      numberOfWorkers: maxWorkers,
      timeout: timeoutMinutes,
      maxRetries: 0, // retries belong to the state machine, which can tell a fault from bad data
      executionProperty: { maxConcurrentRuns },
      // A run past maxConcurrentRuns waits in Glue's queue (state WAITING) instead of failing with
      // ConcurrentRunsExceededException, so a burst of uploads is queued, never failed (issue 12).
      jobRunQueuingEnabled: true,
      securityConfiguration: this.securityConfigurationName,
      defaultArguments: {
        '--job-language': 'python',
        '--enable-auto-scaling': 'true',
        // Idempotence is per source file (output named by sourceId), not by bookmarks.
        '--job-bookmark-option': 'job-bookmark-disable',
        '--enable-continuous-cloudwatch-log': 'true',
        '--enable-metrics': 'true',
        '--enable-observability-metrics': 'true',
        '--TempDir': `s3://${lake.bucketName}/${LAKE_PREFIXES.temp}glue/`,
      },
    });
    this.job.addResourceDependency(securityConfiguration);
  }
}
