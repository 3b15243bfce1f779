import path from 'node:path';
import { createRemoteClients, regionOf, RegionMissingError } from '../../remote';
import { FIXTURES } from './moto-stack';

// Shared config files from fixtures; nothing here sends a request (only providers are resolved).
const AWS_ENV = [
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_PROFILE',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
];
const AWS_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

describe('--profile and --region (standard provider chain, fixture config files)', () => {
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    for (const k of [...AWS_ENV, ...AWS_KEYS]) {
      saved[k] = process.env[k];
      delete process.env[k];
    }
    process.env.AWS_CONFIG_FILE = path.join(FIXTURES, 'aws-config', 'config');
    process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(FIXTURES, 'aws-config', 'credentials');
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  test("--profile picks that profile's region and credentials", async () => {
    const clients = createRemoteClients({ profile: 'etl-dev' });

    expect(await regionOf(clients, 'etl-dev')).toBe('eu-west-3');
    const creds = await clients.sfn.config.credentials();
    expect(creds.accessKeyId).toBe('AKIDETLDEVEXAMPLE');
  });

  test("--region wins over the profile's region", async () => {
    const clients = createRemoteClients({ profile: 'etl-dev', region: 'ap-south-1' });

    expect(await regionOf(clients)).toBe('ap-south-1');
    expect(await clients.athena.config.region()).toBe('ap-south-1');
  });

  test('no region anywhere is a clear error naming the profile and the ways to set one', async () => {
    const clients = createRemoteClients({ profile: 'no-region' });

    const resolving = regionOf(clients, 'no-region');

    await expect(resolving).rejects.toBeInstanceOf(RegionMissingError);
    await expect(resolving).rejects.toThrow(/profile "no-region".*--region.*AWS_REGION/);
  });

  test('an endpoint override reaches every client, and S3 switches to path-style for it', async () => {
    const clients = createRemoteClients({ endpoint: 'http://127.0.0.1:4566', region: 'us-east-1' });

    for (const client of [clients.cloudFormation, clients.s3, clients.sfn, clients.athena]) {
      const endpoint = await client.config.endpoint!();
      expect(`${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`).toBe('http://127.0.0.1:4566');
    }
    expect(clients.s3.config.forcePathStyle).toBe(true);
  });
});
