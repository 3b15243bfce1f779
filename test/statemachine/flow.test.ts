/**
 * The definition's paths, executed by aws-local-stepfunctions (the local runtime's interpreter)
 * with stub tasks: which terminal state each outcome reaches, what each task receives, and that
 * pipeline faults fail at the failing task instead of being caught.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { StateMachine, ExecutionError } from 'aws-local-stepfunctions';
import { loadDefinition, TASK_STATES, WAIT_STATES } from '../../statemachines/definition';
import { FileRejectedError, TransientDependencyError, CrawlerRunningError } from '../../core/errors';
import { SAMPLE_SUBSTITUTIONS } from './sample-substitutions';

type Json = Record<string, unknown>;
type Stub = (input: Json) => Json | Promise<Json>;

const EVENT = JSON.parse(
  readFileSync(path.join(__dirname, '../fixtures/steps/event-registrations.json'), 'utf8'),
) as Json;

const source = { bucket: 'serverless-etl-landing', key: 'incoming/registrations/2026/march sign-ups.csv' };
const location = (key: string) => ({ bucket: 'lake', key });
/** Claim's sourceOrder: the sequencer's order key (core/events sequencerOrderKey). */
const ORDER_KEY = '00617F08299329D189'.padEnd(64, '0');

/** Notices whose values hold quotes and backslashes: the published message must stay valid JSON. */
const SUCCEEDED_NOTICE = {
  status: 'SUCCEEDED',
  file: { key: 'incoming/registrations/say "hi" \\ bye.csv' },
  counts: { rowsOut: 9 },
};
const REJECTED_NOTICE = {
  status: 'REJECTED',
  reason: 'HEADER_MISMATCH',
  message: 'line 1: column "amount" is missing in "incoming\\registrations.csv"\n(tab\there)',
};

/** Stubs returning what each real step returns on the happy path. */
function happyStubs(): Record<string, Stub> {
  return {
    Claim: (i) => ({
      status: 'CLAIMED',
      runId: i.runId,
      dataset: 'registrations',
      source,
      sourceId: 's-1',
      versionTag: 'v-1',
      sourceOrder: ORDER_KEY,
    }),
    Validate: () => ({
      dataset: 'registrations',
      sourceId: 's-1',
      versionTag: 'v-1',
      rowsRead: 10,
      rowsValid: 9,
      rowsRejected: 1,
      rejectRatio: 0.1,
      staging: location('staging/registrations/s-1/v-1/'),
      report: location('staging/registrations/s-1/v-1/report.json'),
    }),
    CheckStillLatest: () => ({ status: 'CURRENT' }),
    Transform: () => ({
      Id: 'jr_1',
      JobRunState: 'SUCCEEDED',
      StartedOn: '2026-11-22T08:00:00Z',
      ExecutionTime: 3,
      Extra: 'x',
    }),
    // An ordinary file: the table's schema is unchanged, its partitions are registered, no crawl.
    RegisterPartitions: () => ({
      table: 'registrations',
      schemaChanged: false,
      registered: 1,
      existing: 0,
      crawl: 'skipped',
    }),
    StartCrawl: () => ({ requestedAt: '2026-11-22T08:01:00.000Z', state: 'RUNNING' }),
    PollCrawl: () => ({ requestedAt: '2026-11-22T08:01:00.000Z', state: 'READY', lastCrawl: 'SUCCEEDED' }),
    Verify: () => ({
      status: 'VERIFIED',
      rowsOut: 9,
      checks: 3,
      sinks: { dynamodb: false, redshift: false },
    }),
    LoadDynamoDbSink: () => ({ status: 'LOADED', table: 'registrations', rows: 9, written: 9 }),
    LoadRedshiftSink: () => ({ status: 'LOADED', target: 'dev.public.registrations', rowsLoaded: 9 }),
    Archive: () => ({
      archived: location('archive/x.csv'),
      originalRemoved: true,
      notice: SUCCEEDED_NOTICE,
      noticeText: JSON.stringify(SUCCEEDED_NOTICE),
    }),
    Notify: () => ({ MessageId: 'm-1' }),
    Quarantine: () => ({
      reason: 'HEADER_MISMATCH',
      message: REJECTED_NOTICE.message,
      quarantined: location('quarantine/x.csv'),
      reasonFile: location('quarantine/reason.json'),
      originalRemoved: true,
      notice: REJECTED_NOTICE,
      noticeText: JSON.stringify(REJECTED_NOTICE),
    }),
    NotifyRejected: () => ({ MessageId: 'm-2' }),
  };
}

/** The stubs with a changed schema: RegisterPartitions asks for the crawl. */
function crawling(stubs: Record<string, Stub>): Record<string, Stub> {
  return {
    ...stubs,
    RegisterPartitions: () => ({
      table: 'registrations',
      schemaChanged: true,
      reason: 'table serverless_etl.registrations: new column(s) venue',
      registered: 0,
      existing: 0,
      crawl: 'required',
    }),
  };
}

async function execute(stubs: Record<string, Stub>) {
  const calls: { state: string; input: Json }[] = [];
  const handlers = Object.fromEntries(
    Object.keys(TASK_STATES).map((state) => [
      state,
      async (input: unknown) => {
        calls.push({ state, input: input as Json });
        return (await stubs[state]!(input as Json)) as never;
      },
    ]),
  );
  const machine = new StateMachine(loadDefinition(SAMPLE_SUBSTITUTIONS) as never);
  const run = machine.run(EVENT as never, {
    overrides: {
      taskResourceLocalHandlers: handlers,
      waitTimeOverrides: Object.fromEntries(WAIT_STATES.map((w) => [w, 0])),
      retryIntervalOverrides: Object.fromEntries(Object.keys(TASK_STATES).map((s) => [s, 0])),
    },
    context: { Execution: { Name: 'run-0001' } },
  });
  const visited: string[] = [];
  const collect = (async () => {
    for await (const e of run.eventLogs) if (e.type === 'StateEntered') visited.push(e.state.name);
  })();
  let output: Json | undefined;
  let error: Error | undefined;
  try {
    output = (await run.result) as Json;
  } catch (e) {
    error = e as Error;
  }
  await collect;
  return { output, error, calls, visited, inputOf: (s: string) => calls.find((c) => c.state === s)?.input };
}

describe('pipeline state machine paths', () => {
  test('a good file runs every step once and ends in Succeeded with small, named results', async () => {
    const { output, visited, inputOf } = await execute(happyStubs());

    expect(visited).toEqual([
      'Claim',
      'ClaimOutcome',
      'Validate',
      'CheckStillLatest',
      'StillLatest',
      'TransformEngine', // no transformEngine in the stub's result: the Glue job, as before routing existed
      'Transform',
      'RegisterPartitions',
      'SchemaChanged',
      'Verify',
      'VerifyOutcome',
      'DynamoDbSinkConfigured',
      'RedshiftSinkConfigured',
      'Archive',
      'Notify',
      'Succeeded',
    ]);
    expect(inputOf('Claim')).toEqual({ runId: 'run-0001', event: EVENT });
    expect(inputOf('Validate')).toEqual({ runId: 'run-0001', source });
    expect(inputOf('Transform')).toEqual({
      JobName: SAMPLE_SUBSTITUTIONS.GlueJobName,
      JobRunQueuingEnabled: true, // a run past the job's concurrency waits in Glue's queue
      Arguments: {
        '--staging': 's3://lake/staging/registrations/s-1/v-1/',
        '--lake': `s3://${SAMPLE_SUBSTITUTIONS.LakeBucket}/`,
        '--dataset': 'registrations',
        '--source_id': 's-1',
        '--version_tag': 'v-1',
        '--source_order': ORDER_KEY,
      },
    });
    expect(output!.transform).toEqual({
      id: 'jr_1',
      state: 'SUCCEEDED',
      startedOn: '2026-11-22T08:00:00Z',
      executionTime: 3,
      engine: 'glue', // the run record shows which engine ran (TransformInLambda says 'lambda')
    });
    expect(inputOf('Verify')).toMatchObject({
      source,
      sourceId: 's-1',
      rowsValid: 9,
      database: SAMPLE_SUBSTITUTIONS.GlueDatabase,
    });
    expect(inputOf('RegisterPartitions')).toEqual({
      runId: 'run-0001',
      dataset: 'registrations',
      sourceId: 's-1',
      lakeBucket: SAMPLE_SUBSTITUTIONS.LakeBucket,
      database: SAMPLE_SUBSTITUTIONS.GlueDatabase,
    });
    expect(output!.partitions).toMatchObject({ schemaChanged: false, crawl: 'skipped' });
    expect(inputOf('Archive')).toMatchObject({
      source,
      counts: { rowsRead: 10, rowsValid: 9, rowsRejected: 1, rowsOut: 9 },
    });
    const notify = inputOf('Notify')!;
    expect(notify.Subject).toBe('serverless-etl SUCCEEDED: registrations');
    // Archive's noticeText, published as is: valid JSON, quotes and backslashes intact.
    expect(notify.Message).toBe(JSON.stringify(SUCCEEDED_NOTICE));
    expect(JSON.parse(notify.Message as string)).toEqual(SUCCEEDED_NOTICE);
    expect(output!.notify).toEqual({ messageId: 'm-1' });
    // The state keeps the notice once (as text), not twice.
    expect(output!.archive).toEqual({
      archived: location('archive/x.csv'),
      originalRemoved: true,
      noticeText: JSON.stringify(SUCCEEDED_NOTICE),
    });
  });

  test.each([
    ['DUPLICATE', 'DuplicateDelivery'],
    ['STALE', 'StaleVersion'],
  ])('a %s claim ends in the Succeed state %s without validating', async (status, terminal) => {
    const stubs = happyStubs();
    stubs.Claim = (i) => ({
      status,
      runId: i.runId,
      dataset: 'registrations',
      source,
      sourceId: 's-1',
      versionTag: 'v-1',
    });

    const { error, visited, calls } = await execute(stubs);

    expect(error).toBeUndefined();
    expect(visited).toEqual(['Claim', 'ClaimOutcome', terminal]);
    expect(calls.map((c) => c.state)).toEqual(['Claim']);
  });

  test('a newer version claimed while this one validated: the run stops at Superseded, before Transform', async () => {
    const stubs = happyStubs();
    stubs.CheckStillLatest = () => ({ status: 'SUPERSEDED', latestVersionTag: 'v-2' });

    const { error, visited, calls, inputOf } = await execute(stubs);

    expect(error).toBeUndefined();
    expect(visited.slice(-3)).toEqual(['CheckStillLatest', 'StillLatest', 'Superseded']);
    expect(inputOf('CheckStillLatest')).toEqual({
      runId: 'run-0001',
      source,
      versionTag: 'v-1',
    });
    expect(calls.map((c) => c.state)).not.toContain('Transform');
  });

  test('a newer version published before this one verified: Verify says SUPERSEDED, the run stops at Superseded, nothing archived or announced', async () => {
    const stubs = happyStubs();
    stubs.Verify = () => ({
      status: 'SUPERSEDED',
      latestVersionTag: 'v-2',
      rowsOut: 0,
      duplicatesDropped: 0,
      objects: 0,
      partitions: 0,
      checks: [],
    });

    const { error, visited, calls, output } = await execute(stubs);

    expect(error).toBeUndefined();
    expect(visited.slice(-3)).toEqual(['Verify', 'VerifyOutcome', 'Superseded']);
    expect(calls.map((c) => c.state)).not.toContain('Archive');
    expect(calls.map((c) => c.state)).not.toContain('Notify');
    expect(output!.verify).toMatchObject({ status: 'SUPERSEDED', latestVersionTag: 'v-2' });
  });

  test('a file rejected by Validate is quarantined, announced as REJECTED, and fails as FileRejected', async () => {
    const stubs = happyStubs();
    stubs.Validate = () => {
      throw new FileRejectedError('HEADER_MISMATCH', 'column "amount" is missing');
    };

    const { error, visited, inputOf } = await execute(stubs);

    expect(visited.slice(-4)).toEqual(['Validate', 'Quarantine', 'NotifyRejected', 'FileRejected']);
    expect(error).toBeInstanceOf(ExecutionError);
    expect(inputOf('Quarantine')).toEqual({
      runId: 'run-0001',
      detail: EVENT.detail,
      rejection: { Error: 'FileRejectedError', Cause: 'HEADER_MISMATCH: column "amount" is missing' },
      lakeBucket: SAMPLE_SUBSTITUTIONS.LakeBucket,
    });
    const notify = inputOf('NotifyRejected')!;
    expect(notify).toMatchObject({ Subject: 'serverless-etl REJECTED: HEADER_MISMATCH' });
    expect(notify.Message).toBe(JSON.stringify(REJECTED_NOTICE));
    expect(JSON.parse(notify.Message as string)).toEqual(REJECTED_NOTICE);
    expect(notify.MessageAttributes).toEqual({
      status: { DataType: 'String', StringValue: 'REJECTED' },
      reason: { DataType: 'String', StringValue: 'HEADER_MISMATCH' },
    });
  });

  test('a key rejected by Claim goes to Quarantine with the raw event detail (there is no claim yet)', async () => {
    const stubs = happyStubs();
    stubs.Claim = () => {
      throw new FileRejectedError('KEY_NOT_ALLOWED', 'key contains ";"');
    };

    const { visited, inputOf } = await execute(stubs);

    expect(visited).toEqual(['Claim', 'Quarantine', 'NotifyRejected', 'FileRejected']);
    expect(inputOf('Quarantine')!.detail).toEqual(EVENT.detail);
  });

  test('a transform that fails for good fails the execution at Transform: not caught, not announced', async () => {
    const stubs = happyStubs();
    stubs.Transform = () => {
      throw Object.assign(new Error('job run jr_1 FAILED'), { name: 'States.TaskFailed' });
    };

    const { error, visited, calls } = await execute(stubs);

    expect(error).toBeInstanceOf(ExecutionError);
    expect(visited[visited.length - 1]).toBe('Transform');
    expect(calls.filter((c) => c.state === 'Transform')).toHaveLength(1);
    expect(calls.map((c) => c.state)).not.toContain('Quarantine');
  });

  test('a changed schema (or no table) runs the crawler between RegisterPartitions and Verify', async () => {
    const { error, visited, inputOf } = await execute(crawling(happyStubs()));

    expect(error).toBeUndefined();
    expect(visited.slice(visited.indexOf('Transform'), visited.indexOf('Verify') + 1)).toEqual([
      'Transform',
      'RegisterPartitions',
      'SchemaChanged',
      'StartCrawl',
      'WaitForCrawl',
      'PollCrawl',
      'Verify',
    ]);
    expect(inputOf('StartCrawl')).toMatchObject({ crawlerName: SAMPLE_SUBSTITUTIONS.CrawlerName });
    expect(visited.at(-1)).toBe('Succeeded');
  });

  test('a throttled catalog is retried at RegisterPartitions; a refused partition fails the run there', async () => {
    const throttled = happyStubs();
    let attempts = 0;
    const register = throttled.RegisterPartitions!;
    throttled.RegisterPartitions = (i) => {
      if (++attempts < 3) throw new TransientDependencyError('glue: ThrottlingException');
      return register(i);
    };
    const refused = happyStubs();
    refused.RegisterPartitions = () => {
      throw Object.assign(new Error('glue: refused 1 of 1 partitions'), {
        name: 'PartitionRegistrationError',
      });
    };

    const ok = await execute(throttled);
    const failed = await execute(refused);

    expect([ok.error, attempts, ok.visited.at(-1)]).toEqual([undefined, 3, 'Succeeded']);
    expect(failed.error).toBeInstanceOf(ExecutionError);
    expect(failed.visited.at(-1)).toBe('RegisterPartitions');
    expect(failed.calls.filter((c) => c.state === 'RegisterPartitions')).toHaveLength(1);
  });

  test('transient errors are retried and then succeed: a busy crawler, a throttled verify', async () => {
    const stubs = crawling(happyStubs());
    let crawlAttempts = 0;
    let verifyAttempts = 0;
    const start = stubs.StartCrawl!;
    const verify = stubs.Verify!;
    stubs.StartCrawl = (i) => {
      if (++crawlAttempts < 3) throw new CrawlerRunningError('crawler serverless-etl-curated is RUNNING');
      return start(i);
    };
    stubs.Verify = (i) => {
      if (++verifyAttempts < 2) throw new TransientDependencyError('Athena TooManyRequestsException');
      return verify(i);
    };

    const { error, visited } = await execute(stubs);

    expect(error).toBeUndefined();
    expect([crawlAttempts, verifyAttempts]).toEqual([3, 2]);
    expect(visited[visited.length - 1]).toBe('Succeeded');
  });

  test.each(['Claim', 'Validate', 'PollCrawl', 'Archive'])(
    "a timed-out %s (States.Timeout, then Lambda's own Sandbox.Timedout) is retried and the run succeeds",
    async (state) => {
      const stubs = crawling(happyStubs());
      let attempts = 0;
      const real = stubs[state]!;
      stubs[state] = (i) => {
        attempts++;
        if (attempts === 1) throw Object.assign(new Error('task timed out'), { name: 'States.Timeout' });
        if (attempts === 2) throw Object.assign(new Error('Task timed out'), { name: 'Sandbox.Timedout' });
        return real(i);
      };

      const { error, visited } = await execute(stubs);

      expect(error).toBeUndefined();
      expect(attempts).toBe(3);
      expect(visited[visited.length - 1]).toBe('Succeeded');
    },
  );

  test('a Lambda task that keeps timing out fails there after a small number of attempts', async () => {
    const stubs = happyStubs();
    let attempts = 0;
    stubs.Verify = () => {
      attempts++;
      throw Object.assign(new Error('task timed out'), { name: 'States.Timeout' });
    };

    const { error, visited } = await execute(stubs);

    expect(error).toBeInstanceOf(ExecutionError);
    expect(attempts).toBe(3); // 1 + MaxAttempts 2
    expect(visited[visited.length - 1]).toBe('Verify');
  });

  test('a timed-out Transform is not retried: the run fails at Transform for a person to look at', async () => {
    const stubs = happyStubs();
    let attempts = 0;
    stubs.Transform = () => {
      attempts++;
      throw Object.assign(new Error('task timed out'), { name: 'States.Timeout' });
    };

    const { error, visited } = await execute(stubs);

    expect(error).toBeInstanceOf(ExecutionError);
    expect(attempts).toBe(1);
    expect(visited[visited.length - 1]).toBe('Transform');
  });

  test('verification failure is not retried and fails the execution at Verify', async () => {
    const stubs = happyStubs();
    let attempts = 0;
    stubs.Verify = () => {
      attempts++;
      throw Object.assign(new Error('row count 8 != rowsOut 9'), { name: 'VerificationFailedError' });
    };

    const { error, visited } = await execute(stubs);

    expect(error).toBeInstanceOf(ExecutionError);
    expect(attempts).toBe(1);
    expect(visited[visited.length - 1]).toBe('Verify');
  });

  test('a dataset with both sinks loads each in its own state after Verify and before Archive, results under $.sinks', async () => {
    const stubs = happyStubs();
    stubs.Verify = () => ({
      status: 'VERIFIED',
      rowsOut: 9,
      checks: 3,
      sinks: { dynamodb: true, redshift: true },
    });

    const { output, visited, inputOf } = await execute(stubs);

    expect(visited.slice(visited.indexOf('Verify'))).toEqual([
      'Verify',
      'VerifyOutcome',
      'DynamoDbSinkConfigured',
      'LoadDynamoDbSink',
      'RedshiftSinkConfigured',
      'LoadRedshiftSink',
      'Archive',
      'Notify',
      'Succeeded',
    ]);
    const sinkInput = {
      runId: 'run-0001',
      dataset: 'registrations',
      sourceId: 's-1',
      versionTag: 'v-1',
      lakeBucket: SAMPLE_SUBSTITUTIONS.LakeBucket,
    };
    expect(inputOf('LoadDynamoDbSink')).toEqual(sinkInput);
    expect(inputOf('LoadRedshiftSink')).toEqual(sinkInput);
    expect(output!.sinks).toMatchObject({ dynamodb: { status: 'LOADED' }, redshift: { status: 'LOADED' } });
  });

  test('only the declared sink runs', async () => {
    const stubs = happyStubs();
    stubs.Verify = () => ({
      status: 'VERIFIED',
      rowsOut: 9,
      checks: 3,
      sinks: { dynamodb: false, redshift: true },
    });

    const { visited } = await execute(stubs);

    expect(visited).toContain('LoadRedshiftSink');
    expect(visited).not.toContain('LoadDynamoDbSink');
  });

  test('a sink that fails for good fails the execution at its state: SinkLoadFailedError not retried, nothing archived', async () => {
    const stubs = happyStubs();
    stubs.Verify = () => ({
      status: 'VERIFIED',
      rowsOut: 9,
      checks: 3,
      sinks: { dynamodb: true, redshift: true },
    });
    let attempts = 0;
    stubs.LoadRedshiftSink = () => {
      attempts++;
      throw Object.assign(new Error('COPY failed: ...'), { name: 'SinkLoadFailedError' });
    };

    const { error, visited, calls } = await execute(stubs);

    expect(error).toBeInstanceOf(ExecutionError);
    expect(attempts).toBe(1);
    expect(visited[visited.length - 1]).toBe('LoadRedshiftSink');
    expect(calls.map((c) => c.state)).not.toContain('Archive');
  });

  test('a sink whose dependency is throttled is retried and the run succeeds', async () => {
    const stubs = happyStubs();
    stubs.Verify = () => ({
      status: 'VERIFIED',
      rowsOut: 9,
      checks: 3,
      sinks: { dynamodb: true, redshift: false },
    });
    let attempts = 0;
    stubs.LoadDynamoDbSink = () => {
      attempts++;
      if (attempts < 3) throw new TransientDependencyError('ProvisionedThroughputExceededException');
      return { status: 'LOADED' };
    };

    const { output } = await execute(stubs);

    expect(attempts).toBe(3);
    expect(output!.sinks).toEqual({ dynamodb: { status: 'LOADED' } });
  });
});
