/**
 * The AWS clients behind the remote verbs, built once per CLI invocation from `--profile`,
 * `--region` and (tests, emulators) an endpoint override.
 *
 * Credentials and region come from the SDK's standard provider chain: environment, then the
 * shared config/credentials files (the `profile` option selects a profile there, including SSO
 * and assume-role profiles), then container/instance metadata. Nothing here reads a key itself.
 */
import { AthenaClient } from '@aws-sdk/client-athena';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';

/** What `--profile`, `--region` (and, in tests, the endpoint) say about where to connect. */
export interface RemoteOptions {
  /** Shared-config profile (`--profile`). @default the chain's default (AWS_PROFILE, else "default") */
  readonly profile?: string;
  /** Region (`--region`). @default the profile's or environment's region */
  readonly region?: string;
  /**
   * One endpoint for every service: a moto server or another emulator. Also switches S3 to
   * path-style addressing, which emulators on an IP address need.
   * @default the real AWS endpoints
   */
  readonly endpoint?: string;
  /** Static credentials (tests use dummy ones). @default the standard provider chain */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Attempts per SDK call, throttling and 5xx included. @default 3 (the SDK's standard mode) */
  readonly maxAttempts?: number;
}

/** One client per service the remote verbs call. */
export interface RemoteClients {
  readonly cloudFormation: CloudFormationClient;
  readonly s3: S3Client;
  readonly sfn: SFNClient;
  readonly athena: AthenaClient;
}

/** No region from the options, the profile or the environment: say how to give one. */
export class RegionMissingError extends Error {
  override readonly name = 'RegionMissingError';
  constructor(profile: string | undefined) {
    super(
      `no AWS region is configured${profile ? ` for profile "${profile}"` : ''}. ` +
        'Fix: pass --region (for example --region eu-west-1), set AWS_REGION, or set region in ~/.aws/config.',
    );
  }
}

/** Builds the clients. Nothing is contacted until the first call. */
export function createRemoteClients(options: RemoteOptions = {}): RemoteClients {
  const common = {
    ...(options.profile !== undefined && { profile: options.profile }),
    ...(options.region !== undefined && { region: options.region }),
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    ...(options.credentials !== undefined && { credentials: { ...options.credentials } }),
    ...(options.maxAttempts !== undefined && { maxAttempts: options.maxAttempts }),
  };
  return {
    cloudFormation: new CloudFormationClient(common),
    s3: new S3Client({ ...common, forcePathStyle: options.endpoint !== undefined }),
    sfn: new SFNClient(common),
    athena: new AthenaClient(common),
  };
}

/** The region the clients resolved, or a {@link RegionMissingError} that says how to set one. */
export async function regionOf(clients: RemoteClients, profile?: string): Promise<string> {
  try {
    const region = await clients.sfn.config.region();
    if (region) return region;
  } catch {
    // The SDK's own message ("Region is missing") does not say how to fix it.
  }
  throw new RegionMissingError(profile);
}

/** Closes the clients' sockets so a CLI process can exit promptly. */
export function destroyRemoteClients(clients: RemoteClients): void {
  clients.cloudFormation.destroy();
  clients.s3.destroy();
  clients.sfn.destroy();
  clients.athena.destroy();
}
