/**
 * The transform plan as data: what compilePlan writes, what checkPlan refuses before any of it
 * reaches SQL or a folder name, and the canonical text patterns both engines check values against.
 */
import { TransformFailedError } from '../../core/errors';
import {
  canonicalPattern,
  checkPlan,
  fileColumns,
  parsePlan,
  partitionKeyType,
  stagingTypeOf,
  type PlanType,
} from '../../core/plan';
import { kitchenSinkPlan, registrationsPlan } from './lake-fixture';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a plan file is untyped JSON; these tests corrupt it freely
type PlanFile = any;

/** A mutable deep copy of a plan, as a plan file read from disk would be. */
const planJson = (): PlanFile => JSON.parse(JSON.stringify(kitchenSinkPlan()));

function refusal(mutate: (plan: PlanFile) => void): string {
  const plan = planJson();
  mutate(plan);
  try {
    checkPlan(plan, 'staging/kitchen_sink/x/v/plan.json');
  } catch (e) {
    expect(e).toBeInstanceOf(TransformFailedError);
    return (e as Error).message;
  }
  throw new Error('expected the plan to be refused');
}

describe('compiled plan', () => {
  test('round-trips through JSON unchanged and passes its own check', () => {
    const plan = kitchenSinkPlan();

    const reread = parsePlan(JSON.stringify(plan), 'plan.json');

    expect(reread).toEqual(plan);
  });

  test('types every staging column, including the dropped dedupe column', () => {
    const plan = kitchenSinkPlan();

    expect(plan.columns.some((c) => c.source === 'revision')).toBe(false);
    expect(stagingTypeOf(plan, 'revision')).toEqual({ type: 'integer' });
    expect(stagingTypeOf(plan, 'big')).toEqual({ type: 'decimal', precision: 38, scale: 10 });
    expect(stagingTypeOf(plan, '_line')).toEqual({ type: 'integer' });
    expect(Object.keys(plan.stagingTypes)).toEqual(plan.stagingColumns);
  });

  test('registrations: rename, partition and the _line tie-breaker', () => {
    const plan = registrationsPlan();

    expect(plan.planVersion).toBe(2);
    expect(plan.partition).toEqual({
      source: 'event_date',
      name: 'event_date',
      kind: 'date',
      granularity: 'day',
      keepColumn: false,
    });
    // Staging is keyed by the output name (the v1 rename), so source and name are one.
    expect(plan.columns.find((c) => c.name === 'attendee_notes')).toMatchObject({ source: 'attendee_notes' });
    expect(plan.stagingColumns).not.toContain('notes');
    expect(plan.dedupe!.orderBy.at(-1)).toEqual({ column: '_line', direction: 'desc' });
    expect(fileColumns(plan).map((c) => c.name)).not.toContain('event_date');
    expect(partitionKeyType(plan)).toBe('date');
  });

  test('a plan without a key or a partition keeps every row in one object per file', () => {
    const plan = { ...planJson(), dedupe: null, partition: null };

    const checked = checkPlan(plan, 'plan.json');

    expect(checked.dedupe).toBeNull();
    expect(checked.partition).toBeNull();
    expect(fileColumns(checked)).toEqual(checked.columns);
    expect(partitionKeyType(checked)).toBeUndefined();
  });

  test('a month partition of a date keeps the date inside the files and types the key as a string', () => {
    const plan = planJson();
    plan.partition = {
      source: 'event_day',
      name: 'event_day_month',
      kind: 'date',
      granularity: 'month',
      keepColumn: true,
    };

    const checked = checkPlan(plan, 'plan.json');

    expect(fileColumns(checked).map((c) => c.name)).toContain('event_day');
    expect(partitionKeyType(checked)).toBe('string');
  });
});

describe('checkPlan refuses what must never reach SQL or a path', () => {
  test('an output name that is not an identifier, naming the JSON path', () => {
    expect(refusal((p) => (p.columns[2].name = 'title"; DROP TABLE x; --'))).toMatch(
      /plan\.json: transform plan \/columns\/2\/name: .* is not a distinct identifier/,
    );
  });

  test('dedupe order without the _line tie-breaker', () => {
    expect(refusal((p) => p.dedupe.orderBy.pop())).toMatch(/\/dedupe\/orderBy: must end with _line/);
  });

  test('a partition whose kind is not its column type, or that is not an output column', () => {
    expect(refusal((p) => (p.partition = { ...p.partition, source: 'title', name: 'title' }))).toMatch(
      /\/partition\/kind: is "date", but column "title" is string/,
    );
    expect(refusal((p) => (p.partition.source = 'revision'))).toMatch(
      /\/partition\/source: "revision" is not an output column/,
    );
  });

  test('partitions against the partition table of contract v2', () => {
    const month = {
      source: 'event_day',
      name: 'event_day_month',
      kind: 'date',
      granularity: 'month',
      keepColumn: true,
    };
    expect(refusal((p) => (p.partition = { ...month, keepColumn: false }))).toMatch(
      /\/partition\/keepColumn: must be true/,
    );
    expect(refusal((p) => (p.partition = { ...month, granularity: 'week' }))).toMatch(
      /\/partition\/granularity/,
    );
    expect(refusal((p) => (p.partition = { ...month, name: 'title' }))).toMatch(
      /\/partition\/name: "title" is also an output column/,
    );
    expect(
      refusal(
        (p) =>
          (p.partition = {
            source: 'title',
            name: 'title',
            kind: 'string',
            granularity: 'day',
            keepColumn: false,
          }),
      ),
    ).toMatch(/\/partition\/granularity: must be null for a string partition/);
    expect(refusal((p) => delete p.partition)).toMatch(/\/partition: must be an object or null/);
  });

  test('a key that is empty, and staging keyed by anything but the output name', () => {
    expect(refusal((p) => (p.dedupe.key = []))).toMatch(/\/dedupe\/key: is missing or empty/);
    expect(refusal((p) => delete p.dedupe)).toMatch(/\/dedupe: must be an object or null/);
    expect(refusal((p) => (p.columns[1].name = 'renamed'))).toMatch(
      /\/columns\/1: source ".*" differs from name "renamed"/,
    );
    expect(refusal((p) => (p.table = 'kitchen-sink'))).toMatch(
      /\/table: "kitchen-sink" is not an identifier/,
    );
  });

  test('a decimal without precision, and a newer plan version', () => {
    expect(refusal((p) => delete p.stagingTypes.amount.precision)).toMatch(
      /\/stagingTypes\/amount: is a decimal without/,
    );
    expect(refusal((p) => (p.planVersion = 1))).toMatch(/\/planVersion: is 1, this engine runs 2/);
  });

  test('text that is not JSON', () => {
    expect(() => parsePlan('{"planVersion":', 'plan.json')).toThrow(
      /plan\.json: transform plan is not valid JSON/,
    );
  });
});

describe('canonical text patterns', () => {
  const matches = (t: PlanType, text: string): boolean =>
    new RegExp(`^(?:${canonicalPattern(t)})$`).test(text);
  const cases: [PlanType, string[], string[]][] = [
    [{ type: 'integer' }, ['0', '-42', '9223372036854775807'], ['1.5', '+1', '007', ' 1', '1e3', '']],
    [
      { type: 'decimal', precision: 12, scale: 2 },
      ['0.00', '-0.01', '9999999999.99'],
      ['1.5', '1.234', '99999999999.99', '1', '.50'],
    ],
    [{ type: 'decimal', precision: 3, scale: 0 }, ['0', '-999'], ['1000', '1.0']],
    [{ type: 'decimal', precision: 2, scale: 2 }, ['0.99', '-0.01'], ['1.00']],
    [{ type: 'double' }, ['0.1', '1e+300', '-5e-324', '123'], ['NaN', 'Infinity', '1,5', '.5']],
    [{ type: 'boolean' }, ['true', 'false'], ['t', 'TRUE', '1', 'yes']],
    [
      { type: 'date' },
      ['2024-02-29', '0001-01-01', '9999-12-31'],
      ['0000-01-01', '2024-13-01', '2024-1-01', '20240101'],
    ],
    [
      { type: 'timestamp' },
      ['2024-03-31T01:30:00.000000Z', '0001-01-01T00:00:00.000000Z'],
      [
        '2024-03-31T01:30:00Z',
        '2024-03-31T01:30:00.000000+02:00',
        '2024-03-31 01:30:00.000000Z',
        '2024-03-31T24:00:00.000000Z',
      ],
    ],
  ];

  test.each(cases)('%j accepts canonical text and refuses the rest', (type, accepted, refused) => {
    expect(accepted.filter((t) => !matches(type, t))).toEqual([]);
    expect(refused.filter((t) => matches(type, t))).toEqual([]);
  });

  test('strings are stored as read, with no pattern', () => {
    expect(canonicalPattern({ type: 'string' })).toBeUndefined();
  });
});
