/**
 * The cost model, checked against arithmetic written out by hand from the public price pages:
 * every expected figure below is typed from the page (not read back from PRICES), so a price, a
 * billing minimum or a formula changed by mistake fails here.
 */
import {
  ASSUMPTIONS,
  BILLING,
  PRICES,
  athenaBilledBytes,
  costLines,
  crawlerBilledDpuSeconds,
  glueBilledDpuSeconds,
  latencyParts,
  modelRunCost,
  type LambdaUse,
  type LatencyInput,
  type PathState,
  type RunUsage,
} from '../../core/cost';

const MiB = 2 ** 20;

const lambda = (
  fn: string,
  memoryMiB: number,
  durationMs: number,
  extra: Partial<LambdaUse> = {},
): LambdaUse => ({
  state: fn,
  fn,
  memoryMiB,
  architecture: 'arm64',
  durationMs,
  invocations: 1,
  coldStart: true,
  ...extra,
});

/** A Lambda-path run: one retry of Claim, a DynamoDB sink on x86_64, two Verify queries. */
const lambdaPath: RunUsage = {
  transitions: 20,
  lambdas: [
    lambda('claim', 256, 100, { invocations: 2 }),
    lambda('validate', 1769, 800),
    lambda('transform', 2048, 1200),
    lambda('load-dynamodb-sink', 1024, 500, { architecture: 'x86_64' }),
  ],
  crawlerRan: false,
  athenaQueryBytes: [1000, 15 * MiB + 1],
  s3: { putCopyList: 40, get: 100 },
  snsPublishes: 1,
  dynamoDb: { writes: 3, reads: 2 },
  catalogRequests: 3,
  stateMachineLogBytes: 100 * 1024,
  traces: 1,
};

const line = (usage: RunUsage, item: string) => {
  const found = costLines(usage).find((l) => l.item === item);
  if (!found)
    throw new Error(
      `no line "${item}" in ${costLines(usage)
        .map((l) => l.item)
        .join(', ')}`,
    );
  return found;
};

describe('price table', () => {
  test('us-east-1 list prices as the pages state them', () => {
    expect(PRICES.stepFunctionsTransition.usd).toBeCloseTo(0.025 / 1000, 15); // $0.025 per 1,000
    expect(PRICES.lambdaGbSecondArm64.usd).toBe(0.0000133334);
    expect(PRICES.lambdaGbSecondX86.usd).toBe(0.0000166667);
    expect(PRICES.lambdaRequest.usd).toBeCloseTo(0.2 / 1e6, 15); // $0.20 per million
    expect(PRICES.glueJobDpuHour.usd).toBe(0.44);
    expect(PRICES.glueCrawlerDpuHour.usd).toBe(0.44);
    expect(PRICES.athenaTbScanned.usd).toBe(5);
    expect(PRICES.s3PutCopyListRequest.usd).toBeCloseTo(0.005 / 1000, 15);
    expect(PRICES.s3GetRequest.usd).toBeCloseTo(0.0004 / 1000, 15);
    expect(PRICES.snsPublish.usd).toBeCloseTo(0.5 / 1e6, 15);
    expect(PRICES.dynamoDbWrite.usd).toBeCloseTo(0.625 / 1e6, 15);
    expect(PRICES.dynamoDbRead.usd).toBeCloseTo(0.125 / 1e6, 15);
  });

  test('every price and assumption names where it comes from', () => {
    for (const [name, p] of Object.entries(PRICES))
      expect([name, p.source]).toEqual([name, expect.stringMatching(/^https:\/\/aws\.amazon\.com\//)]);
    for (const a of Object.values(ASSUMPTIONS)) expect(a.source.length).toBeGreaterThan(20);
  });

  test('billing minimums: Glue job 1 minute, crawler 10 minutes, Athena 10 MB per query', () => {
    expect(BILLING.glueJobMinimumSeconds).toBe(60);
    expect(BILLING.crawlerMinimumSeconds).toBe(600);
    expect(BILLING.athenaMinimumBytesPerQuery).toBe(10 * MiB);
  });
});

describe('line items, by hand', () => {
  test('state transitions: 20 × $0.025/1,000 = $0.0005', () => {
    expect(line(lambdaPath, 'Step Functions state transitions').usd).toBeCloseTo(0.0005, 12);
  });

  test('arm64 GB-s: memory/1024 × handler time, and apart the modeled INIT once per function, at $0.0000133334', () => {
    // handler: claim 0.25 GB × 0.1 s + validate 1769/1024 GB × 0.8 s + transform 2 GB × 1.2 s
    const handler = 0.025 + (1769 / 1024) * 0.8 + 2.4;
    expect(handler).toBeCloseTo(3.8070313, 6);
    // INIT: claim 0.25 × 0.4 + validate 1769/1024 × 0.4 + transform 2 × 1.5 (DuckDB's INIT is longer);
    // once for claim although it was invoked twice
    const init = 0.1 + (1769 / 1024) * 0.4 + 3;
    expect(init).toBeCloseTo(3.7910156, 6);
    expect(line(lambdaPath, 'Lambda duration (arm64)')).toMatchObject({ basis: 'measured' });
    expect(line(lambdaPath, 'Lambda duration (arm64)').usd).toBeCloseTo(handler * 0.0000133334, 12);
    expect(line(lambdaPath, 'Lambda INIT, cold starts (arm64)')).toMatchObject({ basis: 'modeled' });
    expect(line(lambdaPath, 'Lambda INIT, cold starts (arm64)').usd).toBeCloseTo(init * 0.0000133334, 12);
  });

  test('x86_64 GB-s at $0.0000166667', () => {
    // load-dynamodb-sink 1 GB × 0.5 s handler + 1 GB × 0.4 s INIT
    expect(line(lambdaPath, 'Lambda duration (x86_64)').usd).toBeCloseTo(0.5 * 0.0000166667, 12);
    expect(line(lambdaPath, 'Lambda INIT, cold starts (x86_64)').usd).toBeCloseTo(0.4 * 0.0000166667, 12);
  });

  test('CloudWatch Logs: 100 KiB of state machine log + 5 invocations × 2 KiB, at $0.50/GB; one X-Ray trace at $5/M', () => {
    expect(line(lambdaPath, 'CloudWatch Logs ingested').usd).toBeCloseTo((110 * 1024 * 0.5) / 2 ** 30, 14);
    expect(line(lambdaPath, 'X-Ray traces').usd).toBeCloseTo(0.000005, 14);
  });

  test('Lambda requests count every attempt: 2 + 1 + 1 + 1 = 5 × $0.20/M', () => {
    expect(line(lambdaPath, 'Lambda requests').usd).toBeCloseTo(5 * 0.0000002, 14);
  });

  test('Athena: 1,000 bytes bills 10 MB, 15 MB + 1 byte bills 16 MB; 26 MB at $5/TB', () => {
    expect(athenaBilledBytes(1000)).toBe(10 * MiB);
    expect(athenaBilledBytes(15 * MiB + 1)).toBe(16 * MiB);
    expect(athenaBilledBytes(0)).toBe(10 * MiB);
    expect(line(lambdaPath, 'Athena (Verify)').usd).toBeCloseTo(((26 * MiB) / 2 ** 40) * 5, 12);
    expect(line(lambdaPath, 'Athena (Verify)').usd).toBeCloseTo(0.000123978, 9);
  });

  test('S3: 40 PUT/COPY/LIST × $0.005/1,000 + 100 GET × $0.0004/1,000 = $0.00024', () => {
    expect(line(lambdaPath, 'S3 requests').usd).toBeCloseTo(0.0002 + 0.00004, 12);
  });

  test('DynamoDB: 3 writes × $0.625/M + 2 reads × $0.125/M', () => {
    expect(line(lambdaPath, 'DynamoDB (ledger, sink)').usd).toBeCloseTo(0.000001875 + 0.00000025, 14);
  });

  test('Data Catalog and SNS', () => {
    expect(line(lambdaPath, 'Glue Data Catalog requests').usd).toBeCloseTo(3 * 0.000001, 14);
    expect(line(lambdaPath, 'SNS publish').usd).toBeCloseTo(0.0000005, 14);
  });

  test('the Lambda path has no Glue job and no crawler line; the total is the sum', () => {
    const items = costLines(lambdaPath).map((l) => l.item);
    expect(items).not.toContain('Glue job (Spark, G.1X)');
    expect(items).not.toContain('Glue crawler');
    const total =
      0.0005 +
      7.598046875 * 0.0000133334 +
      0.9 * 0.0000166667 +
      0.000001 +
      ((26 * MiB) / 2 ** 40) * 5 +
      0.00024 +
      0.000002125 +
      0.000003 +
      0.0000005 +
      (110 * 1024 * 0.5) / 2 ** 30 +
      0.000005;
    const model = modelRunCost(lambdaPath, {
      states: [],
      transitions: 0,
      engine: 'lambda',
      crawlerRan: false,
      crawlPollSeconds: 30,
      athenaQueries: 0,
    });
    expect(model.totalUsd).toBeCloseTo(total, 12);
  });
});

describe('Glue job and crawler, by hand', () => {
  const glue = (engineMs: number, reportedDpuSeconds?: number) => ({
    engineMs,
    dpus: 2,
    ...(reportedDpuSeconds !== undefined && { reportedDpuSeconds }),
  });

  test('a 12 s job on 2 DPU bills the 1-minute minimum: 120 DPU-s = $0.0146667', () => {
    expect(glueBilledDpuSeconds(glue(12_000))).toBe(120);
    const usage: RunUsage = { ...lambdaPath, lambdas: [], glueJob: glue(12_000) };
    expect(line(usage, 'Glue job (Spark, G.1X)').usd).toBeCloseTo((120 / 3600) * 0.44, 12);
    expect(line(usage, 'Glue job (Spark, G.1X)').usd).toBeCloseTo(0.0146667, 7);
    expect(line(usage, 'Glue job (Spark, G.1X)').quantity).toContain('1-minute minimum');
  });

  test('a 90 s job on 2 DPU bills 180 DPU-s = $0.022', () => {
    expect(glueBilledDpuSeconds(glue(90_000))).toBe(180);
    expect(line({ ...lambdaPath, glueJob: glue(90_000) }, 'Glue job (Spark, G.1X)').usd).toBeCloseTo(
      0.022,
      12,
    );
  });

  test("AWS's DPUSeconds wins over the model, still never under the minimum", () => {
    expect(glueBilledDpuSeconds(glue(12_000, 50))).toBe(120);
    expect(glueBilledDpuSeconds(glue(12_000, 300))).toBe(300);
    expect(line({ ...lambdaPath, glueJob: glue(12_000, 300) }, 'Glue job (Spark, G.1X)').basis).toBe(
      'measured',
    );
  });

  test('a crawl bills 2 DPU × the 10-minute minimum = 1,200 DPU-s = $0.1466667', () => {
    expect(crawlerBilledDpuSeconds()).toBe(1200);
    const usage: RunUsage = { ...lambdaPath, crawlerRan: true };
    expect(line(usage, 'Glue crawler').usd).toBeCloseTo((1200 / 3600) * 0.44, 12);
    expect(line(usage, 'Glue crawler').usd).toBeCloseTo(0.1466667, 7);
  });
});

describe('upload → queryable latency, by hand', () => {
  const task = (name: string, fn: string, durationMs: number): PathState => ({
    name,
    type: 'Task',
    durationMs,
    lambda: { fn, coldStart: true },
  });
  const choice = (name: string): PathState => ({ name, type: 'Choice', durationMs: 1 });
  const head = [
    task('Claim', 'claim', 100),
    choice('ClaimOutcome'),
    task('Validate', 'validate', 800),
    task('CheckStillLatest', 'check-still-latest', 10),
    choice('StillLatest'),
    choice('TransformEngine'),
  ];
  const tail = [task('RegisterPartitions', 'register-partitions', 20), choice('SchemaChanged')];

  test('Lambda path, no crawl: 10.38 s', () => {
    const input: LatencyInput = {
      states: [...head, task('TransformInLambda', 'transform', 1200), ...tail, task('Verify', 'verify', 50)],
      transitions: 10,
      engine: 'lambda',
      crawlerRan: false,
      crawlPollSeconds: 30,
      athenaQueries: 2,
    };
    const parts = latencyParts(input);
    // 1,000 S3→EventBridge + 500 EventBridge→start + 10 × 25 transitions + 1,200 transform
    // + (100 + 800 + 10 + 20) other handlers + cold starts (5 × 400 + 1,500 DuckDB) + 2 × 1,500 Athena
    expect(parts.reduce((s, p) => s + p.ms, 0)).toBe(1000 + 500 + 250 + 1200 + 930 + 3500 + 3000);
    expect(parts.find((p) => p.part.startsWith('Transform in Lambda'))).toMatchObject({
      ms: 1200,
      basis: 'measured',
    });
    expect(parts.some((p) => p.part.startsWith('Glue'))).toBe(false);
  });

  test('Glue path with a crawl: start-up and the crawl (rounded up to the 30 s poll) dominate', () => {
    const input: LatencyInput = {
      states: [
        ...head,
        { name: 'Transform', type: 'Task', durationMs: 2000 },
        ...tail,
        task('StartCrawl', 'start-crawl', 30),
        { name: 'WaitForCrawl', type: 'Wait', durationMs: 0 },
        task('PollCrawl', 'poll-crawl', 5),
        task('Verify', 'verify', 50),
      ],
      transitions: 13,
      engine: 'glue',
      crawlerRan: true,
      crawlPollSeconds: 30,
      athenaQueries: 2,
    };
    const parts = latencyParts(input);
    // 1,000 + 500 + 13 × 25 + 30,000 Glue start-up + 2,000 engine + 930 handlers
    // + 5 × 400 cold starts (the crawl states are inside the modeled crawl) + 90,000 crawl + 3,000 Athena
    expect(parts.reduce((s, p) => s + p.ms, 0)).toBe(
      1000 + 500 + 325 + 30_000 + 2000 + 930 + 2000 + 90_000 + 3000,
    );
    expect(parts.find((p) => p.part === 'Glue job start-up')).toMatchObject({ ms: 30_000, basis: 'modeled' });
  });

  test('a crawl of 90 s polled every 60 s is seen done at 120 s', () => {
    const parts = latencyParts({
      states: [],
      transitions: 0,
      engine: 'none',
      crawlerRan: true,
      crawlPollSeconds: 60,
      athenaQueries: 0,
    });
    expect(parts.find((p) => p.part.startsWith('crawler'))?.ms).toBe(120_000);
  });
});
