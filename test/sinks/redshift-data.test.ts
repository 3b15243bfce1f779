/**
 * The Redshift Data API runner against moto's redshift-data server: real SDK calls and protocol.
 * moto implements ExecuteStatement, DescribeStatement and CancelStatement (not
 * BatchExecuteStatement), and never moves a statement past STARTED; the FINISHED and FAILED cases
 * rewrite the status in moto's DescribeStatement response (a deserialize middleware), everything
 * else is moto's own.
 */
import { DescribeStatementCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { RedshiftDataSqlRunner, type RedshiftTarget } from '../../adapters/aws/redshift-data';
import { SinkLoadFailedError, TransientDependencyError } from '../../core/errors';
import { startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';

const TARGET: RedshiftTarget = {
  workgroup: 'analytics',
  clusterIdentifier: null,
  database: 'dev',
  secretArn: null,
  dbUser: null,
};

/**
 * moto writes timestamps as ISO strings where the JSON protocol sends epoch seconds; `status`
 * (when given) replaces DescribeStatement's Status, with `error` as its Error.
 */
function clientFor(moto: MotoServer, status?: { Status: string; Error?: string }): RedshiftDataClient {
  const client = new RedshiftDataClient(moto.clientConfig);
  client.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const response = out.response as { body?: AsyncIterable<Uint8Array> | Uint8Array };
      if (response.body && Symbol.asyncIterator in response.body) {
        const chunks: Buffer[] = [];
        for await (const c of response.body) chunks.push(Buffer.from(c));
        let text = Buffer.concat(chunks)
          .toString('utf8')
          .replace(/"(\d{4}-\d{2}-\d{2}T[0-9:.]+(?:[+-]\d{2}:\d{2}|Z)?)"/g, (_m, iso: string) =>
            String(Date.parse(/[Z+-]\d{2}:?\d{2}$|Z$/.test(iso) ? iso : `${iso}Z`) / 1000),
          );
        if (status && text.includes('"QueryString"')) {
          const body = JSON.parse(text) as Record<string, unknown>;
          Object.assign(body, status, { ResultRows: 7 });
          text = JSON.stringify(body);
        }
        response.body = new TextEncoder().encode(text);
      }
      return out;
    },
    { step: 'deserialize', priority: 'low', name: 'motoRedshiftData' },
  );
  return client;
}

const run = requirePythonSide('moto', 'Redshift Data API runner against moto');
(run ? describe : describe.skip)('Redshift Data API runner against moto', () => {
  let moto: MotoServer;
  beforeAll(async () => {
    moto = await startMoto();
  }, 60_000);
  afterAll(async () => moto?.stop());

  test('a statement runs on the named workgroup and database; FINISHED returns its row count', async () => {
    const runner = new RedshiftDataSqlRunner(clientFor(moto, { Status: 'FINISHED' }), TARGET, {
      pollIntervalMs: 5,
    });

    const counts = await runner.run(['CREATE TABLE IF NOT EXISTS "public"."payments" (id VARCHAR(65535))']);

    expect(counts).toEqual([7]);
  });

  test("a FAILED statement is a SinkLoadFailedError with the statement text and Redshift's message", async () => {
    const sql = 'INSERT INTO "public"."payments" SELECT * FROM "public"."missing"';
    const runner = new RedshiftDataSqlRunner(
      clientFor(moto, { Status: 'FAILED', Error: 'ERROR: relation "public.missing" does not exist' }),
      TARGET,
      { pollIntervalMs: 5 },
    );

    const running = runner.run([sql]);

    await expect(running).rejects.toThrow(SinkLoadFailedError);
    await expect(running).rejects.toThrow(
      /relation "public.missing" does not exist[\s\S]*statement: INSERT INTO "public"."payments" SELECT/,
    );
  });

  test('a serializable isolation conflict is transient (the state retries it)', async () => {
    const runner = new RedshiftDataSqlRunner(
      clientFor(moto, {
        Status: 'FAILED',
        Error: 'ERROR: 1023 DETAIL: Serializable isolation violation on table - 123',
      }),
      TARGET,
      { pollIntervalMs: 5 },
    );

    await expect(runner.run(['DELETE FROM "public"."payments"'])).rejects.toThrow(TransientDependencyError);
  });

  test('a statement still running when the budget is spent is cancelled and reported transient', async () => {
    const client = clientFor(moto);
    const runner = new RedshiftDataSqlRunner(client, TARGET, { pollIntervalMs: 5, timeoutMs: 60 });

    const error = (await runner.run(['SELECT 1']).catch((e: unknown) => e)) as Error;

    expect(error).toBeInstanceOf(TransientDependencyError);
    expect(error.message).toMatch(/still STARTED after 60 ms; cancelled/);
    const id = /statement ([0-9a-f-]{36})/.exec(error.message)![1]!;
    const described = await client.send(new DescribeStatementCommand({ Id: id }));
    expect(described).toMatchObject({ Status: 'ABORTED', QueryString: 'SELECT 1', Database: 'dev' });
  });
});
