/**
 * Cell coercion: CSV text → the canonical staging text of the column's SQL type (core/staging.ts).
 * One small function per column, built once per contract; each returns the canonical string or a
 * {@link RowProblem} whose message tells the data owner what to write instead. Nothing is ever
 * rounded, clamped or guessed: a value that does not fit is a row error.
 */
import type { ColumnSpec } from '../core/contract';
import { daysInMonth, daysFromCivil, formatUtcSeconds, ZoneResolver } from './local-time';
import { RowProblem } from './row-errors';

/** Canonical text, or why the cell cannot be that type. */
export type Coercer = (text: string) => string | RowProblem;

/** Counts what coercion decided silently but legitimately, for the report. */
export interface CoercionNotes {
  /** Wall-clock times in the repeated hour of a DST change, resolved to the earlier instant. */
  ambiguousLocalTimes: number;
}

const INT64_MAX = '9223372036854775807';
const INT64_MIN_ABS = '9223372036854775808';

const quote = (text: string) => JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);

/** "1,234" / "1 234" / "1.234.567" / "1'234" with groups of three: thousands separators. */
const THOUSANDS = /^[+-]?\d{1,3}(?:([,. '\u00a0\u202f])\d{3})(?:\1\d{3})*(?:[.,]\d+)?$/;
const DECIMAL_COMMA = /^[+-]?\d*,\d+$/;
const NON_FINITE = /^[+-]?(?:nan|inf|infinity)$/i;

function numberShapeProblem(text: string, what: string, example: string): RowProblem {
  if (NON_FINITE.test(text.trim())) {
    return new RowProblem(
      'NOT_A_NUMBER',
      `${quote(text)} is not a number; leave the cell empty for a missing value`,
    );
  }
  const grouped = THOUSANDS.exec(text);
  if (grouped) {
    const plain = text.split(grouped[1]!).join('').replace(',', '.');
    return new RowProblem(
      'THOUSANDS_SEPARATOR',
      `${quote(text)} has a thousands separator; write ${quote(plain)} (digits only, "." before any fraction)`,
    );
  }
  if (DECIMAL_COMMA.test(text)) {
    return new RowProblem(
      'DECIMAL_COMMA',
      `${quote(text)} uses a decimal comma; write ${quote(text.replace(',', '.'))} (a point before the fraction)`,
    );
  }
  return new RowProblem(
    what === 'an integer' ? 'NOT_AN_INTEGER' : 'NOT_A_DECIMAL',
    `${quote(text)} is not ${what}; write it like ${example}`,
  );
}

const INTEGER = /^([+-]?)0*(\d+)$/;

/** int64, exact: compared as digit strings, never through a float. */
export function coerceInteger(text: string): string | RowProblem {
  const m = INTEGER.exec(text);
  if (!m)
    return numberShapeProblem(text, 'an integer', '"42" or "-7" (whole number, no fraction or exponent)');
  const negative = m[1] === '-';
  const digits = m[2]!;
  if (digits.length >= 19) {
    const limit = negative ? INT64_MIN_ABS : INT64_MAX;
    if (digits.length > 19 || digits > limit) {
      return new RowProblem(
        'INTEGER_OUT_OF_RANGE',
        `${quote(text)} is outside the 64-bit integer range (${negative ? '-' + INT64_MIN_ABS : INT64_MAX}); store it in a string or decimal column`,
      );
    }
  }
  return negative && digits !== '0' ? `-${digits}` : digits;
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/**
 * For `[1-9][0-9]*` optionally followed by `.` and digits, with at most `maxInt` integer digits
 * and `scale` fraction digits: the index of the point (or the length when there is none); else -1.
 */
function plainDecimalShape(text: string, maxInt: number, scale: number): number {
  const first = text.charCodeAt(0);
  if (first < 49 || first > 57) return -1;
  let i = 1;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
  }
  if (i > maxInt) return -1;
  if (i === text.length) return i;
  if (text.charCodeAt(i) !== 46) return -1;
  if (text.length - i - 1 > scale) return -1;
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c < 48 || c > 57) return -1;
  }
  return i;
}

/** decimal(precision, scale), exact string arithmetic: too many digits is an error, never rounded. */
export function decimalCoercer(precision: number, scale: number): Coercer {
  const maxIntegerDigits = precision - scale;
  const zeros = '0'.repeat(scale);
  return (text) => {
    // The common case without a regex: unsigned, no leading zero, few enough digits both sides.
    const fast = plainDecimalShape(text, maxIntegerDigits, scale);
    if (fast !== -1) {
      if (scale === 0) return fast === text.length ? text : text.slice(0, fast);
      const frac = fast === text.length ? '' : text.slice(fast + 1);
      return `${text.slice(0, fast)}.${frac}${zeros.slice(frac.length)}`;
    }
    const m = DECIMAL.exec(text);
    if (!m || (m[2] === '' && (m[3] === undefined || m[3] === ''))) {
      return numberShapeProblem(
        text,
        `a decimal(${precision},${scale})`,
        '"1234.50" (no exponent, no separators)',
      );
    }
    const intDigits = m[2]!.charCodeAt(0) === 48 ? m[2]!.replace(/^0+/, '') : m[2]!;
    let frac = m[3] ?? '';
    if (frac.length > scale) {
      const trimmed = frac.replace(/0+$/, '');
      if (trimmed.length > scale) {
        return new RowProblem(
          'DECIMAL_TOO_MANY_FRACTION_DIGITS',
          `${quote(text)} has ${trimmed.length} digits after the point; the column keeps ${scale} — round it yourself before uploading (values are never rounded silently)`,
        );
      }
      frac = trimmed;
    }
    if (intDigits.length > maxIntegerDigits) {
      return new RowProblem(
        'DECIMAL_TOO_MANY_DIGITS',
        `${quote(text)} has ${intDigits.length} digits before the point; decimal(${precision},${scale}) allows ${maxIntegerDigits}`,
      );
    }
    const fracPadded = frac + zeros.slice(frac.length);
    const body = scale === 0 ? intDigits || '0' : `${intDigits || '0'}.${fracPadded}`;
    if (m[1] !== '-') return body;
    const isZero = intDigits === '' && !/[1-9]/.test(fracPadded);
    return isZero ? body : `-${body}`;
  };
}

const DOUBLE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** IEEE double; NaN, ±Infinity and overflow (1e309) are errors, not values. */
export function coerceDouble(text: string): string | RowProblem {
  if (!DOUBLE.test(text)) return numberShapeProblem(text, 'a number', '"0.25" or "1.5e-3"');
  const n = Number(text);
  if (!Number.isFinite(n)) {
    return new RowProblem(
      'NUMBER_OUT_OF_RANGE',
      `${quote(text)} is beyond the largest double (about 1.8e308); check the value`,
    );
  }
  if (n === 0 && /[1-9]/.test(text.replace(/[eE].*$/, ''))) {
    return new RowProblem(
      'NUMBER_OUT_OF_RANGE',
      `${quote(text)} is too small for a double and would become 0`,
    );
  }
  return String(n === 0 ? 0 : n); // String(-0) is "0" already; keeps canonical text unique
}

/** true/false in any case, or 1/0. Nothing else ("yes", "Y") is guessed. */
export function coerceBoolean(text: string): string | RowProblem {
  switch (text.length) {
    case 1:
      if (text === '1') return 'true';
      if (text === '0') return 'false';
      break;
    case 4:
      if (text.toLowerCase() === 'true') return 'true';
      break;
    case 5:
      if (text.toLowerCase() === 'false') return 'false';
      break;
  }
  return new RowProblem('NOT_A_BOOLEAN', `${quote(text)} is not a boolean; write true or false (or 1 or 0)`);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** Checks y-m-d exists; returns a message when it does not. */
function calendarProblem(text: string, y: number, mo: number, d: number): string | undefined {
  if (y < 1) return `${quote(text)} is before year 0001`;
  if (mo < 1 || mo > 12) return `${quote(text)} has month ${mo}; months are 01–12`;
  const dim = daysInMonth(y, mo);
  if (d < 1 || d > dim) return `${quote(text)} does not exist: ${MONTH_NAMES[mo - 1]} ${y} has ${dim} days`;
  return undefined;
}

/** Value of the 2 or 4 ASCII digits at `at`, or -1 if any is not a digit. */
function digitsAt(text: string, at: number, count: number): number {
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Fast check of `YYYY-MM-DD` at `at` being a real day (years 0001–9999); false = take the slow path. */
function isPlainDate(text: string, at: number): boolean {
  if (text.charCodeAt(at + 4) !== 45 || text.charCodeAt(at + 7) !== 45) return false;
  const y = digitsAt(text, at, 4),
    m = digitsAt(text, at + 5, 2),
    d = digitsAt(text, at + 8, 2);
  return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

/** A real calendar day, years 0001–9999, written YYYY-MM-DD. */
export function coerceDate(text: string): string | RowProblem {
  // The common case without a regex; anything unusual takes the path that explains the problem.
  if (text.length === 10 && isPlainDate(text, 0)) return text;
  const m = DATE.exec(text);
  if (!m) {
    return new RowProblem(
      'INVALID_DATE',
      `${quote(text)} is not a date; write it as YYYY-MM-DD, e.g. "2024-03-31"`,
    );
  }
  const problem = calendarProblem(text, +m[1]!, +m[2]!, +m[3]!);
  return problem ? new RowProblem('INVALID_DATE', problem) : text;
}

/**
 * `YYYY-MM-DDTHH:MM:SS` (or a space for T) at the start of `text` as seconds since the epoch of
 * that wall-clock time, when it is a real day and time; undefined sends the text down the regex
 * path, which explains any problem.
 */
function plainDateTimeSeconds(text: string): number | undefined {
  const sep = text.charCodeAt(10);
  if (
    (sep !== 84 /* T */ && sep !== 32) ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58 ||
    !isPlainDate(text, 0)
  )
    return undefined;
  const h = digitsAt(text, 11, 2),
    mi = digitsAt(text, 14, 2),
    s = digitsAt(text, 17, 2);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return undefined;
  const days = daysFromCivil(digitsAt(text, 0, 4), digitsAt(text, 5, 2), digitsAt(text, 8, 2));
  return days * 86400 + h * 3600 + mi * 60 + s;
}

/** `YYYY-MM-DDTHH:MM:SS±HH:MM` as UTC epoch seconds, or undefined (see {@link plainDateTimeSeconds}). */
function plainOffsetTimestamp(text: string): number | undefined {
  const sign = text.charCodeAt(19);
  if ((sign !== 43 /* + */ && sign !== 45) /* - */ || text.charCodeAt(22) !== 58) return undefined;
  const oh = digitsAt(text, 20, 2),
    om = digitsAt(text, 23, 2);
  if (oh < 0 || oh > 18 || om < 0 || om > 59) return undefined;
  const wall = plainDateTimeSeconds(text);
  if (wall === undefined) return undefined;
  return wall - (oh * 3600 + om * 60) * (sign === 45 ? -1 : 1);
}

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:\s?(Z|[+-]\d{2}(?::?\d{2})?))?$/i;

/**
 * A timestamp → UTC `YYYY-MM-DDTHH:MM:SS.ffffffZ`. With a zone (Z, ±HH, ±HH:MM) it is converted;
 * without one it is read as wall-clock time in `defaultTimezone` (see {@link ZoneResolver} for
 * DST gaps and repeats). More than microsecond precision is refused unless the extra digits are 0.
 */
export function timestampCoercer(defaultTimezone: string, notes: CoercionNotes): Coercer {
  const zone =
    defaultTimezone === 'UTC' || defaultTimezone === 'Etc/UTC'
      ? undefined
      : new ZoneResolver(defaultTimezone);
  return (text) => {
    // Fast path for the common `YYYY-MM-DDTHH:MM:SSZ` (already UTC, whole seconds).
    if (
      text.length === 20 &&
      text.charCodeAt(19) === 90 /* Z */ &&
      plainDateTimeSeconds(text) !== undefined
    ) {
      return `${text.slice(0, 10)}T${text.slice(11, 19)}.000000Z`;
    }
    // Fast path for `YYYY-MM-DDTHH:MM:SS±HH:MM` (whole seconds, an explicit offset).
    if (text.length === 25) {
      const utc = plainOffsetTimestamp(text);
      if (utc !== undefined) {
        const out = formatUtcSeconds(utc);
        if (out.year >= 1 && out.year <= 9999) return `${out.text}.000000Z`;
      }
    }
    const m = TIMESTAMP.exec(text);
    if (!m) {
      return new RowProblem(
        'INVALID_TIMESTAMP',
        `${quote(text)} is not a timestamp; write it as ISO 8601, e.g. "2024-03-31T14:05:00Z" or "2024-03-31 14:05:00+02:00"`,
      );
    }
    const y = +m[1]!,
      mo = +m[2]!,
      d = +m[3]!,
      h = +m[4]!,
      mi = +m[5]!,
      s = m[6] === undefined ? 0 : +m[6];
    const dateProblem = calendarProblem(text, y, mo, d);
    if (dateProblem) return new RowProblem('INVALID_TIMESTAMP', dateProblem);
    if (h > 23 || mi > 59 || s > 59) {
      return new RowProblem(
        'INVALID_TIMESTAMP',
        `${quote(text)} has no such time of day (00:00:00–23:59:59)`,
      );
    }
    let frac = m[7] ?? '';
    if (frac.length > 6) {
      if (/[1-9]/.test(frac.slice(6))) {
        return new RowProblem(
          'INVALID_TIMESTAMP',
          `${quote(text)} is more precise than microseconds; write at most 6 fraction digits`,
        );
      }
      frac = frac.slice(0, 6);
    }
    const wall = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    let utc: number;
    const tz = m[8];
    if (tz !== undefined) {
      let offset = 0;
      if (tz !== 'Z' && tz !== 'z') {
        const digits = tz.slice(1).replace(':', '');
        const oh = +digits.slice(0, 2),
          om = digits.length > 2 ? +digits.slice(2) : 0;
        if (oh > 18 || om > 59)
          return new RowProblem('INVALID_TIMESTAMP', `${quote(text)} has an impossible UTC offset ${tz}`);
        offset = (oh * 3600 + om * 60) * (tz[0] === '-' ? -1 : 1);
      }
      utc = wall - offset;
    } else if (zone === undefined) {
      utc = wall;
    } else {
      const r = zone.resolve(wall);
      if (r.kind === 'nonexistent') {
        return new RowProblem(
          'NONEXISTENT_LOCAL_TIME',
          `${quote(text)} does not exist in ${defaultTimezone} (the clocks skipped it for daylight saving); add the UTC offset you meant, e.g. "${text}+01:00"`,
        );
      }
      if (r.kind === 'ambiguous') notes.ambiguousLocalTimes++;
      utc = r.epochSeconds;
    }
    const out = formatUtcSeconds(utc);
    if (out.year < 1 || out.year > 9999) {
      return new RowProblem('INVALID_TIMESTAMP', `${quote(text)} falls outside years 0001–9999 in UTC`);
    }
    return `${out.text}.${frac.padEnd(6, '0')}Z`;
  };
}

/** Strings are kept exactly as read (no trimming: spaces may be meaningful). */
const keepString: Coercer = (text) => text;

/** The coercer for one contract column. */
export function coercerFor(column: ColumnSpec, notes: CoercionNotes): Coercer {
  switch (column.type) {
    case 'string':
      return keepString;
    case 'integer':
      return coerceInteger;
    case 'decimal':
      return decimalCoercer(column.precision!, column.scale!);
    case 'double':
      return coerceDouble;
    case 'boolean':
      return coerceBoolean;
    case 'date':
      return coerceDate;
    case 'timestamp':
      return timestampCoercer(column.defaultTimezone ?? 'UTC', notes);
  }
}

/**
 * The JSON type ajv checks a column's canonical text as (the row schema's type): numbers for the
 * numeric types (int64 past 2^53 and decimal(38) lose digits there; only bounds checks see that
 * value), booleans, and strings for the rest.
 */
export type SchemaValueKind = 'number' | 'boolean' | 'string';

export function schemaValueKind(type: ColumnSpec['type']): SchemaValueKind {
  switch (type) {
    case 'integer':
    case 'decimal':
    case 'double':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return 'string';
  }
}
