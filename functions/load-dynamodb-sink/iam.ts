/**
 * What functions/load-dynamodb-sink does to AWS, as data: the stack grants exactly this (infra/).
 * Kept apart from handler.ts so reading it loads no AWS SDK.
 */
import type { IamNeeds } from '../../core/steps';
export const iamNeeds: IamNeeds = [
  {
    on: 'lakeBucket',
    actions: ['s3:GetObject'],
    prefixes: ['curated/', 'manifests/'],
    why: "read the run's manifest and its curated Parquet objects",
  },
  {
    on: 'sinkTables',
    actions: ['dynamodb:PutItem'],
    why: 'one conditional PutItem per item (a newer version of the source wins)',
  },
];
