/**
 * The one loader of the pipeline's state machine definition, shared by the CDK stack and the
 * local runtime, so both run exactly `pipeline.asl.json` with their own values for the
 * `${...}` placeholders. CDK passes the same map to `DefinitionBody.fromFile(DEFINITION_FILE)` +
 * `definitionSubstitutions`; the local runtime calls {@link loadDefinition}.
 *
 * @example
 * const definition = loadDefinition(localSubstitutions);
 * const machine = new StateMachine(definition);
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Absolute path of the ASL file (for `DefinitionBody.fromFile`). */
export const DEFINITION_FILE = path.join(__dirname, 'pipeline.asl.json');

/** Every placeholder the definition uses, with what to put there. */
export const DEFINITION_PLACEHOLDERS = {
  ClaimFunctionArn: 'ARN of the claim Lambda (functions/claim)',
  ValidateFunctionArn: 'ARN of the validate Lambda (functions/validate)',
  CheckStillLatestFunctionArn: 'ARN of the check-still-latest Lambda (functions/check-still-latest)',
  TransformFunctionArn:
    'ARN of the transform Lambda (functions/transform): the DuckDB engine for files up to the routing threshold',
  RegisterPartitionsFunctionArn: 'ARN of the register-partitions Lambda (functions/register-partitions)',
  StartCrawlFunctionArn: 'ARN of the start-crawl Lambda (functions/start-crawl)',
  PollCrawlFunctionArn: 'ARN of the poll-crawl Lambda (functions/poll-crawl)',
  QuarantineFunctionArn: 'ARN of the quarantine Lambda (functions/quarantine)',
  VerifyFunctionArn: 'ARN of the verify Lambda (functions/verify)',
  LoadDynamoDbSinkFunctionArn: 'ARN of the load-dynamodb-sink Lambda (functions/load-dynamodb-sink)',
  LoadRedshiftSinkFunctionArn: 'ARN of the load-redshift-sink Lambda (functions/load-redshift-sink)',
  ArchiveFunctionArn: 'ARN of the archive Lambda (functions/archive)',
  GlueJobName: 'name of the Glue transform job (glue/)',
  CrawlerName: 'name of the Glue crawler over curated/',
  GlueDatabase: 'Glue database holding the curated tables (Athena queries it)',
  LakeBucket: 'name of the lake bucket (staging/, curated/, manifests/, quarantine/, archive/)',
  TopicArn: 'ARN of the SNS topic for SUCCEEDED / REJECTED notices',
} as const;

export type DefinitionPlaceholder = keyof typeof DEFINITION_PLACEHOLDERS;
export type DefinitionSubstitutions = Readonly<Record<DefinitionPlaceholder, string>>;

/**
 * The Glue job's own timeout. CDK sets the job's `timeout` from this; the Transform task's
 * TimeoutSeconds is longer (job timeout + start-up and queueing margin), so the job, not the
 * task, is what times out, and Glue records why.
 */
export const GLUE_JOB_TIMEOUT_MINUTES = 60;
/** TimeoutSeconds of the Transform task (checked against the ASL by test/statemachine). */
export const TRANSFORM_TASK_TIMEOUT_SECONDS = GLUE_JOB_TIMEOUT_MINUTES * 60 + 15 * 60;

/**
 * Timeout of each step's Lambda function (CDK sets it from here). Each is shorter than its Task's
 * TimeoutSeconds, so a slow function times out as itself (a Lambda error the ASL can name) rather
 * than as the task. Checked against the ASL by test/statemachine/asl.test.ts.
 */
export const FUNCTION_TIMEOUT_SECONDS = {
  claim: 20,
  validate: 840,
  'check-still-latest': 20,
  // The DuckDB engine over S3; a file that would take longer belongs on Glue (transform/README.md).
  transform: 840,
  'register-partitions': 50,
  'start-crawl': 20,
  'poll-crawl': 20,
  quarantine: 240,
  verify: 270,
  // The Redshift sink polls its statements within a 10-minute budget (sinks/README.md).
  'load-dynamodb-sink': 840,
  'load-redshift-sink': 840,
  archive: 240,
} as const;

/**
 * Arguments the Transform task passes to the Glue job (glue/etl_job.py reads them with
 * getResolvedOptions): `--staging` = `s3://<bucket>/<staging prefix>`, `--lake` = `s3://<lake>/`,
 * plus the file's dataset, sourceId and versionTag, and `--source_order` (Claim's sourceOrder: the job
 * never publishes over the output of a newer version of the key).
 */
export const TRANSFORM_JOB_ARGUMENTS = [
  '--staging',
  '--lake',
  '--dataset',
  '--source_id',
  '--version_tag',
  '--source_order',
] as const;

/**
 * Which code runs each Task state: a `lambda` state runs `functions/<function>/` (the folder is
 * usually the state's name in kebab-case; its placeholder is `${<State>FunctionArn}`). The local runtime
 * maps these names to local handlers through aws-local-stepfunctions' `taskResourceLocalHandlers`
 * (keyed by state name):
 *  - `lambda`: call that folder's step factory (`step.ts`) built with local adapters, with the
 *    task input, and return its result;
 *  - `glue`: input `{ JobName, Arguments }`, return `{ Id, JobRunState, StartedOn, ExecutionTime }`
 *    (what glue:startJobRun.sync returns; throw TransformFailedError when the run fails);
 *  - `sns`: input `{ TopicArn, Subject, Message, MessageAttributes }`, return `{ MessageId }`.
 */
export const TASK_STATES = {
  Claim: { kind: 'lambda', function: 'claim' },
  Validate: { kind: 'lambda', function: 'validate' },
  CheckStillLatest: { kind: 'lambda', function: 'check-still-latest' },
  TransformInLambda: { kind: 'lambda', function: 'transform' },
  Transform: { kind: 'glue' },
  RegisterPartitions: { kind: 'lambda', function: 'register-partitions' },
  StartCrawl: { kind: 'lambda', function: 'start-crawl' },
  PollCrawl: { kind: 'lambda', function: 'poll-crawl' },
  Verify: { kind: 'lambda', function: 'verify' },
  LoadDynamoDbSink: { kind: 'lambda', function: 'load-dynamodb-sink' },
  LoadRedshiftSink: { kind: 'lambda', function: 'load-redshift-sink' },
  Archive: { kind: 'lambda', function: 'archive' },
  Notify: { kind: 'sns' },
  Quarantine: { kind: 'lambda', function: 'quarantine' },
  NotifyRejected: { kind: 'sns' },
} as const satisfies Record<
  string,
  { kind: 'lambda'; function: string } | { kind: 'glue' } | { kind: 'sns' }
>;

/** Wait states; the local runtime shortens them with `waitTimeOverrides`. */
export const WAIT_STATES = ['WaitForCrawl'] as const;

/** Terminal states and what they mean (the CLI's `runs` shows these). */
export const OUTCOME_STATES = {
  Succeeded: 'processed, archived and announced',
  DuplicateDelivery: 'same bucket/key/version already claimed',
  StaleVersion: 'a newer version of the key is already claimed',
  Superseded: 'a newer version of the key was claimed while this one ran; its run produces the output',
  FileRejected: 'quarantined with reason.json; announced as REJECTED',
} as const;

const PLACEHOLDER = /\$\{([A-Za-z0-9_]+)\}/g;

/** The definition text with placeholders untouched (what CDK's fromFile reads). */
export function readDefinitionText(): string {
  return readFileSync(DEFINITION_FILE, 'utf8');
}

/**
 * Renders the definition with every placeholder replaced, as CDK's definitionSubstitutions would.
 * Throws when a placeholder has no value, or a value is given for a name the file does not use,
 * so a renamed placeholder cannot silently reach a deployed or local state machine.
 */
export function loadDefinition(substitutions: DefinitionSubstitutions): Record<string, unknown> {
  const text = readDefinitionText();
  const used = new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]!));
  const missing = [...used].filter((name) => !(name in substitutions));
  if (missing.length > 0) {
    throw new Error(
      `${DEFINITION_FILE}: no value for placeholder(s) ${missing.join(', ')}. Pass every name in DEFINITION_PLACEHOLDERS.`,
    );
  }
  const unknown = Object.keys(substitutions).filter((name) => !used.has(name));
  if (unknown.length > 0) {
    throw new Error(
      `${DEFINITION_FILE}: placeholder(s) ${unknown.join(', ')} are not used by the definition. Remove them or fix the name.`,
    );
  }
  // Values are spliced into JSON string literals: escape them as JSON so a quote or backslash in
  // a local path cannot break the document.
  const rendered = text.replace(PLACEHOLDER, (_m, name: string) =>
    JSON.stringify(substitutions[name as DefinitionPlaceholder]).slice(1, -1),
  );
  return JSON.parse(rendered) as Record<string, unknown>;
}
