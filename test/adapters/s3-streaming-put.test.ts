/**
 * What the pull Lambda relies on when it streams a download into the landing bucket
 * (sources/pull.ts → ObjectStore.put with a Readable, create-only): S3ObjectStore uploads a stream
 * of unknown length as a multipart upload, part by part, without holding the object in memory, and
 * a body that fails midway leaves no object and no multipart upload behind. Against moto.
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { S3ObjectStore, S3_PART_LIMITS } from '../../adapters/aws/s3-object-store';
import { resetMoto, startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';

const MIB = 1024 * 1024;
const CHUNK = 64 * 1024;

/** `total` bytes of a repeating pattern, produced lazily in 64 KiB chunks; counts what was read. */
function lazyBody(total: number, opts: { failAfter?: number; onChunk?: (produced: number) => void } = {}) {
  const state = { produced: 0 };
  const hash = createHash('sha256');
  const stream = Readable.from(
    (async function* () {
      while (state.produced < total) {
        if (opts.failAfter !== undefined && state.produced >= opts.failAfter)
          throw new Error('connection reset by origin');
        const n = Math.min(CHUNK, total - state.produced);
        const chunk = Buffer.alloc(n, state.produced / CHUNK);
        hash.update(chunk);
        state.produced += n;
        opts.onChunk?.(state.produced);
        yield chunk;
      }
    })(),
    { objectMode: false },
  );
  return { stream, state, digest: () => hash.digest('hex') };
}

const runMoto = requirePythonSide('moto', 'S3ObjectStore streaming put');
(runMoto ? describe : describe.skip)('S3ObjectStore streaming put (moto)', () => {
  let moto: MotoServer;
  let client: S3Client;
  let sent: string[];
  /** Bytes of UploadPart requests S3 has acknowledged. */
  let acknowledged: number;

  beforeAll(async () => {
    moto = await startMoto();
  });
  beforeEach(async () => {
    await resetMoto(moto);
    client = new S3Client(moto.clientConfig);
    sent = [];
    acknowledged = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(context.commandName!.replace(/Command$/, ''));
        const out = await next(args);
        if (context.commandName === 'UploadPartCommand')
          acknowledged += (args.input as { Body?: Uint8Array }).Body?.byteLength ?? 0;
        return out;
      },
      { step: 'initialize', name: 'recordCommands' },
    );
    await client.send(new CreateBucketCommand({ Bucket: 'landing' }));
    await client.send(
      new PutBucketVersioningCommand({
        Bucket: 'landing',
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
  });
  afterEach(() => client.destroy());
  afterAll(async () => {
    await moto?.stop();
  });

  test('a 48 MiB stream of unknown length lands whole as a multipart upload, with a bounded read-ahead', async () => {
    const total = 48 * MIB;
    let maxAhead = 0;
    const body = lazyBody(total, {
      onChunk: (produced) => (maxAhead = Math.max(maxAhead, produced - acknowledged)),
    });
    const key = 'incoming/github_events/github-events-2024-01-01-00.json.gz';

    const info = await new S3ObjectStore(client).put('landing', key, body.stream, { ifNoneMatch: '*' });

    expect(info.size).toBe(total);
    // An S3 multipart ETag is "<md5 of the parts' md5s>-<parts>": 10 parts of 5 MiB (the last smaller).
    expect(info.etag).toMatch(/-10$/);
    expect(sent.filter((c) => c === 'UploadPart')).toHaveLength(10);
    expect(sent).toContain('CompleteMultipartUpload');
    expect(sent).not.toContain('PutObject');
    // Never the whole object in memory: what was read but not yet acknowledged by S3 stays within
    // the uploader's parts in flight (4) plus the one being filled.
    expect(maxAhead).toBeLessThanOrEqual(5 * S3_PART_LIMITS.minBytes + CHUNK);
    expect(maxAhead).toBeLessThan(total / 2);

    // moto answers a multipart object's GET with a whole-object CRC32 that is not S3's (composite)
    // one, so this reader does not check response checksums; the sha256 below checks every byte.
    const reader = new S3Client({ ...moto.clientConfig, responseChecksumValidation: 'WHEN_REQUIRED' });
    const got = await reader.send(new GetObjectCommand({ Bucket: 'landing', Key: key }));
    const hash = createHash('sha256');
    for await (const c of got.Body as Readable) hash.update(c as Buffer);
    reader.destroy();
    expect(hash.digest('hex')).toBe(body.digest());
  });

  test('a body that fails after two parts leaves no object and no multipart upload (aborted), and the error surfaces', async () => {
    const body = lazyBody(48 * MIB, { failAfter: 12 * MIB });
    const key = 'incoming/github_events/github-events-2024-01-01-01.json.gz';

    await expect(
      new S3ObjectStore(client).put('landing', key, body.stream, { ifNoneMatch: '*' }),
    ).rejects.toThrow('connection reset by origin');

    expect(sent).toContain('CreateMultipartUpload');
    expect(sent).toContain('AbortMultipartUpload');
    expect(sent).not.toContain('CompleteMultipartUpload');
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: 'landing' }));
    expect(uploads.Uploads ?? []).toEqual([]);
    expect(await new S3ObjectStore(client).head({ bucket: 'landing', key })).toBeUndefined();
  });
});
