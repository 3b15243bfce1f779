/**
 * Finds a deployed stack by name and reads the outputs the remote verbs need
 * (see {@link STACK_OUTPUTS}).
 */
import { CloudFormationServiceException, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { createRemoteClients, regionOf, type RemoteClients, type RemoteOptions } from './clients';
import { stackInfoFromOutputs, type StackInfo } from './stack-outputs';

/** A resolved stack and the clients to reach it: what every remote verb is handed. */
export interface RemoteStack {
  readonly info: StackInfo;
  readonly clients: RemoteClients;
}

/** No stack by that name in the account and region the credentials point at. */
export class StackNotFoundError extends Error {
  override readonly name = 'StackNotFoundError';
  constructor(
    readonly stackName: string,
    readonly region: string,
  ) {
    super(
      `stack "${stackName}" was not found in ${region}. ` +
        'Fix: check the name (npx cdk list), the --region and the --profile (which account it points at).',
    );
  }
}

// CloudFormation's own rule for stack names; an ARN (stack id) is accepted as well.
const STACK_NAME =
  /^(?:[A-Za-z][A-Za-z0-9-]{0,127}|arn:[\w-]+:cloudformation:[\w-]+:\d{12}:stack\/[A-Za-z][A-Za-z0-9-]{0,127}\/[\w-]+)$/;

/**
 * Reads a stack's outputs through CloudFormation DescribeStacks.
 *
 * @example
 * const info = await resolveStack('ServerlessEtl', createRemoteClients({ region: 'eu-west-1' }));
 * info.landingBucket; // "serverlessetl-landing..."
 * @throws StackNotFoundError, StackOutputsMissingError, RegionMissingError
 */
export async function resolveStack(name: string, clients: RemoteClients): Promise<StackInfo> {
  if (!STACK_NAME.test(name)) {
    throw new Error(
      `"${name}" is not a CloudFormation stack name. Fix: pass the name cdk deployed (letters, digits and "-", starting with a letter).`,
    );
  }
  const region = await regionOf(clients);
  let stack;
  try {
    const out = await clients.cloudFormation.send(new DescribeStacksCommand({ StackName: name }));
    stack = out.Stacks?.[0];
  } catch (err) {
    // CloudFormation reports a missing stack as a generic ValidationError.
    if (err instanceof CloudFormationServiceException && /does not exist/i.test(err.message)) {
      throw new StackNotFoundError(name, region);
    }
    throw err;
  }
  if (!stack) throw new StackNotFoundError(name, region);
  return stackInfoFromOutputs(stack.StackName ?? name, region, stack.Outputs ?? [], stack.StackStatus);
}

/** What `--stack`, `--profile` and `--region` add up to. */
export interface ConnectOptions extends RemoteOptions {
  readonly stack: string;
}

/**
 * Builds the clients and resolves the stack in one go: the first thing a remote verb does.
 *
 * @example
 * const remote = await connectStack({ stack: 'ServerlessEtl', profile: 'dev' });
 * const runs = await listRuns(remote, { status: 'FAILED' });
 */
export async function connectStack(options: ConnectOptions): Promise<RemoteStack> {
  const clients = createRemoteClients(options);
  await regionOf(clients, options.profile); // fails first, naming the profile, when no region is set
  const info = await resolveStack(options.stack, clients);
  return { info, clients };
}
