/**
 * A run's modeled AWS cost and upload→queryable latency (core/cost.ts), from what the run record
 * says it did: the states it entered (transitions, retries), each Lambda's measured duration at the
 * memory the stack gives that function (functions/sizing.ts), which transform ran (TransformInLambda
 * or the Glue job at Transform), whether the crawler ran, how many queries Verify ran over how many
 * bytes, and the objects it wrote (counted in the local lake).
 *
 * S3 and DynamoDB requests per state follow what each step's code does (named below per state);
 * Spark's and Athena's own S3 reads are modeled, not counted.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  ASSUMPTIONS,
  modelRunCost,
  type LambdaUse,
  type PathState,
  type RunCostModel,
  type RunUsage,
} from '../core/cost';
import type { TransformManifest } from '../core/steps';
import { functionSizing, GLUE_JOB_SIZING } from '../functions/sizing';
import { TASK_STATES } from '../statemachines/definition';
import type { StateVisit } from './history';
import { visitsOf, type RunRecord } from './run-record';

/** Maps a bucket/key (or prefix) to the local file or folder. */
export type PathOf = (bucket: string, key: string) => string;

/** An S3 upload up to this size is one PUT; larger ones are multipart (lib-storage's default part size). */
export const MULTIPART_PART_BYTES = 5 * 2 ** 20;
/** The crawler poll's Wait (WaitForCrawl Seconds in statemachines/pipeline.asl.json). */
export const CRAWL_POLL_SECONDS = 30;
/** Partitions one BatchCreatePartition call takes (Glue's limit). */
const PARTITIONS_PER_BATCH = 100;
/** Modeled: reads Spark's writer and Athena make per Parquet object (footer, then the row groups). */
const READS_PER_PARQUET_OBJECT = 2;
/** Modeled: objects Athena writes per query (the result CSV and its metadata). */
const ATHENA_RESULT_OBJECTS = 2;

export interface RunCostOptions {
  /** Local path of a bucket/key, to count and size the objects the run wrote. */
  readonly pathOf: PathOf;
  /** The transform's manifest, when it wrote one. */
  readonly manifest?: TransformManifest;
  /** The stack's `etl:glueMaxWorkers` (caps the modeled DPUs). @default GLUE_JOB_SIZING.defaultMaxWorkers */
  readonly glueMaxWorkers?: number;
}

interface Location {
  readonly bucket: string;
  readonly key: string;
}

const isLocation = (v: unknown): v is Location =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Location).bucket === 'string' &&
  typeof (v as Location).key === 'string';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Sizes of the files under a local folder (recursively); [] when it does not exist. */
function fileSizes(dir: string): number[] {
  try {
    return readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile())
      .map((e) => statSync(path.join(e.parentPath, e.name)).size);
  } catch {
    return [];
  }
}

function sizeOf(file: string): number | undefined {
  try {
    return statSync(file).size;
  } catch {
    return undefined;
  }
}

/** PUT requests to upload an object of `bytes` (multipart: create + parts + complete). */
export function putRequestsFor(bytes: number): number {
  return bytes <= MULTIPART_PART_BYTES ? 1 : Math.ceil(bytes / MULTIPART_PART_BYTES) + 2;
}

function lambdaFunctionOf(state: string): string | undefined {
  const t = (TASK_STATES as Readonly<Record<string, { kind: string; function?: string }>>)[state];
  return t?.kind === 'lambda' ? t.function : undefined;
}

/** Field `name` of a visit's output object (the ResultPath the step wrote). */
function resultOf(visit: StateVisit | undefined, field: string): Record<string, unknown> | undefined {
  const v = (visit?.output as Record<string, unknown> | undefined)?.[field];
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
}

/** Models the cost and latency of a finished (or stopped) run. Never throws on a partial record. */
export function modelRecordCost(record: RunRecord, options: RunCostOptions): RunCostModel {
  const visits = visitsOf(record);
  const { pathOf, manifest } = options;
  const last = (name: string) => visits.findLast((v) => v.name === name);

  // Transitions: every state entered, plus each retry of a Task (AWS bills both).
  const transitions = visits.length + visits.reduce((s, v) => s + v.retries, 0);

  const seen = new Set<string>();
  const lambdas: LambdaUse[] = [];
  const pathStates: PathState[] = [];
  let pastVerify = false;
  let pathTransitions = 0;
  for (const v of visits) {
    const fn = v.type === 'Task' ? lambdaFunctionOf(v.name) : undefined;
    const coldStart = fn !== undefined && !seen.has(fn);
    if (fn !== undefined) {
      seen.add(fn);
      lambdas.push({
        state: v.name,
        fn,
        ...functionSizing(fn),
        durationMs: v.durationMs ?? 0,
        invocations: Math.max(1, v.attempts),
        coldStart,
      });
    }
    if (!pastVerify) pathTransitions += 1 + v.retries;
    if (!pastVerify)
      pathStates.push({
        name: v.name,
        type: v.type,
        durationMs: v.durationMs ?? 0,
        ...(fn !== undefined && { lambda: { fn, coldStart } }),
      });
    if (v.name === 'Verify') pastVerify = true;
  }

  const glueVisit = last('Transform');
  const lambdaTransform = last('TransformInLambda');
  const engine = lambdaTransform ? 'lambda' : glueVisit ? 'glue' : 'none';
  const transform = resultOf(glueVisit, 'transform');
  const maxWorkers = options.glueMaxWorkers ?? GLUE_JOB_SIZING.defaultMaxWorkers;
  // The Glue job's ExecutionTime (whole seconds, what Glue bills) when it reported one, else the state's time.
  const executionSeconds = num(transform?.executionTime);
  const glueJob: RunUsage['glueJob'] = glueVisit
    ? {
        engineMs:
          executionSeconds !== undefined && executionSeconds > 0
            ? executionSeconds * 1000
            : (glueVisit.durationMs ?? 0),
        dpus: Math.min(maxWorkers, ASSUMPTIONS.glueDpusPerSmallRun.value) * GLUE_JOB_SIZING.dpuPerWorker,
        // An auto-scaling JobRun carries DPUSeconds; the Transform state's ResultSelector keeps it
        // as dpuSeconds only if it selects it (it does not today: the field is absent on some runs).
        ...(num(transform?.dpuSeconds) !== undefined && { reportedDpuSeconds: num(transform?.dpuSeconds)! }),
      }
    : undefined;
  const crawlerRan = visits.some((v) => v.name === 'StartCrawl');

  // What the run wrote, counted in the lake.
  const validate = resultOf(last('Validate'), 'validate');
  const staging = isLocation(validate?.staging)
    ? fileSizes(pathOf(validate.staging.bucket, validate.staging.key.replace(/\/$/, '')))
    : [];
  const rejectObjects = [validate?.rejects, validate?.report].filter(
    (l): l is Location => isLocation(l) && sizeOf(pathOf(l.bucket, l.key)) !== undefined,
  );
  const lakeBucket = isLocation(validate?.staging) ? validate.staging.bucket : undefined;
  const curated = manifest?.objects ?? [];
  const curatedBytes = curated.map((key) => (lakeBucket ? (sizeOf(pathOf(lakeBucket, key)) ?? 0) : 0));
  const partitions = manifest?.partitions.length ?? 0;

  let putCopyList = 0;
  let get = 0;
  let writes = 0;
  let reads = 0;
  let catalogRequests = 0;
  let sns = 0;
  const athenaQueryBytes: number[] = [];
  const ran = (name: string) => visits.some((v) => v.name === name);
  // Claim: a ledger read (an earlier claim of this version?) and the conditional claim write.
  if (ran('Claim')) {
    reads += 1;
    writes += 1;
  }
  // Validate: reads the original once, writes staging (plan.json, _SUCCESS, parts) and the rejects.
  if (ran('Validate')) {
    get += 1;
    putCopyList += staging.reduce((s, b) => s + putRequestsFor(b), 0) + rejectObjects.length;
  }
  if (ran('CheckStillLatest')) reads += 1;
  if (engine !== 'none') {
    // Both engines: list and read staging, read the manifest in place, write the Parquet and the manifest.
    putCopyList += 1 + curatedBytes.reduce((s, b) => s + putRequestsFor(b), 0) + 1;
    get += staging.length + 1;
    // The Glue job writes under tmp/ first, then copies each object into curated/ (glue/etl_job.py),
    // and Spark's writer lists and reads back what it wrote.
    if (engine === 'glue') {
      putCopyList += curated.length + 1 + partitions;
      get += curated.length * READS_PER_PARQUET_OBJECT;
    }
  }
  // RegisterPartitions: HEAD + GET the manifest, GetTable, one BatchCreatePartition per 100.
  if (ran('RegisterPartitions')) {
    get += 2;
    catalogRequests += 1 + Math.ceil(partitions / PARTITIONS_PER_BATCH);
  }
  // Verify: reads the manifest; each query lists the partitions, reads this file's objects, writes its result.
  const verify = resultOf(last('Verify'), 'verify');
  if (verify) {
    const checks = Array.isArray(verify.checks) ? verify.checks.length : 0;
    const reported = num(verify.bytesScanned);
    const outputBytes = curatedBytes.reduce((s, b) => s + b, 0);
    for (let i = 0; i < checks; i++)
      athenaQueryBytes.push(reported !== undefined ? reported / checks : outputBytes);
    get += 1 + checks * curated.length * READS_PER_PARQUET_OBJECT;
    putCopyList += checks * (Math.max(1, partitions) + ATHENA_RESULT_OBJECTS);
    catalogRequests += checks; // Athena's GetTable
  }
  // Sinks: one DynamoDB write per item written (retries included); the warehouse is billed apart.
  const dynamoSink = resultOf(last('LoadDynamoDbSink'), 'sinks');
  const sinkResult = (dynamoSink?.dynamodb ?? undefined) as Record<string, unknown> | undefined;
  if (sinkResult) {
    writes += (num(sinkResult.written) ?? 0) + (num(sinkResult.retried) ?? 0);
    get += curated.length;
  }
  // Archive: copy the original to archive/ (the delete is free) and settle the ledger.
  if (ran('Archive')) {
    putCopyList += 1;
    writes += 1;
  }
  // Quarantine: copy the original, write reason.json, settle the ledger.
  if (ran('Quarantine')) {
    putCopyList += 2;
    writes += 1;
  }
  sns += visits.filter((v) => v.name === 'Notify' || v.name === 'NotifyRejected').length;

  const usage: RunUsage = {
    transitions,
    lambdas,
    ...(glueJob && { glueJob }),
    crawlerRan,
    athenaQueryBytes,
    s3: { putCopyList, get },
    snsPublishes: sns,
    dynamoDb: { writes, reads },
    catalogRequests,
    // Step Functions logs every history event (level ALL, execution data included: infra/etl-pipeline.ts).
    stateMachineLogBytes: Buffer.byteLength(JSON.stringify(record.events)),
    traces: 1,
  };
  return modelRunCost(usage, {
    states: pathStates,
    transitions: pathTransitions,
    engine,
    crawlerRan,
    crawlPollSeconds: CRAWL_POLL_SECONDS,
    athenaQueries: athenaQueryBytes.length,
  });
}
