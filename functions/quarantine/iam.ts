/**
 * What functions/quarantine does to AWS, as data: the stack grants exactly this (infra/), and
 * test/steps/aws-wiring.test.ts checks every call the step makes against moto is covered.
 * Kept apart from handler.ts so reading it loads no AWS SDK.
 */
import type { IamNeeds } from '../../core/steps';
export const iamNeeds: IamNeeds = [
  {
    on: 'landingBucket',
    actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:DeleteObject'],
    prefixes: ['incoming/'],
    why: 'copy the original version, then remove it from landing',
  },
  {
    on: 'landingBucket',
    actions: ['s3:ListBucket'],
    prefixes: ['incoming/'],
    why: 'HEAD of a missing key answers 404, not 403',
  },
  {
    on: 'lakeBucket',
    actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject'],
    prefixes: ['quarantine/'],
    why: 'write the copy and reason.json, check the copy (put reads back the version it wrote)',
  },
  {
    on: 'lakeBucket',
    actions: ['s3:AbortMultipartUpload'],
    prefixes: ['quarantine/'],
    why: 'a copy over 5 GB is a multipart copy (UploadPartCopy needs s3:PutObject); a failed one is aborted',
  },
  {
    on: 'lakeBucket',
    actions: ['s3:ListBucket'],
    prefixes: ['quarantine/'],
    why: 'HEAD of a missing copy answers 404, not 403',
  },
  {
    on: 'ledgerTable',
    actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
    why: 'record REJECTED',
  },
];
