/**
 * Contract v2 `format` and the JSON column fields (`path`, `json`): what loads, and each misuse
 * refused with the pointer and the fix. CSV contracts are unchanged (test/contract.test.ts).
 */
import { parseContract } from '../core/contract';
import { ContractError } from '../core/errors';

const load = (doc: Record<string, unknown>) =>
  parseContract('events', JSON.stringify({ version: 2, ...doc }), 'events.schema.json');

test('a jsonl contract: path defaults to the name, "json" to false, source is the path', () => {
  const c = load({
    format: 'jsonl',
    columns: [
      { name: 'id', type: 'integer', required: true },
      { name: 'actor_login', path: 'actor.login', type: 'string' },
      { name: 'dotted', path: 'a\\.b.c', type: 'string' },
      { name: 'payload', type: 'string', json: true },
    ],
  });
  expect(c.format).toBe('jsonl');
  expect(c.columns.map((x) => [x.name, x.source, x.path, x.json])).toEqual([
    ['id', 'id', ['id'], false],
    ['actor_login', 'actor.login', ['actor', 'login'], false],
    ['dotted', 'a\\.b.c', ['a.b', 'c'], false],
    ['payload', 'payload', ['payload'], true],
  ]);
  expect(load({ format: 'json', columns: [{ name: 'id', type: 'string' }] }).format).toBe('json');
  expect(load({ columns: [{ name: 'id', type: 'string' }] }).format).toBe('csv');
});

test.each([
  [{ format: 'xml', columns: [{ name: 'a', type: 'string' }] }, '/format'],
  [{ format: 'jsonl', columns: [{ name: 'a', source: 'A', type: 'string' }] }, '/columns/0/source'],
  [{ columns: [{ name: 'a', path: 'x.y', type: 'string' }] }, '/columns/0/path'],
  [{ columns: [{ name: 'a', json: true, type: 'string' }] }, '/columns/0/json'],
  [{ format: 'json', csv: { delimiter: ';' }, columns: [{ name: 'a', type: 'string' }] }, '/csv'],
  [{ format: 'jsonl', columns: [{ name: 'a', json: true, type: 'integer' }] }, '/columns/0/json'],
  [{ format: 'jsonl', columns: [{ name: 'a', path: 'x..y', type: 'string' }] }, '/columns/0/path'],
  [
    {
      format: 'jsonl',
      columns: [
        { name: 'a', path: 'x.y', type: 'string' },
        { name: 'b', path: 'x.y', type: 'string' },
      ],
    },
    '/columns/1/path',
  ],
])('refused: %j at %s', (doc, pointer) => {
  let error: unknown;
  try {
    load(doc);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ContractError);
  expect((error as ContractError).pointer).toBe(pointer);
  expect((error as ContractError).message).toMatch(/Fix: /);
});
