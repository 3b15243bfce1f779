/**
 * The query side of the lake: the Glue database, one crawler over curated/ (one target per
 * dataset table) and the Athena workgroup. L1 resources, because aws-cdk-lib has no stable Glue
 * L2 for databases and crawlers, and the workgroup settings that matter (enforced configuration,
 * cutoff) are L1 properties anyway.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { DatasetContract } from '../../core/contract';
import { lake } from '../../core/layout';
import { LAKE_PREFIXES } from './lake-storage';

export interface LakeCatalogProps {
  /** Prefix of physical names; the database is `<prefix with _>_lake`. */
  readonly namePrefix: string;
  readonly datasets: readonly DatasetContract[];
  readonly lakeBucket: s3.IBucket;
  readonly athenaResultsBucket: s3.IBucket;
  readonly key: kms.IKey;
  /** Name of the Glue security configuration the crawler logs with (created by {@link GlueTransform}). */
  readonly securityConfigurationName: string;
  /** Athena cancels a query that would scan more than this many bytes. @default 10 GiB */
  readonly bytesScannedCutoffPerQuery?: number;
}

/** Glue names allow lower-case letters, digits and underscores. */
export function glueDatabaseNameOf(namePrefix: string): string {
  return `${namePrefix.replace(/-/g, '_')}_lake`;
}

export class LakeCatalog extends Construct {
  readonly database: glue.CfnDatabase;
  readonly databaseName: string;
  readonly crawler: glue.CfnCrawler;
  readonly crawlerName: string;
  readonly crawlerRole: iam.Role;
  readonly workGroup: athena.CfnWorkGroup;
  readonly workGroupName: string;
  /** ARNs a principal needs to read this database's tables (catalog, database, tables). */
  readonly catalogArns: readonly string[];

  constructor(scope: Construct, id: string, props: LakeCatalogProps) {
    super(scope, id);
    if (props.datasets.length === 0) throw new Error('LakeCatalog: at least one dataset is required');
    const stack = Stack.of(this);

    this.databaseName = glueDatabaseNameOf(props.namePrefix);
    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: {
        name: this.databaseName,
        description: 'Curated tables of the serverless-etl pipeline (one per dataset contract)',
      },
    });
    this.catalogArns = [
      stack.formatArn({ service: 'glue', resource: 'catalog' }),
      stack.formatArn({ service: 'glue', resource: 'database', resourceName: this.databaseName }),
      stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${this.databaseName}/*` }),
    ];

    this.crawlerRole = new iam.Role(this, 'CrawlerRole', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
      description: 'Crawler over curated/: reads the Parquet objects, maintains tables and partitions',
    });
    this.crawlerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'MaintainCuratedTables',
        actions: [
          'glue:GetDatabase',
          'glue:GetTable',
          'glue:GetTables',
          'glue:CreateTable',
          'glue:UpdateTable',
          'glue:GetPartition',
          'glue:GetPartitions',
          'glue:BatchGetPartition',
          'glue:CreatePartition',
          'glue:BatchCreatePartition',
          'glue:UpdatePartition',
          'glue:BatchUpdatePartition',
        ],
        resources: [...this.catalogArns],
      }),
    );
    this.crawlerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadCuratedObjects',
        actions: ['s3:GetObject'],
        resources: [props.lakeBucket.arnForObjects(`${LAKE_PREFIXES.curated}*`)],
      }),
    );
    this.crawlerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListCurated',
        actions: ['s3:ListBucket'],
        resources: [props.lakeBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${LAKE_PREFIXES.curated}*`] } },
      }),
    );
    this.crawlerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'CrawlerLogs',
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:AssociateKmsKey'],
        resources: [
          stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '/aws-glue/crawlers*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    this.crawlerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DecryptCuratedAndEncryptLogs',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [props.key.keyArn],
      }),
    );

    this.crawlerName = `${props.namePrefix}-curated`;
    this.crawler = new glue.CfnCrawler(this, 'Crawler', {
      name: this.crawlerName,
      description: 'Registers curated Parquet tables and their date partitions; started by the Catalog step',
      role: this.crawlerRole.roleArn,
      databaseName: this.databaseName,
      crawlerSecurityConfiguration: props.securityConfigurationName,
      // One target per dataset: the crawler names each table after its folder (the dataset), and
      // never wanders into staging/, rejects/ or quarantine/.
      targets: {
        s3Targets: props.datasets.map((d) => ({
          path: `s3://${props.lakeBucket.bucketName}/${lake.curatedTablePrefix(d.dataset)}`,
          exclusions: ['**/_SUCCESS', '**/_temporary/**', '**.json'],
        })),
      },
      // A contract change (a new column) updates the table; an object that disappears (a re-run
      // replaced it) is only logged, so a table is never dropped by a crawl.
      schemaChangePolicy: { updateBehavior: 'UPDATE_IN_DATABASE', deleteBehavior: 'LOG' },
      recrawlPolicy: { recrawlBehavior: 'CRAWL_EVERYTHING' },
      configuration: JSON.stringify({
        Version: 1.0,
        CrawlerOutput: { Partitions: { AddOrUpdateBehavior: 'InheritFromTable' } },
        Grouping: { TableGroupingPolicy: 'CombineCompatibleSchemas' },
      }),
    });
    this.crawler.addResourceDependency(this.database);

    this.workGroupName = `${props.namePrefix}-queries`;
    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description: 'Verify-step and analyst queries over the curated lake',
      state: 'ENABLED',
      recursiveDeleteOption: false,
      workGroupConfiguration: {
        // Clients cannot override the result location or turn encryption off.
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery ?? 10 * 1024 ** 3,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${props.athenaResultsBucket.bucketName}/results/`,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: props.key.keyArn },
        },
      },
    });
  }
}
