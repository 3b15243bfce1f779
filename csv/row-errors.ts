/**
 * Row-level problem codes. They appear in rejects.jsonl and report.json, so dashboards and data
 * owners can group by them: keep them stable (add new ones, never rename).
 */
export const ROW_ERROR_CODES = [
  'SHORT_ROW',
  'LONG_ROW',
  'REQUIRED_EMPTY',
  'NOT_AN_INTEGER',
  'INTEGER_OUT_OF_RANGE',
  'NOT_A_DECIMAL',
  'DECIMAL_TOO_MANY_FRACTION_DIGITS',
  'DECIMAL_TOO_MANY_DIGITS',
  'NOT_A_NUMBER',
  'NUMBER_OUT_OF_RANGE',
  'THOUSANDS_SEPARATOR',
  'DECIMAL_COMMA',
  'NOT_A_BOOLEAN',
  'INVALID_DATE',
  'INVALID_TIMESTAMP',
  'NONEXISTENT_LOCAL_TIME',
  'SCHEMA_VIOLATION',
  /** A string partition column's value that cannot be a folder name (core/plan PARTITION_VALUE). */
  'BAD_PARTITION_VALUE',
  /** JSON input: a jsonl line, or a json array element, that does not parse. */
  'NOT_JSON',
  /** JSON input: valid JSON that is not an object (`[1,2]`, `42`, `"x"`). */
  'NOT_AN_OBJECT',
  /** JSON input: an object or an array where the column expects a scalar (not a `json` column). */
  'WRONG_JSON_TYPE',
  /** JSON input: a line or array element longer than the record limit (16 MiB); skipped. */
  'RECORD_TOO_LONG',
] as const;
export type RowErrorCode = (typeof ROW_ERROR_CODES)[number];

/** Why one cell (or the whole row, when `column` is null) was rejected. */
export class RowProblem {
  constructor(
    readonly code: RowErrorCode,
    readonly message: string,
  ) {}
}

/** One line of rejects.jsonl. */
export interface RowError {
  /** 1-based physical line the record starts on. */
  readonly line: number;
  /** The CSV header name, or null for a whole-row problem (short/long row). */
  readonly column: string | null;
  /** The offending text, truncated to {@link MAX_REPORTED_VALUE} characters. */
  readonly value: string | null;
  readonly reason: RowErrorCode;
  readonly message: string;
}

/** Longest cell text copied into rejects and the report (a 2 MiB cell must not be copied whole). */
export const MAX_REPORTED_VALUE = 200;

export function truncateValue(value: string): string {
  return value.length > MAX_REPORTED_VALUE ? `${value.slice(0, MAX_REPORTED_VALUE)}…` : value;
}

/**
 * A deep copy that shares no memory with the input: for what is kept for the whole run (the
 * report's samples, the header). Cells are cut from larger strings (a record's text, or in the
 * two-thread path a whole batch), and V8 slices and concatenations point into those, so a value
 * kept as it is would keep its batch alive: up to 100 samples of 256 KiB each.
 */
export function detached<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * An empty array already of V8's "any object" element kind, for the samples kept as a run goes
 * (the report's first errors and formula cells). A `[]` starts as an array of small integers and
 * changes kind at its first object; code optimised in one run then meets the next run's new,
 * unchanged array and is thrown away (on one core ≈ 40–50 ms of recompiling the row checker per
 * file in a warm container, seen with `--trace-deopt`).
 */
export function objectArray<T extends object>(): T[] {
  const array: T[] = [{} as T];
  array.pop();
  return array;
}
