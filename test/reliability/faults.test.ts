/**
 * Faults injected into every Task state of the real pipeline with the local runtime's fault
 * injection (local/faults.ts): the error names the ASL's Retry and Catch match, exactly as AWS
 * would raise them. Transient failures must be retried (visible in the run's history) and the run
 * must succeed; a permanent failure must leave the run FAILED at that state with its input
 * untouched, and a redrive after the fault is gone must finish it without duplicating a row.
 *
 * test/cli/faults.test.ts covers the CLI side (fault file, `etl runs show`, `etl redrive`) for the
 * Transform and crawler states; this suite covers every state through the runtime's API.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LocalNotifier } from '../../adapters/local/notifier';
import { versionTagOf } from '../../core/layout';
import type { FaultPlan } from '../../local/faults';
import { visitsOf, type RunRecord } from '../../local/run-record';
import { fixture, inBatches, ReliabilityHome, type Landed } from './support';

const BASE = fixture('event_sessions/base.csv').toString('utf8');
/** base.csv (20 sessions) with session ids unique to scenario `n`. */
const sessions = (n: number) => BASE.replace(/SES-0000/g, `SES-${String(n).padStart(4, '0')}`);
const BAD = 'not,the,header\n1,2,3\n'; // HEADER_MISMATCH: takes the Quarantine path

/** Task states on the success path, and the two only a rejected file visits. */
const LAMBDA_STATES = [
  'Claim',
  'Validate',
  'CheckStillLatest',
  'RegisterPartitions',
  'StartCrawl',
  'PollCrawl',
  'Verify',
  'Archive',
] as const;
const REJECT_PATH = ['Quarantine', 'NotifyRejected'] as const;

/** What "throttled" and "a 5xx" look like to each kind of task, by the names the ASL retries. */
const TRANSIENT: Readonly<Record<string, { throttle: string; serverError: string }>> = {
  ...Object.fromEntries(
    [...LAMBDA_STATES, 'Quarantine'].map((s) => [
      s,
      { throttle: 'Lambda.TooManyRequestsException', serverError: 'Lambda.ServiceException' },
    ]),
  ),
  Transform: { throttle: 'Glue.ThrottlingException', serverError: 'Glue.InternalServiceException' },
  Notify: { throttle: 'Sns.ThrottledException', serverError: 'Sns.InternalErrorException' },
  NotifyRejected: { throttle: 'Sns.ThrottledException', serverError: 'Sns.InternalErrorException' },
};
const SUCCESS_PATH = [...LAMBDA_STATES, 'Transform', 'Notify'];

const home = new ReliabilityHome('etl-faults-');
/**
 * Since issue 12 an ordinary file skips the crawl (RegisterPartitions adds its partitions, then
 * Verify); only the first file of a table, or a changed schema, runs StartCrawl..PollCrawl. A
 * scenario with a fault in a crawl state therefore runs in a home of its own, where its file is
 * the first of event_sessions and takes the crawl path (the assertions below check it visited them).
 */
const CRAWL_STATES: readonly string[] = ['StartCrawl', 'PollCrawl'];
const crawlHomes: ReliabilityHome[] = [];
const homeFor = (states: readonly string[]): ReliabilityHome => {
  if (!states.some((s) => CRAWL_STATES.includes(s))) return home;
  const fresh = new ReliabilityHome('etl-faults-crawl-');
  crawlHomes.push(fresh);
  return fresh;
};
let scenario = 0;
const landSessions = async (name: string, h: ReliabilityHome = home): Promise<Landed> =>
  h.land(`incoming/event_sessions/${name}.csv`, sessions(++scenario));

/** Errors a state's attempts failed with; PollCrawl's own "not ready yet" (its wait loop) left out. */
const tasksFailed = (r: RunRecord, state: string) =>
  visitsOf(r)
    .filter((v) => v.name === state)
    .flatMap((v) => v.errors.map((e) => e.error))
    .filter((e) => state !== 'PollCrawl' || e !== 'CrawlerNotReadyError');
const landingPath = (l: Landed, h: ReliabilityHome = home) =>
  h.pipeline.store.pathOf(h.home.landingBucket, l.key);

afterAll(() => {
  home.dispose();
  for (const h of crawlHomes) h.dispose();
});

const ledgerAfterFailure: Record<string, string | undefined> = {};
/** The ledger status of a landed version (adapters/local/ledger.ts layout), or undefined. */
function ledgerStatus(l: Landed, h: ReliabilityHome = home): string | undefined {
  const dir = createHash('sha256').update(`${h.home.landingBucket}/${l.key}`).digest('hex');
  const file = path.join(h.home.ledgerDir, dir, `v-${versionTagOf(l.info.versionId, l.info.etag)}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { status: string }).status : undefined;
}

/**
 * Lands every file before any run starts. Putting into a landing folder while another run's
 * Archive deletes the last object in it fails the put (see hostile-keys.test.ts, GAP-5), so the
 * scenarios here never overlap the two.
 */
async function landAll(names: readonly string[], land: (name: string) => Promise<Landed>) {
  const out: Record<string, Landed> = {};
  for (const n of names) out[n] = await land(n);
  return out;
}

describe('transient failures in every state are retried and the run succeeds', () => {
  const runs: Record<string, RunRecord> = {};
  const plans: Record<string, FaultPlan> = {
    // Every state of the success path throttled twice in one run, and a 5xx once in another;
    // a dependency's own throttling (S3, DynamoDB, Athena), as the adapters classify it, in a third.
    throttle: Object.fromEntries(SUCCESS_PATH.map((s) => [s, { error: TRANSIENT[s]!.throttle, times: 2 }])),
    serverError: Object.fromEntries(
      SUCCESS_PATH.map((s) => [s, { error: TRANSIENT[s]!.serverError, times: 1 }]),
    ),
    dependency: Object.fromEntries(
      [...LAMBDA_STATES, 'Transform'].map((s) => [s, { error: 'TransientDependencyError', times: 1 }]),
    ),
    rejectThrottle: Object.fromEntries(
      REJECT_PATH.map((s) => [s, { error: TRANSIENT[s]!.throttle, times: 2 }]),
    ),
    rejectServerError: Object.fromEntries(
      REJECT_PATH.map((s) => [s, { error: TRANSIENT[s]!.serverError, times: 1 }]),
    ),
  };

  const homes: Record<string, ReliabilityHome> = {};

  beforeAll(async () => {
    for (const [name, faults] of Object.entries(plans)) homes[name] = homeFor(Object.keys(faults));
    const landed = await landAll(Object.keys(plans), (name) =>
      name.startsWith('reject')
        ? homes[name]!.land(`incoming/event_sessions/${name}.csv`, BAD)
        : landSessions(name, homes[name]),
    );
    await inBatches(Object.entries(plans), 3, async ([name, faults]) => {
      runs[name] = await homes[name]!.run(landed[name]!.event, { faults });
    });
  }, 120_000);

  test.each(SUCCESS_PATH)(
    '%s throttled twice, then a 5xx once: retried, the run succeeds, retries in the history',
    (state) => {
      for (const [plan, n] of [
        ['throttle', 2],
        ['serverError', 1],
      ] as const) {
        const run = runs[plan]!;
        expect({ plan, status: run.displayStatus, end: run.endState }).toEqual({
          plan,
          status: 'SUCCEEDED',
          end: 'Succeeded',
        });
        expect(tasksFailed(run, state)).toEqual(
          Array(n).fill(TRANSIENT[state]![plan === 'throttle' ? 'throttle' : 'serverError']),
        );
        const visit = visitsOf(run)
          .filter((v) => v.name === state)
          .at(-1)!;
        expect(visit.status).toBe('SUCCEEDED');
        // PollCrawl may also wait for a crawl it started itself: at least the injected retries.
        expect(state === 'PollCrawl' ? Math.min(visit.retries, n) : visit.retries).toBe(n);
      }
    },
  );

  test.each([...LAMBDA_STATES, 'Transform'])(
    '%s: a dependency throttled (TransientDependencyError) is retried too',
    (state) => {
      const run = runs.dependency!;
      expect(run.displayStatus).toBe('SUCCEEDED');
      expect(tasksFailed(run, state)).toEqual(['TransientDependencyError']);
    },
  );

  test.each(REJECT_PATH)(
    '%s (rejected file) throttled twice, then a 5xx once: retried, the file still ends REJECTED',
    (state) => {
      for (const [plan, n] of [
        ['rejectThrottle', 2],
        ['rejectServerError', 1],
      ] as const) {
        const run = runs[plan]!;
        expect({ plan, status: run.displayStatus, reason: run.rejection?.reason }).toEqual({
          plan,
          status: 'REJECTED',
          reason: 'HEADER_MISMATCH',
        });
        expect(visitsOf(run).find((v) => v.name === state)).toMatchObject({
          status: 'SUCCEEDED',
          retries: n,
        });
      }
    },
  );

  test('each retried run wrote its rows exactly once', async () => {
    for (const plan of ['throttle', 'serverError', 'dependency']) {
      const run = runs[plan]!;
      expect(run.counts).toMatchObject({ rowsRead: 20, rowsWritten: 20 });
    }
    for (const h of new Set(['throttle', 'serverError', 'dependency'].map((plan) => homes[plan]!))) {
      const [{ n, ids }] = await h.query<{ n: string; ids: string }>(
        'SELECT count(*) AS n, count(DISTINCT session_id) AS ids FROM event_sessions',
      );
      expect(Number(ids)).toBe(Number(n));
    }
  });
});

/**
 * States.Timeout: what a task that ran past its TimeoutSeconds fails with; Sandbox.Timedout: what a
 * Lambda function that ran past its own timeout fails with. Every Lambda step is idempotent, so both
 * are retried (a little); Transform is not (was GAP-3, see docs/reliability.md).
 */
describe('a timed-out task (States.Timeout)', () => {
  const states = [...LAMBDA_STATES, 'Quarantine', 'Transform'];
  const runs: Record<string, { landed: Landed; first: RunRecord; keptAt: string[]; redriven?: RunRecord }> =
    {};
  let sandbox: RunRecord;

  beforeAll(async () => {
    const homes: Record<string, ReliabilityHome> = {};
    for (const state of states) homes[state] = homeFor([state]);
    homes.sandbox = homeFor(LAMBDA_STATES);
    const all = await landAll([...states, 'sandbox'], (state) =>
      state === 'Quarantine'
        ? homes[state]!.land(`incoming/event_sessions/timeout-${state}.csv`, BAD)
        : landSessions(`timeout-${state}`, homes[state]),
    );
    await inBatches(states, 3, async (state) => {
      const landed = all[state]!;
      const h = homes[state]!;
      const first = await h.run(landed.event, {
        faults: { [state]: { error: 'States.Timeout', times: 1 } },
      });
      runs[state] = { landed, first: structuredClone(first), keptAt: h.originalLocations(first, landed) };
      if (first.displayStatus === 'FAILED') runs[state]!.redriven = await h.redrive(first.runId);
    });
    // Lambda's own timeout, once in every Lambda state of one run.
    sandbox = await homes.sandbox.run(all.sandbox!.event, {
      faults: Object.fromEntries(LAMBDA_STATES.map((s) => [s, { error: 'Sandbox.Timedout', times: 1 }])),
    });
  }, 120_000);

  test.each([...LAMBDA_STATES, 'Quarantine'])(
    '%s timed out once: retried, the run ends as it would have, the timeout in the history',
    (state) => {
      const { first } = runs[state]!;
      const expected = state === 'Quarantine' ? 'REJECTED' : 'SUCCEEDED';
      expect({ status: first.displayStatus, redrives: first.redriveCount }).toEqual({
        status: expected,
        redrives: 0,
      });
      expect(tasksFailed(first, state)).toEqual(['States.Timeout']);
      const visit = visitsOf(first)
        .filter((v) => v.name === state)
        .at(-1)!;
      expect(visit.status).toBe('SUCCEEDED');
      expect(state === 'PollCrawl' ? Math.min(visit.retries, 1) : visit.retries).toBe(1);
      if (expected === 'SUCCEEDED') expect(first.counts.rowsWritten).toBe(20);
      else expect(first.rejection?.reason).toBe('HEADER_MISMATCH');
    },
  );

  test("a Lambda function's own timeout (Sandbox.Timedout) in every Lambda state is retried too", () => {
    expect({ status: sandbox.displayStatus, rows: sandbox.counts.rowsWritten }).toEqual({
      status: 'SUCCEEDED',
      rows: 20,
    });
    for (const state of LAMBDA_STATES)
      expect({ state, failed: tasksFailed(sandbox, state) }).toEqual({ state, failed: ['Sandbox.Timedout'] });
  });

  test('Transform timed out once: not retried, the run FAILS there, input untouched; a redrive completes it', () => {
    // A timed-out Glue run is for a person to look at, not to re-run blindly (statemachines/README.md).
    const { landed, first, keptAt, redriven } = runs.Transform!;
    expect({ status: first.status, endState: first.endState, error: first.error }).toEqual({
      status: 'FAILED',
      endState: 'Transform',
      error: 'States.Timeout',
    });
    expect(tasksFailed(first, 'Transform')).toEqual(['States.Timeout']);
    expect(keptAt).toEqual([landingPath(landed)]);
    expect(redriven).toMatchObject({ status: 'SUCCEEDED', endState: 'Succeeded', redriveCount: 1 });
    expect(redriven!.counts.rowsWritten).toBe(20);
  });
});

describe('a permanent failure in each state: FAILED there, input untouched; fault removed → redrive completes, no duplicate rows', () => {
  const states = [...SUCCESS_PATH, ...REJECT_PATH];
  const runs: Record<
    string,
    { landed: Landed; failed: RunRecord; keptAt: string[]; redriven: RunRecord; h: ReliabilityHome }
  > = {};

  beforeAll(async () => {
    const homes: Record<string, ReliabilityHome> = {};
    for (const state of states) homes[state] = homeFor([state]);
    const all = await landAll(states, (state) =>
      (REJECT_PATH as readonly string[]).includes(state)
        ? homes[state]!.land(`incoming/event_sessions/permanent-${state}.csv`, BAD)
        : landSessions(`permanent-${state}`, homes[state]),
    );
    await inBatches(states, 3, async (state) => {
      const landed = all[state]!;
      const h = homes[state]!;
      // No `times`: every attempt fails, retries included. States.TaskFailed is never retried.
      const failed = structuredClone(
        await h.run(landed.event, {
          faults: { [state]: { error: 'States.TaskFailed', cause: `${state} is down` } },
        }),
      );
      const keptAt = h.originalLocations(failed, landed);
      ledgerAfterFailure[state] = ledgerStatus(landed, h);
      const redriven = await h.redrive(failed.runId); // the fault is gone
      runs[state] = { landed, failed, keptAt, redriven, h };
    });
  }, 180_000);

  test.each(states)('%s fails for good', (state) => {
    const { landed, failed, keptAt, redriven, h } = runs[state]!;
    const rejectPath = (REJECT_PATH as readonly string[]).includes(state);

    expect({ status: failed.displayStatus, endState: failed.endState, error: failed.error }).toEqual({
      status: 'FAILED',
      endState: state,
      error: 'States.TaskFailed',
    });
    expect(failed.cause).toContain(`${state} is down`);
    // The input is untouched, byte for byte: in landing, or where the step before moved it
    // (Notify runs after Archive, NotifyRejected after Quarantine).
    const mover = state === 'Notify' ? 'archive' : state === 'NotifyRejected' ? 'quarantine' : undefined;
    expect(keptAt).toEqual([mover ? failed.outputs[mover]! : landingPath(landed, h)]);

    expect(redriven.redriveCount).toBe(1);
    const visits = visitsOf(redriven);
    expect(visits.filter((v) => v.name === state).map((v) => v.status)).toEqual(['FAILED', 'SUCCEEDED']);
    // States before the failing one ran once: the redrive resumed at the failed state.
    const first = visits.findIndex((v) => v.name === state);
    for (const v of visits.slice(0, first)) expect(visits.filter((w) => w.name === v.name)).toHaveLength(1);
    if (rejectPath) {
      expect(redriven).toMatchObject({ displayStatus: 'REJECTED', endState: 'FileRejected' });
      expect(h.originalLocations(redriven, landed)).toEqual([redriven.outputs.quarantine]);
    } else {
      expect(redriven).toMatchObject({ displayStatus: 'SUCCEEDED', endState: 'Succeeded' });
      expect(redriven.counts.rowsWritten).toBe(20);
      expect(h.originalLocations(redriven, landed)).toEqual([redriven.outputs.archive]);
    }
  });

  test('after every redrive the table holds each session exactly once', async () => {
    for (const h of [home, ...crawlHomes]) {
      const [{ n, ids }] = await h.query<{ n: string; ids: string }>(
        'SELECT count(*) AS n, count(DISTINCT session_id) AS ids FROM event_sessions',
      );
      const succeeded = new Set(
        readdirSync(h.home.runsDir)
          .map((f) => JSON.parse(readFileSync(path.join(h.home.runsDir, f), 'utf8')) as RunRecord)
          .filter((r) => r.displayStatus === 'SUCCEEDED')
          .map((r) => r.source!.key),
      );
      expect(Number(ids)).toBe(Number(n));
      expect(Number(n)).toBe(20 * succeeded.size);
    }
  });

  test('GAP-4 (fixed): a FAILED run publishes an execution-status FAILED notice with the redrive command and leaves the ledger FAILED until redriven', async () => {
    // On AWS EventBridge rules on "Step Functions Execution Status Change" feed SNS (not for a
    // rejected file) and functions/record-failure; local/pipeline.ts does the same when a run ends.
    // record-failure settled the ledger FAILED (a record already REJECTED or SUCCEEDED stays)...
    for (const state of [...LAMBDA_STATES.filter((s) => s !== 'Claim'), 'Transform', 'Quarantine'])
      expect([state, ledgerAfterFailure[state]]).toEqual([state, 'FAILED']);
    expect(ledgerAfterFailure.Notify).toBe('SUCCEEDED');
    expect(ledgerAfterFailure.NotifyRejected).toBe('REJECTED');
    // ...and the successful redrive moved it on.
    expect(ledgerStatus(runs.Transform!.landed)).toBe('SUCCEEDED');

    for (const [state, { failed, h }] of Object.entries(runs)) {
      const notices = await new LocalNotifier({ outboxFile: h.home.outboxFile }).read();
      // One notice per failure: none for the redrive that succeeded or ended REJECTED.
      const mine = notices.filter((n) => n.attributes?.runId === failed.runId);
      expect([state, mine.length]).toEqual([state, 1]);
      expect(mine[0]!.attributes).toMatchObject({ status: 'FAILED', state, error: 'States.TaskFailed' });
      expect(mine[0]!.subject).toContain(`FAILED: run ${failed.runId} at ${state}`);
      expect(mine[0]!.message).toContain(`${state} is down`);
      expect(mine[0]!.message).toContain(`etl redrive ${failed.runId}`);
    }
    // A rejected file is not a failure: no FAILED notice for a run that ended REJECTED.
    const rejectedRunIds = new Set(
      readdirSync(home.home.runsDir)
        .map((f) => JSON.parse(readFileSync(path.join(home.home.runsDir, f), 'utf8')) as RunRecord)
        .filter((r) => r.displayStatus === 'REJECTED' && r.redriveCount === 0)
        .map((r) => r.runId),
    );
    expect(rejectedRunIds.size).toBeGreaterThan(0);
    const notices = await new LocalNotifier({ outboxFile: home.home.outboxFile }).read();
    expect(
      notices.filter((n) => rejectedRunIds.has(n.attributes?.runId ?? '')).map((n) => n.subject),
    ).toEqual([]);
  });
});
