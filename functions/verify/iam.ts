/**
 * What functions/verify does to AWS, as data: the stack grants exactly this (infra/), and
 * test/steps/aws-wiring.test.ts checks every call the step makes against moto is covered.
 * Kept apart from handler.ts so reading it loads no AWS SDK.
 */
import type { IamNeeds } from '../../core/steps';
export const iamNeeds: IamNeeds = [
  {
    on: 'athenaWorkGroup',
    actions: [
      'athena:StartQueryExecution',
      'athena:GetQueryExecution',
      'athena:GetQueryResults',
      'athena:StopQueryExecution',
    ],
    why: 'run the verification queries',
  },
  {
    on: 'glueDatabase',
    actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
    why: "Athena resolves the table with the caller's Glue permissions",
  },
  {
    on: 'lakeBucket',
    actions: ['s3:GetObject'],
    prefixes: ['curated/', 'manifests/'],
    why: 'read the manifest; Athena reads the Parquet as the caller',
  },
  {
    on: 'lakeBucket',
    actions: ['s3:ListBucket'],
    prefixes: ['curated/', 'manifests/'],
    why: 'Athena lists partitions; HEAD of a missing manifest answers 404',
  },
  {
    on: 'ledgerTable',
    actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    why: 'when the output is not this version: is a newer version claimed (latest), then record STALE',
  },
  {
    on: 'athenaResultsBucket',
    actions: ['s3:GetObject', 's3:PutObject', 's3:ListBucket', 's3:GetBucketLocation'],
    why: 'Athena writes and reads query results as the caller',
  },
];
