/**
 * The deployed stack's CloudFormation outputs the remote CLI reads, by name. These names are the
 * contract with infra/ (which publishes them as `CfnOutput`s): the CLI never guesses a bucket or
 * a state machine from naming conventions, it asks the stack.
 */

/** Output key → what it holds. The keys are the `CfnOutput` ids infra/ must use. */
export const STACK_OUTPUTS = {
  LandingBucketName: 'S3 bucket that receives CSV uploads under incoming/<dataset>/',
  LakeBucketName: 'S3 bucket holding staging/, curated/, rejects/, quarantine/, archive/',
  StateMachineArn: 'ARN of the pipeline state machine (one execution per landed file)',
  AthenaWorkGroupName: 'Athena workgroup the CLI queries in (sets the result location and limits)',
  GlueDatabaseName: 'Glue Data Catalog database holding one table per dataset',
  AthenaResultsBucketName: 'S3 bucket where the Athena workgroup writes query results',
} as const;

export type StackOutputName = keyof typeof STACK_OUTPUTS;

/** Everything the remote verbs need to know about one deployed stack. */
export interface StackInfo {
  readonly stackName: string;
  /** Region the stack lives in (the clients' region). */
  readonly region: string;
  readonly landingBucket: string;
  readonly lakeBucket: string;
  readonly stateMachineArn: string;
  readonly athenaWorkGroup: string;
  readonly glueDatabase: string;
  readonly athenaResultsBucket: string;
}

/** The stack exists but lacks outputs the CLI needs (an older or foreign stack). */
export class StackOutputsMissingError extends Error {
  override readonly name = 'StackOutputsMissingError';
  constructor(
    readonly stackName: string,
    readonly missing: readonly StackOutputName[],
    readonly stackStatus?: string,
  ) {
    super(
      `stack "${stackName}"${stackStatus ? ` (${stackStatus})` : ''} has no output${missing.length > 1 ? 's' : ''} ${missing.join(', ')}. ` +
        "Fix: deploy this project's stack (npx cdk deploy) or pass the name of a stack it deployed.",
    );
  }
}

/**
 * Builds a {@link StackInfo} from DescribeStacks outputs. Unknown outputs are ignored, so infra/
 * may publish more; missing ones are all named in one error.
 */
export function stackInfoFromOutputs(
  stackName: string,
  region: string,
  outputs: readonly { OutputKey?: string; OutputValue?: string }[],
  stackStatus?: string,
): StackInfo {
  const byKey = new Map<string, string>();
  for (const o of outputs) if (o.OutputKey && o.OutputValue) byKey.set(o.OutputKey, o.OutputValue);
  const names = Object.keys(STACK_OUTPUTS) as StackOutputName[];
  const missing = names.filter((n) => !byKey.has(n));
  if (missing.length > 0) throw new StackOutputsMissingError(stackName, missing, stackStatus);
  const get = (n: StackOutputName): string => byKey.get(n)!;
  return {
    stackName,
    region,
    landingBucket: get('LandingBucketName'),
    lakeBucket: get('LakeBucketName'),
    stateMachineArn: get('StateMachineArn'),
    athenaWorkGroup: get('AthenaWorkGroupName'),
    glueDatabase: get('GlueDatabaseName'),
    athenaResultsBucket: get('AthenaResultsBucketName'),
  };
}
