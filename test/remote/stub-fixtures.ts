/** Loads the recorded-shape response fixtures under test/fixtures/remote for the stub server. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { createRemoteClients, stackInfoFromOutputs, type RemoteStack } from '../../remote';
import type { AwsJsonStub } from './aws-json-stub';
import { FIXTURES } from './moto-stack';

/** A wire-format fixture without its `_comment`. */
export function wireFixture(name: string): Record<string, unknown> {
  const { _comment: _ignored, ...body } = JSON.parse(
    readFileSync(path.join(FIXTURES, name), 'utf8'),
  ) as Record<string, unknown>;
  return body;
}

/** History events as the SDK hands them over (timestamps as Dates). */
export function historyEvents(name: string): HistoryEvent[] {
  return (wireFixture(name).events as (HistoryEvent & { timestamp: number })[]).map((e) => ({
    ...e,
    timestamp: new Date((e.timestamp as unknown as number) * 1000),
  }));
}

/** The stack the fixtures belong to, reached through the stub. */
export function remoteOnStub(stub: AwsJsonStub): RemoteStack {
  const info = stackInfoFromOutputs('etl-prod', 'eu-west-1', [
    { OutputKey: 'LandingBucketName', OutputValue: 'landing' },
    { OutputKey: 'LakeBucketName', OutputValue: 'lake' },
    {
      OutputKey: 'StateMachineArn',
      OutputValue: 'arn:aws:states:eu-west-1:123456789012:stateMachine:etl-pipeline',
    },
    { OutputKey: 'AthenaWorkGroupName', OutputValue: 'etl-cli' },
    { OutputKey: 'GlueDatabaseName', OutputValue: 'etl_lake' },
    { OutputKey: 'AthenaResultsBucketName', OutputValue: 'athena-results' },
  ]);
  return { info, clients: createRemoteClients({ ...stub.clientConfig, region: 'eu-west-1' }) };
}
