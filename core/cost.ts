/**
 * What one run costs on AWS and how long a file takes from upload to queryable, modeled from what
 * the run actually did (states executed, Lambda durations, which transform engine ran, whether the
 * crawler ran, what Verify scanned, objects written). Pure: no SDK, no I/O. The local runtime
 * measures the usage (local/run-cost.ts), this module prices it.
 *
 * Every price is in {@link PRICES} (public us-east-1 list prices, with the page each comes from and
 * when it was read); every figure the local run cannot know (Glue start-up, cold starts, the
 * crawler's run time, Athena's query latency, ...) is in {@link ASSUMPTIONS}, labelled "modeled"
 * wherever it shows up. Free tiers, Savings Plans and volume tiers are ignored: the model prices
 * the marginal run at list price.
 */

/** The day the prices below were read from their pages. */
export const PRICES_READ_ON = '2026-12-05';

export interface Price {
  /** US dollars per one `unit`. */
  readonly usd: number;
  readonly unit: string;
  /** The public page the price is from. */
  readonly source: string;
}

/**
 * Public us-east-1 list prices (read on {@link PRICES_READ_ON}). The only place prices live: the
 * model, `etl runs show`, the bench and the README's cost section all derive from this table.
 */
export const PRICES = {
  stepFunctionsTransition: {
    usd: 0.025 / 1000,
    unit: 'state transition (Standard workflow; retries count)',
    source: 'https://aws.amazon.com/step-functions/pricing/',
  },
  lambdaGbSecondArm64: {
    usd: 0.0000133334,
    unit: 'GB-second of Lambda duration, arm64 (first 7.5 billion GB-s a month)',
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  lambdaGbSecondX86: {
    usd: 0.0000166667,
    unit: 'GB-second of Lambda duration, x86_64 (first 6 billion GB-s a month)',
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  lambdaRequest: {
    usd: 0.2 / 1_000_000,
    unit: 'Lambda request',
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  glueJobDpuHour: {
    usd: 0.44,
    unit: 'DPU-hour of a Spark job (Glue 5.0: billed per second, 1-minute minimum)',
    source: 'https://aws.amazon.com/glue/pricing/',
  },
  glueCrawlerDpuHour: {
    usd: 0.44,
    unit: 'DPU-hour of a crawler run (billed per second, 10-minute minimum per run)',
    source: 'https://aws.amazon.com/glue/pricing/',
  },
  glueCatalogRequest: {
    usd: 1 / 1_000_000,
    unit: 'Data Catalog request (GetTable, BatchCreatePartition, ...) beyond the first million a month',
    source: 'https://aws.amazon.com/glue/pricing/',
  },
  athenaTbScanned: {
    usd: 5,
    unit: 'TB scanned by a SQL query (rounded up to the MB, 10 MB minimum per query)',
    source: 'https://aws.amazon.com/athena/pricing/',
  },
  s3PutCopyListRequest: {
    usd: 0.005 / 1000,
    unit: 'S3 Standard PUT, COPY, POST or LIST request',
    source: 'https://aws.amazon.com/s3/pricing/',
  },
  s3GetRequest: {
    usd: 0.0004 / 1000,
    unit: 'S3 Standard GET, HEAD or other read request',
    source: 'https://aws.amazon.com/s3/pricing/',
  },
  snsPublish: {
    usd: 0.5 / 1_000_000,
    unit: 'SNS publish request (each 64 KB chunk; beyond the first million a month)',
    source: 'https://aws.amazon.com/sns/pricing/',
  },
  dynamoDbWrite: {
    usd: 0.625 / 1_000_000,
    unit: 'DynamoDB on-demand write request unit (an item up to 1 KB)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  cloudWatchLogsIngestedGb: {
    usd: 0.5,
    unit: 'GB of CloudWatch Logs ingested (standard log class)',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  xrayTraceRecorded: {
    usd: 5 / 1_000_000,
    unit: 'X-Ray trace recorded (beyond the first 100,000 a month)',
    source: 'https://aws.amazon.com/xray/pricing/',
  },
  dynamoDbRead: {
    usd: 0.125 / 1_000_000,
    unit: 'DynamoDB on-demand read request unit (strongly consistent, up to 4 KB)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
} as const satisfies Record<string, Price>;

/** Billing rules that go with the prices (same pages). */
export const BILLING = {
  /** Glue 2.0 and later Spark jobs are billed for at least one minute per run. */
  glueJobMinimumSeconds: 60,
  /** A crawler run is billed for at least ten minutes. */
  crawlerMinimumSeconds: 600,
  /** Athena bills at least 10 MB per query and rounds up to the MB. */
  athenaMinimumBytesPerQuery: 10 * 2 ** 20,
  /** Athena's MB and TB, taken as binary units (MiB, TiB). */
  athenaMegabyte: 2 ** 20,
  athenaTerabyte: 2 ** 40,
  /** Lambda GB-s uses the configured memory in GB of 1,024 MiB. */
  lambdaMiBPerGb: 1024,
  /** CloudWatch Logs' GB, taken as 2^30 bytes. */
  logsGigabyte: 2 ** 30,
} as const;

export interface Assumption {
  readonly value: number;
  readonly unit: string;
  /** Where the figure comes from, or why it was chosen when AWS publishes none. */
  readonly source: string;
}

/**
 * Figures a local run cannot measure. Every one is "modeled": replace it with the real figure
 * from a deployed stack (each source says where AWS reports it) and the model follows.
 */
export const ASSUMPTIONS = {
  s3ToEventBridgeMs: {
    value: 1000,
    unit: 'ms from the upload completing to the S3 event reaching EventBridge',
    source:
      'S3 User Guide, "Amazon S3 Event Notifications": events are typically delivered in seconds (sometimes a minute or longer)',
  },
  eventBridgeToExecutionMs: {
    value: 500,
    unit: 'ms from EventBridge to the execution starting (the rule invokes StartExecution)',
    source:
      'no AWS-published figure; sub-second target delivery is typical. Measured on AWS: the ExecutionStarted timestamp minus the S3 event time',
  },
  transitionOverheadMs: {
    value: 25,
    unit: 'ms of Step Functions overhead per state transition',
    source:
      'no AWS-published figure; measured on AWS as the gap between one state exiting and the next entering',
  },
  lambdaColdStartMs: {
    value: 400,
    unit: 'ms of INIT for a step Lambda (Node.js 22, one bundled file), once per function per run',
    source:
      'no AWS-published figure; the Lambda docs list INIT as billed duration (INIT phase billing, Aug 2025). CloudWatch reports it as "Init Duration"',
  },
  transformLambdaColdStartMs: {
    value: 1500,
    unit: 'ms of INIT for the Transform Lambda (loads the DuckDB native binding)',
    source: 'no AWS-published figure; CloudWatch reports it as "Init Duration"',
  },
  glueJobStartupMs: {
    value: 30_000,
    unit: 'ms from StartJobRun to the Spark job running (not billed)',
    source:
      'Glue docs, "Running Spark ETL jobs with reduced startup times" (Glue 2.0 and later; no figure given): tens of seconds, as issue 12 records. AWS reports it as the job run\'s StartedOn to the driver\'s first log line',
  },
  glueDpusPerSmallRun: {
    value: 2,
    unit: 'DPUs a run of a small file uses (G.1X = 1 DPU: the driver and one executor)',
    source:
      'Glue docs, "Using auto scaling for AWS Glue": workers are added only while Spark has pending tasks; the job run\'s DPUSeconds reports the real figure',
  },
  crawlerDpus: {
    value: 2,
    unit: 'DPUs a crawl of one table uses',
    source: "no AWS-published figure; the crawler's CrawlerHistory DPUHour reports the real one",
  },
  crawlerRunMs: {
    value: 90_000,
    unit: 'ms a crawl of the curated tables takes (start-up included)',
    source: 'no AWS-published figure; GetCrawlerMetrics LastRuntimeSeconds reports the real one',
  },
  lambdaLogBytesPerInvocation: {
    value: 2048,
    unit: 'bytes of CloudWatch Logs per Lambda invocation (START/END/REPORT, Powertools lines, the EMF metrics)',
    source: "no AWS-published figure; the log group's IncomingBytes metric reports the real one",
  },
  athenaQueryMs: {
    value: 1500,
    unit: "ms per Athena query over one file's objects (queue, planning, scan, result)",
    source:
      'no AWS-published figure; QueryExecution.Statistics.TotalExecutionTimeInMillis reports the real one',
  },
} as const satisfies Record<string, Assumption>;

/** One Lambda invocation the run made (retries are invocations too). */
export interface LambdaUse {
  /** The state that invoked it. */
  readonly state: string;
  /** The function (folder under functions/). */
  readonly fn: string;
  readonly memoryMiB: number;
  readonly architecture: 'arm64' | 'x86_64';
  /** Handler time, measured (all attempts of the state). */
  readonly durationMs: number;
  readonly invocations: number;
  /** First use of the function in this run: adds the modeled INIT time. */
  readonly coldStart: boolean;
}

/** What one run did, in the units AWS bills. */
export interface RunUsage {
  /** State transitions: every state entered, plus every retry of a Task. */
  readonly transitions: number;
  readonly lambdas: readonly LambdaUse[];
  /** The Glue Spark job ran (the Transform state). */
  readonly glueJob?: {
    /** Engine time, measured locally with the stand-in engine (or the job's ExecutionTime on AWS). */
    readonly engineMs: number;
    readonly dpus: number;
    /** What AWS reported, when it did (`DPUSeconds` of an auto-scaling run): used instead of dpus × time. */
    readonly reportedDpuSeconds?: number;
  };
  /** The crawler ran (SchemaChanged chose StartCrawl). */
  readonly crawlerRan: boolean;
  /** Bytes each Athena query scanned (one entry per query). */
  readonly athenaQueryBytes: readonly number[];
  readonly s3: { readonly putCopyList: number; readonly get: number };
  readonly snsPublishes: number;
  readonly dynamoDb: { readonly writes: number; readonly reads: number };
  readonly catalogRequests: number;
  /**
   * Bytes the state machine logs (level ALL with execution data: one log event per history event,
   * so the history's JSON size).
   */
  readonly stateMachineLogBytes: number;
  /** X-Ray traces recorded (the state machine and its Lambdas trace one execution as one trace). */
  readonly traces: number;
}

export interface CostLine {
  readonly item: string;
  /** How much of what, in words ("14 transitions", "2 DPU × 60 s (1-minute minimum)"). */
  readonly quantity: string;
  readonly usd: number;
  /** "measured" when every input was measured by the run, "modeled" when an assumption went in. */
  readonly basis: 'measured' | 'modeled';
}

export interface LatencyPart {
  readonly part: string;
  readonly ms: number;
  readonly basis: 'measured' | 'modeled';
}

/** The cost and latency of one run. */
export interface RunCostModel {
  readonly lines: readonly CostLine[];
  readonly totalUsd: number;
  /** Upload to the data being queryable in Athena (Verify's queries done). */
  readonly latency: { readonly parts: readonly LatencyPart[]; readonly totalMs: number };
  /** Which transform ran: `lambda` (TransformInLambda), `glue` (Transform) or none (rejected, stale, ...). */
  readonly transformEngine: 'lambda' | 'glue' | 'none';
  readonly crawlerRan: boolean;
  readonly pricesReadOn: string;
}

const gbSeconds = (l: LambdaUse, withInit: boolean): number =>
  (l.memoryMiB / BILLING.lambdaMiBPerGb) *
  ((l.durationMs + (withInit && l.coldStart ? coldStartOf(l).value : 0)) / 1000);

function coldStartOf(l: Pick<LambdaUse, 'fn'>): Assumption {
  return l.fn === 'transform' ? ASSUMPTIONS.transformLambdaColdStartMs : ASSUMPTIONS.lambdaColdStartMs;
}

/** Bytes Athena bills for one query: rounded up to the MB, at least 10 MB. */
export function athenaBilledBytes(scanned: number): number {
  const rounded = Math.ceil(Math.max(0, scanned) / BILLING.athenaMegabyte) * BILLING.athenaMegabyte;
  return Math.max(BILLING.athenaMinimumBytesPerQuery, rounded);
}

/** Glue DPU-seconds billed for one job run: AWS's figure, or dpus × time; never under the 1-minute minimum. */
export function glueBilledDpuSeconds(job: NonNullable<RunUsage['glueJob']>): number {
  const minimum = job.dpus * BILLING.glueJobMinimumSeconds;
  const used = job.reportedDpuSeconds ?? job.dpus * (job.engineMs / 1000);
  return Math.max(minimum, used);
}

/** DPU-seconds billed for one crawler run (10-minute minimum). */
export function crawlerBilledDpuSeconds(): number {
  const seconds = Math.max(BILLING.crawlerMinimumSeconds, ASSUMPTIONS.crawlerRunMs.value / 1000);
  return ASSUMPTIONS.crawlerDpus.value * seconds;
}

const round = (n: number, digits = 1) => Number(n.toFixed(digits));

/** The line items and total of one run, in USD. */
export function costLines(usage: RunUsage): CostLine[] {
  const lines: CostLine[] = [];
  lines.push({
    item: 'Step Functions state transitions',
    quantity: `${usage.transitions} transitions`,
    usd: usage.transitions * PRICES.stepFunctionsTransition.usd,
    basis: 'measured',
  });
  for (const arch of ['arm64', 'x86_64'] as const) {
    const ls = usage.lambdas.filter((l) => l.architecture === arch);
    if (ls.length === 0) continue;
    const handler = ls.reduce((s, l) => s + gbSeconds(l, false), 0);
    const init = ls.reduce((s, l) => s + gbSeconds(l, true), 0) - handler;
    const price = arch === 'arm64' ? PRICES.lambdaGbSecondArm64 : PRICES.lambdaGbSecondX86;
    const functions = ls.filter((l) => l.coldStart).length;
    lines.push({
      item: `Lambda duration (${arch})`,
      quantity: `${round(handler, 3)} GB-s (handler time measured locally × configured memory)`,
      usd: handler * price.usd,
      basis: 'measured',
    });
    if (init > 0)
      lines.push({
        item: `Lambda INIT, cold starts (${arch})`,
        quantity: `${round(init, 3)} GB-s (${functions} function${functions === 1 ? '' : 's'}, one cold start each)`,
        usd: init * price.usd,
        basis: 'modeled',
      });
  }
  const invocations = usage.lambdas.reduce((s, l) => s + l.invocations, 0);
  if (invocations > 0)
    lines.push({
      item: 'Lambda requests',
      quantity: `${invocations} invocations`,
      usd: invocations * PRICES.lambdaRequest.usd,
      basis: 'measured',
    });
  if (usage.glueJob) {
    const dpuSeconds = glueBilledDpuSeconds(usage.glueJob);
    const minimum = dpuSeconds === usage.glueJob.dpus * BILLING.glueJobMinimumSeconds;
    lines.push({
      item: 'Glue job (Spark, G.1X)',
      quantity: `${round(dpuSeconds)} DPU-s (${usage.glueJob.dpus} DPU${minimum ? ', 1-minute minimum' : ''})`,
      usd: (dpuSeconds / 3600) * PRICES.glueJobDpuHour.usd,
      basis: usage.glueJob.reportedDpuSeconds !== undefined ? 'measured' : 'modeled',
    });
  }
  if (usage.crawlerRan) {
    const dpuSeconds = crawlerBilledDpuSeconds();
    lines.push({
      item: 'Glue crawler',
      quantity: `${round(dpuSeconds)} DPU-s (${ASSUMPTIONS.crawlerDpus.value} DPU, 10-minute minimum)`,
      usd: (dpuSeconds / 3600) * PRICES.glueCrawlerDpuHour.usd,
      basis: 'modeled',
    });
  }
  if (usage.athenaQueryBytes.length > 0) {
    const billed = usage.athenaQueryBytes.reduce((s, b) => s + athenaBilledBytes(b), 0);
    lines.push({
      item: 'Athena (Verify)',
      quantity: `${usage.athenaQueryBytes.length} queries, ${round(billed / BILLING.athenaMegabyte)} MB billed (10 MB minimum each)`,
      usd: (billed / BILLING.athenaTerabyte) * PRICES.athenaTbScanned.usd,
      basis: 'modeled',
    });
  }
  lines.push({
    item: 'S3 requests',
    quantity: `${usage.s3.putCopyList} PUT/COPY/LIST, ${usage.s3.get} GET/HEAD`,
    usd: usage.s3.putCopyList * PRICES.s3PutCopyListRequest.usd + usage.s3.get * PRICES.s3GetRequest.usd,
    basis: 'modeled',
  });
  if (usage.dynamoDb.writes + usage.dynamoDb.reads > 0)
    lines.push({
      item: 'DynamoDB (ledger, sink)',
      quantity: `${usage.dynamoDb.writes} writes, ${usage.dynamoDb.reads} reads`,
      usd: usage.dynamoDb.writes * PRICES.dynamoDbWrite.usd + usage.dynamoDb.reads * PRICES.dynamoDbRead.usd,
      basis: 'modeled',
    });
  if (usage.catalogRequests > 0)
    lines.push({
      item: 'Glue Data Catalog requests',
      quantity: `${usage.catalogRequests} requests`,
      usd: usage.catalogRequests * PRICES.glueCatalogRequest.usd,
      basis: 'modeled',
    });
  const lambdaLogBytes =
    usage.lambdas.reduce((s, l) => s + l.invocations, 0) * ASSUMPTIONS.lambdaLogBytesPerInvocation.value;
  const logBytes = usage.stateMachineLogBytes + lambdaLogBytes;
  if (logBytes > 0)
    lines.push({
      item: 'CloudWatch Logs ingested',
      quantity: `${round(usage.stateMachineLogBytes / 1024)} KiB state machine (ALL + execution data) + ${round(lambdaLogBytes / 1024)} KiB Lambda`,
      usd: (logBytes / BILLING.logsGigabyte) * PRICES.cloudWatchLogsIngestedGb.usd,
      basis: 'modeled',
    });
  if (usage.traces > 0)
    lines.push({
      item: 'X-Ray traces',
      quantity: `${usage.traces} trace${usage.traces === 1 ? '' : 's'}`,
      usd: usage.traces * PRICES.xrayTraceRecorded.usd,
      basis: 'measured',
    });
  if (usage.snsPublishes > 0)
    lines.push({
      item: 'SNS publish',
      quantity: `${usage.snsPublishes} message${usage.snsPublishes === 1 ? '' : 's'}`,
      usd: usage.snsPublishes * PRICES.snsPublish.usd,
      basis: 'measured',
    });
  return lines;
}

/** A state on the way from upload to queryable, as the latency model needs it. */
export interface PathState {
  readonly name: string;
  readonly type: string;
  /** Measured locally (all attempts). */
  readonly durationMs: number;
  /** For a Lambda task: the function, and whether this is its first use in the run. */
  readonly lambda?: { readonly fn: string; readonly coldStart: boolean };
}

export interface LatencyInput {
  /** States entered up to and including Verify, in order. */
  readonly states: readonly PathState[];
  readonly transitions: number;
  readonly engine: 'lambda' | 'glue' | 'none';
  readonly crawlerRan: boolean;
  /** The crawler poll's Wait seconds (WaitForCrawl): a crawl is seen done only at a poll. */
  readonly crawlPollSeconds: number;
  readonly athenaQueries: number;
}

const CRAWL_STATES = new Set(['StartCrawl', 'WaitForCrawl', 'PollCrawl']);

/** Upload → queryable, by part. Measured parts are the local handler times; the rest is modeled. */
export function latencyParts(input: LatencyInput): LatencyPart[] {
  const parts: LatencyPart[] = [
    { part: 'S3 event → EventBridge', ms: ASSUMPTIONS.s3ToEventBridgeMs.value, basis: 'modeled' },
    {
      part: 'EventBridge → execution start',
      ms: ASSUMPTIONS.eventBridgeToExecutionMs.value,
      basis: 'modeled',
    },
    {
      part: `Step Functions, ${input.transitions} transitions`,
      ms: input.transitions * ASSUMPTIONS.transitionOverheadMs.value,
      basis: 'modeled',
    },
  ];
  let coldStarts = 0;
  let lambdaMs = 0;
  for (const s of input.states) {
    if (CRAWL_STATES.has(s.name) && input.crawlerRan) continue; // replaced by the modeled crawl below
    if (s.name === 'Verify') continue; // Athena on AWS, DuckDB locally: modeled below
    if (s.lambda?.coldStart) coldStarts += coldStartOf(s.lambda).value;
    if (s.name === 'Transform' && input.engine === 'glue') {
      parts.push({ part: 'Glue job start-up', ms: ASSUMPTIONS.glueJobStartupMs.value, basis: 'modeled' });
      parts.push({ part: 'Transform engine (measured locally)', ms: s.durationMs, basis: 'measured' });
      continue;
    }
    if (s.lambda?.fn === 'transform') {
      parts.push({ part: 'Transform in Lambda (measured locally)', ms: s.durationMs, basis: 'measured' });
      continue;
    }
    if (s.lambda) lambdaMs += s.durationMs;
  }
  const verify = input.states.find((s) => s.name === 'Verify');
  if (verify?.lambda?.coldStart) coldStarts += coldStartOf(verify.lambda).value;
  parts.push({ part: 'other Lambda handlers (measured locally)', ms: lambdaMs, basis: 'measured' });
  if (coldStarts > 0) parts.push({ part: 'Lambda cold starts', ms: coldStarts, basis: 'modeled' });
  if (input.crawlerRan) {
    const poll = Math.max(1, input.crawlPollSeconds) * 1000;
    parts.push({
      part: 'crawler (seen done at a poll)',
      ms: Math.ceil(ASSUMPTIONS.crawlerRunMs.value / poll) * poll,
      basis: 'modeled',
    });
  }
  if (verify)
    parts.push({
      part: `Athena, ${input.athenaQueries} Verify queries`,
      ms: input.athenaQueries * ASSUMPTIONS.athenaQueryMs.value,
      basis: 'modeled',
    });
  return parts;
}

/** Prices a run's usage and models its latency. */
export function modelRunCost(usage: RunUsage, latency: LatencyInput): RunCostModel {
  const lines = costLines(usage);
  const parts = latencyParts(latency);
  return {
    lines,
    totalUsd: lines.reduce((s, l) => s + l.usd, 0),
    latency: { parts, totalMs: parts.reduce((s, p) => s + p.ms, 0) },
    transformEngine: latency.engine,
    crawlerRan: usage.crawlerRan,
    pricesReadOn: PRICES_READ_ON,
  };
}

/** `$0.000734` — enough digits to see a line item of a tenth of a thousandth of a cent. */
export function formatUsd(usd: number): string {
  if (usd === 0) return '$0';
  if (usd >= 0.01) return `$${usd.toFixed(4)}`;
  if (usd >= 0.00001) return `$${usd.toFixed(6)}`;
  return `$${usd.toFixed(7)}`;
}
