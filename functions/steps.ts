/**
 * Every Lambda the stack builds, by folder name, with what the stack needs to know about it,
 * imported statically: the AWS actions its `iam.ts` declares (the role grants exactly those) and
 * the worker-thread entries it starts by file name (bundled beside its handler). One way for
 * every step, and a missing or misspelt `iam.ts` is a type error, not a synth-time surprise.
 *
 * Nothing here loads the AWS SDK: `iam.ts` files are data (test/steps/sdk-free.test.ts).
 */
import type { IamNeeds } from '../core/steps';
import { iamNeeds as archive } from './archive/iam';
import { iamNeeds as checkStillLatest } from './check-still-latest/iam';
import { iamNeeds as claim } from './claim/iam';
import { iamNeeds as loadDynamoDbSink } from './load-dynamodb-sink/iam';
import { iamNeeds as loadRedshiftSink } from './load-redshift-sink/iam';
import { iamNeeds as pollCrawl } from './poll-crawl/iam';
import { iamNeeds as pull } from './pull/iam';
import { iamNeeds as quarantine } from './quarantine/iam';
import { iamNeeds as reconcile } from './reconcile/iam';
import { iamNeeds as recordFailure } from './record-failure/iam';
import { iamNeeds as registerPartitions } from './register-partitions/iam';
import { iamNeeds as startCrawl } from './start-crawl/iam';
import { iamNeeds as transform } from './transform/iam';
import { iamNeeds as validate } from './validate/iam';
import { iamNeeds as verify } from './verify/iam';

/** What the stack builds a step's function from, besides its `functions/<step>/handler.ts`. */
export interface StepRegistration {
  /** The AWS actions the step uses, on which resources (its `iam.ts`). */
  readonly iamNeeds: IamNeeds;
  /**
   * Worker-thread entry points (repository paths) the step starts by file name at run time;
   * esbuild's one-file bundle would not contain them, so each is bundled beside the handler.
   */
  readonly workers?: readonly string[];
  /**
   * Packages with a native binary the step loads at run time (DuckDB): left out of the esbuild
   * bundle and shipped beside it with their dependencies and their Linux binary for
   * `architecture`, at the versions package-lock.json pins (infra/native-modules.ts: copied from
   * node_modules, or fetched with `npm pack` when npm installed another platform's binary).
   */
  readonly nativeModules?: readonly string[];
  /** @default 'arm64' */
  readonly architecture?: 'arm64' | 'x86_64';
  /**
   * The step reads source definitions (`<name>.source.json`): they are bundled beside the
   * contracts. @default false
   */
  readonly sourceDefinitions?: boolean;
}

export const STEPS = {
  claim: { iamNeeds: claim },
  // The DuckDB fast path (csv/sql-validate.ts) reads the landing object from /tmp.
  validate: { iamNeeds: validate, workers: ['csv/parse-worker.ts'], nativeModules: ['@duckdb/node-api'] },
  'check-still-latest': { iamNeeds: checkStillLatest },
  'register-partitions': { iamNeeds: registerPartitions },
  // The DuckDB engine over S3 (transform/duckdb.ts): files up to the routing threshold.
  transform: { iamNeeds: transform, nativeModules: ['@duckdb/node-api'] },
  'start-crawl': { iamNeeds: startCrawl },
  'poll-crawl': { iamNeeds: pollCrawl },
  verify: { iamNeeds: verify },
  // DuckDB reads the run's Parquet (sinks/rows.ts). Still x86_64: its handler loads DuckDB when
  // the module loads, which the synth test's load check cannot do for an arm64 binary on x64.
  'load-dynamodb-sink': {
    iamNeeds: loadDynamoDbSink,
    nativeModules: ['@duckdb/node-api'],
    architecture: 'x86_64',
  },
  'load-redshift-sink': { iamNeeds: loadRedshiftSink },
  archive: { iamNeeds: archive },
  quarantine: { iamNeeds: quarantine },
  'record-failure': { iamNeeds: recordFailure },
  reconcile: { iamNeeds: reconcile },
  // Outside the state machine: one schedule per source definition invokes it (issue 14).
  pull: { iamNeeds: pull, sourceDefinitions: true },
} as const satisfies Readonly<Record<string, StepRegistration>>;

/** A step folder under functions/ that the stack can build. */
export type StepName = keyof typeof STEPS;

/** The registration of `step`, or an error naming this file and the fix. */
export function stepRegistration(step: string): StepRegistration {
  const registration = (STEPS as Readonly<Record<string, StepRegistration>>)[step];
  if (!registration) {
    throw new Error(
      `functions/steps.ts: no step "${step}". Fix: add functions/${step}/ (handler.ts, step.ts, iam.ts) and register its iamNeeds in STEPS. Known: ${Object.keys(STEPS).join(', ')}.`,
    );
  }
  return registration;
}
