/**
 * How each kind of Task resource behaves locally, matching what the service integration does on
 * AWS, so the ASL's Retry/Catch/ResultSelector see the same names and shapes in both worlds:
 *
 * - Lambda (a function ARN as Resource): the handler's result is the task result; a thrown error
 *   becomes Error = its `name` (Lambda's errorType) and Cause = the JSON Lambda puts there,
 *   `{"errorType","errorMessage","trace"}`. Through `lambda:invoke` the same, with the input's
 *   `Payload` passed in and the result wrapped as `{ Payload, StatusCode, ... }`.
 * - glue:startJobRun.sync: the transform engine runs; success returns the JobRun object
 *   (Id, JobRunState, StartedOn, ExecutionTime, ...); a failed run is `States.TaskFailed` with the
 *   JobRun (JobRunState FAILED, ErrorMessage) as Cause, as the .sync integration reports it.
 * - sns:publish: the local outbox; returns `{ MessageId }`.
 */
import { randomBytes } from 'node:crypto';
import type { TransformManifest } from '../core/steps';

/** An error carrying the Error/Cause pair Step Functions would record. */
export class TaskFailure extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

/** The Cause a Node.js Lambda function's uncaught error produces. */
export function lambdaCauseOf(error: unknown): string {
  const e = error instanceof Error ? error : new Error(String(error));
  return JSON.stringify({
    errorType: e.name,
    errorMessage: e.message,
    trace: (e.stack ?? `${e.name}: ${e.message}`).split('\n'),
  });
}

/** Runs a handler the way the Lambda integration would surface its outcome. */
export async function invokeLambda<T>(handler: () => Promise<T>): Promise<T> {
  try {
    return await handler();
  } catch (e) {
    const name = e instanceof Error && e.name ? e.name : 'Error';
    throw new TaskFailure(name, lambdaCauseOf(e));
  }
}

/** `arn:aws:states:::lambda:invoke`'s task input. */
export interface LambdaInvokeInput {
  readonly FunctionName: string;
  readonly Payload?: unknown;
}

/** What `arn:aws:states:::lambda:invoke` returns: the function's result under `Payload`. */
export function lambdaInvokeResult(payload: unknown): {
  ExecutedVersion: string;
  Payload: unknown;
  StatusCode: number;
  SdkHttpMetadata: { HttpStatusCode: number };
} {
  return {
    ExecutedVersion: '$LATEST',
    Payload: payload,
    StatusCode: 200,
    SdkHttpMetadata: { HttpStatusCode: 200 },
  };
}

/** glue:startJobRun.sync's task input. */
export interface StartJobRunInput {
  readonly JobName: string;
  readonly Arguments?: Readonly<Record<string, string>>;
  /** Queue this run past the job's concurrency instead of failing it (wins over the job's setting). */
  readonly JobRunQueuingEnabled?: boolean;
}

/** The JobRun object .sync returns (dates as epoch milliseconds, as Step Functions serialises them). */
export interface JobRun {
  readonly Id: string;
  readonly Attempt: number;
  readonly JobName: string;
  readonly JobRunState: 'SUCCEEDED' | 'FAILED';
  readonly Arguments: Readonly<Record<string, string>>;
  readonly StartedOn: number;
  readonly LastModifiedOn: number;
  readonly CompletedOn: number;
  readonly ExecutionTime: number;
  readonly GlueVersion: string;
  readonly ErrorMessage?: string;
}

/** Runs a transform the way glue:startJobRun.sync surfaces its outcome. */
export async function runGlueJobSync(
  input: StartJobRunInput,
  transform: (args: Readonly<Record<string, string>>) => Promise<TransformManifest>,
): Promise<JobRun> {
  const startedOn = Date.now();
  const args = input.Arguments ?? {};
  const base = {
    Id: `jr_${randomBytes(32).toString('hex')}`,
    Attempt: 0,
    JobName: input.JobName,
    Arguments: args,
    StartedOn: startedOn,
    GlueVersion: '5.0',
  };
  try {
    await transform(args);
  } catch (e) {
    const now = Date.now();
    const run: JobRun = {
      ...base,
      JobRunState: 'FAILED',
      LastModifiedOn: now,
      CompletedOn: now,
      ExecutionTime: Math.round((now - startedOn) / 1000),
      ErrorMessage: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
    };
    throw new TaskFailure('States.TaskFailed', JSON.stringify(run));
  }
  const now = Date.now();
  return {
    ...base,
    JobRunState: 'SUCCEEDED',
    LastModifiedOn: now,
    CompletedOn: now,
    ExecutionTime: Math.round((now - startedOn) / 1000),
  };
}
