/**
 * The log groups Glue writes to for this pipeline, made by the stack so they expire and are
 * encrypted: the transform job's (Glue 5.0 `--custom-logGroup-prefix`: `<prefix>/error` and
 * `<prefix>/output`; `--continuous-log-logGroup` for the continuous log) and the crawler's (with a
 * security configuration Glue writes to `/aws-glue/crawlers-role/<role name>-<security
 * configuration>`). Without them Glue creates the account-wide /aws-glue/* groups, which never expire.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import type * as glue from 'aws-cdk-lib/aws-glue';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface GlueLogGroupsProps {
  /** Prefix of the job's log groups: `/aws-glue/jobs/<namePrefix>/...`. */
  readonly namePrefix: string;
  /** The transform job: its arguments get the custom log group names. */
  readonly job: glue.CfnJob;
  /** The crawler's role: its name is part of the crawler's log group name. */
  readonly crawlerRole: iam.IRole;
  /** The security configuration the crawler runs with (part of its log group name). */
  readonly securityConfigurationName: string;
  /** Encrypts the log groups. */
  readonly key: kms.IKey;
  /** How long the logs are kept. */
  readonly retention: logs.RetentionDays;
  /** What happens to the log groups when the stack is deleted. @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
}

export class GlueLogGroups extends Construct {
  /** `<prefix>/error`, `<prefix>/output`, `<prefix>/logs-v2` of the job, and the crawler's. */
  readonly logGroups: logs.LogGroup[];
  /** The job's log group prefix (`--custom-logGroup-prefix`). */
  readonly jobLogGroupPrefix: string;

  constructor(scope: Construct, id: string, props: GlueLogGroupsProps) {
    super(scope, id);
    this.jobLogGroupPrefix = `/aws-glue/jobs/${props.namePrefix}`;
    const group = (groupId: string, logGroupName: string) =>
      new logs.LogGroup(this, groupId, {
        logGroupName,
        retention: props.retention,
        encryptionKey: props.key,
        removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
      });
    this.logGroups = [
      group('JobError', `${this.jobLogGroupPrefix}/error`),
      group('JobOutput', `${this.jobLogGroupPrefix}/output`),
      group('JobContinuous', `${this.jobLogGroupPrefix}/logs-v2`),
      group(
        'Crawler',
        `/aws-glue/crawlers-role/${props.crawlerRole.roleName}-${props.securityConfigurationName}`,
      ),
    ];
    props.job.addPropertyOverride('DefaultArguments.--custom-logGroup-prefix', this.jobLogGroupPrefix);
    props.job.addPropertyOverride(
      'DefaultArguments.--continuous-log-logGroup',
      `${this.jobLogGroupPrefix}/logs-v2`,
    );
    // The job and the crawler may write only once their groups exist (with retention and key).
    for (const g of this.logGroups) props.job.node.addDependency(g);
  }
}
