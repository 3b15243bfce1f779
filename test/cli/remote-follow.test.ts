/**
 * `etl run --stack` follows the execution the trigger started to its end, with the same state
 * lines and exit codes as a local run; `--no-wait` returns after the upload; `etl runs show
 * --follow --stack` follows a running execution. Against moto on loopback: S3 (the upload, a
 * versioned landing bucket), CloudFormation (the stack's outputs) and Step Functions with moto's
 * interpreter walking the executions (real Retry/Catch/Fail histories). Two stand-ins:
 * - the trigger: EventBridge does not deliver S3 events to Step Functions in moto, so the test
 *   starts the execution itself, with the S3 "Object Created" event for the uploaded version, as
 *   the rule does;
 * - moto's Step Functions timestamps are ISO strings the JS SDK refuses: the CLI talks to moto
 *   through a loopback proxy that rewrites them to epoch seconds (test/remote/moto-sfn-proxy.ts).
 * The state machine is the stand-in pipeline (test/fixtures/remote/pipeline-standin.asl.json),
 * routed by file name: ok-* succeeds, bad-* is rejected (Catch → Quarantine → FileRejected),
 * anything else fails in Transform after a retry. moto's interpreter runs a state machine once,
 * so each scenario deploys its own stack.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { ListObjectVersionsCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateStateMachineCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { encodeEventKey } from '../../core/events';
import { connectStack, createRemoteClients, destroyRemoteClients, type RemoteStack } from '../../remote';
import { acceptMotoTimestamps, FIXTURES as REMOTE_FIXTURES, motoOptions } from '../remote/moto-stack';
import { startSfnTimestampProxy, type Proxy } from '../remote/moto-sfn-proxy';
import { startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';
import { main } from '../../cli/main';
import { Sandbox } from './harness';

const ASL = readFileSync(path.join(REMOTE_FIXTURES, 'pipeline-standin.asl.json'), 'utf8')
  .replace('incoming/orders/*', 'incoming/registrations/bad-*')
  .replace('incoming/clicks/*', 'incoming/registrations/ok-*');

const run = requirePythonSide('moto', 'etl run --stack (follow)');
(run ? describe : describe.skip)('etl run --stack follows the run; runs show --follow', () => {
  let moto: MotoServer;
  let proxy: Proxy;
  const box = new Sandbox();
  const saved = { ...process.env };
  const stacks: RemoteStack[] = [];

  beforeAll(async () => {
    moto = await startMoto();
    proxy = await startSfnTimestampProxy(moto.endpoint);
    // moto's interpreter walks each execution through the ASL.
    await fetch(`${moto.endpoint}/moto-api/config`, {
      method: 'POST',
      body: JSON.stringify({ stepfunctions: { execute_state_machine: true } }),
    });
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: moto.clientConfig.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: moto.clientConfig.credentials.secretAccessKey,
    });
  });
  afterAll(async () => {
    process.env = saved;
    for (const s of stacks) destroyRemoteClients(s.clients);
    await proxy?.stop();
    await moto?.stop();
    box.remove();
  });

  /**
   * A stack whose state machine is the routed stand-in pipeline. moto's CloudFormation names a
   * state machine differently from the ARN its Ref returns, so the machine is created through the
   * Step Functions API and the stack publishes its ARN as the output.
   */
  async function deploy(name: string): Promise<RemoteStack> {
    const template = JSON.parse(readFileSync(path.join(REMOTE_FIXTURES, 'stack-template.json'), 'utf8')) as {
      Resources: Record<string, unknown>;
      Outputs: { StateMachineArn: { Value: unknown } };
    };
    const clients = createRemoteClients(motoOptions(moto));
    acceptMotoTimestamps(clients.sfn);
    const machine = await clients.sfn.send(
      new CreateStateMachineCommand({
        name: `${name}-pipeline`,
        roleArn: 'arn:aws:iam::123456789012:role/etl-pipeline',
        definition: ASL,
      }),
    );
    delete template.Resources.Pipeline;
    template.Outputs.StateMachineArn.Value = machine.stateMachineArn;
    await clients.cloudFormation.send(
      new CreateStackCommand({ StackName: name, TemplateBody: JSON.stringify(template) }),
    );
    destroyRemoteClients(clients);
    const stack = await connectStack({ stack: name, ...motoOptions(moto) });
    acceptMotoTimestamps(stack.clients.sfn);
    await stack.clients.s3.send(
      new PutBucketVersioningCommand({
        Bucket: stack.info.landingBucket,
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    stacks.push(stack);
    return stack;
  }

  /** Starts the execution for `key` with the S3 event of its newest version, as the trigger rule does. */
  async function trigger(stack: RemoteStack, key: string, name?: string): Promise<void> {
    const versions = await stack.clients.s3.send(
      new ListObjectVersionsCommand({ Bucket: stack.info.landingBucket, Prefix: key }),
    );
    const v = versions.Versions!.find((x) => x.IsLatest)!;
    await stack.clients.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.info.stateMachineArn,
        ...(name !== undefined && { name }),
        input: JSON.stringify({
          version: '0',
          id: 'evt',
          'detail-type': 'Object Created',
          source: 'aws.s3',
          account: '123456789012',
          time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          region: moto.clientConfig.region,
          resources: [`arn:aws:s3:::${stack.info.landingBucket}`],
          detail: {
            version: '0',
            bucket: { name: stack.info.landingBucket },
            object: {
              key: encodeEventKey(key),
              size: v.Size,
              etag: (v.ETag ?? '').replace(/"/g, ''),
              'version-id': v.VersionId,
              sequencer: '0061',
            },
            'request-id': 'r',
            requester: '123456789012',
            reason: 'PutObject',
          },
        }),
      }),
    );
  }

  /** Waits for the upload of `key`, then triggers its run: the EventBridge rule's part. */
  async function triggerOnUpload(stack: RemoteStack, key: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const out = await stack.clients.s3.send(
        new ListObjectVersionsCommand({ Bucket: stack.info.landingBucket, Prefix: key }),
      );
      if ((out.Versions ?? []).length > 0) return trigger(stack, key);
      if (Date.now() > deadline) throw new Error(`${key} was never uploaded`);
      await sleep(50);
    }
  }

  const cli = (stack: string, ...args: string[]) => [
    '--stack',
    stack,
    '--endpoint',
    proxy.endpoint,
    '--region',
    moto.clientConfig.region,
    ...args,
    '--poll-ms',
    '100',
  ];

  function file(name: string): string {
    return box.copyFixture('registrations/small.csv', path.join('registrations', name));
  }

  test('a run that succeeds: one line per state, SUCCEEDED, exit 0', async () => {
    const stack = await deploy('follow-ok');
    const csv = file('ok-1.csv');

    const [r] = await Promise.all([
      box.etl(cli('follow-ok', 'run', csv)),
      triggerOnUpload(stack, 'incoming/registrations/ok-1.csv'),
    ]);

    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/→ s3:\/\/.+\/incoming\/registrations\/ok-1\.csv \(version /);
    expect(r.out).toMatch(/^ {2}✓ Claim +SUCCEEDED/m);
    expect(r.out).toMatch(/^ {2}✓ Route +SUCCEEDED/m);
    expect(r.out).toMatch(/^ {2}✓ Done +SUCCEEDED/m);
    expect(r.out).not.toMatch(/Transform|Validate/);
    expect(r.out).toMatch(/^SUCCEEDED {2}run /m);
  });

  test('a rejected file: the caught state, FileRejected, REJECTED, exit 2 (as locally)', async () => {
    const stack = await deploy('follow-bad');
    const csv = file('bad-1.csv');

    const [r] = await Promise.all([
      box.etl(cli('follow-bad', 'run', csv)),
      triggerOnUpload(stack, 'incoming/registrations/bad-1.csv'),
    ]);

    expect(r.code).toBe(2);
    expect(r.out).toMatch(/^ {2}↪ Validate +CAUGHT/m);
    expect(r.out).toMatch(/^ {2}✓ Quarantine +SUCCEEDED/m);
    expect(r.out).toMatch(/^ {2}✗ FileRejected +FAILED .*FileRejectedError: HEADER_MISMATCH/m);
    expect(r.out).toMatch(/^REJECTED {2}run /m);
  });

  test('a pipeline fault: FAILED in Transform after its retry, exit 1; --json is one object', async () => {
    const stack = await deploy('follow-fail');
    const csv = file('fail-1.csv');

    const [r] = await Promise.all([
      box.etlJson<{
        upload: { key: string };
        run: {
          id: string;
          status: string;
          executionStatus: string;
          steps: { name: string; status: string; retries: number }[];
        };
      }>(cli('follow-fail', 'run', csv)),
      triggerOnUpload(stack, 'incoming/registrations/fail-1.csv'),
    ]);

    expect(r.code).toBe(1);
    expect(r.json.upload.key).toBe('incoming/registrations/fail-1.csv');
    expect(r.json.run).toMatchObject({ status: 'FAILED', executionStatus: 'FAILED' });
    expect(r.json.run.steps.find((s) => s.name === 'Transform')).toMatchObject({
      status: 'FAILED',
      retries: 1,
    });
  });

  test('--no-wait returns once uploaded, without looking for the run', async () => {
    await deploy('follow-nowait');
    const csv = file('ok-2.csv');

    const r = await box.etlJson<{ upload: { key: string }; run: null }>(
      cli('follow-nowait', 'run', csv, '--no-wait'),
    );

    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ upload: { key: 'incoming/registrations/ok-2.csv' }, run: null });
  });

  test('no run starts within --start-timeout: said on stderr, exit 1, the upload stays', async () => {
    await deploy('follow-none');
    const csv = file('ok-3.csv');

    const r = await box.etl(cli('follow-none', 'run', csv, '--start-timeout', '1'));

    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no run started for s3:\/\/.+ok-3\.csv within 1 s/);
  });

  test('runs show --follow follows a running execution to its end, then draws the path', async () => {
    const stack = await deploy('follow-show');
    await stack.clients.s3.send(
      new PutObjectCommand({
        Bucket: stack.info.landingBucket,
        Key: 'incoming/registrations/fail-2.csv',
        Body: 'a\n1\n',
      }),
    );
    await trigger(stack, 'incoming/registrations/fail-2.csv', 'run-show-1');

    const r = await box.etl(cli('follow-show', 'runs', 'show', 'run-show-1', '--follow'));

    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^ {2}✗ Transform +FAILED .*Lambda\.ResourceNotFoundException/m);
    expect(r.out).toMatch(/^run run-show-1 {2}FAILED/m);
  });

  test('on a terminal the upload draws a progress bar on stderr (lib-storage httpUploadProgress); not otherwise', async () => {
    await deploy('follow-progress');
    mkdirSync(path.join(box.dir, 'registrations'), { recursive: true });
    const big = path.join(box.dir, 'registrations', 'ok-big.csv');
    writeFileSync(big, `registration_id\n${'REG-00000001\n'.repeat(1_500_000)}`); // ≈18.6 MiB: 3 parts of 8 MiB
    const run = async (isTTY: boolean) => {
      let out = '';
      let err = '';
      const code = await main(cli('follow-progress', 'run', big, '--no-wait'), {
        out: (t) => (out += t),
        err: (t) => (err += t),
        cwd: box.dir,
        env: { ...process.env, ETL_HOME: box.home },
        isTTY,
      });
      return { code, out, err };
    };

    const tty = await run(true);
    const pipe = await run(false);

    expect(tty.code).toBe(0);
    const frames = tty.err.split('\r').filter(Boolean);
    expect(frames.length).toBeGreaterThanOrEqual(3); // one per part at least
    expect(frames[0]).toMatch(/▕█*░+▏ +\d+%/); // a partial frame first
    expect(frames.at(-1)).toMatch(/uploading ok-big\.csv ▕█{30}▏ 100% {2}18\.\d MiB \/ 18\.\d MiB\n$/);
    expect(pipe.code).toBe(0);
    expect(pipe.err).toBe('');
  });
});
