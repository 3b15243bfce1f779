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
    on: 'redshiftWarehouses',
    actions: ['redshift-serverless:GetCredentials'],
    why: "sign in to the workgroup as the Lambda's IAM identity",
  },
];
