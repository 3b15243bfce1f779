/**
 * The local runtime on its own: a small ASL with the pipeline's shapes (retry, catch into the
 * FileRejected Fail state, a Wait) and counting stub tasks, so history, retries, redrive and
 * status derivation are checked independently of the pipeline's handlers.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import type { S3ObjectCreatedEvent } from '../../core/events';
import { objectCreatedEvent } from '../../local/landing';
import { RunStore, visitsOf } from '../../local/run-record';
import {
  LOCAL_POLL_MS_PER_SECOND,
  LocalRuntime,
  RedriveRefusedError,
  type LocalTask,
} from '../../local/runtime';

const definition = JSON.parse(
  readFileSync(path.join(__dirname, '../fixtures/local/mini.asl.json'), 'utf8'),
) as StateMachineDefinition;

function eventFor(value: number): S3ObjectCreatedEvent {
  const event = objectCreatedEvent('landing', {
    key: 'incoming/registrations/mini.csv',
    size: 10,
    etag: 'e',
    versionId: 'v1',
    lastModified: new Date(),
  });
  return { ...event, value } as S3ObjectCreatedEvent;
}

describe('local runtime', () => {
  let dir: string;
  let runs: RunStore;
  let calls: Record<string, number>;
  let tasks: Record<string, LocalTask>;

  function runtime(): LocalRuntime {
    return new LocalRuntime({
      definition,
      runs,
      engine: 'stub',
      resolveTask: (name) => async (input, ctx) => {
        calls[name] = (calls[name] ?? 0) + 1;
        return tasks[name]!(input, ctx);
      },
    });
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'etl-runtime-'));
    runs = new RunStore(dir);
    calls = {};
    tasks = {
      Work: async (input) => ({ doubled: (input as { value: number }).value * 2 }),
      Finish: async (input) => ({ JobRunState: 'SUCCEEDED', got: input }),
    };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a run is recorded in GetExecutionHistory shape, Wait skipped, context names the run', async () => {
    let seenRunId = '';
    tasks.Work = async (input) => {
      seenRunId = (input as { runId: string }).runId;
      return { doubled: 42 };
    };
    const started = Date.now();

    const record = await runtime().start(eventFor(21)).done;

    expect(Date.now() - started).toBeLessThan(5000); // the 60 s Wait did not wait
    expect(record.status).toBe('SUCCEEDED');
    expect(seenRunId).toBe(record.runId);
    const types = record.events.map((e) => e.type);
    expect(types[0]).toBe('ExecutionStarted');
    expect(types).toEqual(
      expect.arrayContaining([
        'TaskStateEntered',
        'TaskScheduled',
        'TaskStarted',
        'TaskSucceeded',
        'WaitStateExited',
      ]),
    );
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    record.events.forEach((e, i) => {
      expect(e.id).toBe(i + 1);
      expect(e.previousEventId).toBe(i);
    });
    const finish = record.events.find((e) => e.taskScheduledEventDetails?.resourceType === 'glue');
    expect(finish?.taskScheduledEventDetails?.resource).toBe('startJobRun.sync');
    expect(runs.load(record.runId)).toEqual(record);
  });

  test('a task failing twice transiently is retried and succeeds; both failures are in the history', async () => {
    const record = await runtime().start(eventFor(1), {
      faults: { Work: { error: 'TransientDependencyError', times: 2 } },
    }).done;

    expect(record.status).toBe('SUCCEEDED');
    const work = visitsOf(record).find((v) => v.name === 'Work')!;
    expect(work).toMatchObject({ status: 'SUCCEEDED', attempts: 3, retries: 2 });
    expect(work.errors.map((e) => e.error)).toEqual(['TransientDependencyError', 'TransientDependencyError']);
    expect(record.events.filter((e) => e.type === 'TaskFailed')).toHaveLength(2);
  });

  test('poll-style retriers (crawl still running) keep scaled real pauses; other retriers pause 0', async () => {
    const polling = {
      StartAt: 'Poll',
      States: {
        Poll: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:us-east-1:000000000000:function:poll',
          Retry: [
            // Scaled: 10 s → 50 ms, then 100 ms, then capped at 20 s → 100 ms: 250 ms in all.
            {
              ErrorEquals: ['CrawlerNotReadyError'],
              IntervalSeconds: 10,
              BackoffRate: 2,
              MaxAttempts: 5,
              MaxDelaySeconds: 20,
            },
            // An hour's pause on AWS: 0 locally.
            { ErrorEquals: ['Lambda.ServiceException'], IntervalSeconds: 3600, MaxAttempts: 3 },
          ],
          End: true,
        },
      },
    } as unknown as StateMachineDefinition;
    const thrown = [
      'CrawlerNotReadyError',
      'Lambda.ServiceException',
      'CrawlerNotReadyError',
      'CrawlerNotReadyError',
      'Lambda.ServiceException',
    ];
    const at: number[] = [];
    const local = new LocalRuntime({
      definition: polling,
      runs,
      engine: 'stub',
      resolveTask: () => async () => {
        const name = thrown[at.push(Date.now()) - 1];
        if (name) throw Object.assign(new Error(`not yet (${name})`), { name });
        return { ready: true };
      },
    });

    const record = await local.start(eventFor(1)).done;

    expect(record.status).toBe('SUCCEEDED');
    expect(visitsOf(record)[0]).toMatchObject({ name: 'Poll', attempts: 6, retries: 5 });
    expect(LOCAL_POLL_MS_PER_SECOND).toBe(5);
    // The pause before each attempt after a poll-style error: 50, 100, 100 ms (no jitter)...
    const pauseAfter = (i: number) => at[i + 1]! - at[i]!;
    expect([pauseAfter(0), pauseAfter(2), pauseAfter(3)].map((ms) => ms >= 45)).toEqual([true, true, true]);
    expect([pauseAfter(2), pauseAfter(3)].map((ms) => ms >= 95)).toEqual([true, true]);
    // ...and no real Lambda.ServiceException pause (1 h on AWS).
    expect(at.at(-1)! - at[0]!).toBeLessThan(5000);
  });

  test('a caught FileRejectedError ends in FileRejected and is shown as REJECTED', async () => {
    tasks.Work = async () => {
      throw Object.assign(new Error('HEADER_MISMATCH: no amount column'), { name: 'FileRejectedError' });
    };

    const record = await runtime().start(eventFor(1)).done;

    expect(record.status).toBe('FAILED');
    expect(record.displayStatus).toBe('REJECTED');
    expect(record.endState).toBe('FileRejected');
    expect(visitsOf(record).map((v) => [v.name, v.status])).toEqual([
      ['Work', 'CAUGHT'],
      ['FileRejected', 'FAILED'],
    ]);
    expect(() => runtime().redrive(record.runId)).toThrow(/REJECTED/);
  });

  test('fails for good at a task, then a redrive resumes there with the recorded input', async () => {
    const failed = await runtime().start(eventFor(5), {
      faults: { Finish: { error: 'States.TaskFailed', cause: 'job crashed' } },
    }).done;
    expect(failed).toMatchObject({
      status: 'FAILED',
      error: 'States.TaskFailed',
      cause: 'job crashed',
      endState: 'Finish',
    });
    expect(calls).toEqual({ Work: 1 });

    const redriven = await runtime().redrive(failed.runId).done;

    expect(redriven.status).toBe('SUCCEEDED');
    expect(redriven.redriveCount).toBe(1);
    expect(calls).toEqual({ Work: 1, Finish: 1 }); // Work was not re-run
    expect(redriven.output).toMatchObject({
      finish: { got: { JobName: 'job', Arguments: { '--value': 10 } } },
    });
    const types = redriven.events.map((e) => e.type);
    expect(types.filter((t) => t === 'ExecutionStarted')).toHaveLength(1);
    expect(types).toContain('ExecutionRedriven');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    expect(
      visitsOf(redriven)
        .filter((v) => v.name === 'Finish')
        .map((v) => v.status),
    ).toEqual(['FAILED', 'SUCCEEDED']);
  });

  test('redrive is refused for a SUCCEEDED run and for an unknown id', async () => {
    const ok = await runtime().start(eventFor(1)).done;

    expect(() => runtime().redrive(ok.runId)).toThrow(RedriveRefusedError);
    expect(() => runtime().redrive(ok.runId)).toThrow(/SUCCEEDED; only FAILED, TIMED_OUT or ABORTED/);
    expect(() => runtime().redrive('20260101T000000Z-nope-000000')).toThrow(/no run/);
    expect(runs.load(ok.runId)!.redriveCount).toBe(0);
  });

  test('an aborted run is ABORTED and can be redriven from the state in progress', async () => {
    let release!: () => void;
    tasks.Finish = () => new Promise((resolve) => (release = () => resolve({ JobRunState: 'SUCCEEDED' })));
    const handle = runtime().start(eventFor(2));
    while (!release) await new Promise((r) => setTimeout(r, 5));

    handle.abort();
    const aborted = await handle.done;
    release();

    expect(aborted.status).toBe('ABORTED');
    tasks.Finish = async () => ({ JobRunState: 'SUCCEEDED' });
    const redriven = await runtime().redrive(aborted.runId).done;
    expect(redriven.status).toBe('SUCCEEDED');
    expect(calls.Work).toBe(1);
  });
});
