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
import type { SFNClient } from '@aws-sdk/client-sfn';
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

const SFN_TIMESTAMP = /"(creationDate|startDate|stopDate|timestamp|redriveDate|updateDate)":\s*"([^"]+)"/g;

/**
 * moto 5.1.4's Step Functions sends timestamps as ISO strings; the real service (awsJson1_0)
 * sends epoch seconds, and the JS SDK rejects anything else. This test-only middleware sits just
 * below the SDK's deserializer and rewrites those fields to what AWS would send, so the client
 * under test is otherwise untouched.
 */
export function acceptMotoTimestamps(sfn: SFNClient): void {
  sfn.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const response = out.response as { body?: unknown };
      const body = response.body as (AsyncIterable<Uint8Array> & object) | undefined;
      if (body && Symbol.asyncIterator in body) {
        const chunks: Uint8Array[] = [];
        for await (const c of body) chunks.push(c);
        const text = Buffer.concat(chunks).toString('utf8');
        const fixed = text.replace(
          SFN_TIMESTAMP,
          (_m, key: string, iso: string) => `"${key}": ${Date.parse(iso) / 1000}`,
        );
        response.body = new Uint8Array(Buffer.from(fixed, 'utf8'));
      }
      return out;
    },
    { step: 'deserialize', priority: 'low', name: 'acceptMotoTimestamps' },
  );
}
