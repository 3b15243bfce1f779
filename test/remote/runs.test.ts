import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { encodeEventKey } from '../../core/events';
import {
  createRemoteClients,
  displayStatusOf,
  listRuns,
  redriveRun,
  RedriveRefusedError,
  RunNotFoundError,
  showRun,
  stackInfoFromOutputs,
  type RemoteClients,
  type RemoteStack,
} from '../../remote';
import { startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';
import { acceptMotoTimestamps, FIXTURES, motoOptions } from './moto-stack';

/** The execution input EventBridge delivers for an object landing at `key`. */
function landingEvent(key: string): string {
  return JSON.stringify({
    version: '0',
    id: 'evt-1',
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '123456789012',
    time: '2026-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: ['arn:aws:s3:::landing'],
    detail: {
      version: '0',
      bucket: { name: 'landing' },
      object: { key: encodeEventKey(key), size: 10, etag: 'e', sequencer: '01' },
      'request-id': 'r',
      requester: '123456789012',
      reason: 'PutObject',
    },
  });
}

/** A RemoteStack whose state machine is `stateMachineArn` (the other outputs are unused here). */
function remoteOn(clients: RemoteClients, stateMachineArn: string): RemoteStack {
  const info = stackInfoFromOutputs('etl-test', 'us-east-1', [
    { OutputKey: 'LandingBucketName', OutputValue: 'landing' },
    { OutputKey: 'LakeBucketName', OutputValue: 'lake' },
    { OutputKey: 'StateMachineArn', OutputValue: stateMachineArn },
    { OutputKey: 'AthenaWorkGroupName', OutputValue: 'etl-cli' },
    { OutputKey: 'GlueDatabaseName', OutputValue: 'etl_lake' },
    { OutputKey: 'AthenaResultsBucketName', OutputValue: 'results' },
  ]);
  return { info, clients };
}

const PIPELINE = readFileSync(path.join(FIXTURES, 'pipeline-standin.asl.json'), 'utf8');

/** moto's interpreter on or off: off, executions stay RUNNING until stopped; on, the ASL runs. */
async function interpretStateMachines(moto: MotoServer, on: boolean): Promise<void> {
  await fetch(`${moto.endpoint}/moto-api/config`, {
    method: 'POST',
    body: JSON.stringify({ stepfunctions: { execute_state_machine: on } }),
  });
}

const run = requirePythonSide('moto', 'remote runs');
(run ? describe : describe.skip)('etl runs / runs show / redrive --stack (moto Step Functions)', () => {
  let moto: MotoServer;
  let clients: RemoteClients;
  beforeAll(async () => {
    moto = await startMoto();
    clients = createRemoteClients(motoOptions(moto));
    acceptMotoTimestamps(clients.sfn);
  });
  afterAll(async () => moto.stop());

  async function createPipeline(name: string): Promise<string> {
    const sm = await clients.sfn.send(
      new CreateStateMachineCommand({
        name,
        roleArn: 'arn:aws:iam::123456789012:role/etl-pipeline',
        definition: PIPELINE,
      }),
    );
    return sm.stateMachineArn!;
  }

  async function startRun(stateMachineArn: string, name: string, key: string): Promise<string> {
    const out = await clients.sfn.send(
      new StartExecutionCommand({ stateMachineArn, name, input: landingEvent(key) }),
    );
    await sleep(20); // distinct start times, so "newest first" is well defined
    return out.executionArn!;
  }

  describe('listing (moto keeps executions RUNNING until stopped)', () => {
    let remote: RemoteStack;
    beforeAll(async () => {
      await interpretStateMachines(moto, false);
      remote = remoteOn(clients, await createPipeline('etl-listing'));
      await startRun(remote.info.stateMachineArn, 'run-reg-1', 'incoming/registrations/jan 2026.csv');
      const ord = await startRun(remote.info.stateMachineArn, 'run-ord-1', 'incoming/orders/o-1.csv');
      await startRun(remote.info.stateMachineArn, 'run-clk-1', 'incoming/clicks/c-1.csv');
      const clk2 = await startRun(remote.info.stateMachineArn, 'run-clk-2', 'incoming/clicks/c-2.csv');
      for (const executionArn of [ord, clk2])
        await clients.sfn.send(new StopExecutionCommand({ executionArn }));
    });

    test('runs are listed newest first, with dataset and decoded key read from the S3 event input', async () => {
      const { runs, more } = await listRuns(remote);

      expect(runs.map((r) => r.id)).toEqual(['run-clk-2', 'run-clk-1', 'run-ord-1', 'run-reg-1']);
      expect(more).toBe(false);
      expect(runs.find((r) => r.id === 'run-reg-1')).toMatchObject({
        where: 'aws',
        status: 'RUNNING',
        dataset: 'registrations',
        sourceKey: 'incoming/registrations/jan 2026.csv',
        redriveCount: 0,
      });
    });

    test('--status keeps only runs in that status', async () => {
      const { runs } = await listRuns(remote, { status: 'ABORTED' });

      expect(runs.map((r) => r.id)).toEqual(['run-clk-2', 'run-ord-1']);
      expect(runs.every((r) => r.stoppedAt !== undefined)).toBe(true);
    });

    test('--dataset keeps only that dataset; a limit reports that more exist', async () => {
      const all = await listRuns(remote, { dataset: 'clicks' });
      const one = await listRuns(remote, { dataset: 'clicks', limit: 1 });

      expect(all.runs.map((r) => r.id)).toEqual(['run-clk-2', 'run-clk-1']);
      expect(one.runs.map((r) => r.id)).toEqual(['run-clk-2']);
      expect(one.more).toBe(true);
    });

    test('redrive of a RUNNING run is refused after DescribeExecution, before any RedriveExecution', async () => {
      const redriving = redriveRun(remote, 'run-reg-1');

      // moto has no RedriveExecution (it answers 500), so reaching it would fail differently.
      await expect(redriving).rejects.toBeInstanceOf(RedriveRefusedError);
      await expect(redriving).rejects.toThrow(
        /RUNNING: only FAILED, TIMED_OUT, ABORTED runs can be redriven.*wait for it/,
      );
    });

    test('an unknown run id says how to find one; a malformed id never reaches the API', async () => {
      await expect(showRun(remote, 'run-nope')).rejects.toBeInstanceOf(RunNotFoundError);
      await expect(showRun(remote, 'run-nope')).rejects.toThrow(/etl runs --stack etl-test/);
      await expect(showRun(remote, 'a/../b')).rejects.toThrow(/is not a run id/);
    });
  });

  describe("runs show (moto's interpreter runs the ASL and records the history)", () => {
    // moto 5.1.4's interpreter cannot start a second execution of a state machine that has run
    // once (it deep-copies the machine, finished executions' locks included), so each scenario
    // gets its own copy of the same definition.
    async function finishedRun(name: string, key: string): Promise<RemoteStack> {
      const remote = remoteOn(clients, await createPipeline(`etl-${name}`));
      const executionArn = await startRun(remote.info.stateMachineArn, name, key);
      const deadline = Date.now() + 45_000;
      while ((await clients.sfn.send(new DescribeExecutionCommand({ executionArn }))).status === 'RUNNING') {
        if (Date.now() > deadline) throw new Error(`${name} still RUNNING after 45 s (a loaded machine?)`);
        await sleep(50);
      }
      return remote;
    }
    beforeAll(async () => interpretStateMachines(moto, true));

    test('a task retried then failed for good shows its retry, error and cause where it stopped', async () => {
      const remote = await finishedRun('run-reg-1', 'incoming/registrations/jan 2026.csv');

      const view = await showRun(remote, 'run-reg-1');

      expect(view).toMatchObject({
        status: 'FAILED',
        error: 'Lambda.ResourceNotFoundException',
        dataset: 'registrations',
      });
      expect(view.steps.map((s) => [s.name, s.type, s.status])).toEqual([
        ['Claim', 'Pass', 'SUCCEEDED'],
        ['Route', 'Choice', 'SUCCEEDED'],
        ['Transform', 'Task', 'FAILED'],
      ]);
      const transform = view.steps[2]!;
      expect(transform.retries).toBe(1);
      expect(transform.retriedErrors).toEqual(['Lambda.ResourceNotFoundException']);
      expect(transform.error).toBe('Lambda.ResourceNotFoundException');
      expect(transform.cause).toMatch(/Function not found: .*etl-transform-missing/);
      // The Retry waits IntervalSeconds (1 s) between the two attempts.
      expect(transform.durationMs).toBeGreaterThanOrEqual(900);
    });

    test('a caught task shows CAUGHT, and the run fails at FileRejected with its own error', async () => {
      const remote = await finishedRun('run-ord-1', 'incoming/orders/o-1.csv');

      const view = await showRun(remote, 'run-ord-1');

      expect(view.error).toBe('FileRejectedError');
      expect(displayStatusOf(view)).toBe('REJECTED');
      expect(view.steps.map((s) => [s.name, s.status])).toEqual([
        ['Claim', 'SUCCEEDED'],
        ['Route', 'SUCCEEDED'],
        ['Validate', 'CAUGHT'],
        ['Quarantine', 'SUCCEEDED'],
        ['FileRejected', 'FAILED'],
      ]);
      expect(view.steps[2]).toMatchObject({ retries: 0, error: 'Lambda.ResourceNotFoundException' });
      expect(view.steps[4]).toMatchObject({
        error: 'FileRejectedError',
        cause: expect.stringMatching(/^HEADER_MISMATCH/),
      });
    });

    test('a succeeded run, shown by run id or by full execution ARN, is the same view; redrive is refused', async () => {
      const remote = await finishedRun('run-clk-1', 'incoming/clicks/c-1.csv');

      const byId = await showRun(remote, 'run-clk-1');
      const byArn = await showRun(remote, byId.arn!);

      expect(byArn).toEqual(byId);
      expect(byId.status).toBe('SUCCEEDED');
      expect(byId.steps.map((s) => [s.name, s.status])).toEqual([
        ['Claim', 'SUCCEEDED'],
        ['Route', 'SUCCEEDED'],
        ['Done', 'SUCCEEDED'],
      ]);
      await expect(redriveRun(remote, 'run-clk-1')).rejects.toThrow(
        /SUCCEEDED: .*nothing to resume.*upload it again/,
      );
    });
  });
});
