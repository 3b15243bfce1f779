/** Which JSON paths become columns, their types and nullability: JsonShape on records in memory. */
import { parseJsonExact, type JsonObject } from '../../csv/json-flatten';
import { JsonShape, MAX_FLATTEN_DEPTH, MAX_OBJECT_KEYS } from '../../infer/json-shape';

/** Records as JSON Lines text (numbers exact, as the reader parses them), one per line. */
function shapeOf(records: readonly (Record<string, unknown> | string)[]) {
  const shape = new JsonShape();
  records.forEach((r, i) =>
    shape.observe(parseJsonExact(typeof r === 'string' ? r : JSON.stringify(r)) as JsonObject, i + 1),
  );
  return shape.columns(true);
}

const byPath = (columns: ReturnType<typeof shapeOf>) =>
  Object.fromEntries(columns.map((c) => [c.path.join('.'), c]));

describe('JsonShape', () => {
  test('nested records are flattened in first-seen order; JSON numbers, booleans and strings get their types', () => {
    const columns = shapeOf([
      { id: 1, actor: { id: 7, login: 'octocat' }, public: true, at: '2024-01-02T03:04:05Z' },
      { id: 2, actor: { id: 8, login: 'hubot' }, public: false, at: '2024-01-03T03:04:05Z' },
    ]);
    expect(columns.map((c) => [c.path.join('.'), c.kind, c.decision.type, c.decision.required])).toEqual([
      ['id', 'value', 'integer', true],
      ['actor.id', 'value', 'integer', true],
      ['actor.login', 'value', 'string', true],
      ['public', 'value', 'boolean', true],
      ['at', 'value', 'timestamp', true],
    ]);
  });

  test('a path missing from some records, or null, is not required, and the first such line is named', () => {
    const cols = byPath(
      shapeOf([{ a: 1, org: { id: 1 } }, { a: 2 }, { a: null, org: null }, { a: 4, org: { id: 4 } }]),
    );
    expect(cols['a']!.decision).toMatchObject({ type: 'integer', required: false, firstEmptyLine: 3 });
    expect(cols['org.id']!.decision).toMatchObject({ type: 'integer', required: false, firstEmptyLine: 2 });
    expect(cols['org.id']!.decision.why).toMatch(/null or absent in 2 record\(s\) \(first on line 2\)/);
  });

  test('a key first seen in a later record was absent from the earlier ones', () => {
    const cols = byPath(shapeOf([{ a: 1 }, { a: 2 }, { a: 3, late: 'x' }]));
    expect(cols['late']!.decision).toMatchObject({ required: false, firstEmptyLine: 1, values: 1 });
  });

  test('arrays, free-form objects, objects mixed with scalars and empty objects are JSON-text columns', () => {
    const records = Array.from({ length: 6 }, (_, i) => ({
      tags: ['a', i],
      payload: i % 3 === 0 ? { push_id: i } : i % 3 === 1 ? { action: 'started' } : { ref: 'x', size: i },
      mixed: i % 2 === 0 ? { v: i } : 'text',
      meta: {},
    }));
    const cols = byPath(shapeOf(records));
    expect(Object.keys(cols)).toEqual(['tags', 'payload', 'mixed', 'meta']);
    for (const c of Object.values(cols)) expect([c.kind, c.decision.type]).toEqual(['json', 'string']);
    expect(cols['tags']!.decision.why).toMatch(/an array/);
    expect(cols['payload']!.decision.why).toMatch(/keys vary from record to record/);
    expect(cols['mixed']!.decision.why).toMatch(/an object in some records and not in others/);
    expect(cols['meta']!.decision.why).toMatch(/always an empty object/);
  });

  test('an object with a few rare optional keys is still a record: they are nullable columns', () => {
    const records = Array.from({ length: 20 }, (_, i) => ({
      actor: { id: i, login: 'x', url: 'u', ...(i === 3 && { display_login: 'd' }) },
    }));
    const cols = byPath(shapeOf(records));
    expect(Object.keys(cols)).toEqual(['actor.id', 'actor.login', 'actor.url', 'actor.display_login']);
    expect(cols['actor.display_login']!.decision).toMatchObject({ required: false, firstEmptyLine: 1 });
  });

  test('an optional key present in at least half of its object is still a column', () => {
    const records = Array.from({ length: 10 }, (_, i) => ({
      user: { id: i, ...(i % 2 === 0 && { nick: 'n' }) },
    }));
    const cols = byPath(shapeOf(records));
    expect(Object.keys(cols)).toEqual(['user.id', 'user.nick']);
    expect(cols['user.nick']!.decision.required).toBe(false);
  });

  test(`objects deeper than ${MAX_FLATTEN_DEPTH} levels and objects with more than ${MAX_OBJECT_KEYS} keys are JSON text`, () => {
    const deep = { a: { b: { c: { d: { e: 1 } } } } };
    const wide = Object.fromEntries(Array.from({ length: MAX_OBJECT_KEYS + 1 }, (_, i) => [`k${i}`, i]));
    const cols = byPath(shapeOf([{ ...deep, counts: wide }]));
    expect(Object.keys(cols)).toEqual(['a.b.c.d', 'counts']);
    expect(cols['a.b.c.d']!.decision.why).toMatch(/at level 4/);
    expect(cols['counts']!.decision.why).toMatch(/too many distinct keys/);
  });

  test('a JSON "" is an empty string for text (required), not a missing value', () => {
    const cols = byPath(shapeOf([{ g: '' }, { g: 'x' }]));
    expect(cols['g']!.decision).toMatchObject({ type: 'string', required: true });
  });

  test('digits in a string, leading zeros and big numbers follow the CSV rules', () => {
    const cols = byPath(
      shapeOf([
        { id: '2489651045', zip: '02134', amount: 12.5, big: '123456789012345678901234567890' },
        { id: '2489651046', zip: '10001', amount: 3, big: '1' },
      ]),
    );
    expect(cols['id']!.decision.type).toBe('integer');
    expect(cols['zip']!.decision.type).toBe('string');
    expect(cols['amount']!.decision).toMatchObject({ type: 'decimal', scale: 1 });
    expect(cols['big']!.decision.type).toBe('decimal');
  });

  test('JSON numbers are judged as written: 1.50 keeps its scale, a 20-digit integer is a decimal, 1e3 a double', () => {
    const cols = byPath(
      shapeOf(['{"price": 1.50, "n": 12345678901234567890, "e": 1e3}', '{"price": 2, "n": 1, "e": 2.5}']),
    );
    expect(cols['price']!.decision).toMatchObject({ type: 'decimal', scale: 2 });
    expect(cols['n']!.decision).toMatchObject({ type: 'decimal', scale: 0, precision: 38 });
    expect(cols['e']!.decision.type).toBe('double');
  });
});
