/**
 * The stack's configuration: typed, validated once, with errors that say which setting, where it
 * came from and what to do. Every setting can come from CDK context (`cdk.json` or
 * `-c etl:<name>=<value>`) or from an environment variable `ETL_<NAME>`; the environment wins, so
 * CI and one-off deploys override the committed defaults without editing files.
 *
 * Datasets are not configured by hand: they are the contracts under `schemas/`
 * (core/contract.ts), optionally narrowed to a list. Several datasets share one stack.
 */
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { findContract, listDatasets, DEFAULT_SCHEMAS_DIR, type DatasetContract } from '../core/contract';
import { DEFAULT_VALIDATE_MAX_FILE_BYTES } from '../core/file-size-limit';
import { DEFAULT_TRANSFORM_LAMBDA_MAX_BYTES } from '../core/steps';

/** The address cdk.json ships with, so `cdk synth` works out of the box. Deploying with it warns. */
export const PLACEHOLDER_EMAIL = 'etl-alerts@example.com';

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export interface GlueSettings {
  /** Upper bound of the autoscaling G.1X workers of one run. @default 10 */
  readonly maxWorkers: number;
  /**
   * How many Glue transform runs execute at once (the job's MaxConcurrentRuns). A run past it waits
   * in Glue's queue (job-run queuing: JobRunQueuingEnabled on the job and on every run the
   * Transform state starts), so a burst is delayed, not failed; the wait counts against the
   * Transform task's timeout (statemachines/README.md). @default 5
   */
  readonly maxConcurrentRuns: number;
}

/** The Transform Lambda (functions/transform) and the routing to it (transform/README.md, "Right-sized engine"). */
export interface TransformLambdaSettings {
  /**
   * Staging bytes up to which Validate routes a file to the Lambda; larger files go to Glue (0:
   * every file to Glue). @default core/steps DEFAULT_TRANSFORM_LAMBDA_MAX_BYTES (1 GiB of staging, ≈ 430 MB of CSV)
   */
  readonly maxBytes: number;
  /** Memory in MiB (3,008–10,240; CPU grows with it). @default 3008 */
  readonly memoryMiB: number;
  /** /tmp in MiB: staging copies + Parquet + DuckDB spill. @default 3072 (about 2.6× a 1 GiB staging's needs) */
  readonly ephemeralStorageMiB: number;
  /** Reserved concurrency: at most this many transforms at once, and never starved by others. @default 10 */
  readonly reservedConcurrency: number;
}

/** The validate Lambda (functions/validate): every file passes it, so a burst is mostly validates. */
export interface ValidateLambdaSettings {
  /**
   * Reserved concurrency: at most this many validates at once, so a burst cannot take the
   * account's whole Lambda pool from the other steps (and other applications); a validate past it
   * is throttled and the Validate state outwaits it (its own Lambda.TooManyRequestsException
   * retrier, ≈ 17 min at most). 0: no reservation (shares the account pool; for accounts whose
   * concurrency limit leaves no room to reserve). @default 10
   */
  readonly reservedConcurrency: number;
  /**
   * Largest landing file (bytes) Validate takes; a larger one is REJECTED FILE_TOO_LARGE from its
   * size, before it is read, instead of timing out. @default core/file-size-limit
   * DEFAULT_VALIDATE_MAX_FILE_BYTES (measured one-thread throughput × the 855 s timeout × 0.6)
   */
  readonly maxFileBytes: number;
  /**
   * /tmp in MiB. The DuckDB fast path (csv/sql-validate.ts) downloads the file there and asks
   * for half of it and 160 MiB more (chunk files, spill, Parquet staging); a file without room
   * takes the streaming path, which needs none (about half as fast on the bench file).
   * @default 4096 (the fast path for files up to about 2.6 GB)
   */
  readonly ephemeralStorageMiB: number;
}

export interface PipelineConfig {
  /** Prefix of every physical name (Glue database, workgroup, crawler, log groups). @default 'serverless-etl' */
  readonly namePrefix: string;
  /**
   * Where failure and rejection e-mails go (an SNS e-mail subscription to confirm). Required: the
   * committed cdk.json holds {@link PLACEHOLDER_EMAIL}, which synthesizes but warns before a deploy.
   */
  readonly notificationEmail: string;
  /** The datasets this stack processes, with their contracts. @default every contract under schemas/ */
  readonly datasets: readonly DatasetContract[];
  /** Folder the contracts were read from (bundled into the functions). @default the repository's schemas/ */
  readonly schemasDir: string;
  /** Retention of every log group (a value CloudWatch Logs accepts). @default 30 */
  readonly logRetentionDays: number;
  /** staging/ objects expire after this many days (they are rebuilt from the original). @default 7 */
  readonly stagingExpirationDays: number;
  /** Overwritten and deleted object versions are kept this long, then expire. @default 90 */
  readonly noncurrentVersionExpirationDays: number;
  /** Athena query results expire after this many days. @default 30 */
  readonly athenaResultsExpirationDays: number;
  /** Athena refuses queries that would scan more than this. @default 10 GiB */
  readonly athenaBytesScannedCutoff: number;
  /** The transform job's size and concurrency (`etl:glueMaxWorkers`, `etl:glueMaxConcurrentRuns`). */
  readonly glue: GlueSettings;
  /**
   * The Transform Lambda: `etl:transformLambdaMaxBytes`, `etl:transformLambdaMemoryMiB`,
   * `etl:transformLambdaEphemeralStorageMiB`, `etl:transformLambdaReservedConcurrency`.
   */
  readonly transformLambda: TransformLambdaSettings;
  /**
   * The validate Lambda: `etl:validateReservedConcurrency`, `etl:validateMaxFileBytes`,
   * `etl:validateEphemeralStorageMiB`.
   */
  readonly validateLambda: ValidateLambdaSettings;
  /** How often the reconcile sweep looks for files whose event was missed, in minutes. @default 60 */
  readonly reconcileEveryMinutes: number;
  /** Keep buckets, the key and the ledger when the stack is deleted. @default true */
  readonly retainData: boolean;
  /** Problems that do not stop a synth but should be read before a deploy. @default none */
  readonly warnings: readonly string[];
}

/** A setting is missing or wrong. The message names the setting, its source and the fix. */
export class InfraConfigError extends Error {
  override readonly name = 'InfraConfigError';
}

/** Settings read from context/env, before defaults; keys are the context names without `etl:`. */
const SETTINGS = {
  namePrefix: { env: 'ETL_NAME_PREFIX', default: 'serverless-etl' },
  notificationEmail: { env: 'ETL_NOTIFICATION_EMAIL', default: undefined },
  datasets: { env: 'ETL_DATASETS', default: undefined },
  schemasDir: { env: 'ETL_SCHEMAS_DIR', default: DEFAULT_SCHEMAS_DIR },
  logRetentionDays: { env: 'ETL_LOG_RETENTION_DAYS', default: 30 },
  stagingExpirationDays: { env: 'ETL_STAGING_EXPIRATION_DAYS', default: 7 },
  noncurrentVersionExpirationDays: { env: 'ETL_NONCURRENT_VERSION_EXPIRATION_DAYS', default: 90 },
  athenaResultsExpirationDays: { env: 'ETL_ATHENA_RESULTS_EXPIRATION_DAYS', default: 30 },
  athenaBytesScannedCutoff: { env: 'ETL_ATHENA_BYTES_SCANNED_CUTOFF', default: 10 * 1024 ** 3 },
  glueMaxWorkers: { env: 'ETL_GLUE_MAX_WORKERS', default: 10 },
  glueMaxConcurrentRuns: { env: 'ETL_GLUE_MAX_CONCURRENT_RUNS', default: 5 },
  transformLambdaMaxBytes: {
    env: 'ETL_TRANSFORM_LAMBDA_MAX_BYTES',
    default: DEFAULT_TRANSFORM_LAMBDA_MAX_BYTES,
  },
  transformLambdaMemoryMiB: { env: 'ETL_TRANSFORM_LAMBDA_MEMORY_MIB', default: 3008 },
  transformLambdaEphemeralStorageMiB: { env: 'ETL_TRANSFORM_LAMBDA_EPHEMERAL_STORAGE_MIB', default: 3072 },
  transformLambdaReservedConcurrency: { env: 'ETL_TRANSFORM_LAMBDA_RESERVED_CONCURRENCY', default: 10 },
  validateReservedConcurrency: { env: 'ETL_VALIDATE_RESERVED_CONCURRENCY', default: 10 },
  validateMaxFileBytes: { env: 'ETL_VALIDATE_MAX_FILE_BYTES', default: DEFAULT_VALIDATE_MAX_FILE_BYTES },
  validateEphemeralStorageMiB: { env: 'ETL_VALIDATE_EPHEMERAL_STORAGE_MIB', default: 4096 },
  reconcileEveryMinutes: { env: 'ETL_RECONCILE_EVERY_MINUTES', default: 60 },
  retainData: { env: 'ETL_RETAIN_DATA', default: true },
} as const;
type SettingName = keyof typeof SETTINGS;

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['namePrefix', 'notificationEmail'],
  properties: {
    // Glue database names allow only lower-case letters, digits and underscores; the prefix is
    // also used with '-' elsewhere, so it is restricted to what both accept once converted.
    namePrefix: { type: 'string', pattern: '^[a-z][a-z0-9-]{1,30}$' },
    notificationEmail: { type: 'string', format: 'email', maxLength: 254 },
    datasets: { type: 'array', items: { type: 'string' }, minItems: 1, uniqueItems: true },
    schemasDir: { type: 'string', minLength: 1 },
    logRetentionDays: { type: 'integer', enum: [...LOG_RETENTION_DAYS] },
    stagingExpirationDays: { type: 'integer', minimum: 1, maximum: 365 },
    noncurrentVersionExpirationDays: { type: 'integer', minimum: 1, maximum: 3650 },
    athenaResultsExpirationDays: { type: 'integer', minimum: 1, maximum: 3650 },
    // Athena's own bounds for BytesScannedCutoffPerQuery: 10 MB minimum.
    athenaBytesScannedCutoff: { type: 'integer', minimum: 10_000_000 },
    glueMaxWorkers: { type: 'integer', minimum: 2, maximum: 299 },
    glueMaxConcurrentRuns: { type: 'integer', minimum: 1, maximum: 1000 },
    transformLambdaMaxBytes: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    // Below 3,008 MB the measured 1 GiB staging leaves too little room (transform/README.md).
    transformLambdaMemoryMiB: { type: 'integer', minimum: 3008, maximum: 10240 },
    transformLambdaEphemeralStorageMiB: { type: 'integer', minimum: 512, maximum: 10240 },
    transformLambdaReservedConcurrency: { type: 'integer', minimum: 1, maximum: 1000 },
    validateReservedConcurrency: { type: 'integer', minimum: 0, maximum: 1000 },
    validateMaxFileBytes: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    validateEphemeralStorageMiB: { type: 'integer', minimum: 512, maximum: 10240 },
    reconcileEveryMinutes: { type: 'integer', minimum: 5, maximum: 1440 },
    retainData: { type: 'boolean' },
  },
} as const;

const FIX: Partial<Record<SettingName, string>> = {
  namePrefix: 'use 2-31 lower-case letters, digits or "-", starting with a letter',
  notificationEmail: 'pass a real address: cdk deploy -c etl:notificationEmail=you@example.org',
  logRetentionDays: `use one of ${LOG_RETENTION_DAYS.join(', ')}`,
  datasets: 'list dataset names separated by commas, each with a schemas/<name>.schema.json',
  transformLambdaMemoryMiB: 'use 3008–10240 (MiB); transform/README.md has the measurement',
  transformLambdaMaxBytes: 'a whole number of staging bytes (0 sends every file to Glue)',
  validateReservedConcurrency: 'a whole number from 0 (no reservation) to 1000',
  validateMaxFileBytes:
    'a whole number of bytes ≥ 1: the largest landing file Validate takes (core/file-size-limit.ts has the measurement)',
};

/** Where settings come from: a CDK context lookup and an environment. */
export interface ConfigSources {
  /** `node.tryGetContext` of the app, or any function returning context values by key. */
  readonly context: (key: string) => unknown;
  /** Environment variables (`ETL_<NAME>`), which win over context. @default none: context and defaults only */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * How a setting's source is named in error messages (EtlPipeline: `EtlPipeline prop <name>`).
   * @default `context etl:<name>`
   */
  readonly label?: (name: string) => string;
}

/**
 * Reads, coerces and validates the configuration.
 * @throws InfraConfigError naming the setting (`etl:<name>` / `ETL_<NAME>`) and the fix.
 * @example const config = loadConfig({ context: (k) => app.node.tryGetContext(k), env: process.env });
 */
export function loadConfig(sources: ConfigSources): PipelineConfig {
  const env = sources.env ?? {};
  const raw: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  for (const [name, setting] of Object.entries(SETTINGS) as [SettingName, (typeof SETTINGS)[SettingName]][]) {
    const fromEnv = env[setting.env];
    const fromContext = sources.context(`etl:${name}`);
    if (fromEnv !== undefined && fromEnv !== '') {
      raw[name] = fromEnv;
      origin[name] = `environment variable ${setting.env}`;
    } else if (fromContext !== undefined && fromContext !== null && fromContext !== '') {
      raw[name] = fromContext;
      origin[name] = sources.label?.(name) ?? `context etl:${name}`;
    } else if (setting.default !== undefined) {
      raw[name] = setting.default;
      origin[name] = 'default';
    }
  }
  if (typeof raw.datasets === 'string') {
    raw.datasets = raw.datasets
      .split(',')
      .map((d) => d.trim())
      .filter((d) => d !== '');
  }

  // Context given with -c and environment variables are strings; coerce "30" → 30, "false" → false.
  const ajv = new Ajv({ allErrors: false, coerceTypes: true, strict: true });
  addFormats(ajv, ['email']);
  const validate = ajv.compile(SCHEMA);
  if (!validate(raw)) {
    const err = validate.errors![0]!;
    const name = (
      err.keyword === 'required'
        ? (err.params as { missingProperty: string }).missingProperty
        : err.instancePath.split('/')[1]
    ) as SettingName;
    const where = origin[name] ?? (sources.label?.(name) || `context etl:${name} (or ${SETTINGS[name].env})`);
    const got = err.keyword === 'required' ? 'is not set' : `${err.message ?? 'is invalid'}`;
    throw new InfraConfigError(
      `Setting "${name}" from ${where} ${got}. Fix: ${FIX[name] ?? `set etl:${name} in cdk.json context or ${SETTINGS[name].env}`}.`,
    );
  }
  const v = raw as {
    namePrefix: string;
    notificationEmail: string;
    datasets?: string[];
    schemasDir: string;
    logRetentionDays: number;
    stagingExpirationDays: number;
    noncurrentVersionExpirationDays: number;
    athenaResultsExpirationDays: number;
    athenaBytesScannedCutoff: number;
    glueMaxWorkers: number;
    glueMaxConcurrentRuns: number;
    transformLambdaMaxBytes: number;
    transformLambdaMemoryMiB: number;
    transformLambdaEphemeralStorageMiB: number;
    transformLambdaReservedConcurrency: number;
    validateReservedConcurrency: number;
    validateMaxFileBytes: number;
    validateEphemeralStorageMiB: number;
    reconcileEveryMinutes: number;
    retainData: boolean;
  };

  let available: string[];
  try {
    available = listDatasets(v.schemasDir);
  } catch (e) {
    throw new InfraConfigError(
      `Setting "schemasDir" from ${origin.schemasDir}: cannot read ${v.schemasDir} (${(e as Error).message}). Fix: point it at the folder holding <dataset>.schema.json files.`,
    );
  }
  const names = v.datasets ?? available;
  if (names.length === 0) {
    throw new InfraConfigError(
      `No dataset contracts in ${v.schemasDir}. Fix: write one with \`etl init <file.csv> --schemas ${v.schemasDir}\` (or point etl:schemasDir / ETL_SCHEMAS_DIR at your contracts folder).`,
    );
  }
  const datasets = names.map((name) => {
    const contract = findContract(name, v.schemasDir);
    if (!contract) {
      throw new InfraConfigError(
        `Setting "datasets" from ${origin.datasets} names "${name}", which has no contract in ${v.schemasDir}. Fix: ${FIX.datasets}; available: ${available.join(', ') || '(none)'}.`,
      );
    }
    return contract;
  });

  const warnings: string[] = [];
  if (v.notificationEmail === PLACEHOLDER_EMAIL || /@example\.(com|org|net)$/i.test(v.notificationEmail)) {
    warnings.push(
      `Notifications go to ${v.notificationEmail}, a placeholder. Deploy with -c etl:notificationEmail=<your address> (or ETL_NOTIFICATION_EMAIL) to receive failure e-mails.`,
    );
  }

  return {
    namePrefix: v.namePrefix,
    notificationEmail: v.notificationEmail,
    datasets,
    // Absolute: the Lambda bundling copies the contracts from here, whatever its working directory.
    schemasDir: path.resolve(v.schemasDir),
    logRetentionDays: v.logRetentionDays,
    stagingExpirationDays: v.stagingExpirationDays,
    noncurrentVersionExpirationDays: v.noncurrentVersionExpirationDays,
    athenaResultsExpirationDays: v.athenaResultsExpirationDays,
    athenaBytesScannedCutoff: v.athenaBytesScannedCutoff,
    glue: { maxWorkers: v.glueMaxWorkers, maxConcurrentRuns: v.glueMaxConcurrentRuns },
    transformLambda: {
      maxBytes: v.transformLambdaMaxBytes,
      memoryMiB: v.transformLambdaMemoryMiB,
      ephemeralStorageMiB: v.transformLambdaEphemeralStorageMiB,
      reservedConcurrency: v.transformLambdaReservedConcurrency,
    },
    validateLambda: {
      reservedConcurrency: v.validateReservedConcurrency,
      maxFileBytes: v.validateMaxFileBytes,
      ephemeralStorageMiB: v.validateEphemeralStorageMiB,
    },
    reconcileEveryMinutes: v.reconcileEveryMinutes,
    retainData: v.retainData,
    warnings,
  };
}
