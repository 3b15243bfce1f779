/**
 * The pipeline, wired for a laptop: the real ASL (statemachines/pipeline.asl.json) on the local
 * runtime, every Task state mapped to the same code AWS runs, built with local adapters.
 *
 * | state                  | runs                                                             |
 * |------------------------|------------------------------------------------------------------|
 * | Claim, Validate, ...   | `functions/<step>/step.ts` `create<Step>Step(localPorts)`         |
 * | TransformInLambda      | functions/transform (DuckDB over the local object store)         |
 * | Transform (Glue .sync) | transform/duckdb.ts (default) or spark.ts (`--engine spark`)  |
 *
 * Validate routes each file as on AWS (the TransformEngine Choice): staging up to
 * `transformLambdaMaxBytes` goes to TransformInLambda, larger to the Glue stand-in. `--engine spark`
 * runs the Glue script, so it sends every file to the Glue path unless a threshold is given.
 * | Notify*, (SNS publish) | the outbox folder + a line on the terminal                        |
 *
 * And what the EventBridge "Step Functions Execution Status Change" rules do on AWS: a run that
 * ends FAILED (other than a rejected file), TIMED_OUT or ABORTED publishes a failure notice with
 * the redrive command, and every such run is passed to functions/record-failure, so the ledger
 * says FAILED until a redrive settles it (see {@link executionStatusChanged}).
 *
 * Steps and engines are loaded on first use (DuckDB only when a transform or query runs). No step
 * factory loads the AWS SDK; aws-local-stepfunctions still does (see local/README.md).
 */
import path from 'node:path';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { DEFAULT_SCHEMAS_DIR } from '../core/contract';
import { validateMaxFileBytesOf } from '../core/file-size-limit';
import type { TransformPlan } from '../core/plan';
import {
  DEFAULT_TRANSFORM_LAMBDA_MAX_BYTES,
  transformLambdaMaxBytesOf,
  type TransformManifest,
} from '../core/steps';
import type { DefinitionSubstitutions } from '../statemachines/definition';
import type { ExecutionStatusChange } from '../functions/record-failure/record-failure';
import { LocalNotifier } from '../adapters/local/notifier';
import { LocalObjectStore } from '../adapters/local/object-store';
import type { EtlHome } from './home';
import {
  invokeLambda,
  lambdaInvokeResult,
  runGlueJobSync,
  TaskFailure,
  type LambdaInvokeInput,
  type StartJobRunInput,
} from './integrations';
import { LocalLimits, readLimitsFile, type LimitsPlan } from './limits';
import { RunStore, type RunRecord } from './run-record';
import { LocalRuntime, REJECTED_STATE, type LocalTask, type LocalRuntimeOptions } from './runtime';
import { summariseRun } from './summary';
import { readFileSync } from 'node:fs';

/** Which engine runs the Transform state. */
export type EngineName = 'duckdb' | 'spark';
export const ENGINES: readonly EngineName[] = ['duckdb', 'spark'];

const LOCAL_ACCOUNT = '000000000000';
const functionArn = (name: string) => `arn:aws:lambda:local:${LOCAL_ACCOUNT}:function:serverless-etl-${name}`;

/** The values the local runtime puts into the ASL's placeholders. */
export function localSubstitutions(home: EtlHome): DefinitionSubstitutions {
  return {
    ClaimFunctionArn: functionArn('claim'),
    ValidateFunctionArn: functionArn('validate'),
    CheckStillLatestFunctionArn: functionArn('check-still-latest'),
    TransformFunctionArn: functionArn('transform'),
    RegisterPartitionsFunctionArn: functionArn('register-partitions'),
    StartCrawlFunctionArn: functionArn('start-crawl'),
    PollCrawlFunctionArn: functionArn('poll-crawl'),
    QuarantineFunctionArn: functionArn('quarantine'),
    VerifyFunctionArn: functionArn('verify'),
    LoadDynamoDbSinkFunctionArn: functionArn('load-dynamodb-sink'),
    LoadRedshiftSinkFunctionArn: functionArn('load-redshift-sink'),
    ArchiveFunctionArn: functionArn('archive'),
    GlueJobName: 'serverless-etl-transform',
    CrawlerName: 'serverless-etl-curated',
    GlueDatabase: 'serverless_etl',
    LakeBucket: home.lakeBucket,
    TopicArn: `arn:aws:sns:local:${LOCAL_ACCOUNT}:serverless-etl-notifications`,
  };
}

export interface LocalPipelineOptions {
  readonly home: EtlHome;
  /** @default 'duckdb' */
  readonly engine?: EngineName;
  /** @default the repository's schemas/ */
  readonly schemasDir?: string;
  /** Progress: called after each history event is recorded. */
  readonly onEvent?: LocalRuntimeOptions['onEvent'];
  /** Called for every message published to the local SNS topic. */
  readonly onNotify?: (notice: PublishedNotice) => void;
  /**
   * Staging bytes up to which Validate routes a file to TransformInLambda (the validate Lambda's
   * TRANSFORM_LAMBDA_MAX_BYTES). @default ETL_TRANSFORM_LAMBDA_MAX_BYTES, else core/steps
   * DEFAULT_TRANSFORM_LAMBDA_MAX_BYTES — or 0 (every file to the Glue path) with engine 'spark'
   */
  readonly transformLambdaMaxBytes?: number;
  /**
   * Largest landing file Validate takes; larger ones are REJECTED FILE_TOO_LARGE, as on AWS (the
   * validate Lambda's VALIDATE_MAX_FILE_BYTES). @default ETL_VALIDATE_MAX_FILE_BYTES, else
   * core/file-size-limit DEFAULT_VALIDATE_MAX_FILE_BYTES
   */
  readonly validateMaxFileBytes?: number;
  /**
   * Check the ASL with asl-validator before running. It costs ≈0.5–1.5 s of CPU per process
   * (most of a small run), and the file is already checked by test/statemachine in CI, so the
   * CLI skips it; set ETL_VALIDATE_ASL=1 to check a hand-edited definition. @default false
   */
  readonly validateDefinition?: boolean;
  /**
   * AWS's limits to simulate (local/limits.ts): Glue concurrent runs with or without queuing,
   * Lambda concurrency, throttling. @default `<home>/limits.json`, else none
   */
  readonly limits?: LimitsPlan;
}

/** sns:publish's task input (the subset the pipeline sends). */
export interface PublishInput {
  readonly TopicArn: string;
  readonly Subject?: string;
  readonly Message: string;
  readonly MessageAttributes?: Readonly<Record<string, { DataType: string; StringValue?: string }>>;
}

/** A message the local SNS topic received, as shown on the terminal. */
export interface PublishedNotice {
  readonly runId: string;
  readonly subject: string;
  readonly messageId: string;
  /** Published after the run ended (the execution-status failure notice), not by a Notify state. */
  readonly afterEnd?: boolean;
}

/** The pieces of one local installation, ready to run files. */
export interface LocalPipeline {
  readonly home: EtlHome;
  readonly store: LocalObjectStore;
  readonly runs: RunStore;
  /** The local SNS topic: `<home>/outbox.jsonl` (adapters/local/notifier.ts). */
  readonly notifier: LocalNotifier;
  readonly runtime: LocalRuntime;
  readonly engine: EngineName;
  /** The simulated AWS limits and what they did, when limits are on. */
  readonly limits?: LocalLimits;
  /** Releases what the steps opened (the local query engine's DuckDB). */
  close(): void;
}

/** Builds the local pipeline for a home folder. Cheap: nothing heavy loads until a run needs it. */
export function createLocalPipeline(options: LocalPipelineOptions): LocalPipeline {
  const { home } = options;
  const engine = options.engine ?? 'duckdb';
  const schemasDir = options.schemasDir ?? DEFAULT_SCHEMAS_DIR;
  const transformLambdaMaxBytes = localTransformLambdaMaxBytes(options.transformLambdaMaxBytes, engine);
  const maxFileBytes =
    options.validateMaxFileBytes ??
    validateMaxFileBytesOf(process.env.ETL_VALIDATE_MAX_FILE_BYTES, 'ETL_VALIDATE_MAX_FILE_BYTES');
  // Powertools reads these when the shared Logger/Metrics/Tracer are created (first step load):
  // locally logs stay off the terminal unless asked for, no EMF blobs are printed, and nothing
  // is traced (there is no X-Ray daemon).
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';

  const store = new LocalObjectStore(home.root);
  const limitsPlan = options.limits ?? readLimitsFile(home.limitsFile);
  const limits = limitsPlan && new LocalLimits(limitsPlan, home.limitsStatsFile);
  // What the steps reach S3, DynamoDB and the Glue catalog through: throttled at the plan's rate.
  const stepStore = limits ? limits.throttled(store, 's3') : store;
  const runs = new RunStore(home.runsDir);
  // The terminal line is the CLI's business (it prints it under the Notify state's line).
  const notifier = new LocalNotifier({ outboxFile: home.outboxFile, print: () => {} });
  const publish = async (input: PublishInput, runId: string, afterEnd = false) => {
    const attributes = Object.fromEntries(
      Object.entries(input.MessageAttributes ?? {}).flatMap(([k, v]) =>
        v.StringValue === undefined ? [] : [[k, v.StringValue]],
      ),
    );
    const { messageId } = await notifier.publish({
      subject: input.Subject ?? '',
      message: input.Message,
      ...(Object.keys(attributes).length > 0 && { attributes }),
    });
    options.onNotify?.({ runId, subject: input.Subject ?? '', messageId, ...(afterEnd && { afterEnd }) });
    return { MessageId: messageId };
  };
  const pathOf = (bucket: string, key: string) => store.pathOf(bucket, key);

  // Adapters shared by the steps, created on first use (the query engine opens DuckDB).
  /* eslint-disable @typescript-eslint/no-require-imports */
  let ledger: import('../adapters/local/ledger').LocalLedger | undefined;
  const localLedger = () => {
    const { LocalLedger } = require('../adapters/local/ledger') as typeof import('../adapters/local/ledger');
    return (ledger ??= new LocalLedger(home.ledgerDir));
  };
  const stepLedger = () => (limits ? limits.throttled(localLedger(), 'dynamodb') : localLedger());
  let catalog: import('../adapters/local/catalog').LocalCatalog | undefined;
  const localCatalog = () => {
    const { LocalCatalog } =
      require('../adapters/local/catalog') as typeof import('../adapters/local/catalog');
    return (catalog ??= new LocalCatalog({
      catalogFile: home.catalogFile,
      lakeDir: home.lakeDir,
      schemasDir,
    }));
  };
  const stepCatalog = () => (limits ? limits.throttled(localCatalog(), 'glue') : localCatalog());
  let queryEngine: import('../adapters/local/query-engine').LocalQueryEngine | undefined;
  const localQueryEngine = () => {
    const { LocalQueryEngine } =
      require('../adapters/local/query-engine') as typeof import('../adapters/local/query-engine');
    return (queryEngine ??= new LocalQueryEngine({ lakeDir: home.lakeDir, catalog: localCatalog() }));
  };
  /* eslint-enable @typescript-eslint/no-require-imports */

  /**
   * One entry per Lambda function (folder under functions/): its step factory with local
   * adapters. Plain `require` with literal paths: a step (and DuckDB behind the query engine) loads
   * on first use, after the Powertools settings above are in the environment, and stays visible
   * to a bundler. No step factory imports the AWS SDK (test/steps/sdk-free.test.ts).
   */
  /* eslint-disable @typescript-eslint/no-require-imports */
  const steps: Record<string, () => (input: never) => Promise<unknown>> = {
    claim: () =>
      (require('../functions/claim/step') as typeof import('../functions/claim/step')).createClaimStep({
        ledger: stepLedger(),
        schemasDir,
      }),
    validate: () =>
      (
        require('../functions/validate/step') as typeof import('../functions/validate/step')
      ).createValidateStep({
        store: stepStore,
        lakeBucket: home.lakeBucket,
        schemasDir,
        transformLambdaMaxBytes,
        maxFileBytes,
        // The DuckDB fast path reads the landing version's own file in place (no copy).
        localFile: (ref) => store.versionFileOf(ref),
      }),
    // The Transform Lambda's step with the local object store: the same runTransformOnStore,
    // staging copied into a scratch folder inside the home, as into a Lambda's /tmp.
    transform: () =>
      (
        require('../functions/transform/step') as typeof import('../functions/transform/step')
      ).createTransformStep({ store: stepStore, scratchDir: path.join(home.root, 'scratch') }),
    'check-still-latest': () =>
      (
        require('../functions/check-still-latest/step') as typeof import('../functions/check-still-latest/step')
      ).createCheckStillLatestStep({ ledger: stepLedger() }),
    'register-partitions': () =>
      (
        require('../functions/register-partitions/step') as typeof import('../functions/register-partitions/step')
      ).createRegisterPartitionsStep({ store: stepStore, registry: stepCatalog(), schemasDir }),
    'start-crawl': () =>
      (
        require('../functions/start-crawl/step') as typeof import('../functions/start-crawl/step')
      ).createStartCrawlStep({ catalog: stepCatalog() }),
    'poll-crawl': () =>
      (
        require('../functions/poll-crawl/step') as typeof import('../functions/poll-crawl/step')
      ).createPollCrawlStep({ catalog: stepCatalog() }),
    quarantine: () =>
      (
        require('../functions/quarantine/step') as typeof import('../functions/quarantine/step')
      ).createQuarantineStep({ store: stepStore, ledger: stepLedger(), schemasDir }),
    verify: () =>
      (require('../functions/verify/step') as typeof import('../functions/verify/step')).createVerifyStep({
        store: stepStore,
        ledger: stepLedger(),
        query: localQueryEngine(),
        schemasDir,
      }),
    'load-dynamodb-sink': () => {
      const { LocalItemTable } =
        require('../adapters/local/sink-tables') as typeof import('../adapters/local/sink-tables');
      return (
        require('../functions/load-dynamodb-sink/step') as typeof import('../functions/load-dynamodb-sink/step')
      ).createLoadDynamoDbSinkStep({
        store: stepStore,
        schemasDir,
        // The stand-in table: the sink's `table`, or the contract's table name (the stack's per-dataset table).
        itemTable: (config, contract) => {
          const name = config.table ?? contract.table;
          return { name, items: new LocalItemTable(home.sinksDir, name, config.key) };
        },
      });
    },
    'load-redshift-sink': () => {
      const { LocalWarehouseSink } =
        require('../adapters/local/sink-tables') as typeof import('../adapters/local/sink-tables');
      return (
        require('../functions/load-redshift-sink/step') as typeof import('../functions/load-redshift-sink/step')
      ).createLoadRedshiftSinkStep({
        store: stepStore,
        schemasDir,
        warehouse: new LocalWarehouseSink(home.sinksDir, store),
      });
    },
    archive: () =>
      (require('../functions/archive/step') as typeof import('../functions/archive/step')).createArchiveStep({
        store: stepStore,
        ledger: stepLedger(),
      }),
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const loaded = new Map<string, (input: never) => Promise<unknown>>();
  const lambdaTask = (fn: string): LocalTask => {
    const invoke = (run: () => Promise<unknown>) => (limits ? limits.invokeLambda(fn, run) : run());
    return (input) =>
      invoke(() =>
        invokeLambda(async () => {
          let handler = loaded.get(fn);
          if (!handler) {
            const factory = steps[fn];
            if (!factory)
              throw new TaskFailure(
                'Lambda.ResourceNotFoundException',
                `Function not found: ${functionArn(fn)} (no local wiring for functions/${fn} in local/pipeline.ts)`,
              );
            handler = factory();
            loaded.set(fn, handler);
          }
          return handler(input as never);
        }),
      );
  };

  const transform = async (args: Readonly<Record<string, string>>): Promise<TransformManifest> => {
    const staging = parseS3Uri(args['--staging'], '--staging');
    const lakeUri = parseS3Uri(args['--lake'], '--lake');
    const stagingDir = pathOf(staging.bucket, staging.key.replace(/\/$/, ''));
    const lakeDir = path.join(home.root, lakeUri.bucket);
    const plan = JSON.parse(readFileSync(path.join(stagingDir, 'plan.json'), 'utf8')) as TransformPlan;
    const request = {
      plan,
      ...(args['--dataset'] !== undefined && { dataset: args['--dataset'] }),
      sourceId: args['--source_id'] ?? '',
      versionTag: args['--version_tag'] ?? '',
      ...(args['--source_order'] !== undefined && { sourceOrder: args['--source_order'] }),
      stagingDir,
      lakeDir,
    };
    if (engine === 'spark') {
      const { runSparkTransform } = require('../transform/spark') as typeof import('../transform/spark'); // eslint-disable-line @typescript-eslint/no-require-imports
      return runSparkTransform(request);
    }
    const { runTransform } = require('../transform/duckdb') as typeof import('../transform/duckdb'); // eslint-disable-line @typescript-eslint/no-require-imports
    return runTransform(request);
  };

  const resolveTask = (stateName: string, state: Readonly<Record<string, unknown>>): LocalTask => {
    const resource = String(state.Resource ?? '');
    if (resource === 'arn:aws:states:::glue:startJobRun.sync')
      return (input) => {
        const request = input as StartJobRunInput;
        const run = () => runGlueJobSync(request, transform);
        return limits ? limits.runGlueJob(run, request.JobRunQueuingEnabled) : run();
      };
    if (resource === 'arn:aws:states:::sns:publish')
      return (input, ctx) => publish(input as PublishInput, ctx.runId);
    const fn = functionOf(resource);
    if (fn) return lambdaTask(fn);
    if (resource === 'arn:aws:states:::lambda:invoke') {
      return async (input, ctx) => {
        const { FunctionName, Payload } = input as LambdaInvokeInput;
        const invoked = functionOf(String(FunctionName));
        if (!invoked)
          throw new TaskFailure(
            'Lambda.ResourceNotFoundException',
            `Function not found: ${String(FunctionName)}`,
          );
        return lambdaInvokeResult(await lambdaTask(invoked)(Payload, ctx));
      };
    }
    return async () => {
      throw new TaskFailure(
        'States.Runtime',
        `state ${stateName}: the local runtime has no implementation for resource ${resource}`,
      );
    };
  };

  const { loadDefinition } =
    require('../statemachines/definition') as typeof import('../statemachines/definition'); // eslint-disable-line @typescript-eslint/no-require-imports
  const definition = loadDefinition(localSubstitutions(home)) as unknown as StateMachineDefinition;
  const rejected = definition.States[REJECTED_STATE] as { Error?: string } | undefined;
  let recordFailure: ((event: ExecutionStatusChange) => Promise<unknown>) | undefined;
  const onEnd = (record: RunRecord) =>
    executionStatusChanged(record, {
      rejectionError: rejected?.Error,
      publish: (input) => publish(input, record.runId, true),
      topicArn: localSubstitutions(home).TopicArn,
      recordFailure: (event) => {
        /* eslint-disable @typescript-eslint/no-require-imports */
        recordFailure ??= (
          require('../functions/record-failure/step') as typeof import('../functions/record-failure/step')
        ).createRecordFailureStep({ ledger: localLedger() });
        /* eslint-enable @typescript-eslint/no-require-imports */
        return recordFailure(event);
      },
    });
  const runtime = new LocalRuntime({
    definition,
    onEnd,
    resolveTask,
    runs,
    engine,
    validate: options.validateDefinition ?? false,
    ...(limits && { limitRetryMsPerSecond: limits.retryMsPerSecond }),
    ...(options.onEvent && { onEvent: options.onEvent }),
    summarise: (record) => summariseRun(record, pathOf, home.lakeDir),
  });
  return {
    home,
    store,
    runs,
    notifier,
    runtime,
    engine,
    ...(limits && { limits }),
    close: () => queryEngine?.close(),
  };
}

/**
 * The routing threshold of a local pipeline: the option, else ETL_TRANSFORM_LAMBDA_MAX_BYTES, else
 * 0 with `--engine spark` (the user asked for the Glue script), else the AWS default.
 */
export function localTransformLambdaMaxBytes(
  option: number | undefined,
  engine: EngineName,
  env: NodeJS.ProcessEnv = process.env,
): number {
  if (option !== undefined) return option;
  const fromEnv = transformLambdaMaxBytesOf(
    env.ETL_TRANSFORM_LAMBDA_MAX_BYTES,
    'ETL_TRANSFORM_LAMBDA_MAX_BYTES',
  );
  if (fromEnv !== undefined) return fromEnv;
  return engine === 'spark' ? 0 : DEFAULT_TRANSFORM_LAMBDA_MAX_BYTES;
}

/** Statuses the EventBridge rules react to (infra/pipeline-stack.ts, infra/constructs/pipeline-alerts.ts). */
const FAILED_STATUSES: readonly string[] = ['FAILED', 'TIMED_OUT', 'ABORTED'];

interface StatusChangeDeps {
  /** The rejected-file Fail state's Error (`FileRejectedError`): no failure notice for it. */
  readonly rejectionError: string | undefined;
  readonly topicArn: string;
  readonly publish: (input: PublishInput) => Promise<unknown>;
  readonly recordFailure: (event: ExecutionStatusChange) => Promise<unknown>;
}

/**
 * The local stand-in for the two "Step Functions Execution Status Change" rules:
 * - ExecutionFailedNotice (FAILED other than the rejection error, TIMED_OUT, ABORTED): a notice
 *   on the topic with the status, run id, the state it stopped at, error, cause, and how to redrive;
 * - RecordFailureRule (FAILED, TIMED_OUT, ABORTED): functions/record-failure with the execution's
 *   input (the S3 event), which settles the ledger FAILED (it leaves a REJECTED record alone).
 */
export async function executionStatusChanged(record: RunRecord, deps: StatusChangeDeps): Promise<void> {
  if (!FAILED_STATUSES.includes(record.status)) return;
  const rejection = record.status === 'FAILED' && record.error === deps.rejectionError;
  if (!rejection) {
    const state = record.endState ?? '(none)';
    const lines = [
      `serverless-etl run ${record.runId} ended ${record.status}.`,
      '',
      `Source: ${record.source ? `s3://${record.source.bucket}/${record.source.key}` : '(unknown)'}`,
      `Started: ${record.startDate}`,
      `Failed state: ${state}`,
      ...(record.error !== undefined ? [`Error: ${record.error}`] : []),
      ...(record.cause !== undefined ? [`Cause: ${record.cause}`] : []),
      '',
      'Fix the cause (etl runs show shows the failed state and its error), then resume the run at the failed state:',
      `  etl redrive ${record.runId}`,
      '',
      'A rejected file is not a failure: it arrives as a REJECTED notice and is fixed by a corrected upload.',
    ];
    await deps.publish({
      TopicArn: deps.topicArn,
      Subject: `serverless-etl ${record.status}: run ${record.runId} at ${state}`,
      Message: lines.join('\n'),
      MessageAttributes: {
        status: { DataType: 'String', StringValue: record.status },
        runId: { DataType: 'String', StringValue: record.runId },
        state: { DataType: 'String', StringValue: state },
        ...(record.error !== undefined && { error: { DataType: 'String', StringValue: record.error } }),
        ...(record.dataset !== undefined && { dataset: { DataType: 'String', StringValue: record.dataset } }),
        redrive: { DataType: 'String', StringValue: `etl redrive ${record.runId}` },
      },
    });
  }
  await deps.recordFailure({
    'detail-type': 'Step Functions Execution Status Change',
    detail: {
      name: record.runId,
      status: record.status,
      input: JSON.stringify(record.input),
    },
  });
}

/** `arn:aws:lambda:…:function:serverless-etl-<step>[:qualifier]` → `<step>` (a folder under functions/). */
function functionOf(arn: string): string | undefined {
  return /^arn:aws:lambda:[^:]*:[^:]*:function:serverless-etl-([a-z]+(?:-[a-z]+)*)(?::[^:]+)?$/.exec(
    arn,
  )?.[1];
}

function parseS3Uri(uri: string | undefined, argument: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri ?? '');
  if (!m)
    throw new Error(
      `Glue job argument ${argument} is ${JSON.stringify(uri)}, expected s3://<bucket>/<prefix>`,
    );
  return { bucket: m[1]!, key: m[2]! };
}
