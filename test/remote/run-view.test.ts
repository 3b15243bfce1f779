import type { HistoryEvent as LocalHistoryEvent } from '../../local/history';
import { runSourceOfInput, runStepsFromHistory, showRun } from '../../remote';
import { startAwsJsonStub, type AwsJsonStub } from './aws-json-stub';
import { historyEvents, remoteOnStub, wireFixture } from './stub-fixtures';

const HISTORY = 'history-transform-redriven.json';

describe('runs show of a redriven run (stub serving a recorded-shape history, 20 events a page)', () => {
  let stub: AwsJsonStub;
  beforeAll(async () => {
    const events = wireFixture(HISTORY).events as unknown[];
    stub = await startAwsJsonStub(({ operation, body }) => {
      if (operation === 'DescribeExecution') return { body: wireFixture('describe-execution-redriven.json') };
      if (operation === 'GetExecutionHistory') {
        const from = Number(body.nextToken ?? 0);
        const page = events.slice(from, from + 20);
        return { body: { events: page, ...(from + 20 < events.length && { nextToken: String(from + 20) }) } };
      }
      return { error: 'UnknownOperationException', message: operation };
    });
  });
  afterAll(async () => stub.stop());

  test('every page is read, and the view shows the redrive, the loop and the retries', async () => {
    const view = await showRun(remoteOnStub(stub), '3f9c2a7e-redriven');

    const historyCalls = stub.requests.filter((r) => r.operation === 'GetExecutionHistory');
    expect(historyCalls.map((r) => r.body.nextToken)).toEqual([undefined, '20', '40', '60']);
    expect(historyCalls.every((r) => r.body.includeExecutionData === false)).toBe(true);
    expect(view).toMatchObject({
      id: '3f9c2a7e-redriven',
      status: 'SUCCEEDED',
      redriveCount: 1,
      dataset: 'registrations',
      sourceKey: 'incoming/registrations/feb 2026 (1).csv',
      durationMs: 3_730_000,
    });
    expect(view.steps.map((s) => s.name)).toEqual([
      'Claim',
      'Validate',
      'Transform',
      'Catalog',
      'WaitForCrawler',
      'PollCrawler',
      'CrawlerReady',
      'Verify',
      'Done',
    ]);
    expect(view.steps.every((s) => s.status === 'SUCCEEDED' && s.error === undefined)).toBe(true);
    const byName = Object.fromEntries(view.steps.map((s) => [s.name, s]));
    // First visit 3.5 s → 60 s (two attempts), resumed by the redrive at 3600.2 s → 3700 s.
    expect(byName.Transform).toMatchObject({
      visits: 2,
      retries: 1,
      retriedErrors: ['Glue.ConcurrentRunsExceededException'],
      durationMs: 56_500 + 99_800,
    });
    expect(byName.WaitForCrawler).toMatchObject({ type: 'Wait', visits: 2, retries: 0, durationMs: 20_000 });
    expect(byName.Verify).toMatchObject({ retries: 1, retriedErrors: ['Athena.TooManyRequestsException'] });
  });
});

describe('turning an execution history into steps', () => {
  test('before the redrive, the run shows FAILED at Transform with the Glue job error', () => {
    const events = historyEvents(HISTORY);
    const beforeRedrive = events.slice(
      0,
      events.findIndex((e) => e.type === 'ExecutionRedriven'),
    );

    const steps = runStepsFromHistory(beforeRedrive);

    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ['Claim', 'SUCCEEDED'],
      ['Validate', 'SUCCEEDED'],
      ['Transform', 'FAILED'],
    ]);
    expect(steps[2]).toMatchObject({ error: 'States.TaskFailed', retries: 1, durationMs: 56_500 });
    expect(JSON.parse(steps[2]!.cause!)).toMatchObject({ JobRunState: 'FAILED' });
  });

  test('a redrive that re-enters the failed state gives the same steps as one that resumes it', () => {
    const events = historyEvents(HISTORY);
    const redriven = events.findIndex((e) => e.type === 'ExecutionRedriven');
    const reentered = [
      ...events.slice(0, redriven + 1),
      {
        id: events[redriven]!.id! + 0.5,
        timestamp: events[redriven]!.timestamp!,
        type: 'TaskStateEntered' as const,
        stateEnteredEventDetails: { name: 'Transform' },
      },
      ...events.slice(redriven + 1),
    ];
    // Re-entry starts the visit at the redrive (3600 s) rather than at the resumed attempt (3600.2 s).
    const expected = runStepsFromHistory(events).map((s) =>
      s.name === 'Transform' ? { ...s, durationMs: s.durationMs! + 200 } : s,
    );

    expect(runStepsFromHistory(reentered)).toEqual(expected);
  });

  test("the local runtime's records (ISO-string timestamps) give the same steps as the service's history", () => {
    const events = historyEvents(HISTORY);
    const local = events.map((e) => ({
      ...e,
      timestamp: e.timestamp!.toISOString(),
    })) as unknown as LocalHistoryEvent[];

    expect(runStepsFromHistory(local)).toEqual(runStepsFromHistory(events));
  });

  test('events out of order are put back in id order first', () => {
    const events = historyEvents(HISTORY);

    expect(runStepsFromHistory([...events].reverse())).toEqual(runStepsFromHistory(events));
  });

  test('a run still in a state shows it RUNNING, without an end or a duration', () => {
    const events = historyEvents(HISTORY);
    const midTransform = events.slice(0, events.findIndex((e) => e.type === 'TaskSubmitted') + 1);

    const last = runStepsFromHistory(midTransform).at(-1)!;

    expect(last).toMatchObject({ name: 'Transform', status: 'RUNNING', visits: 1 });
    expect(last.finishedAt).toBeUndefined();
    expect(last.durationMs).toBeUndefined();
  });
});

describe('reading the landing object from an execution input', () => {
  test('an S3 event gives its dataset and the decoded key', () => {
    const input = JSON.stringify({ detail: { object: { key: 'incoming/clicks/caf%C3%A9+menu.csv' } } });

    expect(runSourceOfInput(input)).toEqual({
      dataset: 'clicks',
      sourceKey: 'incoming/clicks/café menu.csv',
    });
  });

  test('a key the allowlist refuses still shows its folder, so a rejected upload can be found', () => {
    const input = JSON.stringify({ detail: { object: { key: "incoming/orders/x';drop.csv" } } });

    expect(runSourceOfInput(input)).toEqual({ dataset: 'orders', sourceKey: "incoming/orders/x';drop.csv" });
  });

  test('inputs that are not a landing event give no source', () => {
    expect(runSourceOfInput(undefined)).toEqual({});
    expect(runSourceOfInput('not json')).toEqual({});
    expect(runSourceOfInput('{"sweep":"reconcile"}')).toEqual({});
  });

  it('shows a key with a stray %-escape as it is, as the run saw it (core/events keeps it undecoded)', () => {
    expect(runSourceOfInput('{"detail":{"object":{"key":"incoming/a/%E0%A4%A.csv"}}}')).toEqual({
      dataset: 'a',
      sourceKey: 'incoming/a/%E0%A4%A.csv',
    });
  });
});
