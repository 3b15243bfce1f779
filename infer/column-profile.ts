/**
 * What one column's values allow, judged value by value with the validate step's own coercion
 * functions (csv/coerce.ts): a type is kept as a candidate only while every value so far passes
 * the coercer `etl run` will use, so a contract inferred from a clean file accepts that file.
 *
 * Beyond the coercers, two rules keep values intact:
 *  - a number written with a leading zero (`007`, `02134`) is text: the coercers would accept it
 *    and drop the zero;
 *  - 0/1 alone is an integer, not a boolean: the coercer accepts both, and a column of counts that
 *    happen to be 0 or 1 would otherwise become true/false. true/false words make it a boolean.
 *
 * Memory per column is constant: counters, the first value that ruled each type out, at most
 * {@link ENUM_MAX_VALUES} + 1 distinct values, and the days seen (for the partition choice),
 * capped at {@link MAX_TRACKED_DAYS}.
 */
import {
  coerceBoolean,
  coerceDate,
  coerceDouble,
  coerceInteger,
  decimalCoercer,
  timestampCoercer,
  type Coercer,
} from '../csv/coerce';
import { QUOTED_EMPTY, type Cell } from '../csv/csv-records';
import { RowProblem } from '../csv/row-errors';

/** Enum rule: at most this many distinct values … */
export const ENUM_MAX_VALUES = 12;
/** … over at least this many non-empty values, each value seen at least twice, none longer than 40. */
export const ENUM_MIN_ROWS = 50;
const ENUM_MAX_LENGTH = 40;
/** Distinct days kept per date/timestamp column for the partition choice (≈ 270 years). */
export const MAX_TRACKED_DAYS = 100_000;
/** Decimal precision limit of every engine (Glue/Spark, DuckDB, Parquet). */
export const MAX_PRECISION = 38;

export type InferredType = 'string' | 'integer' | 'decimal' | 'double' | 'boolean' | 'date' | 'timestamp';
type Candidate = Exclude<InferredType, 'string'>;
const CANDIDATES: readonly Candidate[] = ['boolean', 'integer', 'decimal', 'double', 'date', 'timestamp'];

/** A value that ruled a type out: where, and what the validate step would have said. */
export interface Counterexample {
  readonly line: number;
  readonly value: string;
  readonly problem: string;
}

/** The decision for one column. */
export interface ColumnDecision {
  readonly type: InferredType;
  readonly precision?: number;
  readonly scale?: number;
  /** timestamp: values carry no zone, read as UTC. */
  readonly timezone?: 'UTC';
  readonly required: boolean;
  readonly enum?: readonly string[];
  /** Why, in a sentence or two, for the table. */
  readonly why: string;
  /** Non-empty values seen. */
  readonly values: number;
  /** Empty cells seen (those that are null for the chosen type). */
  readonly empties: number;
  /** First line with an empty cell (null for the chosen type), when there is one. */
  readonly firstEmptyLine?: number;
  /** Days (UTC for timestamps) → rows, when the type is date or timestamp and they were tracked. */
  readonly days?: ReadonlyMap<string, number>;
}

/** Types whose refusal explains a text column best, most telling first. */
const EXPLAIN_ORDER: readonly Candidate[] = ['integer', 'decimal', 'double', 'date', 'timestamp', 'boolean'];
/** The coercers' messages that only say "not this type". */
const GENERIC_PROBLEM =
  /is not (?:an integer|a decimal\(\d+,\d+\)|a number|a boolean|a date|a timestamp); (?:write|or)/;
const LEADING_ZERO = /^[+-]?0\d/;
const HAS_ZONE = /(?:z|[+-]\d{2}(?::?\d{2})?)$/i;
const DECIMAL_SHAPE = /^[+-]?(\d*)(?:\.(\d*))?$/;
const show = (text: string) => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
const count = (n: number) => n.toLocaleString('en-US');

/** Profiles one column, value by value. */
export class ColumnProfile {
  /** Non-empty cells (a quoted `""` counts here: it is an empty string, not null, for text). */
  values = 0;
  /** Unquoted empty cells: null for every type. */
  private emptyCells = 0;
  private firstEmptyLine: number | undefined;
  /** Quoted `""` cells: an empty string for text, null for other types. */
  private quotedEmpties = 0;
  private firstQuotedEmptyLine: number | undefined;
  private readonly alive = new Set<Candidate>(CANDIDATES);
  private readonly ruledOut = new Map<Candidate, Counterexample>();
  private readonly accepted = new Map<Candidate, number>(CANDIDATES.map((c) => [c, 0]));
  private sawBooleanWord = false;
  private sawExponent = false;
  private sawZone = 0;
  private sawNoZone = 0;
  private maxIntegerDigits = 0;
  private maxScale = 0;
  /** The values with the most integer digits and the most fraction digits (checked at the end). */
  private widestInteger = '';
  private widestFraction = '';
  private distinct: Map<string, number> | undefined = new Map();
  private longest = 0;
  private example: string | undefined;
  private days: Map<string, number> | undefined = new Map();
  private readonly timestamp: Coercer = timestampCoercer('UTC', { ambiguousLocalTimes: 0 });

  /** Sees one cell of a row that starts on `line`. */
  observe(cell: Cell, line: number): void {
    if (cell === '') {
      this.emptyCells++;
      this.firstEmptyLine ??= line;
      return;
    }
    if (cell === QUOTED_EMPTY) {
      this.quotedEmpties++;
      this.firstQuotedEmptyLine ??= line;
      this.values++;
      this.noteText('');
      return;
    }
    this.values++;
    this.example ??= cell;
    this.noteText(cell);
    if (this.alive.size === 0) return;
    for (const type of CANDIDATES) if (this.alive.has(type)) this.judge(type, cell, line);
  }

  private noteText(text: string): void {
    if (text.length > this.longest) this.longest = text.length;
    const distinct = this.distinct;
    if (distinct === undefined) return;
    distinct.set(text, (distinct.get(text) ?? 0) + 1);
    if (distinct.size > ENUM_MAX_VALUES) this.distinct = undefined;
  }

  private rule(type: Candidate, line: number, value: string, problem: string): void {
    this.alive.delete(type);
    this.ruledOut.set(type, { line, value, problem });
    // One value passes at most one of date and timestamp, so the days seen belong to the survivor.
    if (!this.alive.has('date') && !this.alive.has('timestamp')) this.days = undefined;
  }

  private pass(type: Candidate): void {
    this.accepted.set(type, this.accepted.get(type)! + 1);
  }

  private judge(type: Candidate, text: string, line: number): void {
    const numeric = type === 'integer' || type === 'decimal' || type === 'double';
    if (numeric && LEADING_ZERO.test(text)) {
      return this.rule(type, line, text, `${show(text)} has a leading zero, which a number would drop`);
    }
    switch (type) {
      case 'boolean': {
        const r = coerceBoolean(text);
        if (r instanceof RowProblem) return this.rule(type, line, text, r.message);
        if (text.length > 1) this.sawBooleanWord = true;
        return this.pass(type);
      }
      case 'integer': {
        const r = coerceInteger(text);
        if (r instanceof RowProblem) return this.rule(type, line, text, r.message);
        return this.pass(type);
      }
      case 'decimal': {
        const m = DECIMAL_SHAPE.exec(text);
        if (!m || (m[1] === '' && !m[2])) {
          // Same judgement as the coercer, same message.
          const r = decimalCoercer(MAX_PRECISION, 0)(text);
          return this.rule(type, line, text, r instanceof RowProblem ? r.message : 'not a decimal');
        }
        const intDigits = m[1]!.replace(/^0+/, '').length;
        const scale = (m[2] ?? '').length;
        if (intDigits > this.maxIntegerDigits) {
          this.maxIntegerDigits = intDigits;
          this.widestInteger = text;
        }
        if (scale > this.maxScale) {
          this.maxScale = scale;
          this.widestFraction = text;
        }
        if (Math.max(this.maxIntegerDigits + this.maxScale, 1) > MAX_PRECISION) {
          return this.rule(
            type,
            line,
            text,
            `${show(text)} needs more than ${MAX_PRECISION} digits, the most a decimal holds`,
          );
        }
        return this.pass(type);
      }
      case 'double': {
        const r = coerceDouble(text);
        if (r instanceof RowProblem) return this.rule(type, line, text, r.message);
        if (/[eE]/.test(text)) this.sawExponent = true;
        return this.pass(type);
      }
      case 'date': {
        const r = coerceDate(text);
        if (r instanceof RowProblem) return this.rule(type, line, text, r.message);
        this.countDay(r);
        return this.pass(type);
      }
      case 'timestamp': {
        const r = this.timestamp(text);
        if (r instanceof RowProblem) return this.rule(type, line, text, r.message);
        if (HAS_ZONE.test(text.slice(16))) this.sawZone++;
        else this.sawNoZone++;
        this.countDay(r.slice(0, 10));
        return this.pass(type);
      }
    }
  }

  private countDay(day: string): void {
    const days = this.days;
    if (days === undefined) return;
    days.set(day, (days.get(day) ?? 0) + 1);
    if (days.size > MAX_TRACKED_DAYS) this.days = undefined;
  }

  /** The column's type and checks, from everything observed. `wholeFile`: enums only then. */
  decide(wholeFile: boolean): ColumnDecision {
    const nonEmpty = this.values - this.quotedEmpties;
    const base = { values: this.values };
    const numericEmpties = this.emptyCells + this.quotedEmpties;
    const firstNumericEmpty = minLine(this.firstEmptyLine, this.firstQuotedEmptyLine);
    const typed = (type: Candidate, why: string, extra: Partial<ColumnDecision> = {}): ColumnDecision => ({
      ...base,
      type,
      required: numericEmpties === 0,
      empties: numericEmpties,
      ...(firstNumericEmpty !== undefined && { firstEmptyLine: firstNumericEmpty }),
      why: `${why}${this.emptyNote(numericEmpties, firstNumericEmpty)}`,
      ...extra,
    });
    if (nonEmpty > 0) {
      const all = `all ${count(nonEmpty)} values`;
      if (this.alive.has('boolean') && this.sawBooleanWord)
        return typed('boolean', `${all} are true/false (or 1/0)`);
      if (this.alive.has('integer')) {
        const flag = this.alive.has('boolean')
          ? ' (only 0 and 1: an integer; make it a boolean if it is a flag)'
          : '';
        return typed('integer', `${all} are whole numbers within the 64-bit range${flag}`);
      }
      if (this.alive.has('decimal')) {
        const needed = Math.max(this.maxIntegerDigits + this.maxScale, 1);
        const precision = Math.max(roomyPrecision(needed), this.maxScale);
        const scale = this.maxScale;
        // The same coercer validate builds must accept the widest values (it is monotone in both).
        const coerce = decimalCoercer(precision, scale);
        for (const v of [this.widestInteger, this.widestFraction])
          if (v !== '' && coerce(v) instanceof RowProblem)
            throw new Error(`decimal(${precision},${scale}) refuses ${v}: inference and coercion disagree`);
        const widest = [this.widestInteger, this.widestFraction].filter((v, i, a) => v && a.indexOf(v) === i);
        return typed(
          'decimal',
          `${all} are plain decimals; widest ${widest.map(show).join(' and ')}: ${this.maxIntegerDigits} digit(s) before the point, ${scale} after → precision ${needed}${precision > needed ? `, rounded up to ${precision} (same Parquet size)` : ''}`,
          { precision, scale },
        );
      }
      if (this.alive.has('double') && this.sawExponent)
        return typed('double', `${all} are numbers, some with an exponent (e.g. 1.5e-3): a double`);
      if (this.alive.has('date'))
        return typed('date', `${all} are dates written YYYY-MM-DD`, this.days ? { days: this.days } : {});
      if (this.alive.has('timestamp')) {
        const zone =
          this.sawNoZone === 0
            ? 'all with a UTC offset or Z'
            : this.sawZone === 0
              ? 'none with a zone: read as UTC (set "timezone" if they are local times)'
              : `${count(this.sawNoZone)} without a zone: those are read as UTC`;
        return typed('timestamp', `${all} are ISO 8601 timestamps, ${zone}`, {
          ...(this.sawNoZone > 0 && { timezone: 'UTC' as const }),
          ...(this.days && { days: this.days }),
        });
      }
    }
    // Text: a quoted "" is an empty string, only an unquoted empty cell is null.
    const enumValues = this.enumValues(wholeFile);
    return {
      ...base,
      type: 'string',
      required: this.emptyCells === 0,
      empties: this.emptyCells,
      ...(this.firstEmptyLine !== undefined && { firstEmptyLine: this.firstEmptyLine }),
      ...(enumValues && { enum: enumValues }),
      why: `${this.textReason(nonEmpty)}${enumValues ? `; ${enumValues.length} distinct values over ${count(this.values)} rows: an enum` : ''}${this.emptyNote(this.emptyCells, this.firstEmptyLine)}`,
    };
  }

  private emptyNote(empties: number, firstLine: number | undefined): string {
    return empties === 0 ? '' : `; empty on ${count(empties)} row(s) (first on line ${firstLine}): nullable`;
  }

  /** Why a column is text: the type that came closest, and the value that ruled it out. */
  private textReason(nonEmpty: number): string {
    if (nonEmpty === 0) return 'every cell is empty: text (nothing to infer from)';
    let closest: Candidate | undefined;
    for (const type of CANDIDATES) {
      const n = this.accepted.get(type)!;
      if (n > 0 && (closest === undefined || n > this.accepted.get(closest)!)) closest = type;
    }
    if (closest === 'double' && this.alive.has('double') && !this.sawExponent) {
      return `all values are numbers, but some need more than ${MAX_PRECISION} digits: text keeps them exactly`;
    }
    if (closest === 'boolean' && this.alive.has('boolean')) closest = undefined;
    const ex = closest && this.ruledOut.get(closest);
    if (closest && ex) {
      const what = closest === 'double' || closest === 'decimal' ? 'number' : closest;
      return `text: ${count(this.accepted.get(closest)!)} value(s) look like a ${what}, but line ${ex.line}: ${ex.problem}`;
    }
    // Nothing passed any type: explain with a specific problem (a leading zero, a thousands
    // separator, an impossible date …) rather than "is not an integer".
    for (const type of EXPLAIN_ORDER) {
      const r = this.ruledOut.get(type);
      if (r && !GENERIC_PROBLEM.test(r.problem)) return `text: line ${r.line}: ${r.problem}`;
    }
    return `text values (e.g. ${show(this.example ?? '')})`;
  }

  private enumValues(wholeFile: boolean): string[] | undefined {
    const d = this.distinct;
    if (!wholeFile || d === undefined || this.values < ENUM_MIN_ROWS || this.longest > ENUM_MAX_LENGTH)
      return undefined;
    if ([...d.values()].some((n) => n < 2)) return undefined;
    return [...d.keys()].sort();
  }
}

function minLine(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/**
 * Precision for the digits needed, rounded up to 9, 18 or 38: Parquet stores decimals of up to 9
 * digits in 4 bytes, up to 18 in 8 and up to 38 in 16, so the room costs nothing and a later file
 * with somewhat larger values still loads. The scale is never widened: more fraction digits in a
 * later file are a row error (values are never rounded).
 */
export function roomyPrecision(needed: number): number {
  return needed <= 9 ? 9 : needed <= 18 ? 18 : MAX_PRECISION;
}
