/**
 * The checked fast path's per-column cell checks, compiled from a contract (checked-fast-path.ts):
 * a function per contract column over the cell's bytes in the file, TRUE only when the JavaScript
 * checks (coerce.ts, row-checker.ts, ajv) would certainly accept the cell AND DuckDB's cast of its
 * text (core/staging `csvStagingValueSql`) is the value they would stage. Conservative by construction, as
 * the SQL predicate (sql-checks.ts) is: every form it does not cover (`+5`, `007`, `1e3`, an offset
 * past ±14:00, a quoted cell with a doubled quote, a number of more than 15 digits, ...) is FALSE, and
 * that row goes to the JavaScript checker, which stages it or explains it. A formula-looking text
 * passes (it is staged as it is); the scanner counts it ({@link formulaAt}) for the report.
 *
 * Where the SQL predicate translates ajv's rules into RE2 and DuckDB casts, these use ajv's own
 * rules: a `pattern` is tested with the RegExp ajv compiles (`u` flag), an email with ajv-formats'
 * fast regex, lengths count code points as ajv does, and bounds compare `Number(text)` as ajv
 * compares the staged number (exact for the ≤ 15-digit integers and the decimals taken here).
 * Dates and timestamps take only the shapes whose DuckDB cast is certain: a real day in 0001–9999;
 * a timestamp in the SQL predicate's shape, years 0002–9998, offsets within ±14:59.
 */
import { fastFormats } from 'ajv-formats/dist/formats';
import type { ColumnSpec, DatasetContract } from '../core/contract';
import { PARTITION_VALUE } from '../core/plan';
import { compileColumns, DESCRIPTIVE, FORMULA_START, type ColumnRules } from './row-checker';

/** The cell was quoted in the file (`""` is an empty text, an unquoted empty cell is NULL). */
export const CELL_QUOTED = 1;
/** The cell holds a byte ≥ 0x80 (UTF-8 beyond ASCII; the byte inspector has checked it is valid). */
export const CELL_NON_ASCII = 2;

/**
 * TRUE when the cell bytes [start, end) certainly pass (module comment); `pairs` is how many doubled
 * quotes the quoted cell holds (each one quote in the value).
 */
export type CellCheck = (buf: Buffer, start: number, end: number, flags: number, pairs: number) => boolean;

export type ByteChecks = ColumnRules<CellCheck>;

/**
 * The text cell [start, end) looks like a spreadsheet formula, as row-checker.ts judges the
 * decoded cell (its first character; an empty cell never does).
 */
export const formulaAt = (buf: Buffer, start: number, end: number): boolean =>
  start < end && FORMULA_START[buf[start]!] === 1;

/** The cell's value as text: its bytes decoded, a doubled quote made one. */
const text = (
  buf: Buffer,
  start: number,
  end: number,
  flags: number,
  pairs: number,
  quote: string,
): string => {
  const s = buf.toString(flags & CELL_NON_ASCII ? 'utf8' : 'latin1', start, end);
  return pairs > 0 ? s.replaceAll(quote + quote, quote) : s;
};

/** Code points of valid UTF-8 bytes: every byte that does not continue a sequence (ajv's ucs2length). */
function codePoints(buf: Buffer, start: number, end: number, flags: number): number {
  if (!(flags & CELL_NON_ASCII)) return end - start;
  let n = 0;
  for (let i = start; i < end; i++) if ((buf[i]! & 0xc0) !== 0x80) n++;
  return n;
}

const digit = (b: number) => b >= 48 && b <= 57;
const two = (buf: Buffer, i: number) => (buf[i]! - 48) * 10 + buf[i + 1]! - 48;
const DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** `YYYY-MM-DD` at `i`, a real day, year ≥ `minYear` (and ≤ 9999, four digits). */
function dayAt(buf: Buffer, i: number, minYear: number, maxYear: number): boolean {
  if (buf[i + 4] !== 45 || buf[i + 7] !== 45) return false;
  if (!digit(buf[i]!) || !digit(buf[i + 1]!) || !digit(buf[i + 2]!) || !digit(buf[i + 3]!)) return false;
  if (!digit(buf[i + 5]!) || !digit(buf[i + 6]!) || !digit(buf[i + 8]!) || !digit(buf[i + 9]!)) return false;
  const year = two(buf, i) * 100 + two(buf, i + 2);
  const month = two(buf, i + 5);
  const day = two(buf, i + 8);
  if (year < minYear || year > maxYear || month < 1 || month > 12 || day < 1 || day > DAYS[month]!)
    return false;
  return !(month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)));
}

/** 10^0 … 10^15, exact doubles. */
export const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

/**
 * The shape of a canonical number: `-?(0|[1-9][0-9]*)` of at most `whole` digits, then optionally
 * `.` and 1…`scale` digits; at most 15 digits in all. Its value, or NaN: the digits as a whole
 * number N (exact below 2^53) divided by 10^k (exact) in one IEEE division, which rounds the exact
 * quotient correctly — the same double as `Number(text)`, without making the text a string.
 */
function numberAt(buf: Buffer, start: number, end: number, whole: number, scale: number): number {
  let i = start;
  const negative = buf[i] === 45;
  if (negative) i++;
  const intStart = i;
  let v = 0;
  while (i < end) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
    i++;
  }
  const intDigits = i - intStart;
  if (intDigits === 0 || intDigits > whole || (intDigits > 1 && buf[intStart] === 48)) return NaN;
  let fraction = 0;
  if (i < end) {
    if (buf[i] !== 46 || scale === 0) return NaN;
    i++;
    const fracStart = i;
    while (i < end) {
      const d = buf[i]! - 48;
      if (d < 0 || d > 9) return NaN;
      v = v * 10 + d;
      i++;
    }
    fraction = i - fracStart;
    if (fraction === 0 || fraction > scale) return NaN;
  }
  if (intDigits + fraction > 15) return NaN;
  const value = fraction === 0 ? v : v / POW10[fraction]!;
  return negative ? -value : value;
}

/** ajv's numeric keywords over the staged number, as limits (NaN is within none of them). */
export interface Bounds {
  minimum: number;
  maximum: number;
  exclusiveMinimum: number;
  exclusiveMaximum: number;
}

const isBound = (keyword: string, arg: unknown): keyword is keyof Bounds =>
  typeof arg === 'number' &&
  Number.isFinite(arg) &&
  (keyword === 'minimum' ||
    keyword === 'maximum' ||
    keyword === 'exclusiveMinimum' ||
    keyword === 'exclusiveMaximum');

/** A text rule over the cell's bytes where it can be exact (no doubled quote), and over its value. */
export interface TextRule {
  readonly bytes: ((buf: Buffer, start: number, end: number) => boolean) | undefined;
  readonly text: (s: string) => boolean;
  /** The rule as data for the scan kernel; undefined where it has no byte form. */
  readonly kernel:
    | { readonly enum: readonly string[] }
    | { readonly atoms: readonly PatternAtom[] }
    | { readonly email: true }
    | undefined;
}

/** Byte sets of ASCII characters. */
function setOf(chars: string): Uint8Array {
  const set = new Uint8Array(256);
  for (const ch of chars) set[ch.charCodeAt(0)] = 1;
  return set;
}
const range = (from: string, to: string) =>
  Array.from({ length: to.charCodeAt(0) - from.charCodeAt(0) + 1 }, (_, i) =>
    String.fromCharCode(from.charCodeAt(0) + i),
  ).join('');
const ALNUM = range('a', 'z') + range('A', 'Z') + range('0', '9');

/** ajv-formats' fast email (`/…/i`), which {@link emailAt} implements over bytes. */
const AJV_FAST_EMAIL =
  "^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$";
const EMAIL_LOCAL = setOf(ALNUM + ".!#$%&'*+/=?^_`{|}~-");
const LABEL = setOf(ALNUM);

/** The fast email regex over bytes: a local part, `@`, dot-separated labels of 1–63 characters. */
function emailAt(buf: Buffer, start: number, end: number): boolean {
  let i = start;
  while (i < end && EMAIL_LOCAL[buf[i]!] === 1) i++;
  if (i === start || i === end || buf[i] !== 64) return false;
  i++;
  for (;;) {
    const label = i;
    if (i >= end || LABEL[buf[i]!] !== 1) return false;
    while (i < end && (LABEL[buf[i]!] === 1 || buf[i] === 45)) i++;
    if (i - label > 63 || buf[i - 1] === 45) return false;
    if (i === end) return true;
    if (buf[i] !== 46) return false;
    i++;
  }
}

/**
 * An enum of texts over bytes: equal UTF-8 bytes are equal texts. The options are indexed by
 * length and first byte, so a cell meets at most the options it could equal (usually one).
 */
function enumAt(options: readonly string[]): (buf: Buffer, start: number, end: number) => boolean {
  const all = [...new Set(options)].map((o) => Buffer.from(o, 'utf8'));
  const hasEmpty = all.some((o) => o.length === 0);
  const longest = Math.max(0, ...all.map((o) => o.length));
  const index: (Uint8Array[] | undefined)[] = new Array<Uint8Array[] | undefined>((longest + 1) * 256).fill(
    undefined,
  );
  for (const o of all) {
    if (o.length === 0) continue;
    const k = o.length * 256 + o[0]!;
    index[k] = [...(index[k] ?? []), Uint8Array.from(o)];
  }
  return (buf, start, end) => {
    const n = end - start;
    if (n === 0) return hasEmpty;
    if (n > longest) return false;
    const candidates = index[n * 256 + buf[start]!];
    if (candidates === undefined) return false;
    for (let j = 0; j < candidates.length; j++) {
      const o = candidates[j]!;
      let k = 1;
      while (k < n && o[k] === buf[start + k]) k++;
      if (k === n) return true;
    }
    return false;
  };
}

/** One atom of a byte pattern: a set of ASCII bytes (256 entries, 1 = allowed) taken min…max times. */
export interface PatternAtom {
  readonly set: Uint8Array;
  readonly min: number;
  readonly max: number;
}

const PATTERN_LITERAL = /[A-Za-z0-9 _,:;@/#%='"!~<>&`-]/;
const PATTERN_ESCAPED = /[.^$*+?()[\]{}|\\/-]/;

/**
 * A pattern anchored at both ends made only of ASCII literals, `\d`, `\w` and non-negated ASCII
 * classes, each with a quantifier, as atoms, at most two of them open-ended; undefined for any
 * other pattern.
 */
export function patternAtoms(p: string): readonly PatternAtom[] | undefined {
  if (!p.startsWith('^') || !p.endsWith('$') || p.endsWith('\\$')) return undefined;
  const atoms: PatternAtom[] = [];
  let i = 1;
  const n = p.length - 1;
  const escapeSet = (e: string): string | undefined =>
    e === 'd' ? range('0', '9') : e === 'w' ? ALNUM + '_' : PATTERN_ESCAPED.test(e) ? e : undefined;
  while (i < n) {
    let chars: string | undefined;
    const c = p[i]!;
    if (c === '\\') {
      chars = escapeSet(p[i + 1] ?? '');
      i += 2;
    } else if (c === '[') {
      i++;
      if (p[i] === '^' || p[i] === ']') return undefined;
      chars = '';
      while (i < n && p[i] !== ']') {
        const x = p[i]!;
        let one: string | undefined;
        if (x === '\\') {
          one = escapeSet(p[i + 1] ?? '');
          i += 2;
        } else if (x === '[' || x.charCodeAt(0) < 0x21 || x.charCodeAt(0) > 0x7e) return undefined;
        else {
          if (p[i + 1] === '-' && p[i + 2] !== undefined && p[i + 2] !== ']') {
            const to = p[i + 2]!;
            if (to === '\\' || to.charCodeAt(0) < x.charCodeAt(0) || to.charCodeAt(0) > 0x7e)
              return undefined;
            one = range(x, to);
            i += 3;
          } else {
            one = x;
            i++;
          }
        }
        if (one === undefined) return undefined;
        chars += one;
      }
      if (p[i] !== ']' || chars === '') return undefined;
      i++;
    } else if (PATTERN_LITERAL.test(c)) {
      chars = c;
      i++;
    }
    if (chars === undefined) return undefined;
    let min = 1;
    let max = 1;
    const q = p[i];
    if (q === '?' || q === '*' || q === '+') {
      min = q === '+' ? 1 : 0;
      max = q === '?' ? 1 : Number.POSITIVE_INFINITY;
      i++;
    } else if (q === '{') {
      const m = /^\{(\d{1,4})(,(\d{1,4})?)?\}/.exec(p.slice(i, n));
      if (!m) return undefined;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === undefined ? Number.POSITIVE_INFINITY : Number(m[3]);
      if (max < min) return undefined;
      i += m[0].length;
    }
    if (['?', '*', '+', '{'].includes(p[i] ?? '') && i < n) return undefined; // lazy or stacked
    atoms.push({ set: setOf(chars), min, max });
  }
  if (atoms.filter((a) => a.max !== a.min).length > 2) return undefined;
  return atoms;
}

/**
 * {@link patternAtoms} as a byte matcher (backtracking over at most two open-ended atoms);
 * undefined for any other pattern, which is tested with its RegExp on the text.
 * @internal exported for its tests
 */
export function patternAt(p: string): ((buf: Buffer, start: number, end: number) => boolean) | undefined {
  const atoms = patternAtoms(p);
  return atoms && patternMatcher(atoms);
}

function patternMatcher(atoms: readonly PatternAtom[]): (buf: Buffer, start: number, end: number) => boolean {
  if (atoms.every((a) => a.max === a.min)) {
    // Fixed length: one set per byte.
    const sets = atoms.flatMap((a) => Array.from({ length: a.min }, () => a.set));
    const length = sets.length;
    // One table: the byte at offset k is allowed when table[k * 256 + byte] is 1.
    const table = new Uint8Array(Math.max(1, length) * 256);
    sets.forEach((set, k) => table.set(set, k * 256));
    return (buf, start, end) => {
      if (end - start !== length) return false;
      for (let k = 0; k < length; k++) if (table[k * 256 + buf[start + k]!] !== 1) return false;
      return true;
    };
  }
  const from = (k: number, buf: Buffer, at: number, end: number): boolean => {
    if (k === atoms.length) return at === end;
    const { set, min, max } = atoms[k]!;
    let count = 0;
    while (count < max && at + count < end && set[buf[at + count]!] === 1) count++;
    for (; count >= min; count--) if (from(k + 1, buf, at + count, end)) return true;
    return false;
  };
  return (buf, start, end) => from(0, buf, start, end);
}

/**
 * What a column's cell check decides, as data: compiled into a JavaScript function here
 * ({@link cellCheckOf}) and into the scan kernel's column table (scan-kernel.ts). `kernel` on a
 * text rule is its byte form for the kernel; a rule without one keeps the column out of the kernel.
 */
export interface ColumnProgram {
  readonly column: ColumnSpec;
  readonly required: boolean;
  readonly hasLength: boolean;
  readonly minLength: number;
  readonly maxLength: number;
  readonly rules: readonly TextRule[];
  readonly bounds: Readonly<Bounds>;
  /** Decimal: whole and fraction digits allowed. */
  readonly whole: number;
  readonly scale: number;
  /** Timestamp: the zone may be left out (a UTC column). */
  readonly zoneOptional: boolean;
  readonly quote: string;
}

/** Reads one column's rules; a string is the reason it cannot be compiled. */
function columnProgram(
  column: ColumnSpec,
  prop: Record<string, unknown>,
  isStringPartition: boolean,
  quote: string,
): ColumnProgram | string {
  const proven = column.type === 'date' ? 'date' : column.type === 'timestamp' ? 'date-time' : undefined;
  const rules: TextRule[] = [];
  let minLength = 0;
  let maxLength = Number.POSITIVE_INFINITY;
  let hasLength = false;
  const bounds: Bounds = {
    minimum: Number.NEGATIVE_INFINITY,
    maximum: Number.POSITIVE_INFINITY,
    exclusiveMinimum: Number.NEGATIVE_INFINITY,
    exclusiveMaximum: Number.POSITIVE_INFINITY,
  };
  const isNumeric = column.type === 'integer' || column.type === 'decimal' || column.type === 'double';
  for (const [keyword, arg] of Object.entries(prop)) {
    if (DESCRIPTIVE.has(keyword)) continue;
    if (keyword === 'format' && arg === proven) continue;
    const where = `column ${JSON.stringify(column.name)}: "${keyword}"`;
    if (column.type === 'string') {
      if (keyword === 'enum' && Array.isArray(arg) && arg.every((v) => typeof v === 'string')) {
        const options = new Set(arg);
        rules.push({ bytes: enumAt(arg), text: (s) => options.has(s), kernel: { enum: [...options] } });
      } else if (keyword === 'pattern' && typeof arg === 'string') {
        let re: RegExp;
        try {
          re = new RegExp(arg, 'u'); // as ajv compiles it (unicodeRegExp)
        } catch {
          return `${where} does not compile`;
        }
        const atoms = patternAtoms(arg);
        rules.push({
          bytes: atoms && patternMatcher(atoms),
          text: (s) => re.test(s),
          kernel: atoms && { atoms },
        });
      } else if ((keyword === 'maxLength' || keyword === 'minLength') && Number.isSafeInteger(arg)) {
        hasLength = true;
        if (keyword === 'maxLength') maxLength = Math.min(maxLength, arg as number);
        else minLength = Math.max(minLength, arg as number);
      } else if (keyword === 'format' && arg === 'email') {
        const email = (fastFormats as Record<string, unknown>).email;
        if (!(email instanceof RegExp)) return `${where}: ajv-formats has no email regex`;
        const exact = email.source === AJV_FAST_EMAIL && email.flags === 'i';
        rules.push({
          bytes: exact ? emailAt : undefined,
          text: (s) => email.test(s),
          kernel: exact ? { email: true } : undefined,
        });
      } else return `${where} has no byte check here`;
    } else if (isNumeric && isBound(keyword, arg)) {
      const limit = arg as number;
      if (keyword === 'minimum' || keyword === 'exclusiveMinimum')
        bounds[keyword] = Math.max(bounds[keyword], limit);
      else bounds[keyword] = Math.min(bounds[keyword], limit);
    } else return `${where} has no byte check here`;
  }
  if (isStringPartition) {
    if (column.type !== 'string')
      return `column ${JSON.stringify(column.name)}: a text partition of a ${column.type} column`;
    rules.push({ bytes: undefined, text: (s) => PARTITION_VALUE.test(s), kernel: undefined });
  }
  const scale = column.type === 'decimal' ? (column.scale ?? 0) : 0;
  const whole = column.type === 'decimal' ? (column.precision ?? 18) - scale : 15;
  if (whole < 1) return `column ${JSON.stringify(column.name)}: a decimal with no whole digits`;
  const tz = column.defaultTimezone ?? 'UTC';
  if (!KINDS.has(column.type)) return `column ${JSON.stringify(column.name)}: type ${String(column.type)}`;
  return {
    column,
    required: column.required === true,
    hasLength,
    minLength,
    maxLength,
    rules,
    bounds,
    whole,
    scale,
    zoneOptional: tz === 'UTC' || tz === 'Etc/UTC',
    quote,
  };
}

const KINDS = new Set(['string', 'integer', 'decimal', 'double', 'boolean', 'date', 'timestamp']);

/** Compiles one column's program into its JavaScript cell check. */
function cellCheckOf(program: ColumnProgram): CellCheck {
  const { column, required, hasLength, minLength, maxLength, rules, quote } = program;
  if (column.type === 'string') {
    // Plain loops over arrays of functions and numeric limits: this runs for every text cell.
    const byteRules = rules.every((r) => r.bytes !== undefined) ? rules.map((r) => r.bytes!) : undefined;
    const oneByteRule = byteRules?.length === 1 ? byteRules[0] : undefined;
    const textRules = rules.map((r) => r.text);
    return (buf, start, end, flags, pairs) => {
      if (start === end && !(flags & CELL_QUOTED)) return !required;
      if (hasLength) {
        const n = codePoints(buf, start, end, flags) - pairs;
        if (n < minLength || n > maxLength) return false;
      }
      if (textRules.length === 0) return true;
      if (pairs === 0 && byteRules !== undefined) {
        if (oneByteRule !== undefined) return oneByteRule(buf, start, end);
        for (let k = 0; k < byteRules.length; k++) if (!byteRules[k]!(buf, start, end)) return false;
        return true;
      }
      const s = text(buf, start, end, flags, pairs, quote);
      for (let k = 0; k < textRules.length; k++) if (!textRules[k]!(s)) return false;
      return true;
    };
  }
  /** Empty (quoted or not) is NULL in a column that is not text. */
  const typed =
    (check: (buf: Buffer, start: number, end: number) => boolean): CellCheck =>
    (buf, start, end, flags, pairs) => {
      if (start === end) return !required;
      if (flags & CELL_NON_ASCII || pairs > 0) return false;
      return check(buf, start, end);
    };
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum } = program.bounds;
  // NaN (not a number of the taken shape) compares false with every limit, infinite ones too.
  const inBounds = (n: number) =>
    n >= minimum && n <= maximum && n > exclusiveMinimum && n < exclusiveMaximum;
  const { whole, scale, zoneOptional } = program;
  switch (column.type) {
    case 'integer':
      // DuckDB prints the BIGINT back exactly as written (sql-checks.ts): no `-0`.
      return typed((buf, start, end) => {
        if (buf[start] === 45 && end - start === 2 && buf[start + 1] === 48) return false;
        return inBounds(numberAt(buf, start, end, 15, 0));
      });
    case 'decimal':
      return typed((buf, start, end) => inBounds(numberAt(buf, start, end, whole, scale)));
    case 'double':
      return typed((buf, start, end) => inBounds(numberAt(buf, start, end, 15, 15)));
    case 'boolean':
      return typed((buf, start, end) => {
        const n = end - start;
        if (n === 1) return buf[start] === 48 || buf[start] === 49;
        if (n !== 4 && n !== 5) return false;
        const s = buf.toString('latin1', start, end).toLowerCase();
        return s === 'true' || s === 'false';
      });
    case 'date':
      return typed((buf, start, end) => end - start === 10 && dayAt(buf, start, 1, 9999));
    default:
      // timestamp (columnProgram takes no other type)
      return typed((buf, start, end) => {
        // YYYY-MM-DD[T ]HH:MM:SS(.f{1,6})?(Z|±HH:MM), the zone optional only in a UTC column.
        if (end - start < 19 || !dayAt(buf, start, 2, 9998)) return false;
        const sep = buf[start + 10];
        if (sep !== 84 && sep !== 32) return false;
        if (buf[start + 13] !== 58 || buf[start + 16] !== 58) return false;
        if (!digit(buf[start + 11]!) || !digit(buf[start + 12]!) || !digit(buf[start + 14]!)) return false;
        if (!digit(buf[start + 15]!) || !digit(buf[start + 17]!) || !digit(buf[start + 18]!)) return false;
        if (two(buf, start + 11) > 23 || two(buf, start + 14) > 59 || two(buf, start + 17) > 59) return false;
        let i = start + 19;
        if (buf[i] === 46 && i < end) {
          i++;
          const from = i;
          while (i < end && digit(buf[i]!)) i++;
          if (i === from || i - from > 6) return false;
        }
        if (i === end) return zoneOptional;
        if (buf[i] === 90) return i + 1 === end;
        if (buf[i] !== 43 && buf[i] !== 45) return false;
        if (end - i !== 6 || buf[i + 3] !== 58) return false;
        if (!digit(buf[i + 1]!) || !digit(buf[i + 2]!) || !digit(buf[i + 4]!) || !digit(buf[i + 5]!))
          return false;
        return two(buf, i + 1) <= 14 && two(buf, i + 4) <= 59;
      });
  }
}

/**
 * Bytes the value of a cell the check passed takes in JSON Lines staging (row-checker.ts): `null`,
 * or the canonical text in quotes — a decimal padded to its scale, a date of 10 characters, a
 * timestamp of 27 (`…T….ffffffZ`), a boolean as true/false. `escapes` is how many bytes of a
 * quoted cell JSON escapes (each taken as one more byte). The transform is routed on these bytes.
 */
export type JsonLength = (buf: Buffer, start: number, end: number, flags: number, escapes: number) => number;

function jsonLengthOf(column: ColumnSpec): JsonLength {
  switch (column.type) {
    case 'string':
      return (_buf, start, end, flags, escapes) =>
        start === end && !(flags & CELL_QUOTED) ? 4 : end - start + 2 + escapes;
    case 'decimal': {
      const scale = column.scale ?? 0;
      return (buf, start, end) => {
        if (start === end) return 4;
        // A loop, not buf.indexOf: a native call per cell costs more than these few bytes.
        let point = start;
        while (point < end && buf[point] !== 46) point++;
        const fraction = point === end ? -1 : end - point - 1;
        return end - start + 2 + (scale === 0 ? 0 : fraction === -1 ? scale + 1 : scale - fraction);
      };
    }
    case 'boolean':
      return (buf, start, end) =>
        start === end ? 4 : 2 + (end - start === 1 ? (buf[start] === 49 ? 4 : 5) : end - start);
    case 'date':
      return (_buf, start, end) => (start === end ? 4 : 12);
    case 'timestamp':
      return (_buf, start, end) => (start === end ? 4 : 29);
    default:
      return (_buf, start, end) => (start === end ? 4 : end - start + 2);
  }
}

/** Per contract column, the JSON Lines bytes of a checked cell's value. */
export function jsonLengthsFor(contract: DatasetContract): readonly JsonLength[] {
  return contract.columns.map(jsonLengthOf);
}

/** The column programs of a contract (per contract column), or why it has none. */
export function columnProgramsFor(contract: DatasetContract): ColumnRules<ColumnProgram> {
  return compileColumns(contract, (column, prop, isTextPartition) =>
    columnProgram(column, prop, isTextPartition, contract.csv.quote),
  );
}

/** The JavaScript cell checks of column programs (one per contract column). */
export function cellChecksOf(programs: readonly ColumnProgram[]): CellCheck[] {
  return programs.map(cellCheckOf);
}

/** The byte checks of a contract (per contract column), or why it has none. */
export function byteChecksFor(contract: DatasetContract): ByteChecks {
  const programs = columnProgramsFor(contract);
  return programs.columns ? { columns: cellChecksOf(programs.columns) } : programs;
}
