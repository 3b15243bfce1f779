import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import {
  compileRowSchema,
  CONTRACT_V2_SCHEMA,
  findContract,
  listDatasets,
  loadContractFile,
  parseContract,
  X_ETL_SCHEMA,
} from '../core/contract';
import { ContractError } from '../core/errors';
import { compilePlan } from '../core/plan';

const registrationsFile = path.resolve(__dirname, '../schemas/registrations.schema.json');
const registrationsText = readFileSync(registrationsFile, 'utf8');
/** The registrations contract as it was written in v1 (JSON Schema + x-etl), kept to test v1 loading. */
const registrationsV1Text = readFileSync(
  path.resolve(__dirname, 'fixtures/contracts/registrations-v1.schema.json'),
  'utf8',
);

/** Parses the v1 registrations contract after `mutate` edits a copy of it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests reach into arbitrary contract JSON
function parseMutated(mutate: (doc: any) => void): () => unknown {
  const doc = JSON.parse(registrationsV1Text);
  mutate(doc);
  return () => parseContract('registrations', JSON.stringify(doc), 'registrations.schema.json');
}

/** Parses the shipped (v2) registrations contract after `mutate` edits a copy of it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests reach into arbitrary contract JSON
function parseMutatedV2(mutate: (doc: any) => void, dataset = 'registrations'): () => unknown {
  const doc = JSON.parse(registrationsText);
  mutate(doc);
  return () => parseContract(dataset, JSON.stringify(doc), `${dataset}.schema.json`);
}

/** A minimal v2 contract with `extra` merged in. */
const minimal = (extra: Record<string, unknown> = {}, dataset = 'things') =>
  parseContract(
    dataset,
    JSON.stringify({ version: 2, columns: [{ name: 'id', type: 'integer', required: true }], ...extra }),
    `${dataset}.schema.json`,
  );

function contractErrorOf(fn: () => unknown): ContractError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ContractError);
    return e as ContractError;
  }
  throw new Error('expected a ContractError');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a column of arbitrary contract JSON
const column = (doc: { columns: { name: string }[] }, name: string): any =>
  doc.columns.find((c) => c.name === name)!;

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
    const c = parseContract('registrations', registrationsV1Text, 'registrations.schema.json');
    expect(c.version).toBe(1);
    expect(c.primaryKey).toEqual(['registration_id']);
    expect(c.partition).toEqual({
      column: 'event_date',
      kind: 'date',
      granularity: 'day',
      name: 'event_date',
      keepColumn: false,
    });
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

  test('registrations in v2 behaves as its v1 form but for the partition: same columns, checks, key, dedupe; month partitions v1 cannot express', () => {
    const v1 = parseContract('registrations', registrationsV1Text, registrationsFile);
    const v2 = findContract('registrations')!;

    expect(v2.version).toBe(2);
    const { version: _a, rowSchema: s1, partition: p1, ...rest1 } = v1;
    const { version: _b, rowSchema: s2, partition: p2, ...rest2 } = v2;
    expect(rest2).toEqual(rest1);
    // v1 can only partition a date by day (365 objects for the sample); v2 partitions it by month
    // (12), keeping event_date inside the files (issue 12).
    expect(p1).toEqual({
      column: 'event_date',
      kind: 'date',
      granularity: 'day',
      name: 'event_date',
      keepColumn: false,
    });
    expect(p2).toEqual({
      column: 'event_date',
      kind: 'date',
      granularity: 'month',
      name: 'event_date_month',
      keepColumn: true,
    });
    expect(s2.properties).toEqual(s1.properties);
    expect(new Set(s2.required as string[])).toEqual(new Set(s1.required as string[]));
    const { partition: plan1, ...restPlan1 } = compilePlan(v1);
    const { partition: plan2, ...restPlan2 } = compilePlan(v2);
    expect(restPlan2).toEqual(restPlan1);
    expect(plan2).toEqual({
      source: 'event_date',
      name: 'event_date_month',
      kind: 'date',
      granularity: 'month',
      keepColumn: true,
    });
    expect(plan1).toMatchObject({ granularity: 'day', keepColumn: false });
    expect(v2.columns.find((x) => x.name === 'attendee_notes')).toMatchObject({ source: 'notes' });
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
    expect(err.fix).toMatch(/did you mean "primaryKey"/);
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

describe('contract v2', () => {
  test('every error names the file, the JSON pointer and the column, with the fix', () => {
    const err = contractErrorOf(parseMutatedV2((d) => (column(d, 'amount').scale = 13)));

    expect(err.pointer).toBe('/columns/5/scale');
    expect(err.column).toBe('amount');
    expect(err.message).toBe(
      'registrations.schema.json#/columns/5/scale (column "amount"): scale 13 exceeds precision 12. Fix: make scale ≤ precision',
    );
  });

  test('a meta-schema error inside a column names the column too', () => {
    const err = contractErrorOf(parseMutatedV2((d) => (column(d, 'quantity').type = 'int')));

    expect(err.message).toMatch(/^registrations\.schema\.json#\/columns\/7\/type \(column "quantity"\): /);
    expect(err.fix).toMatch(/use one of \["string","integer"/);
  });

  test('a v1 habit in a v2 column (rename) says what v2 has instead', () => {
    const err = contractErrorOf(
      parseMutatedV2((d) => Object.assign(column(d, 'currency'), { rename: 'currency_code' })),
    );

    expect(err.pointer).toBe('/columns/6/rename');
    expect(err.message).toContain('(column "currency")');
    expect(err.fix).toMatch(/"name" is the output name and "source" the header text/);
  });

  test('a file with columns but no version is told to add "version": 2', () => {
    const err = contractErrorOf(parseMutatedV2((d) => delete d.version));
    expect([err.pointer, err.fix]).toEqual(['/version', 'add "version": 2']);
  });

  test('no key and no partition: every row kept, objects directly under the table', () => {
    const c = minimal();

    expect(c).toMatchObject({ version: 2, table: 'things', primaryKey: [], partition: null, format: 'csv' });
    expect(compilePlan(c).dedupe).toBeNull();
    expect(c.rowSchema).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: { id: { type: 'integer' } },
      required: ['id'],
    });
  });

  test('defaults are resolved: dialect, column flags, dedupe, threshold, source = name, timestamp zone UTC', () => {
    const c = parseContract(
      'things',
      JSON.stringify({
        version: 2,
        columns: [
          { name: 'id', type: 'integer', required: true },
          { name: 'at', type: 'timestamp' },
        ],
        primaryKey: ['id'],
      }),
      'things.schema.json',
    );

    expect(c.csv).toEqual({
      delimiter: ',',
      quote: '"',
      escape: '"',
      encoding: 'utf-8',
      header: 'exact',
      relaxQuotes: false,
    });
    expect(c.columns).toEqual([
      { name: 'id', source: 'id', type: 'integer', required: true, drop: false },
      { name: 'at', source: 'at', type: 'timestamp', defaultTimezone: 'UTC', required: false, drop: false },
    ]);
    expect(c.dedupe).toEqual({ orderBy: [], tieBreaker: 'lastLine' });
    expect(c.rejectThreshold).toBe(0.05);
    expect(c.rowSchema.properties).toEqual({ id: { type: 'integer' }, at: { type: ['string', 'null'] } });
  });

  test('a hyphenated dataset name is accepted; its table is derived with "_"', () => {
    expect(minimal({}, 'seattle-weather').table).toBe('seattle_weather');
    expect(minimal({ table: 'weather' }, 'seattle-weather').table).toBe('weather');
  });

  test('a dataset name that is not allowed says why', () => {
    const err = contractErrorOf(() => minimal({}, 'Seattle Weather'));
    expect(err.problem).toMatch(/"Seattle Weather" is not allowed: .*upper-case letters, it has spaces/);
    expect(contractErrorOf(() => minimal({}, 'a--b')).problem).toMatch(/two hyphens in a row/);
  });

  test.each([
    ['date', 'day', { kind: 'date', granularity: 'day', name: 'd', keepColumn: false }],
    ['date', 'month', { kind: 'date', granularity: 'month', name: 'd_month', keepColumn: true }],
    ['date', 'year', { kind: 'date', granularity: 'year', name: 'd_year', keepColumn: true }],
    ['timestamp', undefined, { kind: 'timestamp', granularity: 'day', name: 'd_day', keepColumn: true }],
    ['timestamp', 'month', { kind: 'timestamp', granularity: 'month', name: 'd_month', keepColumn: true }],
    ['string', undefined, { kind: 'string', granularity: null, name: 'd', keepColumn: false }],
  ])('partition by a %s column at granularity %s', (type, granularity, expected) => {
    const c = minimal({
      columns: [
        { name: 'id', type: 'integer', required: true },
        { name: 'd', type, required: true },
      ],
      partition: { column: 'd', ...(granularity && { granularity }) },
    });
    expect(c.partition).toEqual({ column: 'd', ...expected });
  });

  test('partition: a string column has no granularity; a custom name must not clash with a column', () => {
    const columns = [
      { name: 'id', type: 'integer', required: true },
      { name: 'region', type: 'string', required: true },
      { name: 'day', type: 'date', required: true },
    ];
    const s = contractErrorOf(() =>
      minimal({ columns, partition: { column: 'region', granularity: 'day' } }),
    );
    expect([s.pointer, s.column]).toEqual(['/partition/granularity', 'region']);
    const clash = contractErrorOf(() => minimal({ columns, partition: { column: 'day', name: 'region' } }));
    expect(clash.pointer).toBe('/partition/name');
    expect(clash.problem).toMatch(/also the name of column "region"/);
    expect(minimal({ columns, partition: { column: 'day', name: 'dt' } }).partition).toMatchObject({
      name: 'dt',
      keepColumn: true,
    });
  });

  test('key and partition columns must be required; the fix names the column and where it is', () => {
    const err = contractErrorOf(parseMutatedV2((d) => (d.primaryKey = ['attendee_notes'])));
    expect(err.pointer).toBe('/primaryKey/0');
    expect(err.fix).toBe('set "required": true on column "attendee_notes" (/columns/9)');
  });

  test('dedupe without a key is refused: without a key every row is kept', () => {
    const err = contractErrorOf(parseMutatedV2((d) => delete d.primaryKey));
    expect(err.pointer).toBe('/dedupe');
    expect(err.fix).toMatch(/add a "primaryKey", or remove "dedupe"/);
  });

  test('checks must fit the column type; enum values must be of that type; patterns must compile', () => {
    const num = contractErrorOf(parseMutatedV2((d) => Object.assign(column(d, 'event_id'), { minimum: 1 })));
    expect(num.message).toMatch(
      /#\/columns\/1\/minimum \(column "event_id"\): "minimum" does not apply to a string column/,
    );
    const en = contractErrorOf(
      parseMutatedV2((d) => Object.assign(column(d, 'quantity'), { enum: [1, '2'] })),
    );
    expect([en.pointer, en.problem]).toEqual(['/columns/7/enum/1', '"2" is not a integer value']);
    const re = contractErrorOf(
      parseMutatedV2((d) => Object.assign(column(d, 'event_id'), { pattern: '([' })),
    );
    expect(re.pointer).toBe('/columns/1/pattern');
  });

  test('two columns reading the same header, or a column named _line, are refused', () => {
    const same = contractErrorOf(
      parseMutatedV2((d) => d.columns.push({ name: 'notes_again', source: 'notes', type: 'string' })),
    );
    expect(same.problem).toMatch(/columns 9 and 10 both read the header "notes"/);
    const line = contractErrorOf(parseMutatedV2((d) => d.columns.push({ name: '_line', type: 'integer' })));
    expect(line.problem).toMatch(/"_line" is reserved/);
  });

  test('a v1 contract with a renamed column keys its row schema by the new name', () => {
    const c = parseContract('registrations', registrationsV1Text, 'registrations.schema.json');
    const props = c.rowSchema.properties as Record<string, unknown>;
    expect(Object.keys(props)).toContain('attendee_notes');
    expect(Object.keys(props)).not.toContain('notes');
  });
});

describe('compiling row schemas with the one shared Ajv', () => {
  test('a version-1 row schema is checked against the 2020-12 meta-schema: a keyword value of the wrong type is refused', () => {
    const err = contractErrorOf(parseMutated((d) => (d.properties.notes.maxLength = '500')));

    expect(err.problem).toMatch(/does not compile: schema is invalid: .*maxLength must be integer/);
  });

  test("the contract formats' own schemas are valid 2020-12 schemas (they are compiled unchecked)", () => {
    const meta = new Ajv2020({ strict: false });

    expect([meta.validateSchema(CONTRACT_V2_SCHEMA), meta.validateSchema(X_ETL_SCHEMA)]).toEqual([
      true,
      true,
    ]);
    expect(meta.validateSchema({ ...CONTRACT_V2_SCHEMA, required: 'version' })).toBe(false);
  });

  test('every version-2 contract in the repository makes a row schema the meta-schema accepts (it is compiled unchecked)', () => {
    const meta = new Ajv2020({ strict: false });
    const files = [
      ...readdirSync(path.resolve(__dirname, '../schemas')).map((f) =>
        path.resolve(__dirname, '../schemas', f),
      ),
      ...readdirSync(path.resolve(__dirname, 'fixtures'), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.schema.json'))
        .map((f) => path.resolve(__dirname, 'fixtures', f)),
    ].filter((f) => f.endsWith('.schema.json') && JSON.parse(readFileSync(f, 'utf8')).version === 2);
    const checked = files.flatMap((f) => {
      let contract;
      try {
        contract = loadContractFile(f);
      } catch {
        return []; // a fixture that is broken on purpose
      }
      return [
        { file: path.basename(f), valid: meta.validateSchema(contract.rowSchema), errors: meta.errorsText() },
      ];
    });

    expect(checked.length).toBeGreaterThan(10);
    expect(checked.filter((c) => !c.valid)).toEqual([]);
  });

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
