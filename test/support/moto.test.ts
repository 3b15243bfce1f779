import { S3Client, CreateBucketCommand, ListBucketsCommand } from '@aws-sdk/client-s3';
import { startMoto, type MotoServer } from './moto';
import { requirePythonSide } from './python';

const run = requirePythonSide('moto', 'moto harness');
(run ? describe : describe.skip)('moto harness', () => {
  let moto: MotoServer;
  beforeAll(async () => (moto = await startMoto()));
  afterAll(async () => moto.stop());

  test('starts on loopback and answers the S3 API', async () => {
    expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const s3 = new S3Client(moto.clientConfig);
    await s3.send(new CreateBucketCommand({ Bucket: 'harness-check' }));
    const out = await s3.send(new ListBucketsCommand({}));
    expect(out.Buckets?.map((b) => b.Name)).toContain('harness-check');
  });
});
