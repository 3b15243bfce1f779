/**
 * csv/json-flatten: exact numbers, paths, flattening for etl init, and the cell of each JSON value
 * as Validate's RowChecker sees it.
 */
import {
  cellOf,
  columnNameOfPath,
  EMPTY_STRING,
  flattenObject,
  JsonNumber,
  JsonText,
  jsonText,
  joinPath,
  parseJsonExact,
  pathProblem,
  splitPath,
  valueAtPath,
  WrongJsonType,
  type JsonObject,
} from '../../csv/json-flatten';

describe('parseJsonExact', () => {
  test('numbers a float would change keep their text; the rest stay numbers', () => {
    const v = parseJsonExact(
      '{"big":12345678901234567890,"dec":1.50,"exp":1e3,"neg0":-0,"n":42,"f":0.5}',
    ) as JsonObject;
    expect(v.big).toEqual(new JsonNumber('12345678901234567890'));
    expect(v.dec).toEqual(new JsonNumber('1.50'));
    expect(v.exp).toEqual(new JsonNumber('1e3'));
    expect(v.neg0).toEqual(new JsonNumber('-0'));
    expect(v.n).toBe(42);
    expect(v.f).toBe(0.5);
  });
  test('syntax errors throw as JSON.parse does', () => {
    expect(() => parseJsonExact('{"a":')).toThrow(SyntaxError);
  });
  test('__proto__ is an own key, never the prototype', () => {
    const v = parseJsonExact('{"__proto__":{"polluted":1}}') as JsonObject;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(valueAtPath(v, ['__proto__', 'polluted'])).toBe(1);
    expect(valueAtPath(v, ['constructor'])).toBeUndefined();
  });
});

describe('paths', () => {
  test('split and join with escapes', () => {
    expect(splitPath('actor.login')).toEqual(['actor', 'login']);
    expect(splitPath('a\\.b.c\\\\d')).toEqual(['a.b', 'c\\d']);
    expect(joinPath(['a.b', 'c\\d'])).toBe('a\\.b.c\\\\d');
    expect(pathProblem('a..b')).toMatch(/empty key/);
    expect(pathProblem('a.')).toMatch(/empty key/);
    expect(pathProblem('')).toMatch(/empty/);
    expect(pathProblem('a.b')).toBeUndefined();
  });
  test('column names', () => {
    expect(columnNameOfPath('actor.login')).toBe('actor_login');
    expect(columnNameOfPath('payload.pullRequest.id')).toBe('payload_pull_request_id');
    expect(columnNameOfPath('user.Display Name')).toBe('user_display_name');
    expect(columnNameOfPath('Café.naïve')).toBe('cafe_naive');
    expect(columnNameOfPath('Größe.Ærø')).toBe('grosse_aero'); // ö → o (NFKD), ß → ss, Æ → ae, ø → o
  });
  test('valueAtPath stops at non-objects', () => {
    const v = parseJsonExact('{"a":{"b":[1]},"s":"x"}') as JsonObject;
    expect(valueAtPath(v, ['a', 'b'])).toEqual([1]);
    expect(valueAtPath(v, ['s', 'x'])).toBeUndefined();
    expect(valueAtPath(v, ['a', 'b', '0'])).toBeUndefined();
  });
});

test('flattenObject: nested objects to dot paths, arrays and deep objects as JSON text', () => {
  const v = parseJsonExact(
    '{"id":"1","actor":{"login":"x","id":12345678901234567890},"tags":["a",{"b":1.0}],"e":{},"d":{"x":{"y":1}},"k.z":true}',
  ) as JsonObject;
  const flat = flattenObject(v, { maxDepth: 2 });
  expect([...flat.keys()]).toEqual(['id', 'actor.login', 'actor.id', 'tags', 'e', 'd.x', 'k\\.z']);
  expect(flat.get('actor.id')).toEqual(new JsonNumber('12345678901234567890'));
  expect(flat.get('tags')).toEqual(new JsonText('array', '["a",{"b":1.0}]'));
  expect(flat.get('e')).toEqual(new JsonText('object', '{}'));
  expect(flat.get('d.x')).toEqual(new JsonText('object', '{"y":1}'));
  expect(flattenObject(v, { keepAsJson: (p) => p === 'actor' }).get('actor')).toBeInstanceOf(JsonText);
});

test('cellOf: the documented mapping', () => {
  expect(cellOf(undefined, false)).toBe('');
  expect(cellOf(null, false)).toBe('');
  expect(cellOf(null, true)).toBe('');
  expect(cellOf('', false)).toBe(EMPTY_STRING);
  expect(cellOf('12', false)).toBe('12');
  expect(cellOf(12, false)).toBe('12');
  expect(cellOf(new JsonNumber('1.50'), false)).toBe('1.50');
  expect(cellOf(true, false)).toBe('true');
  expect(cellOf({ a: 1 }, false)).toEqual(new WrongJsonType('an object', '{"a":1}'));
  expect(cellOf([1], false)).toEqual(new WrongJsonType('an array', '[1]'));
  expect(cellOf([1, 'ü'], true)).toBe('[1,"ü"]');
  expect(cellOf('x', true)).toBe('"x"');
  expect(jsonText(parseJsonExact('{"b":1e3,"a":[null,false]}'))).toBe('{"b":1e3,"a":[null,false]}');
});
