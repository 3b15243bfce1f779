/**
 * What the contracts' sinks need from the stack (sinks/README.md): a DynamoDB table per dataset
 * whose dynamodb sink names none (on demand, point-in-time recovery, the pipeline's key), the ARN
 * of a table given by name, the ARNs of the Redshift workgroups and clusters the redshift sinks
 * name (the stack creates no warehouse) and of what each signs in with (the workgroup, the
 * cluster's database or dbUser, the secret), and the COPY role: read-only on the curated objects and
 * the COPY manifests, decrypt with the lake key. Nothing is made for a kind of sink no contract has.
 */
import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { DatasetContract } from '../../core/contract';

export interface SinkResourcesProps {
  /** Prefix of the created tables' names (`<prefix>-<dataset>-sink`). */
  readonly namePrefix: string;
  /** The stack's datasets; their contracts' `sinks` say what is made and granted. */
  readonly datasets: readonly DatasetContract[];
  /** The lake bucket the COPY role reads curated objects and COPY manifests from. */
  readonly lakeBucket: s3.IBucket;
  /** The pipeline's key: encrypts the created tables; the COPY role decrypts with it. */
  readonly key: kms.IKey;
  /** What happens to the created tables when the stack is deleted (the stack's data setting). */
  readonly removalPolicy: RemovalPolicy;
}

/** DynamoDB key attribute type of a contract column type (sinks/dynamodb.ts writes the same). */
function attributeTypeOf(contract: DatasetContract, column: string): dynamodb.AttributeType {
  const type = contract.columns.find((c) => c.name === column)?.type;
  return type === 'integer' || type === 'decimal'
    ? dynamodb.AttributeType.NUMBER
    : dynamodb.AttributeType.STRING;
}

export class SinkResources extends Construct {
  /** Tables the stack made, by dataset. */
  readonly createdTables: ReadonlyMap<string, dynamodb.Table>;
  /** Every DynamoDB sink table's ARN (made here or given by name). */
  readonly tableArns: readonly string[];
  /** Workgroup and cluster ARNs the Data API statements run on. */
  readonly warehouseArns: readonly string[];
  /** Workgroups signed in to as the Lambda's IAM identity (`GetCredentials`). */
  readonly workgroupArns: readonly string[];
  /** `dbname:` ARNs of clusters signed in to as the Lambda's IAM identity (`GetClusterCredentialsWithIAM`). */
  readonly clusterDatabaseArns: readonly string[];
  /** `dbuser:` and `dbname:` ARNs of cluster sinks with a `dbUser` (`GetClusterCredentials`). */
  readonly clusterUserArns: readonly string[];
  /** The secrets the sinks' `secretArn` name (`GetSecretValue`). */
  readonly secretArns: readonly string[];
  /** The COPY role, when some redshift sink uses the stack's (null: none does). */
  readonly copyRole: iam.Role | null;

  constructor(scope: Construct, id: string, props: SinkResourcesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const created = new Map<string, dynamodb.Table>();
    const tableArns: string[] = [];
    const warehouseArns = new Set<string>();
    const workgroupArns = new Set<string>();
    const clusterDatabaseArns = new Set<string>();
    const clusterUserArns = new Set<string>();
    const secretArns = new Set<string>();
    const clusterArn = (resource: 'cluster' | 'dbname' | 'dbuser', resourceName: string) =>
      stack.formatArn({
        service: 'redshift',
        resource,
        resourceName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    /** Datasets whose redshift sink COPYs with the stack's role. */
    const copyDatasets: string[] = [];
    for (const contract of props.datasets) {
      for (const sink of contract.sinks) {
        if (sink.type === 'dynamodb') {
          if (sink.table !== null) {
            tableArns.push(
              stack.formatArn({ service: 'dynamodb', resource: 'table', resourceName: sink.table }),
            );
            continue;
          }
          const title = contract.dataset
            .split(/[-_]/)
            .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
            .join('');
          const [partition, sort] = sink.key;
          const table = new dynamodb.Table(this, `${title}Table`, {
            tableName: `${props.namePrefix}-${contract.dataset}-sink`,
            partitionKey: { name: partition!, type: attributeTypeOf(contract, partition!) },
            ...(sort !== undefined && { sortKey: { name: sort, type: attributeTypeOf(contract, sort) } }),
            billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryptionKey: props.key,
            pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
            removalPolicy: props.removalPolicy,
          });
          created.set(contract.dataset, table);
          tableArns.push(table.tableArn);
        } else {
          // A workgroup's ARN holds its generated id, not the name the contract gives.
          const workgroup = stack.formatArn({
            service: 'redshift-serverless',
            resource: 'workgroup',
            resourceName: '*',
          });
          const cluster = sink.clusterIdentifier;
          warehouseArns.add(cluster === null ? workgroup : clusterArn('cluster', cluster));
          // How the Data API signs in (adapters/aws/redshift-data.ts): the secret, else the cluster's
          // dbUser, else the Lambda's IAM identity — on the workgroup, or on the cluster's database.
          if (sink.secretArn !== null) secretArns.add(sink.secretArn);
          else if (cluster === null) workgroupArns.add(workgroup);
          else if (sink.dbUser !== null) {
            clusterUserArns.add(clusterArn('dbuser', `${cluster}/${sink.dbUser}`));
            clusterUserArns.add(clusterArn('dbname', `${cluster}/${sink.database}`));
          } else clusterDatabaseArns.add(clusterArn('dbname', `${cluster}/${sink.database}`));
          if (sink.copyRoleArn === null) copyDatasets.push(contract.dataset);
        }
      }
    }
    this.createdTables = created;
    this.tableArns = tableArns;
    this.warehouseArns = [...warehouseArns];
    this.workgroupArns = [...workgroupArns];
    this.clusterDatabaseArns = [...clusterDatabaseArns];
    this.clusterUserArns = [...clusterUserArns];
    this.secretArns = [...secretArns];
    this.copyRole = null;
    if (copyDatasets.length > 0) {
      const role = new iam.Role(this, 'CopyRole', {
        assumedBy: new iam.CompositePrincipal(
          new iam.ServicePrincipal('redshift.amazonaws.com'),
          new iam.ServicePrincipal('redshift-serverless.amazonaws.com'),
        ),
        description:
          "Redshift COPY of the sinks: reads the sink datasets' curated/ objects and COPY manifests, decrypts with the lake key. Associate it with the cluster or the workgroup's namespace.",
      });
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          // Only these datasets' curated objects and COPY manifests (sinks/redshift.ts copyManifestKey).
          resources: copyDatasets.flatMap((d) => [
            props.lakeBucket.arnForObjects(`curated/${d}/*`),
            props.lakeBucket.arnForObjects(`manifests/${d}/*`),
          ]),
        }),
      );
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [props.key.keyArn] }),
      );
      this.copyRole = role;
    }
  }
}
