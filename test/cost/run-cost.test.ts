/**
 * Each local run record carries its modeled cost and latency, derived from what the run did:
 * the transitions in its history, each Lambda at its deployed memory, which transform ran, whether
 * the crawler ran, Verify's queries and the objects written.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PRICES } from '../../core/cost';
import { STEP_MEMORY_MIB } from '../../functions/sizing';
import { homeAt } from '../../local/home';
import { objectCreatedEvent, putInLanding } from '../../local/landing';
import { createLocalPipeline, type LocalPipeline } from '../../local/pipeline';
import { CRAWL_POLL_SECONDS, putRequestsFor } from '../../local/run-cost';
import { visitsOf, type RunRecord } from '../../local/run-record';
import { readDefinitionText } from '../../statemachines/definition';

const SMALL = path.join(__dirname, '../fixtures/local/registrations/small.csv');

const lineOf = (record: RunRecord, item: string) => record.cost?.lines.find((l) => l.item === item);

describe('modeled cost of a local run', () => {
  let root: string;
  let pipeline: LocalPipeline;
  const open = (transformLambdaMaxBytes?: number) => {
    pipeline = createLocalPipeline({
      home: homeAt(root),
      ...(transformLambdaMaxBytes !== undefined && { transformLambdaMaxBytes }),
    });
  };
  const run = async (key: string) => {
    const info = await putInLanding(pipeline.store, pipeline.home.landingBucket, key, SMALL);
    return pipeline.runtime.start(objectCreatedEvent(pipeline.home.landingBucket, info)).done;
  };

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'etl-cost-'));
  });
  afterEach(() => {
    pipeline.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('a small file takes the Lambda path; the first crawls (no table yet), the next does not', async () => {
    open();
    const first = await run('incoming/registrations/a.csv');
    const second = await run('incoming/registrations/b.csv');

    expect(first.status).toBe('SUCCEEDED');
    expect(first.cost).toMatchObject({ transformEngine: 'lambda', crawlerRan: true });
    expect(lineOf(first, 'Glue crawler')).toBeDefined();
    expect(second.cost).toMatchObject({ transformEngine: 'lambda', crawlerRan: false });
    expect(lineOf(second, 'Glue crawler')).toBeUndefined();
    expect(lineOf(second, 'Glue job (Spark, G.1X)')).toBeUndefined();
    expect(second.cost!.totalUsd).toBeLessThan(first.cost!.totalUsd);
    expect(second.cost!.latency.parts.some((p) => p.part.startsWith('crawler'))).toBe(false);
  });

  test('transitions are the states entered plus retries, counted from the history events', async () => {
    open();
    const record = await run('incoming/registrations/a.csv');
    const entered = record.events.filter((e) => e.type.endsWith('StateEntered')).length;
    const taskEntered = record.events.filter((e) => e.type === 'TaskStateEntered').length;
    const scheduled = record.events.filter((e) => e.type === 'TaskScheduled').length;
    const transitions = entered + (scheduled - taskEntered);
    expect(lineOf(record, 'Step Functions state transitions')).toMatchObject({
      quantity: `${transitions} transitions`,
    });
    expect(lineOf(record, 'Step Functions state transitions')!.usd).toBeCloseTo(transitions * 0.000025, 12);
  });

  test('Lambda GB-s: each visit at its function’s deployed memory, plus one modeled INIT per function', async () => {
    open();
    const record = await run('incoming/registrations/a.csv');
    const fnOf: Record<string, string> = {
      Claim: 'claim',
      Validate: 'validate',
      CheckStillLatest: 'check-still-latest',
      TransformInLambda: 'transform',
      RegisterPartitions: 'register-partitions',
      StartCrawl: 'start-crawl',
      PollCrawl: 'poll-crawl',
      Verify: 'verify',
      Archive: 'archive',
    };
    const seen = new Set<string>();
    let handler = 0;
    let init = 0;
    for (const v of visitsOf(record)) {
      const fn = fnOf[v.name];
      if (!fn) continue;
      const gb = (STEP_MEMORY_MIB[fn] ?? 512) / 1024;
      if (!seen.has(fn)) init += gb * ((fn === 'transform' ? 1500 : 400) / 1000);
      seen.add(fn);
      handler += gb * ((v.durationMs ?? 0) / 1000);
    }
    expect(lineOf(record, 'Lambda duration (arm64)')!.usd).toBeCloseTo(handler * 0.0000133334, 10);
    expect(lineOf(record, 'Lambda INIT, cold starts (arm64)')!.usd).toBeCloseTo(init * 0.0000133334, 10);
    expect(lineOf(record, 'Lambda requests')).toMatchObject({ quantity: `${seen.size} invocations` });
  });

  test('the Glue path (threshold 0) bills the job at 2 DPU and its 1-minute minimum', async () => {
    open(0);
    const record = await run('incoming/registrations/a.csv');
    expect(record.cost).toMatchObject({ transformEngine: 'glue' });
    expect(lineOf(record, 'Glue job (Spark, G.1X)')!.usd).toBeCloseTo(
      (2 * 60 * PRICES.glueJobDpuHour.usd) / 3600,
      12,
    );
    expect(record.cost!.latency.parts.find((p) => p.part === 'Glue job start-up')?.ms).toBe(30_000);
  });

  test('Verify: one Athena query per check, each over at least 10 MB', async () => {
    open();
    const record = await run('incoming/registrations/a.csv');
    const verify = visitsOf(record).find((v) => v.name === 'Verify')!.output as {
      verify: { checks: string[] };
    };
    const queries = verify.verify.checks.length;
    expect(queries).toBeGreaterThan(0);
    expect(lineOf(record, 'Athena (Verify)')).toMatchObject({
      quantity: expect.stringMatching(new RegExp(`^${queries} queries, ${queries * 10} MB`)),
    });
  });

  test('a rejected file is priced too: no transform, no Athena, the quarantine copy', async () => {
    open();
    const info = await putInLanding(
      pipeline.store,
      pipeline.home.landingBucket,
      'incoming/nosuchdataset/x.csv',
      SMALL,
    );
    const record = await pipeline.runtime.start(objectCreatedEvent(pipeline.home.landingBucket, info)).done;
    expect(record.cost).toMatchObject({ transformEngine: 'none', crawlerRan: false });
    expect(lineOf(record, 'Athena (Verify)')).toBeUndefined();
    expect(record.endState).toBe('FileRejected');
    // The original copied to quarantine/ and reason.json written.
    expect(lineOf(record, 'S3 requests')?.quantity).toMatch(/^([2-9]|\d\d+) PUT\/COPY\/LIST/);
    expect(record.cost!.totalUsd).toBeGreaterThan(0);
  });

  test('CloudWatch Logs: the state machine logs every history event with its data', async () => {
    open();
    const record = await run('incoming/registrations/a.csv');
    const stateMachineBytes = Buffer.byteLength(JSON.stringify(record.events));
    const invocations = Number(/^(\d+) invocations/.exec(lineOf(record, 'Lambda requests')!.quantity)![1]);
    expect(lineOf(record, 'CloudWatch Logs ingested')!.usd).toBeCloseTo(
      ((stateMachineBytes + invocations * 2048) / 2 ** 30) * 0.5,
      12,
    );
  });

  test('the crawl poll the latency model rounds to is the ASL’s WaitForCrawl', () => {
    const asl = JSON.parse(readDefinitionText()) as { States: Record<string, { Seconds?: number }> };
    expect(asl.States.WaitForCrawl?.Seconds).toBe(CRAWL_POLL_SECONDS);
  });

  test('an upload over 5 MiB is multipart: create + parts + complete', () => {
    expect(putRequestsFor(statSync(SMALL).size)).toBe(1);
    expect(putRequestsFor(5 * 2 ** 20)).toBe(1);
    expect(putRequestsFor(5 * 2 ** 20 + 1)).toBe(4);
    expect(putRequestsFor(12 * 2 ** 20)).toBe(5);
  });
});
