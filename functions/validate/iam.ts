/**
 * What functions/validate does to AWS, as data: the stack grants exactly this (infra/), and the
 * least-privilege test checks granted == used. Kept apart from handler.ts so reading it loads no
 * AWS SDK. validate.ts streams the landing object (the event's exact version), clears this
 * version's staging/ and rejects/ prefixes (list + delete) and rewrites them with streamed puts.
 */
import type { IamNeeds } from '../../core/steps';
export const iamNeeds: IamNeeds = [
  {
    on: 'landingBucket',
    actions: ['s3:GetObject', 's3:GetObjectVersion'],
    prefixes: ['incoming/'],
    why: 'stream the uploaded CSV (the exact version of the event)',
  },
  {
    on: 'lakeBucket',
    actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
    prefixes: ['staging/', 'rejects/'],
    why: 'write staging parts, plan.json, _SUCCESS, rejects and report; clear a previous attempt',
  },
  {
    on: 'lakeBucket',
    actions: ['s3:ListBucket'],
    prefixes: ['staging/', 'rejects/'],
    why: "list a previous attempt's objects before clearing them",
  },
];
