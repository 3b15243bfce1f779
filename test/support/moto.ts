/**
 * A moto server on loopback for the AWS adapter tests: started on a free port by the suite that
 * needs it, stopped afterwards. Nothing here ever talks to AWS: clients get this endpoint and
 * dummy credentials.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LEDGER_TABLE_KEYS } from '../../adapters/aws/dynamodb-ledger';
import { VENV_PYTHON } from './python';

export interface MotoServer {
  readonly endpoint: string;
  /** Client config for any AWS SDK v3 client. */
  readonly clientConfig: {
    endpoint: string;
    region: string;
    forcePathStyle: boolean;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `moto_server` from .venv on 127.0.0.1 and waits until it answers — through
 * moto_server_atomic.py, which makes moto's DynamoDB item writes atomic as DynamoDB's are (the
 * ledgers' race tests otherwise failed on moto under load).
 */
export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const atomic = path.join(__dirname, 'moto_server_atomic.py');
  const child: ChildProcess = spawn(VENV_PYTHON, [atomic, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_DEFAULT_REGION: 'us-east-1',
    },
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${stderr}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not start within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    clientConfig: {
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Resets all moto state between tests. */
export async function resetMoto(server: MotoServer): Promise<void> {
  await fetch(`${server.endpoint}/moto-api/reset`, { method: 'POST' });
}

/** Creates the ledger table with the schema the DynamoDB ledger adapter (and the stack) use. */
export async function createLedgerTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: LEDGER_TABLE_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: LEDGER_TABLE_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: LEDGER_TABLE_KEYS.partitionKey, AttributeType: 'S' },
        { AttributeName: LEDGER_TABLE_KEYS.sortKey, AttributeType: 'S' },
      ],
    }),
  );
}

/**
 * A Glue client for moto. moto writes Glue timestamps (CreateTime, ...) as ISO strings where AWS's
 * JSON protocol sends epoch seconds, and the SDK refuses them; this rewrites them in the raw
 * response before the SDK deserialises it.
 */
export function motoGlueClient(server: MotoServer): import('@aws-sdk/client-glue').GlueClient {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { GlueClient } = require('@aws-sdk/client-glue') as typeof import('@aws-sdk/client-glue');
  const glue = new GlueClient(server.clientConfig);
  glue.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const response = out.response as { body?: AsyncIterable<Uint8Array> | Uint8Array };
      if (response.body && Symbol.asyncIterator in response.body) {
        const chunks: Buffer[] = [];
        for await (const c of response.body) chunks.push(Buffer.from(c));
        const text = Buffer.concat(chunks)
          .toString('utf8')
          .replace(/"(\d{4}-\d{2}-\d{2}T[0-9:.]+(?:[+-]\d{2}:\d{2}|Z)?)"/g, (_m, iso: string) =>
            String(Date.parse(/[Z+-]\d{2}:?\d{2}$|Z$/.test(iso) ? iso : `${iso}Z`) / 1000),
          );
        response.body = new TextEncoder().encode(text);
      }
      return out;
    },
    { step: 'deserialize', priority: 'low', name: 'motoGlueTimestamps' },
  );
  return glue;
}
