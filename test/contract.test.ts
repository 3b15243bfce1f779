import { readFileSync } from 'node:fs';
import path from 'node:path';
import { compileRowSchema, findContract, listDatasets, parseContract } from '../core/contract';
import { ContractError } from '../core/errors';
import { compilePlan } from '../core/plan';

const registrationsFile = path.resolve(__dirname, '../schemas/registrations.schema.json');
const registrationsText = readFileSync(registrationsFile, 'utf8');

/** Parses the registrations contract after `mutate` edits a copy of it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests reach into arbitrary contract JSON
function parseMutated(mutate: (doc: any) => void): () => unknown {
  const doc = JSON.parse(registrationsText);
  mutate(doc);
  return () => parseContract('registrations', JSON.stringify(doc), 'registrations.schema.json');
}

function contractErrorOf(fn: () => unknown): ContractError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ContractError);
    return e as ContractError;
  }
  throw new Error('expected a ContractError');
}

describe('dataset contracts', () => {
  test('every shipped contract loads and compiles to a plan', () => {
    const datasets = listDatasets();
    expect(datasets).toContain('registrations');
    for (const d of datasets) {
      const contract = findContract(d)!;
      expect(contract.dataset).toBe(d);
      expect(compilePlan(contract).columns.length).toBeGreaterThan(0);
    }
  });

  test('registrations: key, partition, dedupe order and decimal type come from x-etl', () => {
    const c = findContract('registrations')!;
    expect(c.primaryKey).toEqual(['registration_id']);
    expect(c.partition!.column).toBe('event_date');
    expect(c.columns.find((x) => x.name === 'amount')).toMatchObject({
      type: 'decimal',
      precision: 12,
      scale: 2,
    });
    const plan = compilePlan(c);
    expect(plan.dedupe!.orderBy).toEqual([
      { column: 'registered_at', direction: 'desc' },
      { column: '_line', direction: 'desc' },
    ]);
    expect(c.columns.find((x) => x.source === 'notes')!.name).toBe('attendee_notes');
  });

  test('unknown dataset has no contract', () => {
    expect(findContract('no_such_dataset')).toBeUndefined();
    expect(findContract('../etc/passwd')).toBeUndefined();
  });

  test('broken JSON names the file and says to fix the syntax', () => {
    const err = contractErrorOf(() => parseContract('registrations', '{ "a": ', 'bad.schema.json'));
    expect(err.message).toMatch(/^bad\.schema\.json#: not valid JSON/);
  });

  test('a misspelt x-etl key is reported at its JSON pointer with a fix', () => {
    const err = contractErrorOf(parseMutated((d) => (d['x-etl'].primaryKeys = ['registration_id'])));
    expect(err.pointer).toBe('/x-etl/primaryKeys');
    expect(err.fix).toMatch(/remove this key or correct its spelling/);
  });

  test('decimal without scale, scale above precision', () => {
    expect(contractErrorOf(parseMutated((d) => delete d['x-etl'].columns.amount.scale)).pointer).toBe(
      '/x-etl/columns/amount',
    );
    expect(contractErrorOf(parseMutated((d) => (d['x-etl'].columns.amount.scale = 13))).pointer).toBe(
      '/x-etl/columns/amount/scale',
    );
  });

  test('partition column must be a required date', () => {
    expect(contractErrorOf(parseMutated((d) => (d['x-etl'].partition.column = 'event_id'))).problem).toMatch(
      /is string/,
    );
    expect(contractErrorOf(parseMutated((d) => (d['x-etl'].partition.column = 'nope'))).pointer).toBe(
      '/x-etl/partition/column',
    );
  });

  test('primary key must exist and be required', () => {
    const err = contractErrorOf(parseMutated((d) => (d['x-etl'].primaryKey = ['notes'])));
    expect(err.pointer).toBe('/x-etl/primaryKey/0');
    expect(err.fix).toMatch(/add "notes" to "required"/);
  });

  test('row schema type must match the SQL type', () => {
    const err = contractErrorOf(parseMutated((d) => (d.properties.quantity.type = 'string')));
    expect(err.pointer).toBe('/properties/quantity/type');
  });

  test('a property with no SQL type, and a typo in the row schema', () => {
    expect(contractErrorOf(parseMutated((d) => delete d['x-etl'].columns.notes)).fix).toMatch(
      /x-etl\.columns/,
    );
    expect(contractErrorOf(parseMutated((d) => (d.properties.quantity.minimun = 1))).problem).toMatch(
      /does not compile/,
    );
  });

  test('unknown time zone', () => {
    const err = contractErrorOf(
      parseMutated((d) => (d['x-etl'].columns.registered_at.defaultTimezone = 'Mars/Olympus')),
    );
    expect(err.pointer).toBe('/x-etl/columns/registered_at/defaultTimezone');
  });
});

describe('compiling row schemas with the one shared Ajv', () => {
  test('a schema that fails to compile leaves nothing behind: the corrected one with the same $id compiles', () => {
    const broken = {
      $id: 'urn:etl:rows',
      type: 'object',
      properties: { n: { type: 'integer', minimun: 1 } },
    };
    const fixed = { $id: 'urn:etl:rows', type: 'object', properties: { n: { type: 'integer', minimum: 1 } } };

    expect(() => compileRowSchema(broken)).toThrow(/minimun/);
    const validate = compileRowSchema(fixed);
    const again = compileRowSchema({ ...fixed }); // a reload of the same contract

    expect([validate({ n: 0 }), validate({ n: 2 }), again({ n: 0 })]).toEqual([false, true, false]);
  });
});
