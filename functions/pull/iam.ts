/**
 * What functions/pull does to AWS, as data: the stack grants exactly this (infra/), on the landing
 * bucket only under `incoming/<dataset>/` of the datasets the source definitions feed, the
 * bookmarks table, and only the secrets the definitions name.
 * Kept apart from handler.ts so reading it loads no AWS SDK.
 */
import type { IamNeeds } from '../../core/steps';
export const iamNeeds: IamNeeds = [
  {
    on: 'sourceLanding',
    actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
    why: 'stream each period into incoming/<dataset>/ (create-only; a multipart upload, aborted when the download fails)',
  },
  {
    on: 'sourceLanding',
    actions: ['s3:GetObject'],
    why: 'HeadObject: the landed size, ETag and version; a period an earlier pull landed but did not record',
  },
  {
    on: 'sourceLanding',
    actions: ['s3:ListBucket'],
    why: 'HEAD of a period not landed yet answers 404, not 403',
  },
  {
    on: 'sourceLedgerTable',
    actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    why: 'bookmarks and per-period claims (conditional writes)',
  },
  {
    on: 'sourceSecrets',
    actions: ['secretsmanager:GetSecretValue'],
    why: 'request header values the source definitions keep in Secrets Manager',
  },
];
