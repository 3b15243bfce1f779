/**
 * Creates the stand-in stack (test/fixtures/remote/stack-template.json) in a moto server and
 * connects to it the way the CLI does: CloudFormation outputs first, then everything else.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CreateWorkGroupCommand } from '@aws-sdk/client-athena';
import { CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { connectStack, createRemoteClients, type RemoteOptions, type RemoteStack } from '../../remote';
import type { MotoServer } from '../support/moto';

export const FIXTURES = path.join(__dirname, '..', 'fixtures', 'remote');

/** Client options for a moto server: its endpoint, dummy credentials, no retries to wait out. */
export function motoOptions(moto: MotoServer): RemoteOptions {
  return {
    endpoint: moto.endpoint,
    region: moto.clientConfig.region,
    credentials: moto.clientConfig.credentials,
    maxAttempts: 1,
  };
}

/** Creates a stack from a fixture template in moto. */
export async function createStack(moto: MotoServer, stackName: string, template: string): Promise<void> {
  const clients = createRemoteClients(motoOptions(moto));
  await clients.cloudFormation.send(
    new CreateStackCommand({
      StackName: stackName,
      TemplateBody: readFileSync(path.join(FIXTURES, template), 'utf8'),
    }),
  );
}

/** The stand-in stack, created and resolved; its Athena workgroup exists too. */
export async function deployStandInStack(moto: MotoServer, stackName = 'etl-test'): Promise<RemoteStack> {
  await createStack(moto, stackName, 'stack-template.json');
  const remote = await connectStack({ stack: stackName, ...motoOptions(moto) });
  await remote.clients.athena.send(
    new CreateWorkGroupCommand({
      Name: remote.info.athenaWorkGroup,
      Configuration: {
        ResultConfiguration: { OutputLocation: `s3://${remote.info.athenaResultsBucket}/wg/` },
      },
    }),
  );
  // moto's CloudFormation ignores VersioningConfiguration; the real landing bucket is versioned.
  await remote.clients.s3.send(
    new PutBucketVersioningCommand({
      Bucket: remote.info.landingBucket,
      VersioningConfiguration: { Status: 'Enabled' },
    }),
  );
  return remote;
}
