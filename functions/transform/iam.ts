/**
 * What functions/transform does to AWS, as data: the stack grants exactly this (infra/), and
 * test/infra/least-privilege.test.ts checks granted == used. Kept apart from handler.ts so reading
 * it loads no AWS SDK. The engine's object-store path (transform/store-io.ts, transform/README.md)
 * lists and reads this version's staging, reads the manifest in place, takes the publish lock
 * (`tmp/transform/`, the Glue job's), uploads the curated objects and the manifest, and deletes
 * this source's stale objects; a lock's age is a HEAD (GetObject).
 */
import type { IamNeeds } from '../../core/steps';
export const iamNeeds: IamNeeds = [
  {
    on: 'lakeBucket',
    actions: ['s3:GetObject'],
    prefixes: ['staging/', 'manifests/', 'tmp/transform/'],
    why: "read plan.json and the staging parts, the manifest in place, and the publish lock's age",
  },
  {
    on: 'lakeBucket',
    actions: ['s3:ListBucket'],
    prefixes: ['staging/', 'curated/', 'manifests/'],
    why: "list the staging parts and the table's objects (this source's stale ones); a missing manifest answers 404",
  },
  {
    on: 'lakeBucket',
    actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
    prefixes: ['curated/', 'manifests/', 'tmp/transform/'],
    why: 'upload the Parquet objects (multipart when large) and the manifest; take the publish lock (create-only put)',
  },
  {
    on: 'lakeBucket',
    actions: ['s3:DeleteObject'],
    prefixes: ['curated/', 'tmp/transform/'],
    why: "remove this source's objects the run no longer produced; release the publish lock",
  },
];
