/**
 * The pipeline's storage: one customer-managed KMS key and four buckets — landing (uploads, the
 * only source of trigger events), lake (staging, curated, rejects, quarantine, archive,
 * manifests), Athena results, and access logs. Every bucket blocks public access, refuses
 * non-TLS requests, is versioned (inputs are never lost, overwrites are recoverable) and logs
 * access to the log bucket.
 */
import { Annotations, ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { LANDING_PREFIX } from '../../core/layout';

export interface LakeStorageProps {
  /** Prefix of physical names (key alias, log-group condition). */
  readonly namePrefix: string;
  /** staging/ objects expire after this many days. @default 7 */
  readonly stagingExpirationDays?: number;
  /** Noncurrent object versions expire after this many days. @default 90 */
  readonly noncurrentVersionExpirationDays?: number;
  /** Athena query results expire after this many days. @default 30 */
  readonly athenaResultsExpirationDays?: number;
  /** Server access logs expire after this many days. @default 365 */
  readonly accessLogsExpirationDays?: number;
  /** Keep the key and buckets when the stack is deleted. @default true */
  readonly retainData?: boolean;
  /**
   * Use this key instead of creating one. A `kms.Key` of this app gets the statements CloudWatch
   * Logs, EventBridge and CloudWatch alarms need; for an imported key a synth warning lists them.
   * @default a new key with rotation
   */
  readonly existingKey?: kms.IKey;
  /**
   * Use this landing bucket instead of creating one. A `s3.Bucket` of this app has its EventBridge
   * notifications turned on here; an imported bucket must have them on already (a synth warning
   * says so). Its objects must be readable with the pipeline's key (or be SSE-S3).
   * @default a new versioned, KMS-encrypted, access-logged bucket
   */
  readonly existingLandingBucket?: s3.IBucket;
}

/** Prefixes of the lake bucket (core/layout.ts builds the keys under them). */
export const LAKE_PREFIXES = {
  staging: 'staging/',
  curated: 'curated/',
  rejects: 'rejects/',
  quarantine: 'quarantine/',
  archive: 'archive/',
  manifests: 'manifests/',
  /**
   * Scratch space: the transform job writes a run under tmp/transform/ before moving it into
   * curated/ (glue/etl_job.py run_job), and Glue's own --TempDir is tmp/glue/. Expires like staging.
   */
  temp: 'tmp/',
} as const;

export class LakeStorage extends Construct {
  /** Encrypts the data buckets, ledger, topic, queue, log groups and Glue output. */
  readonly key: kms.IKey;
  readonly accessLogsBucket: s3.Bucket;
  /** Uploads land here; yours when `existingLandingBucket` is given. */
  readonly landingBucket: s3.IBucket;
  readonly lakeBucket: s3.Bucket;
  readonly athenaResultsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: LakeStorageProps) {
    super(scope, id);
    // Access logs are delivered under a bucket policy, not the log-delivery ACL (which would need
    // ObjectWriter ownership): pinned here, so the construct behaves the same in an app that has
    // not set this feature flag (cdk.json of a team's app).
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const stagingDays = props.stagingExpirationDays ?? 7;
    const noncurrentDays = props.noncurrentVersionExpirationDays ?? 90;
    const resultsDays = props.athenaResultsExpirationDays ?? 30;
    const logsDays = props.accessLogsExpirationDays ?? 365;
    for (const [name, days] of Object.entries({ stagingDays, noncurrentDays, resultsDays, logsDays })) {
      if (!Number.isInteger(days) || days < 1)
        throw new Error(`LakeStorage: ${name} must be a positive integer, got ${days}`);
    }
    const removalPolicy = props.retainData === false ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const stack = Stack.of(this);

    const policy = keyPolicyStatements(stack);
    if (props.existingKey) {
      this.key = props.existingKey;
      const added = policy.map((st) => this.key.addToResourcePolicy(st).statementAdded);
      if (added.some((a) => !a)) {
        Annotations.of(this).addWarningV2(
          'etl:key-policy',
          `The key ${this.key.node.path} is imported: add these statements to its key policy yourself, or logs, alarms and events cannot use it: ${JSON.stringify(policy.map((st) => stack.resolve(st.toStatementJson())))}`,
        );
      }
    } else {
      const key = new kms.Key(this, 'DataKey', {
        description: `${props.namePrefix}: encrypts the ETL pipeline's buckets, ledger, topic, queue and logs`,
        enableKeyRotation: true,
        alias: `alias/${props.namePrefix}-data`,
        removalPolicy,
      });
      for (const st of policy) key.addToResourcePolicy(st);
      this.key = key;
    }

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      // Server access log delivery does not support SSE-KMS with a customer key.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(logsDays),
          noncurrentVersionExpiration: Duration.days(noncurrentDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy,
    });

    const dataBucket = (id: string, logPrefix: string, lifecycleRules: s3.LifecycleRule[]): s3.Bucket =>
      new s3.Bucket(this, id, {
        encryption: s3.BucketEncryption.KMS,
        encryptionKey: this.key,
        // One data key per bucket instead of one KMS call per object: the difference between
        // cents and dollars when a Spark job writes thousands of Parquet parts.
        bucketKeyEnabled: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        versioned: true,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        serverAccessLogsBucket: this.accessLogsBucket,
        serverAccessLogsPrefix: logPrefix,
        lifecycleRules: [
          {
            id: 'expire-noncurrent-versions',
            noncurrentVersionExpiration: Duration.days(noncurrentDays),
            abortIncompleteMultipartUploadAfter: Duration.days(1),
            expiredObjectDeleteMarker: true,
          },
          ...lifecycleRules,
        ],
        removalPolicy,
      });

    this.landingBucket = props.existingLandingBucket ?? dataBucket('Landing', 'landing/', []);
    // The trigger is an EventBridge rule; S3 sends every event of this bucket to EventBridge.
    // Set on the CloudFormation resource itself: `eventBridgeEnabled` on the L2 deploys a
    // custom-resource Lambda (with a managed-policy role) to do what CloudFormation does natively.
    const cfnLanding = this.landingBucket.node.defaultChild;
    if (cfnLanding instanceof s3.CfnBucket) {
      const current = cfnLanding.notificationConfiguration as
        s3.CfnBucket.NotificationConfigurationProperty | undefined;
      cfnLanding.notificationConfiguration = {
        ...current,
        eventBridgeConfiguration: { eventBridgeEnabled: true },
      };
    } else {
      Annotations.of(this).addWarningV2(
        'etl:landing-events',
        `The landing bucket ${this.landingBucket.node.path} is imported: turn on its EventBridge notifications (S3 console > Properties > Amazon EventBridge, or put-bucket-notification-configuration with EventBridgeConfiguration), or uploads start no run (reconcile still finds them every sweep).`,
      );
    }

    this.lakeBucket = dataBucket('Lake', 'lake/', [
      { id: 'expire-staging', prefix: LAKE_PREFIXES.staging, expiration: Duration.days(stagingDays) },
      { id: 'expire-temp', prefix: LAKE_PREFIXES.temp, expiration: Duration.days(stagingDays) },
    ]);
    this.athenaResultsBucket = dataBucket('AthenaResults', 'athena-results/', [
      { id: 'expire-query-results', expiration: Duration.days(resultsDays) },
    ]);
  }
}

/**
 * What the pipeline's key policy must allow besides the account: CloudWatch Logs for log groups
 * (the encryption context names the log group), EventBridge and CloudWatch alarms for the
 * encrypted topic and queues.
 */
export function keyPolicyStatements(stack: Stack): iam.PolicyStatement[] {
  return [
    // Log groups encrypted with the key: CloudWatch Logs uses it on behalf of the account, and
    // only for log groups (the encryption context names the log group).
    new iam.PolicyStatement({
      sid: 'CloudWatchLogsUseForPipelineLogGroups',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
    // EventBridge delivers to the encrypted topic and dead-letter queue; CloudWatch alarms
    // publish to the encrypted topic. Both need the key to do so.
    new iam.PolicyStatement({
      sid: 'EventBridgeAndAlarmsPublishToEncryptedTopicAndQueue',
      principals: [
        new iam.ServicePrincipal('events.amazonaws.com'),
        new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
      ],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
    }),
  ];
}

/** The landing prefix the trigger rule matches (re-exported for tests and docs). */
export const TRIGGER_PREFIX = LANDING_PREFIX;
