/**
 * What functions/load-redshift-sink does to AWS, as data: the stack grants exactly this (infra/).
 * Kept apart from handler.ts so reading it loads no AWS SDK.
 */
import type { IamNeeds } from '../../core/steps';
export const iamNeeds: IamNeeds = [
  {
    on: 'lakeBucket',
    actions: ['s3:GetObject'],
    prefixes: ['curated/', 'manifests/'],
    why: "read the run's manifest; HEAD each curated object for its size (COPY manifests need it)",
  },
  {
    on: 'lakeBucket',
    actions: ['s3:PutObject'],
    prefixes: ['manifests/'],
    why: "write the COPY manifests listing exactly this run's objects",
  },
  {
    on: 'redshiftWarehouses',
    actions: ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'],
    why: 'run the setup, COPY and merge statements on the named workgroup or cluster',
  },
  {
    on: 'redshiftStatements',
    actions: ['redshift-data:DescribeStatement', 'redshift-data:CancelStatement'],
    why: 'poll its own statements (the Data API has no resource for a statement: owner-scoped)',
  },
  {
    on: 'redshiftWorkgroups',
    actions: ['redshift-serverless:GetCredentials'],
    why: "sign in to a workgroup as the Lambda's IAM identity (sinks without secretArn)",
  },
  {
    on: 'redshiftClusterDatabases',
    actions: ['redshift:GetClusterCredentialsWithIAM'],
    why: "sign in to a cluster's database as the Lambda's IAM identity (sinks without secretArn or dbUser)",
  },
  {
    on: 'redshiftClusterUsers',
    actions: ['redshift:GetClusterCredentials'],
    why: "temporary credentials for a cluster sink's dbUser on its database",
  },
  {
    on: 'redshiftSecrets',
    actions: ['secretsmanager:GetSecretValue'],
    why: "sign in with the sink's secretArn (the Data API reads the secret as the caller)",
  },
];
