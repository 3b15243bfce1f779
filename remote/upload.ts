/**
 * `etl run <file> [--dataset D] --stack NAME` (its upload half): puts a local CSV into the stack's landing bucket
 * under `incoming/<dataset>/<file name>`, which is what starts a run (EventBridge → state machine).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Upload } from '@aws-sdk/lib-storage';
import { listDatasets, DEFAULT_SCHEMAS_DIR } from '../core/contract';
import { checkLandingKey, LANDING_PREFIX, landingContentType } from '../core/layout';
import type { RemoteStack } from './stack';

export interface UploadOptions {
  /** Name to give the object instead of the local file's base name. @default basename(file) */
  readonly as?: string;
  /**
   * Folder of dataset contracts checked before uploading, so an unknown dataset is refused here
   * rather than quarantined as UNKNOWN_DATASET after the upload. `false` skips the check.
   * @default the repository's schemas/
   */
  readonly schemasDir?: string | false;
  /** Part size for multipart uploads; files up to one part go in a single PutObject. @default 8 MiB */
  readonly partSize?: number;
  /** Parts in flight at once. @default 4 */
  readonly queueSize?: number;
  /** Called as bytes go out (the CLI draws progress with it). */
  readonly onProgress?: (sentBytes: number, totalBytes: number) => void;
}

export interface UploadResult {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  /** Present on the (versioned) landing bucket: identifies exactly this upload's run input. */
  readonly versionId?: string;
  /** Whether multipart upload was used. */
  readonly multipart: boolean;
}

/** The upload was refused before anything was sent; the message names the file and the fix. */
export class UploadRefusedError extends Error {
  override readonly name = 'UploadRefusedError';
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${file}: ${problem}. Fix: ${fix}`);
  }
}

const MIB = 1024 * 1024;

/**
 * Uploads one CSV to `incoming/<dataset>/<name>` in the stack's landing bucket. The key is checked
 * with the same allowlist every pipeline step applies ({@link checkLandingKey}), so a name the
 * pipeline would refuse is refused here, before any byte leaves the machine. Big files go as a
 * streamed multipart upload (never read into memory).
 *
 * @example
 * const put = await uploadFile(remote, 'samples/registrations.csv', 'registrations');
 * // put.key === 'incoming/registrations/registrations.csv'
 * @throws UploadRefusedError when the file, dataset or name is not acceptable
 */
export async function uploadFile(
  remote: RemoteStack,
  file: string,
  dataset: string,
  options: UploadOptions = {},
): Promise<UploadResult> {
  const fileName = options.as ?? path.basename(file);
  const key = `${LANDING_PREFIX}${dataset}/${fileName}`;
  const check = checkLandingKey(key);
  if (!check.ok)
    throw new UploadRefusedError(file, `the object key "${key}" is refused: ${check.problem}`, check.fix);

  const schemasDir = options.schemasDir ?? DEFAULT_SCHEMAS_DIR;
  if (schemasDir !== false) {
    const known = listDatasets(schemasDir);
    if (!known.includes(dataset)) {
      throw new UploadRefusedError(
        file,
        `dataset "${dataset}" has no contract in ${schemasDir} (known: ${known.join(', ') || 'none'})`,
        'pass --dataset with one of the known datasets, or add schemas/<dataset>.schema.json and deploy it first',
      );
    }
  }

  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile())
      throw new UploadRefusedError(
        file,
        'is not a regular file',
        'pass the path of a .csv, .jsonl or .json file (optionally .gz)',
      );
    size = st.size;
  } catch (err) {
    if (err instanceof UploadRefusedError) throw err;
    throw new UploadRefusedError(
      file,
      `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      'check the path and its permissions',
    );
  }

  const partSize = Math.max(options.partSize ?? 8 * MIB, 5 * MIB); // S3's minimum part size
  const upload = new Upload({
    client: remote.clients.s3,
    params: {
      Bucket: remote.info.landingBucket,
      Key: key,
      Body: createReadStream(file),
      ContentType: landingContentType(key),
    },
    partSize,
    queueSize: options.queueSize ?? 4,
    // A failed multipart upload is aborted, so no orphaned parts are left billed in the bucket.
    leavePartsOnError: false,
  });
  if (options.onProgress) {
    const onProgress = options.onProgress;
    upload.on('httpUploadProgress', (p) => onProgress(p.loaded ?? 0, p.total ?? size));
  }
  const out = await upload.done();
  return {
    bucket: remote.info.landingBucket,
    key,
    size,
    etag: (out.ETag ?? '').replace(/"/g, ''),
    ...(out.VersionId !== undefined && { versionId: out.VersionId }),
    multipart: size > partSize,
  };
}
