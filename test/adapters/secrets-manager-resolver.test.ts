/**
 * SecretsManagerResolver against a moto server: the pull Lambda's secret request headers. Text and
 * key/value secrets, the errors (naming the secret, never its value), and the cache a warm Lambda
 * reuses.
 */
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SecretsManagerResolver } from '../../adapters/aws/secrets-manager-resolver';
import { SecretNotFoundError } from '../../core/errors';
import { resetMoto, startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';

/** The rejection of `p` (fails the test when it resolves). */
const errorOf = (p: Promise<unknown>): Promise<Error> =>
  p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e as Error,
  );

const runMoto = requirePythonSide('moto', 'SecretsManagerResolver');
(runMoto ? describe : describe.skip)('SecretsManagerResolver (moto)', () => {
  let moto: MotoServer;
  let client: SecretsManagerClient;
  let calls: number;
  beforeAll(async () => {
    moto = await startMoto();
  });
  beforeEach(async () => {
    await resetMoto(moto);
    client = new SecretsManagerClient(moto.clientConfig);
    calls = 0;
    client.middlewareStack.add(
      (next) => (args) => {
        calls++;
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' },
    );
    await client.send(new CreateSecretCommand({ Name: 'archive/token', SecretString: 's3cr3t-token' }));
    await client.send(
      new CreateSecretCommand({
        Name: 'archive/keys',
        SecretString: JSON.stringify({ token: 'tok-123', user: 42 }),
      }),
    );
  });
  afterEach(() => client.destroy());
  afterAll(async () => {
    await moto?.stop();
  });

  test('a text secret is its value; a key/value secret gives the named field', async () => {
    const resolver = new SecretsManagerResolver(client);

    expect(await resolver.resolve({ secret: 'archive/token' })).toBe('s3cr3t-token');
    expect(await resolver.resolve({ secret: 'archive/keys', field: 'token' })).toBe('tok-123');
  });

  test('a missing secret is SecretNotFoundError naming it and the fix', async () => {
    const resolver = new SecretsManagerResolver(client);

    const err = await errorOf(resolver.resolve({ secret: 'no/such' }));
    expect(err).toBeInstanceOf(SecretNotFoundError);
    expect(err.message).toMatch(/secret "no\/such" not found in Secrets Manager\. Fix: create it/);
  });

  test('a field that is missing, not text, or asked of a text secret is refused without printing the value', async () => {
    const resolver = new SecretsManagerResolver(client);

    for (const [ref, message] of [
      [{ secret: 'archive/keys', field: 'password' }, /has no text field "password"/],
      [{ secret: 'archive/keys', field: 'user' }, /has no text field "user"/],
      [{ secret: 'archive/token', field: 'token' }, /is not a JSON object/],
    ] as const) {
      const err = await errorOf(resolver.resolve(ref));
      expect(err).toBeInstanceOf(SecretNotFoundError);
      expect(err.message).toMatch(message);
      expect(err.message).not.toMatch(/s3cr3t|tok-123/);
    }
  });

  test('a binary secret is refused: a header value is text', async () => {
    await client.send(
      new CreateSecretCommand({ Name: 'archive/binary', SecretBinary: Buffer.from([0, 1, 2]) }),
    );
    const err = await errorOf(new SecretsManagerResolver(client).resolve({ secret: 'archive/binary' }));
    expect(err).toBeInstanceOf(SecretNotFoundError);
    expect(err.message).toMatch(/holds binary data/);
  });

  test('a value is fetched once per cache window, then again (a rotated secret is picked up)', async () => {
    let now = 1_000_000;
    const resolver = new SecretsManagerResolver(client, { cacheMs: 60_000, now: () => now });
    calls = 0;

    await resolver.resolve({ secret: 'archive/keys', field: 'token' });
    await resolver.resolve({ secret: 'archive/keys', field: 'user' }).catch(() => undefined);
    expect(await resolver.resolve({ secret: 'archive/keys', field: 'token' })).toBe('tok-123');
    expect(calls).toBe(1);

    await client.send(
      new PutSecretValueCommand({
        SecretId: 'archive/keys',
        SecretString: JSON.stringify({ token: 'tok-456' }),
      }),
    );
    calls = 0;
    now += 60_000;
    expect(await resolver.resolve({ secret: 'archive/keys', field: 'token' })).toBe('tok-456');
    expect(calls).toBe(1);
  });
});
