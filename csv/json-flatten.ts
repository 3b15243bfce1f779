/**
 * JSON values → the cells the CSV {@link RowChecker} checks. One module, shared by Validate (which
 * reads one value per contract column, {@link valueAtPath} + {@link cellOf}) and `etl init` on JSON
 * (which sees every leaf, {@link flattenObject}), so a file is read the same way by both.
 *
 * Rules (docs/contracts.md "JSON input" says the same to users):
 *  - **Paths**: a column's `path` is the keys from the record down, joined by `.`
 *    (`actor.login`); a `.` or `\` inside a key is written `\.` / `\\`. Arrays are not indexed:
 *    an array is a leaf (kept as JSON text, or a type error).
 *  - **Numbers are exact**: {@link parseJsonExact} keeps a number's text as written whenever a JS
 *    number would not print it back the same (`12345678901234567890`, `1.50`, `1e3`, `-0`) as a
 *    {@link JsonNumber}; the cell is that text, so int64 and decimals never pass through a float.
 *  - **Cells**: a missing key or JSON `null` (at the end of the path or on the way) → an empty
 *    cell (null; a REQUIRED_EMPTY error when the column is required); a step that is not an
 *    object (`actor.login` with `actor` an array or a string) → {@link PathBlocked}, a
 *    WRONG_JSON_TYPE row error. A string → its text, exactly as a CSV cell's text would be coerced
 *    (`"12"` in an integer column is 12, `"2024-07-01"` in a date column is a date; `""` is an
 *    empty string in a string column and null in any other). A number → its text as written
 *    (`12` in an integer column is 12, `1.5` is NOT_AN_INTEGER, `12` in a string column is the
 *    text "12"). `true` / `false` → `true` / `false` (a boolean column accepts them; a string
 *    column stores the text). An object or an array where a scalar is expected → a
 *    {@link WrongJsonType} (row error WRONG_JSON_TYPE naming the path) — unless the column keeps
 *    JSON text (`"json": true`): then any value but null is stored as its compact JSON text
 *    ({@link jsonText}: keys in file order, numbers as written, strings with their quotes).
 *  - **Column names** for flattened paths: {@link columnNameOfPath} (`actor.login` →
 *    `actor_login`, `payload.pullRequest.id` → `payload_pull_request_id`).
 */
import { joinPath, pathProblem, splitPath } from '../core/json-path';

/** A JSON number kept as the text it was written as (when a JS number would change it). */
export class JsonNumber {
  constructor(readonly text: string) {}
  toJSON(): unknown {
    return { $number: this.text };
  }
}

/** A parsed JSON value with exact numbers. `__proto__` in a file is an own key (read with hasOwn). */
export type JsonValue = string | number | JsonNumber | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

/** Numbers a JS number prints back exactly stay numbers; the rest keep their text. */
const exactNumbers: Reviver = function (_key, value, context) {
  if (typeof value !== 'number') return value;
  const source = context?.source;
  if (source === undefined) throw new Error(NO_SOURCE_TEXT);
  return String(value) === source ? value : new JsonNumber(source);
};

const NO_SOURCE_TEXT =
  'this Node.js has no JSON.parse source text access (context.source, Node ≥ 21): exact JSON numbers need it. Fix: run on Node 22 (npm scripts do)';

/**
 * JSON.parse with exact numbers (see {@link JsonNumber}). Throws SyntaxError like JSON.parse.
 * @example parseJsonExact('{"id": 12345678901234567890}') // { id: JsonNumber { text: '12345678901234567890' } }
 */
export function parseJsonExact(text: string): JsonValue {
  return JSON.parse(text, exactNumbers as never) as JsonValue;
}

/** Whether `value` is a JSON object (not an array, not null, not a number holder). */
export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return (
    value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof JsonNumber)
  );
}

/** The text of a number as written (a plain JS number prints back exactly, by construction). */
export function numberText(value: number | JsonNumber): string {
  return typeof value === 'number' ? String(value) : value.text;
}

/** Compact JSON text of a value: keys in file order, numbers exactly as written. */
export function jsonText(value: JsonValue): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
  }
  if (value instanceof JsonNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  let out = '';
  for (const key of Object.keys(value))
    out += `${out ? ',' : ''}${JSON.stringify(key)}:${jsonText(value[key]!)}`;
  return `{${out}}`;
}

// --- paths -----------------------------------------------------------------------------------------

export { joinPath, pathProblem, splitPath };

/**
 * The value at `keys` inside `record`, or undefined when a key is missing or a step is not an
 * object (`a.b` where `a` is a string or an array). Own keys only: `__proto__`, `constructor` are
 * just keys.
 */
export function valueAtPath(record: JsonObject, keys: readonly string[]): JsonValue | undefined {
  let node: JsonValue = record;
  for (const key of keys) {
    if (!isJsonObject(node) || !Object.prototype.hasOwnProperty.call(node, key)) return undefined;
    node = node[key]!;
  }
  return node;
}

/** A path step that is not an object (`actor.login` where `actor` is an array, a string, a number). */
export class PathBlocked {
  constructor(
    /** The keys up to the value that is not an object (`actor`). */
    readonly at: string,
    readonly found: 'an array' | 'a string' | 'a number' | 'a boolean',
    /** A short JSON text of that value. */
    readonly text: string,
  ) {}
}

/**
 * Like {@link valueAtPath}, but tells a missing key or a `null` on the way (undefined: the value is
 * absent, a null cell) from a step that is not an object ({@link PathBlocked}: the record has
 * another shape than the contract says, a row error).
 */
export function lookupPath(record: JsonObject, keys: readonly string[]): JsonValue | undefined | PathBlocked {
  let node: JsonValue = record;
  for (let i = 0; i < keys.length; i++) {
    if (node === null) return undefined;
    if (!isJsonObject(node)) {
      const found = Array.isArray(node)
        ? 'an array'
        : typeof node === 'string'
          ? 'a string'
          : typeof node === 'boolean'
            ? 'a boolean'
            : 'a number';
      return new PathBlocked(joinPath(keys.slice(0, i)), found, jsonText(node).slice(0, 200));
    }
    if (!Object.prototype.hasOwnProperty.call(node, keys[i]!)) return undefined;
    node = node[keys[i]!]!;
  }
  return node;
}

/** Letters NFKD does not take apart, spelled as etl init's CSV header rule spells them. */
const SPELLED: Record<string, string> = {
  ß: 'ss',
  æ: 'ae',
  Æ: 'ae',
  œ: 'oe',
  Œ: 'oe',
  ø: 'o',
  Ø: 'o',
  ł: 'l',
  Ł: 'l',
  đ: 'd',
  Đ: 'd',
  ð: 'd',
  Ð: 'd',
  þ: 'th',
  Þ: 'th',
  ı: 'i',
};

/**
 * The column name for a path: each key in snake_case words (camelCase split, accents dropped,
 * `ß` → `ss`, `ø` → `o` …, other characters `_`), keys joined by `_` — `actor.login` → `actor_login`,
 * `payload.pullRequest.id` → `payload_pull_request_id`, `user.Display Name` → `user_display_name`.
 * It may be empty (a key of only `東京`) or start with a digit: `etl init` makes names unique and
 * valid (its `columnNames` rule) from this base.
 */
export function columnNameOfPath(path: string): string {
  return splitPath(path)
    .map((key) =>
      [...key.normalize('NFKD')]
        .map((ch) => SPELLED[ch] ?? ch)
        .join('')
        .replace(/\p{M}/gu, '')
        .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
        .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '_')
        .replace(/^_+|_+$/g, ''),
    )
    .filter((k) => k !== '')
    .join('_');
}

// --- flattening (etl init) ---------------------------------------------------------------------------

/** A subtree kept whole, as JSON text (an array, or an object not flattened). */
export class JsonText {
  constructor(
    readonly kind: 'array' | 'object',
    readonly text: string,
  ) {}
}

/** One leaf of a flattened record. */
export type FlatLeaf = string | number | JsonNumber | boolean | null | JsonText;

export interface FlattenOptions {
  /** Object levels below the record that are flattened; a deeper object is one JsonText. @default 4 */
  readonly maxDepth?: number;
  /** Paths (dot paths) whose value is kept whole as JSON text even when it is an object. */
  readonly keepAsJson?: (path: string) => boolean;
}

/**
 * Every leaf of a record by dot path, in the order the keys appear: scalars as they are (numbers
 * exact), arrays and objects past `maxDepth` (or chosen by `keepAsJson`) as {@link JsonText}, an
 * empty object as JsonText `{}`.
 * @example flattenObject(parseJsonExact('{"actor":{"login":"x","id":1},"tags":["a"]}') as JsonObject)
 *   // Map { 'actor.login' => 'x', 'actor.id' => 1, 'tags' => JsonText { kind: 'array', text: '["a"]' } }
 */
export function flattenObject(record: JsonObject, options: FlattenOptions = {}): Map<string, FlatLeaf> {
  const maxDepth = options.maxDepth ?? 4;
  const out = new Map<string, FlatLeaf>();
  const walk = (node: JsonObject, prefix: string, depth: number) => {
    for (const key of Object.keys(node)) {
      const value = node[key]!;
      const path = prefix === '' ? joinPath([key]) : `${prefix}.${joinPath([key])}`;
      if (Array.isArray(value)) out.set(path, new JsonText('array', jsonText(value)));
      else if (isJsonObject(value)) {
        if (depth >= maxDepth || Object.keys(value).length === 0 || options.keepAsJson?.(path))
          out.set(path, new JsonText('object', jsonText(value)));
        else walk(value, path, depth + 1);
      } else out.set(path, value);
    }
  };
  walk(record, '', 1);
  return out;
}

// --- cells (validate) -----------------------------------------------------------------------------

/** An object or array where the column expects a scalar: a row error naming the path. */
export class WrongJsonType {
  constructor(
    readonly found: 'an object' | 'an array',
    /** A short JSON text of the value, for the reject's `value`. */
    readonly text: string,
  ) {}
}

/** The CSV cell for a JSON value (see the rules above): `''` = null, a marked empty string, text. */
export type JsonCell = string | typeof EMPTY_STRING | WrongJsonType;
/** The empty JSON string `""` (the CSV reader's QUOTED_EMPTY plays this part: csv/json-records maps it). */
export const EMPTY_STRING: unique symbol = Symbol('empty JSON string');

/**
 * The cell text of one column's value. `keepJson`: the column stores JSON text (`"json": true`).
 * @example cellOf(new JsonNumber('1.50'), false) // '1.50'
 * @example cellOf({ a: 1 }, false)                // WrongJsonType { found: 'an object', ... }
 */
export function cellOf(value: JsonValue | undefined, keepJson: boolean): JsonCell {
  if (value === undefined || value === null) return '';
  if (keepJson) return jsonText(value);
  switch (typeof value) {
    case 'string':
      return value === '' ? EMPTY_STRING : value;
    case 'number':
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
  }
  if (value instanceof JsonNumber) return value.text;
  const text = jsonText(value);
  return new WrongJsonType(Array.isArray(value) ? 'an array' : 'an object', text);
}
