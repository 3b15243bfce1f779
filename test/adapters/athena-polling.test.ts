/**
 * Athena's query lifecycle as the adapter sees it, scripted (moto answers SUCCEEDED at once, so the
 * waiting and failure paths are driven here): it polls through QUEUED and RUNNING, reads every
 * page, and tells a retryable failure from a query error.
 */
import type { AthenaClient } from '@aws-sdk/client-athena';
import { AthenaQueryEngine } from '../../adapters/aws/athena-query-engine';

type Reply = Record<string, unknown>;

/** A client that answers each command name from a script, recording what it was sent. */
function scriptedClient(script: Record<string, Reply[]>) {
  const sent: { command: string; input: Record<string, unknown> }[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name.replace(/Command$/, '');
      sent.push({ command: name, input: command.input });
      const reply = script[name]?.shift();
      if (!reply) throw new Error(`unexpected ${name}`);
      if (reply.throw) throw reply.throw;
      return reply;
    },
  };
  return { client: client as unknown as AthenaClient, sent };
}

const state = (State: string, extra: Reply = {}) => ({ QueryExecution: { Status: { State, ...extra } } });
const page = (rows: string[][], NextToken?: string) => ({
  ResultSet: {
    ResultSetMetadata: { ColumnInfo: [{ Name: 'n', Label: 'n' }] },
    Rows: rows.map((r) => ({ Data: r.map((v) => ({ VarCharValue: v })) })),
  },
  ...(NextToken !== undefined && { NextToken }),
});

test('polls QUEUED → RUNNING → SUCCEEDED and reads every result page', async () => {
  const { client, sent } = scriptedClient({
    StartQueryExecution: [{ QueryExecutionId: 'q-1' }],
    GetQueryExecution: [state('QUEUED'), state('RUNNING'), state('SUCCEEDED')],
    GetQueryResults: [page([['n'], ['1']], 't-2'), page([['2']])],
  });

  const rows = await new AthenaQueryEngine(client, { workGroup: 'wg', pollIntervalMs: 1 }).query(
    'SELECT n FROM t WHERE k = ?',
    [7],
    {
      database: 'db',
    },
  );

  expect(rows).toEqual([{ n: '1' }, { n: '2' }]);
  expect(sent.filter((s) => s.command === 'GetQueryExecution')).toHaveLength(3);
  expect(sent[0]!.input).toMatchObject({
    ExecutionParameters: ['7'],
    WorkGroup: 'wg',
    QueryExecutionContext: { Database: 'db' },
  });
});

test('a failure Athena marks retryable is TransientDependencyError; a query error is not', async () => {
  const retryable = scriptedClient({
    StartQueryExecution: [{ QueryExecutionId: 'q-1' }],
    GetQueryExecution: [
      state('FAILED', {
        AthenaError: { ErrorCategory: 1, Retryable: true },
        StateChangeReason: 'internal error',
      }),
    ],
  });
  const userError = scriptedClient({
    StartQueryExecution: [{ QueryExecutionId: 'q-2' }],
    GetQueryExecution: [
      state('FAILED', {
        AthenaError: { ErrorCategory: 2, Retryable: false },
        StateChangeReason: 'TABLE_NOT_FOUND',
      }),
    ],
  });

  await expect(
    new AthenaQueryEngine(retryable.client, { workGroup: 'wg' }).query('SELECT 1', [], { database: 'db' }),
  ).rejects.toMatchObject({
    name: 'TransientDependencyError',
  });
  await expect(
    new AthenaQueryEngine(userError.client, { workGroup: 'wg' }).query('SELECT 1', [], { database: 'db' }),
  ).rejects.toThrow(/q-2 FAILED: TABLE_NOT_FOUND/);
});

test('throttling on start is TransientDependencyError (the ASL retries it with backoff)', async () => {
  const throttled = scriptedClient({
    StartQueryExecution: [
      { throw: Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }) },
    ],
  });

  await expect(
    new AthenaQueryEngine(throttled.client, { workGroup: 'wg' }).query('SELECT 1', [], { database: 'db' }),
  ).rejects.toMatchObject({
    name: 'TransientDependencyError',
    message: expect.stringContaining('TooManyRequestsException'),
  });
});

test('a query still running at the deadline is stopped and reported as transient', async () => {
  const { client, sent } = scriptedClient({
    StartQueryExecution: [{ QueryExecutionId: 'q-3' }],
    GetQueryExecution: [state('RUNNING'), state('RUNNING'), state('RUNNING')],
    StopQueryExecution: [{}],
  });

  await expect(
    new AthenaQueryEngine(client, { workGroup: 'wg', pollIntervalMs: 5, timeoutMs: 1 }).query(
      'SELECT 1',
      [],
      { database: 'db' },
    ),
  ).rejects.toMatchObject({ name: 'TransientDependencyError' });
  expect(sent.map((s) => s.command)).toContain('StopQueryExecution');
});
