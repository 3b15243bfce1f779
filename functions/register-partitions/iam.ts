/**
 * What functions/register-partitions does to AWS, as data: the stack grants exactly this (infra/),
 * and test/steps/aws-wiring.test.ts checks every call the step makes against moto is covered.
 * Kept apart from handler.ts so reading it loads no AWS SDK.
 */
import type { IamNeeds } from '../../core/steps';
export const iamNeeds: IamNeeds = [
  {
    on: 'glueDatabase',
    actions: ['glue:GetTable', 'glue:BatchCreatePartition'],
    why: "compare the table's schema with this run's output, then add this run's partitions",
  },
  {
    on: 'lakeBucket',
    actions: ['s3:GetObject'],
    prefixes: ['manifests/'],
    why: "read this run's manifest (the partitions its objects are in)",
  },
  {
    on: 'lakeBucket',
    actions: ['s3:ListBucket'],
    prefixes: ['manifests/'],
    why: 'HEAD of a missing manifest answers 404, not 403',
  },
];
