/**
 * `--stack`: the same verbs against a deployed stack, here a stand-in stack in a moto server on
 * loopback (the remote/ backend itself is tested in test/remote; this checks the CLI wiring).
 */
import { GetQueryExecutionCommand, ListQueryExecutionsCommand } from '@aws-sdk/client-athena';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';
import { deployStandInStack } from '../remote/moto-stack';
import type { RemoteStack } from '../../remote';
import { FIXTURES, Sandbox } from './harness';
import path from 'node:path';
import { readFileSync } from 'node:fs';

const run = requirePythonSide('moto', 'etl --stack');
(run ? describe : describe.skip)('etl --stack', () => {
  let moto: MotoServer;
  let stack: RemoteStack;
  const box = new Sandbox();
  const saved = { ...process.env };

  beforeAll(async () => {
    moto = await startMoto();
    stack = await deployStandInStack(moto, 'etl-cli');
    // The SDK's default chain reads the process environment: dummy credentials for moto.
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: moto.clientConfig.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: moto.clientConfig.credentials.secretAccessKey,
    });
  });
  afterAll(async () => {
    process.env = saved;
    await moto.stop();
    box.remove();
  });

  const remote = (...args: string[]) => [
    '--stack',
    'etl-cli',
    '--endpoint',
    moto.endpoint,
    '--region',
    moto.clientConfig.region,
    ...args,
  ];

  test('run uploads the file to the stack landing bucket under incoming/<dataset>/', async () => {
    const csv = path.join(FIXTURES, 'registrations/small.csv');

    const r = await box.etlJson<{ upload: { bucket: string; key: string; versionId?: string } }>(
      remote('run', csv, '--no-wait'),
    );

    expect(r.code).toBe(0);
    expect(r.json.upload).toMatchObject({
      bucket: stack.info.landingBucket,
      key: 'incoming/registrations/small.csv',
    });
    const got = await stack.clients.s3.send(
      new GetObjectCommand({ Bucket: r.json.upload.bucket, Key: r.json.upload.key }),
    );
    expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(readFileSync(csv));
  });

  test('an unknown stack is one clear line and exit 1; local-only verbs are refused', async () => {
    const missing = await box.etl([
      '--stack',
      'nope',
      '--endpoint',
      moto.endpoint,
      '--region',
      'us-east-1',
      'runs',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^etl: .*nope/);
    const watch = await box.etl(remote('watch'));
    expect(watch.code).toBe(1);
    expect(watch.err).toMatch(/watch works on the local folder only/);
  });

  test('query --param binds each ? by the CLI rule: 5 a number, text quoted as an Athena literal', async () => {
    const r = await box.etlJson<{ columns: string[] }>(
      remote(
        'query',
        'SELECT * FROM registrations WHERE quantity > ? AND ticket_type = ?',
        '--param',
        '5',
        '--param',
        "early'bird",
      ),
    );

    expect(r.code).toBe(0);
    const { QueryExecutionIds } = await stack.clients.athena.send(
      new ListQueryExecutionsCommand({ WorkGroup: stack.info.athenaWorkGroup }),
    );
    const sent = await Promise.all(
      (QueryExecutionIds ?? []).map((id) =>
        stack.clients.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id })),
      ),
    );
    expect(sent.map((q) => q.QueryExecution?.ExecutionParameters)).toContainEqual(['5', "'early''bird'"]);
  });
});
