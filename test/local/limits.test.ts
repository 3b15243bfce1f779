/**
 * local/limits.ts: AWS's limits as the local runtime simulates them (issue 12, "bursts never
 * fail") — Glue concurrent runs with and without job-run queuing, Lambda reserved/account
 * concurrency, throttling at a rate — and, through the real pipeline, that a limit retrier outwaits
 * a throttled Lambda with the ASL's (scaled) backoff.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TransientDependencyError } from '../../core/errors';
import { homeAt } from '../../local/home';
import { objectCreatedEvent, putInLanding } from '../../local/landing';
import { LocalLimits, checkLimitsPlan, readLimitsFile, type LimitStats } from '../../local/limits';
import { createLocalPipeline } from '../../local/pipeline';
import { visitsOf } from '../../local/run-record';

/** A job the test finishes by hand. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}
const tick = () => new Promise((r) => setImmediate(r));
const errorOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  return undefined;
};

describe('Glue concurrent runs', () => {
  test('with queuing, runs past MaxConcurrentRuns wait their turn (first in, first out) and all finish', async () => {
    const limits = new LocalLimits({ glue: { maxConcurrentRuns: 2 } });
    const gates = Array.from({ length: 5 }, gate);
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      limits.runGlueJob(async () => {
        started.push(i);
        await g.opened;
        return i;
      }, true),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    gates[1]!.open();
    await tick();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    gates.forEach((g) => g.open());

    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(limits.stats.glue).toEqual({ peakRunning: 2, queued: 3, rejected: 0, throttled: 0 });
  });

  test('without queuing the start past the limit fails with Glue.ConcurrentRunsExceededException, as on AWS', async () => {
    const limits = new LocalLimits({ glue: { maxConcurrentRuns: 1, queuing: false } });
    const g = gate();
    const first = limits.runGlueJob(() => g.opened);
    await tick();

    expect(await errorOf(limits.runGlueJob(async () => 'never', true))).toEqual({
      name: 'Glue.ConcurrentRunsExceededException',
      message: expect.stringContaining('MaxConcurrentRuns 1'),
    });
    g.open();
    await first;
    expect(await limits.runGlueJob(async () => 'room again')).toBe('room again');
    expect(limits.stats.glue.rejected).toBe(1);
  });

  test("a run's JobRunQueuingEnabled false wins over the job's queuing", async () => {
    const limits = new LocalLimits({ glue: { maxConcurrentRuns: 1, queuing: true } });
    const g = gate();
    const first = limits.runGlueJob(() => g.opened);
    await tick();
    expect((await errorOf(limits.runGlueJob(async () => 1, false)))?.name).toBe(
      'Glue.ConcurrentRunsExceededException',
    );
    g.open();
    await first;
  });
});

describe('Lambda concurrency', () => {
  test('a reserved function runs at most its reservation; the others share what the account limit leaves', async () => {
    const limits = new LocalLimits({ lambda: { accountConcurrency: 3, reserved: { transform: 1 } } });
    const g = gate();
    const busy = [
      limits.invokeLambda('transform', () => g.opened),
      limits.invokeLambda('validate', () => g.opened),
      limits.invokeLambda('claim', () => g.opened),
    ];
    await tick();

    expect(await errorOf(limits.invokeLambda('transform', async () => 1))).toEqual({
      name: 'Lambda.TooManyRequestsException',
      message: expect.stringContaining('functions/transform: reserved concurrency 1'),
    });
    expect(await errorOf(limits.invokeLambda('archive', async () => 1))).toEqual({
      name: 'Lambda.TooManyRequestsException',
      message: expect.stringContaining('account concurrency 3 (1 reserved)'),
    });
    g.open();
    await Promise.all(busy);
    expect(await limits.invokeLambda('archive', async () => 'ran')).toBe('ran');
    expect(limits.stats.lambda).toEqual({
      peakTotal: 3,
      peakByFunction: { transform: 1, validate: 1, claim: 1, archive: 1 },
      throttled: 2,
    });
  });

  test('a failing invocation gives its slot back', async () => {
    const limits = new LocalLimits({ lambda: { accountConcurrency: 1 } });
    await expect(limits.invokeLambda('claim', () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    expect(await limits.invokeLambda('claim', async () => 'ok')).toBe('ok');
  });
});

describe('throttling', () => {
  const port = () => {
    const calls: string[] = [];
    return {
      calls,
      store: {
        get: async (k: string) => (calls.push(`get ${k}`), k),
        pathOf: (k: string) => `/x/${k}`,
      },
    };
  };

  test('about rate × calls fail with TransientDependencyError naming the service; a throttled call never reaches the port', async () => {
    const limits = new LocalLimits({ throttle: { rate: 0.3, seed: 7 } });
    const { calls, store } = port();
    const s3 = limits.throttled(store, 's3');
    const outcomes = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        s3.get(String(i)).then(
          () => 'ok',
          (e: unknown) => e,
        ),
      ),
    );
    const throttled = outcomes.filter((o) => o instanceof TransientDependencyError) as Error[];

    expect(throttled.length).toBeGreaterThan(240);
    expect(throttled.length).toBeLessThan(360);
    expect(throttled[0]!.message).toMatch(/^s3 get: ThrottlingException/);
    expect(calls).toHaveLength(1000 - throttled.length);
    expect(limits.stats.throttled.s3).toBe(throttled.length);
    // Synchronous helpers are not service calls.
    expect(s3.pathOf('a')).toBe('/x/a');
  });

  test('the same seed throttles the same calls; a service left out of the list is never throttled', async () => {
    const run = async () => {
      const s3 = new LocalLimits({ throttle: { rate: 0.5, seed: 42 } }).throttled(port().store, 's3');
      return Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          s3.get(String(i)).then(
            () => 1,
            () => 0,
          ),
        ),
      );
    };
    expect(await run()).toEqual(await run());

    const limits = new LocalLimits({ throttle: { rate: 0.9, services: ['dynamodb'] } });
    const { store } = port();
    expect(limits.throttled(store, 's3')).toBe(store);
  });

  test('StartJobRun is throttled as Glue.ThrottlingException', async () => {
    const limits = new LocalLimits({ throttle: { rate: 0.999, seed: 1, services: ['glue'] } });
    expect((await errorOf(limits.runGlueJob(async () => 1)))?.name).toBe('Glue.ThrottlingException');
  });
});

describe('limits.json', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(path.join(tmpdir(), 'etl-limits-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('none = no limits; a malformed file or field is an error naming it', () => {
    const file = path.join(root, 'limits.json');
    expect(readLimitsFile(file)).toBeUndefined();
    writeFileSync(file, '{ nope');
    expect(() => readLimitsFile(file)).toThrow(`${file}: not valid JSON`);
    writeFileSync(file, JSON.stringify({ glue: { maxConcurrentRuns: 0 } }));
    expect(() => readLimitsFile(file)).toThrow(/"glue.maxConcurrentRuns" must be a whole number ≥ 1, got 0/);
    expect(() => checkLimitsPlan({ lambda: { accountConcurrency: 2, reserved: { transform: 2 } } })).toThrow(
      /must leave some of lambda.accountConcurrency/,
    );
    expect(() => checkLimitsPlan({ throttle: { rate: 1 } })).toThrow(
      /"throttle.rate" must be a number from 0/,
    );
    expect(() => checkLimitsPlan({ glu: {} })).toThrow(/unknown field "glu"/);
  });

  test('the pipeline reads <home>/limits.json, and a throttled Validate (reserved 1) is outwaited with the scaled backoff: all three runs succeed', async () => {
    const home = homeAt(root);
    writeFileSync(
      home.limitsFile,
      JSON.stringify({ lambda: { accountConcurrency: 50, reserved: { validate: 1 } } }),
    );
    const pipeline = createLocalPipeline({ home });
    try {
      const small = path.join(__dirname, '../fixtures/local/registrations/small.csv');
      const events = await Promise.all(
        ['a', 'b', 'c'].map(async (n) =>
          objectCreatedEvent(
            home.landingBucket,
            await putInLanding(pipeline.store, home.landingBucket, `incoming/registrations/${n}.csv`, small),
          ),
        ),
      );
      const records = await Promise.all(events.map((e) => pipeline.runtime.start(e).done));

      expect(records.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
      const throttled = records.flatMap((r) =>
        visitsOf(r).flatMap((v) =>
          v.errors.filter((e) => e.error === 'Lambda.TooManyRequestsException').map(() => v.name),
        ),
      );
      expect(throttled.length).toBeGreaterThan(0);
      expect(new Set(throttled)).toEqual(new Set(['Validate']));
      expect(pipeline.limits?.stats.lambda.peakByFunction.validate).toBe(1);
    } finally {
      pipeline.close();
    }
    // Written when the stats change (and at exit).
    await new Promise((r) => setTimeout(r, 300));
    const stats = JSON.parse(readFileSync(home.limitsStatsFile, 'utf8')) as LimitStats;
    expect(stats.lambda.throttled).toBeGreaterThan(0);
  });
});
