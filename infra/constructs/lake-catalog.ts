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
import { compilePlan } from '../../core/plan';
import { glueTypeOf, tableSchemaOf } from '../../core/table-schema';
import { LAKE_PREFIXES } from './lake-storage';

export interface LakeCatalogProps {
  /**
   * Prefix of physical names; the database is `<prefix with _>_lake`, the crawler
   * `<prefix>-curated`, the workgroup `<prefix>-queries`.
   */
  readonly namePrefix: string;
  /** One curated table per contract, typed from it; at least one. */
  readonly datasets: readonly DatasetContract[];
  /** The lake bucket: tables are located under its curated/ prefix, the only one the crawler reads. */
  readonly lakeBucket: s3.IBucket;
  /** Where the workgroup writes query results (under results/), encrypted with {@link key}. */
  readonly athenaResultsBucket: s3.IBucket;
  /** Encrypts query results; the crawler role uses it to read the curated objects and encrypt its logs. */
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

/** The Glue/Athena type of a curated column (core/table-schema.ts, shared with RegisterPartitions). */
export { glueTypeOf };

export class LakeCatalog extends Construct {
  readonly database: glue.CfnDatabase;
  readonly databaseName: string;
  /** One curated table per dataset, typed from its contract. */
  readonly tables: glue.CfnTable[];
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

    // One table per dataset, its schema compiled from the contract (the same plan both transform
    // engines execute), so the table exists and is typed before the first file arrives, and a
    // crawl can never infer a different type from one file's Parquet.
    this.tables = props.datasets.map((contract) => {
      const plan = compilePlan(contract);
      // The same schema RegisterPartitions compares with this table (core/table-schema.ts).
      const schema = tableSchemaOf(plan);
      const table = new glue.CfnTable(this, `Table_${contract.dataset}`, {
        catalogId: stack.account,
        databaseName: this.databaseName,
        tableInput: {
          name: plan.table,
          description: `Curated ${contract.dataset} (schemas/${contract.dataset}.schema.json)`,
          tableType: 'EXTERNAL_TABLE',
          parameters: { classification: 'parquet', 'parquet.compression': 'SNAPPY', EXTERNAL: 'TRUE' },
          // None, or one key typed as core/plan partitionKeyType says: `date` for day partitions
          // (of a date, or of a timestamp's UTC day), `string` for month, year and text values.
          partitionKeys: schema.partitionKeys.map((k) => ({ name: k.name, type: k.type })),
          storageDescriptor: {
            location: `s3://${props.lakeBucket.bucketName}/${lake.curatedTablePrefix(contract.dataset)}`,
            inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
            outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
            serdeInfo: {
              serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
            },
            // The columns inside the files: a derived partition keeps its source column there.
            columns: schema.columns.map((c) => ({ name: c.name, type: c.type })),
          },
        },
      });
      table.addResourceDependency(this.database);
      return table;
    });

    this.crawlerName = `${props.namePrefix}-curated`;
    this.crawler = new glue.CfnCrawler(this, 'Crawler', {
      name: this.crawlerName,
      description: 'Adds the date partitions of the curated tables; started by the Catalog step',
      role: this.crawlerRole.roleArn,
      crawlerSecurityConfiguration: props.securityConfigurationName,
      // Catalog targets: the crawler looks only at the locations of these tables (curated/<dataset>/,
      // one per dataset), never at staging/, rejects/ or quarantine/, and adds partitions to the
      // tables the contracts define instead of inventing tables of its own.
      targets: {
        catalogTargets: [{ databaseName: this.databaseName, tables: props.datasets.map((d) => d.table) }],
      },
      // The schema belongs to the contract (redeploy to change it): crawls only log differences,
      // and an object that disappears (a re-run replaced it) is only logged too.
      schemaChangePolicy: { updateBehavior: 'LOG', deleteBehavior: 'LOG' },
      recrawlPolicy: { recrawlBehavior: 'CRAWL_EVERYTHING' },
      configuration: JSON.stringify({
        Version: 1.0,
        CrawlerOutput: { Partitions: { AddOrUpdateBehavior: 'InheritFromTable' } },
      }),
    });
    for (const table of this.tables) this.crawler.addResourceDependency(table);

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
