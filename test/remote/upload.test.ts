import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { encodeEventKey } from '../../core/events';
import { findRunOfUpload, uploadFile, UploadRefusedError, type RemoteStack } from '../../remote';
import { resetMoto, startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';
import { acceptMotoTimestamps, deployStandInStack, FIXTURES } from './moto-stack';

const UPLOADS = path.join(FIXTURES, 'upload');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const run = requirePythonSide('moto', 'remote upload');
(run ? describe : describe.skip)('etl upload --stack (moto S3)', () => {
  let moto: MotoServer;
  let remote: RemoteStack;
  let tmp: string;
  beforeAll(async () => (moto = await startMoto()));
  afterAll(async () => moto.stop());
  beforeEach(async () => {
    remote = await deployStandInStack(moto);
    acceptMotoTimestamps(remote.clients.sfn);
    tmp = mkdtempSync(path.join(tmpdir(), 'etl-upload-'));
  });
  afterEach(async () => {
    rmSync(tmp, { recursive: true, force: true });
    await resetMoto(moto);
  });

  async function landed(key: string): Promise<Uint8Array> {
    // moto 5.1.4 answers a multipart object's GetObject with a wrong full-object CRC32, which the
    // SDK rejects; this reader only checks checksums when S3 requires it (we compare sha256 anyway).
    const reader = new S3Client({ ...moto.clientConfig, responseChecksumValidation: 'WHEN_REQUIRED' });
    const out = await reader.send(new GetObjectCommand({ Bucket: remote.info.landingBucket, Key: key }));
    return out.Body!.transformToByteArray();
  }

  async function landingKeys(): Promise<string[]> {
    const out = await remote.clients.s3.send(new ListObjectsV2Command({ Bucket: remote.info.landingBucket }));
    return (out.Contents ?? []).map((o) => o.Key!);
  }

  test('a CSV lands under incoming/<dataset>/ with its name, bytes and a version id', async () => {
    const file = path.join(UPLOADS, 'jan 2026.csv');

    const put = await uploadFile(remote, file, 'registrations');

    expect(put).toMatchObject({
      bucket: remote.info.landingBucket,
      key: 'incoming/registrations/jan 2026.csv',
      size: readFileSync(file).length,
      multipart: false,
    });
    expect(put.versionId).toBeTruthy();
    expect(sha256(await landed(put.key))).toBe(sha256(readFileSync(file)));
  });

  test("a 0-byte file is uploaded as it is: rejecting it (EMPTY_FILE) is the pipeline's job", async () => {
    const put = await uploadFile(remote, path.join(UPLOADS, 'empty.csv'), 'registrations');

    expect(put).toMatchObject({ key: 'incoming/registrations/empty.csv', size: 0, multipart: false });
    expect((await landed(put.key)).length).toBe(0);
  });

  test('a file bigger than one part goes up as a streamed multipart upload, byte for byte', async () => {
    const big = path.join(tmp, 'big.csv');
    const row = 'r-0000001,someone@example.com,2026-01-01T10:00:00Z\n';
    writeFileSync(
      big,
      'registration_id,email,registered_at\n' + row.repeat(Math.ceil((6 * 1024 * 1024) / row.length)),
    );
    const progress: number[] = [];

    const put = await uploadFile(remote, big, 'registrations', {
      partSize: 5 * 1024 * 1024,
      onProgress: (sent) => progress.push(sent),
    });

    expect(put.multipart).toBe(true);
    expect(sha256(await landed(put.key))).toBe(sha256(readFileSync(big)));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[progress.length - 1]).toBe(put.size);
  });

  test('a name the pipeline would refuse is refused before upload, naming the file and the fix', async () => {
    const file = path.join(UPLOADS, 'bad;name.csv');

    const uploading = uploadFile(remote, file, 'registrations');

    await expect(uploading).rejects.toBeInstanceOf(UploadRefusedError);
    await expect(uploading).rejects.toThrow(/bad;name\.csv: .*";".*Fix: rename the file/);
    expect(await landingKeys()).toEqual([]);
  });

  test('--as renames the object, and its name passes the same allowlist', async () => {
    const file = path.join(UPLOADS, 'bad;name.csv');

    const put = await uploadFile(remote, file, 'registrations', { as: 'bad name (fixed).csv' });

    expect(await landingKeys()).toEqual([put.key]);
    expect(put.key).toBe('incoming/registrations/bad name (fixed).csv');
    await expect(uploadFile(remote, file, 'registrations', { as: '../escape.csv' })).rejects.toThrow(
      /"\.\."/,
    );
  });

  test('a dataset with no contract is refused with the list of known datasets', async () => {
    const uploading = uploadFile(remote, path.join(UPLOADS, 'jan 2026.csv'), 'orders');

    await expect(uploading).rejects.toThrow(/dataset "orders" has no contract .*known: .*registrations/);
    expect(await landingKeys()).toEqual([]);
  });

  test('a missing file is refused with its path and the reason', async () => {
    const missing = path.join(tmp, 'nope.csv');

    await expect(uploadFile(remote, missing, 'registrations')).rejects.toThrow(
      `${missing}: cannot be read (ENOENT)`,
    );
  });

  /** What the trigger rule would do: start an execution with the S3 event for key + version. */
  async function triggerRun(name: string, key: string, versionId: string): Promise<void> {
    const detail = {
      bucket: { name: remote.info.landingBucket },
      object: { key: encodeEventKey(key), 'version-id': versionId },
    };
    await remote.clients.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: remote.info.stateMachineArn,
        name,
        input: JSON.stringify({ detail }),
      }),
    );
  }

  test('--wait finds the run this upload started: same key and same version, not an earlier one', async () => {
    const file = path.join(UPLOADS, 'jan 2026.csv');
    const first = await uploadFile(remote, file, 'registrations');
    await triggerRun('run-first-version', first.key, first.versionId!);
    const second = await uploadFile(remote, file, 'registrations');
    // The trigger is asynchronous: the run for the second version starts a moment later.
    setTimeout(() => void triggerRun('run-second-version', second.key, second.versionId!), 300);

    const run = await findRunOfUpload(remote, second, { timeoutMs: 10_000, pollMs: 100 });

    expect(second.versionId).not.toBe(first.versionId);
    expect(run).toMatchObject({
      id: 'run-second-version',
      sourceKey: second.key,
      sourceVersionId: second.versionId,
    });
  });

  test('--wait gives up after its timeout when no run starts', async () => {
    const put = await uploadFile(remote, path.join(UPLOADS, 'jan 2026.csv'), 'registrations');

    expect(await findRunOfUpload(remote, put, { timeoutMs: 300, pollMs: 100 })).toBeUndefined();
  });
});
