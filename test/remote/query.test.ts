import { GetQueryExecutionCommand } from '@aws-sdk/client-athena';
import {
  athenaLiteral,
  queryLake,
  QueryFailedError,
  QueryTimeoutError,
  type RemoteStack,
} from '../../remote';
import { resetMoto, startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';
import { startAwsJsonStub, type AwsJsonStub, type StubRequest, type StubReply } from './aws-json-stub';
import { deployStandInStack } from './moto-stack';
import { remoteOnStub } from './stub-fixtures';

const COLUMNS = [
  { Name: 'country', Type: 'varchar' },
  { Name: 'registrations', Type: 'bigint' },
];
const row = (...values: (string | null)[]) => ({
  Data: values.map((v) => (v === null ? {} : { VarCharValue: v })),
});

const run = requirePythonSide('moto', 'remote query');
(run ? describe : describe.skip)('etl query --stack (moto Athena, canned results)', () => {
  let moto: MotoServer;
  let remote: RemoteStack;
  beforeAll(async () => (moto = await startMoto()));
  afterAll(async () => moto.stop());
  beforeEach(async () => (remote = await deployStandInStack(moto)));
  afterEach(async () => resetMoto(moto));

  test('the query runs in the stack workgroup and database, values bound as execution parameters', async () => {
    // moto does not execute SQL: it returns the next queued result. Athena puts the header first.
    await fetch(`${moto.endpoint}/moto-api/static/athena/query-results`, {
      method: 'POST',
      body: JSON.stringify({
        results: [
          {
            rows: [row('country', 'registrations'), row('DE', '1204'), row(null, '3')],
            column_info: COLUMNS,
          },
        ],
      }),
    });
    const sql =
      'SELECT country, count(*) AS registrations FROM registrations WHERE ticket_type = ? AND quantity > ? GROUP BY 1';

    const result = await queryLake(remote, sql, { parameters: ["early'bird", 1] });

    expect(result.columns).toEqual([
      { name: 'country', type: 'varchar' },
      { name: 'registrations', type: 'bigint' },
    ]);
    expect(result.rows).toEqual([
      ['DE', '1204'],
      [null, '3'],
    ]);
    expect(result.truncated).toBe(false);
    const sent = await remote.clients.athena.send(
      new GetQueryExecutionCommand({ QueryExecutionId: result.queryExecutionId }),
    );
    expect(sent.QueryExecution).toMatchObject({
      Query: sql,
      WorkGroup: 'etl-cli',
      QueryExecutionContext: { Database: 'etl_lake', Catalog: 'AwsDataCatalog' },
      ExecutionParameters: ["'early''bird'", '1'],
    });
    expect(result.outputLocation).toBe(
      `s3://${remote.info.athenaResultsBucket}/cli/${result.queryExecutionId}.csv`,
    );
  });
});

/** Answers Athena calls from a script: GetQueryExecution states in turn, result pages by token. */
function athenaScript(states: readonly string[], pages: readonly object[][], failure?: string) {
  let polls = 0;
  return ({ operation, body }: StubRequest): StubReply => {
    switch (operation) {
      case 'StartQueryExecution':
        return { body: { QueryExecutionId: 'q-1' } };
      case 'GetQueryExecution': {
        const state = states[Math.min(polls++, states.length - 1)]!;
        return {
          body: {
            QueryExecution: {
              QueryExecutionId: 'q-1',
              StatementType: 'DML',
              Status: { State: state, ...(failure && { AthenaError: { ErrorMessage: failure } }) },
              Statistics: { DataScannedInBytes: 52_428_800, EngineExecutionTimeInMillis: 1830 },
              ResultConfiguration: { OutputLocation: 's3://athena-results/cli/q-1.csv' },
            },
          },
        };
      }
      case 'GetQueryResults': {
        const i = Number(body.NextToken ?? 0);
        return {
          body: {
            ResultSet: { Rows: pages[i], ResultSetMetadata: { ColumnInfo: COLUMNS } },
            ...(i + 1 < pages.length && { NextToken: String(i + 1) }),
          },
        };
      }
      case 'StopQueryExecution':
        return { body: {} };
      default:
        return { error: 'UnknownOperationException', message: operation };
    }
  };
}

describe('etl query --stack (stub: Athena states and result pages in the AWS wire format)', () => {
  let stub: AwsJsonStub | undefined;
  afterEach(async () => stub?.stop());
  const fast = { initial: 5, max: 20 };

  test('a queued then running query is polled until it succeeds, and every result page is read', async () => {
    stub = await startAwsJsonStub(
      athenaScript(
        ['QUEUED', 'RUNNING', 'RUNNING', 'SUCCEEDED'],
        [
          [row('country', 'registrations'), row('DE', '1')],
          [row('FR', '2'), row('country', 'registrations')],
          [row('IT', '3')],
        ],
      ),
    );

    const result = await queryLake(remoteOnStub(stub), 'SELECT 1', { pollMs: fast });

    expect(stub.requests.filter((r) => r.operation === 'GetQueryExecution')).toHaveLength(4);
    expect(
      stub.requests.filter((r) => r.operation === 'GetQueryResults').map((r) => r.body.NextToken),
    ).toEqual([undefined, '1', '2']);
    // Only the first page's first row is Athena's header; a later identical row is data.
    expect(result.rows).toEqual([
      ['DE', '1'],
      ['FR', '2'],
      ['country', 'registrations'],
      ['IT', '3'],
    ]);
    expect(result).toMatchObject({ dataScannedBytes: 52_428_800, engineExecutionMs: 1830, truncated: false });
  });

  test('maxRows stops reading pages and says the result is truncated', async () => {
    stub = await startAwsJsonStub(
      athenaScript(
        ['SUCCEEDED'],
        [[row('country', 'registrations'), row('DE', '1'), row('FR', '2')], [row('IT', '3')]],
      ),
    );

    const result = await queryLake(remoteOnStub(stub), 'SELECT 1', { maxRows: 1, pollMs: fast });

    expect(result.rows).toEqual([['DE', '1']]);
    expect(result.truncated).toBe(true);
    expect(stub.requests.filter((r) => r.operation === 'GetQueryResults')).toHaveLength(1);
  });

  test("a failed query reports Athena's reason", async () => {
    stub = await startAwsJsonStub(
      athenaScript(['RUNNING', 'FAILED'], [], "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved"),
    );

    const querying = queryLake(remoteOnStub(stub), 'SELECT nope FROM registrations', { pollMs: fast });

    await expect(querying).rejects.toBeInstanceOf(QueryFailedError);
    await expect(querying).rejects.toThrow(/q-1 FAILED: COLUMN_NOT_FOUND.*'nope'/);
  });

  test('a query still running at the timeout is stopped, not left running', async () => {
    stub = await startAwsJsonStub(athenaScript(['RUNNING'], []));

    const querying = queryLake(remoteOnStub(stub), 'SELECT 1', { timeoutMs: 60, pollMs: fast });

    await expect(querying).rejects.toBeInstanceOf(QueryTimeoutError);
    expect(
      stub.requests.filter((r) => r.operation === 'StopQueryExecution').map((r) => r.body.QueryExecutionId),
    ).toEqual(['q-1']);
  });

  test('cancelling (Ctrl-C) stops the query too', async () => {
    stub = await startAwsJsonStub(athenaScript(['RUNNING'], []));
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(), 30);

    const querying = queryLake(remoteOnStub(stub), 'SELECT 1', {
      signal: cancel.signal,
      pollMs: { initial: 1000, max: 1000 },
    });

    await expect(querying).rejects.toThrow(/was stopped: cancelled/);
    expect(stub.requests.map((r) => r.operation)).toContain('StopQueryExecution');
  });
});

describe('binding query parameters', () => {
  test('strings become SQL string literals whose quotes cannot end the literal', () => {
    expect(athenaLiteral("x' OR '1'='1")).toBe("'x'' OR ''1''=''1'");
    expect(athenaLiteral('2026-01-01')).toBe("'2026-01-01'");
  });

  test('numbers, big integers and booleans are bound as themselves; non-finite numbers are refused', () => {
    expect([
      athenaLiteral(42),
      athenaLiteral(-1.5),
      athenaLiteral(2n ** 63n - 1n),
      athenaLiteral(true),
    ]).toEqual(['42', '-1.5', '9223372036854775807', 'TRUE']);
    expect(() => athenaLiteral(Number.NaN)).toThrow(/not a finite number/);
    expect(() => athenaLiteral(Infinity)).toThrow(/not a finite number/);
  });
});
