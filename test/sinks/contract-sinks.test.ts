/** The contract's `sinks` array: defaults, and errors that name the file, the field and the fix. */
import { parseSinks, type SinkParseContext } from '../../core/sinks';

const CONTEXT: SinkParseContext = {
  file: 'schemas/payments.schema.json',
  primaryKey: ['id'],
  columns: [
    { name: 'id', type: 'string' },
    { name: 'flag', type: 'boolean' },
  ],
};

describe('sinks in the contract', () => {
  test('no sinks: none', () => {
    expect(parseSinks(undefined, CONTEXT)).toEqual([]);
  });

  test('both sinks with their defaults', () => {
    const sinks = parseSinks(
      [
        { type: 'dynamodb' },
        { type: 'redshift', workgroup: 'analytics', database: 'dev', table: 'payments' },
      ],
      CONTEXT,
    );

    expect(sinks).toEqual([
      { type: 'dynamodb', table: null, key: ['id'] },
      {
        type: 'redshift',
        workgroup: 'analytics',
        clusterIdentifier: null,
        database: 'dev',
        schema: 'public',
        table: 'payments',
        secretArn: null,
        dbUser: null,
        copyRoleArn: null,
        key: ['id'],
      },
    ]);
  });

  test('the DynamoDB sink without a primary key names the file and the fix', () => {
    expect(() => parseSinks([{ type: 'dynamodb' }], { ...CONTEXT, primaryKey: [] })).toThrow(
      /^schemas\/payments\.schema\.json#\/sinks\/0: the DynamoDB sink needs the contract's primary key.*Fix: add "primaryKey"/,
    );
  });

  test('a boolean key cannot be a DynamoDB key', () => {
    expect(() => parseSinks([{ type: 'dynamodb' }], { ...CONTEXT, primaryKey: ['flag'] })).toThrow(
      /"flag" is boolean/,
    );
  });

  test.each([
    [{ type: 'redshift', database: 'dev', table: 't' }, /no warehouse named/],
    [
      { type: 'redshift', workgroup: 'wg1', clusterIdentifier: 'c1', database: 'dev', table: 't' },
      /both "workgroup" and "clusterIdentifier"/,
    ],
    [
      { type: 'redshift', workgroup: 'wg1', database: 'dev', table: 't', dbUser: 'etl' },
      /#\/sinks\/0\/dbUser: "dbUser" applies to provisioned clusters only/,
    ],
    [
      { type: 'redshift', workgroup: 'wg1', database: 'dev', table: 'Bad Name' },
      /#\/sinks\/0\/table: must match pattern/,
    ],
    [{ type: 'dynamodb', tabel: 'x' }, /#\/sinks\/0: must NOT have additional properties \(tabel\)/],
    [{ type: 'kafka' }, /#\/sinks\/0\/type: must be equal to one of the allowed values/],
  ])('%j is refused', (sink, message) => {
    expect(() => parseSinks([sink], CONTEXT)).toThrow(message);
  });

  test('one sink per type', () => {
    expect(() => parseSinks([{ type: 'dynamodb' }, { type: 'dynamodb', table: 'other' }], CONTEXT)).toThrow(
      /#\/sinks\/1: a second "dynamodb" sink/,
    );
  });
});

test("a column named like the sinks' bookkeeping is refused when a sink is configured", () => {
  expect(() =>
    parseSinks([{ type: 'dynamodb' }], {
      ...CONTEXT,
      columns: [...CONTEXT.columns, { name: '_source_id', type: 'string' }],
    }),
  ).toThrow(/#\/sinks: column "_source_id" has a name the sinks keep/);
});
