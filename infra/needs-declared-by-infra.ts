/**
 * IAM needs the stack declares on behalf of a step whose handler does not export `iamNeeds` yet
 * (core/steps.ts IamNeeds). Read from the step's code; the handler's own declaration always wins,
 * and the stack warns while a step relies on this file. Move these into the handler and delete
 * the entry: the code that makes the calls is the right place to say what they need.
 */
import type { IamNeeds } from '../core/steps';

export const NEEDS_DECLARED_BY_INFRA: Readonly<Record<string, IamNeeds>> = {
  // functions/validate/validate.ts: streams the landing object (a given version), clears and
  // rewrites this version's staging/ and rejects/ prefixes (list + delete, then streamed puts).
  validate: [
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
  ],
};
