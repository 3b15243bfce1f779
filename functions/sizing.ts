/**
 * How the stack sizes what the cost model prices: each step Lambda's memory and architecture, and
 * the Glue job's worker type and worker ceiling. Data only (no CDK, no SDK), so the local runtime,
 * `etl runs show` and the bench read the same figures the stack deploys.
 * test/infra/sizing.test.ts synthesizes the stack and fails when a deployed figure differs from
 * this table, so the modeled cost (core/cost.ts) always uses the configured memory.
 */
import { STEPS } from './steps';

/**
 * Memory per step function, MiB: the one table the stack (infra/etl-pipeline.ts) deploys and the cost
 * model prices. Validate streams and checks every row (CPU-bound), so it gets a full vCPU; the ledger
 * and crawler steps make one or two small calls. Functions missing here (none today) get
 * {@link DEFAULT_MEMORY_MIB}.
 */
export const STEP_MEMORY_MIB: Readonly<Record<string, number>> = {
  claim: 256,
  validate: 1769,
  'check-still-latest': 256,
  // GetTable, a manifest read and one BatchCreatePartition per 100 partitions.
  'register-partitions': 256,
  // The Transform Lambda (DuckDB); `etl:transformLambdaMemoryMiB` changes it per stack.
  transform: 3008,
  'start-crawl': 256,
  'poll-crawl': 256,
  quarantine: 512,
  verify: 256,
  // DuckDB reads the run's Parquet into items.
  'load-dynamodb-sink': 1024,
  'load-redshift-sink': 256,
  archive: 512,
  reconcile: 512,
  'record-failure': 256,
  // Streams downloads into S3 (≤ 5 parts of 5 MiB in flight); memory also buys network bandwidth.
  pull: 512,
};

/** The stack's memory for a step it has no figure for. */
export const DEFAULT_MEMORY_MIB = 512;

/** The Glue job: G.1X workers (1 DPU each), at most `etl:glueMaxWorkers` of them (infra/config.ts default). */
export const GLUE_JOB_SIZING = { workerType: 'G.1X', dpuPerWorker: 1, defaultMaxWorkers: 10 } as const;

export interface FunctionSizing {
  readonly memoryMiB: number;
  readonly architecture: 'arm64' | 'x86_64';
}

/** Memory and architecture of `fn` (a folder under functions/) as deployed. */
export function functionSizing(fn: string): FunctionSizing {
  const registration = (STEPS as Readonly<Record<string, { architecture?: 'arm64' | 'x86_64' }>>)[fn];
  return {
    memoryMiB: STEP_MEMORY_MIB[fn] ?? DEFAULT_MEMORY_MIB,
    architecture: registration?.architecture ?? 'arm64',
  };
}
