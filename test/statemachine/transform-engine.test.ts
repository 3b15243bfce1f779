/**
 * The TransformEngine Choice (issue 12): Validate's real step decides `transformEngine` from the
 * staging size against its threshold, and the definition, executed by the local runtime's
 * interpreter with stub tasks for the rest, sends the file to TransformInLambda or to the Glue
 * Transform — at the boundary (staging = threshold → Lambda; one byte less of threshold → Glue) —
 * and both continue at RegisterPartitions with the result at $.transform.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import type { ValidateStepResult } from '../../core/steps';
import { createValidateStep } from '../../functions/validate/step';
import { FAST_PATH_MIN_BYTES, writesCsvStaging } from '../../functions/validate/validate';
import { loadDefinition, TASK_STATES, WAIT_STATES } from '../../statemachines/definition';
import { fixture, TestLake, TEST_SCHEMAS } from '../validate/harness';
import { SAMPLE_SUBSTITUTIONS } from './sample-substitutions';

type Json = Record<string, unknown>;

const EVENT = JSON.parse(
  readFileSync(path.join(__dirname, '../fixtures/steps/event-registrations.json'), 'utf8'),
) as Json;

const GLUE_RUN = { Id: 'jr_1', JobRunState: 'SUCCEEDED', StartedOn: 1764000000000, ExecutionTime: 61 };
const LAMBDA_RESULT = {
  engine: 'lambda',
  id: 'lambda-run-0001-1764000000000',
  state: 'SUCCEEDED',
  startedOn: 1764000000000,
  executionTime: 2,
  rowsIn: 3,
  rowsOut: 3,
  objects: 1,
  partitions: 1,
  superseded: false,
};

/** Runs the definition with `validate` as Validate's result; everything else a happy stub. */
async function route(validate: Json) {
  const stubs: Record<string, (input: Json) => Json> = {
    Claim: (i) => ({
      status: 'CLAIMED',
      runId: i.runId,
      versionTag: 'v-1',
      sourceOrder: 'o-1',
      source: { bucket: 'b', key: 'k' },
    }),
    Validate: () => validate,
    CheckStillLatest: () => ({ status: 'CURRENT' }),
    Transform: () => GLUE_RUN,
    TransformInLambda: () => LAMBDA_RESULT,
    RegisterPartitions: () => ({ schemaChanged: false }),
    Verify: () => ({ status: 'VERIFIED', rowsOut: 3, sinks: { dynamodb: false, redshift: false } }),
    Archive: () => ({ archived: { bucket: 'l', key: 'a' }, originalRemoved: true, noticeText: '{}' }),
    Notify: () => ({ MessageId: 'm-1' }),
  };
  const calls: { state: string; input: Json }[] = [];
  const handlers = Object.fromEntries(
    Object.keys(TASK_STATES).map((state) => [
      state,
      async (input: unknown) => {
        calls.push({ state, input: input as Json });
        const stub = stubs[state];
        if (!stub) throw new Error(`unexpected state ${state}`);
        return stub(input as Json) as never;
      },
    ]),
  );
  const machine = new StateMachine(loadDefinition(SAMPLE_SUBSTITUTIONS) as never);
  const run = machine.run(EVENT as never, {
    overrides: {
      taskResourceLocalHandlers: handlers,
      waitTimeOverrides: Object.fromEntries(WAIT_STATES.map((w) => [w, 0])),
    },
    context: { Execution: { Name: 'run-0001' } },
  });
  const visited: string[] = [];
  const collect = (async () => {
    for await (const e of run.eventLogs) if (e.type === 'StateEntered') visited.push(e.state.name);
  })();
  const output = (await run.result) as Json;
  await collect;
  return { output, visited, inputOf: (s: string) => calls.find((c) => c.state === s)?.input };
}

/** Validate's real result for a small file, with the threshold set `delta` bytes from its staging size. */
async function validated(delta: number): Promise<ValidateStepResult> {
  const lake = new TestLake();
  try {
    const source = await lake.upload('incoming/people/p.csv', fixture('people.csv'));
    const probe = await createValidateStep({
      store: lake.store,
      lakeBucket: 'lake',
      schemasDir: TEST_SCHEMAS,
    })({
      runId: 'probe',
      source,
    });
    return await createValidateStep({
      store: lake.store,
      lakeBucket: 'lake',
      schemasDir: TEST_SCHEMAS,
      transformLambdaMaxBytes: probe.stagingBytes + delta,
    })({ runId: 'run-0001', source });
  } finally {
    lake.dispose();
  }
}

describe('TransformEngine', () => {
  test('Validate measures its staging and routes by it: staging = threshold → lambda, threshold one byte smaller → glue', async () => {
    const atThreshold = await validated(0);
    const above = await validated(-1);

    expect(atThreshold.stagingBytes).toBeGreaterThan(0);
    expect(atThreshold).toMatchObject({
      transformEngine: 'lambda',
      transformLambdaMaxBytes: atThreshold.stagingBytes,
    });
    expect(above).toMatchObject({ transformEngine: 'glue', transformLambdaMaxBytes: above.stagingBytes - 1 });
  });

  test('CSV staging is routed by its staging bytes like any other: to the Lambda within the threshold, to Glue above it', async () => {
    const lake = new TestLake();
    try {
      const source = await lake.upload('incoming/people/p.csv', fixture('people.csv'));
      const step = (transformLambdaMaxBytes: number) =>
        createValidateStep({
          store: lake.store,
          lakeBucket: 'lake',
          schemasDir: TEST_SCHEMAS,
          fastPath: true,
          stagingFormat: 'csv',
          transformLambdaMaxBytes,
        })({ runId: 'run-csv', source });
      const probe = await step(3 * source.size);
      expect(probe).toMatchObject({ stagingFormat: 'csv', transformEngine: 'lambda' });
      const within = await step(probe.stagingBytes);
      expect(within).toMatchObject({ stagingFormat: 'csv', transformEngine: 'lambda' });
      const beyond = await step(probe.stagingBytes - 1);
      expect(beyond).toMatchObject({ stagingFormat: 'csv', transformEngine: 'glue' });
      const never = await step(0); // 0: every file to Glue, which reads CSV staging too
      expect(never).toMatchObject({ stagingFormat: 'csv', transformEngine: 'glue' });
    } finally {
      lake.dispose();
    }
  });

  test('"lambda": TransformInLambda runs with the staging and order, its result at $.transform, then RegisterPartitions', async () => {
    const v = await validated(0);
    const { output, visited, inputOf } = await route(v as unknown as Json);

    expect(visited.slice(visited.indexOf('StillLatest'), visited.indexOf('RegisterPartitions') + 1)).toEqual([
      'StillLatest',
      'TransformEngine',
      'TransformInLambda',
      'RegisterPartitions',
    ]);
    expect(visited).not.toContain('Transform');
    expect(inputOf('TransformInLambda')).toEqual({
      runId: 'run-0001',
      dataset: v.dataset,
      sourceId: v.sourceId,
      versionTag: v.versionTag,
      sourceOrder: 'o-1',
      staging: v.staging,
      lakeBucket: SAMPLE_SUBSTITUTIONS.LakeBucket,
    });
    expect(output.transform).toEqual(LAMBDA_RESULT);
  });

  test('"glue": the Glue Transform runs, its ResultSelector says engine glue, then RegisterPartitions', async () => {
    const v = await validated(-1);
    const { output, visited } = await route(v as unknown as Json);

    expect(visited.slice(visited.indexOf('StillLatest'), visited.indexOf('RegisterPartitions') + 1)).toEqual([
      'StillLatest',
      'TransformEngine',
      'Transform',
      'RegisterPartitions',
    ]);
    expect(visited).not.toContain('TransformInLambda');
    expect(output.transform).toEqual({
      id: 'jr_1',
      state: 'SUCCEEDED',
      startedOn: GLUE_RUN.StartedOn,
      executionTime: 61,
      engine: 'glue',
    });
  });

  test('a Validate result without transformEngine (a run started before routing existed, redriven) goes to Glue', async () => {
    const v = await validated(0);
    const { transformEngine: _dropped, ...old } = v;
    const { visited } = await route(old as unknown as Json);

    expect(visited).toContain('Transform');
    expect(visited).not.toContain('TransformInLambda');
  });
});

describe('writesCsvStaging (functions/validate)', () => {
  const big = FAST_PATH_MIN_BYTES;
  const small = FAST_PATH_MIN_BYTES - 1;

  test('auto: CSV on one core, whatever the size (both engines read it); on more, Parquet from FAST_PATH_MIN_BYTES and CSV below', () => {
    expect(writesCsvStaging({ stagingFormat: 'auto' }, big, 1)).toBe(true);
    expect(writesCsvStaging({ stagingFormat: 'auto' }, small, 1)).toBe(true);
    expect(writesCsvStaging({ stagingFormat: 'auto' }, big, 2)).toBe(false);
    expect(writesCsvStaging({ stagingFormat: 'auto' }, small, 2)).toBe(true);
  });

  test('csv at every size; parquet from FAST_PATH_MIN_BYTES, CSV below it unless the fast path is forced', () => {
    expect(writesCsvStaging({ stagingFormat: 'csv' }, big, 8)).toBe(true);
    expect(writesCsvStaging({ stagingFormat: 'csv', fastPath: true }, small, 8)).toBe(true);
    expect(writesCsvStaging({ stagingFormat: 'parquet' }, big, 1)).toBe(false);
    expect(writesCsvStaging({ stagingFormat: 'parquet' }, small, 1)).toBe(true);
    expect(writesCsvStaging({ stagingFormat: 'parquet', fastPath: 'auto' }, small, 8)).toBe(true);
    expect(writesCsvStaging({ stagingFormat: 'parquet', fastPath: true }, small, 8)).toBe(false);
    expect(writesCsvStaging({ stagingFormat: 'auto', fastPath: true }, small, 2)).toBe(false);
  });
});
