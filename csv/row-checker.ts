/**
 * From one CSV record to one staging line (or row errors): coercion per column, then ajv on the
 * typed values — only for the columns whose schema adds checks beyond the type (pattern, enum,
 * email, bounds, lengths ...). `date` / `date-time` formats are left out of that schema because
 * coercion has already proved those values are real dates and times.
 *
 * The row schema is compiled once per contract file version (path + mtime + size), not per file.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import {
  compileContractRowSchema,
  DEFAULT_SCHEMAS_DIR,
  findContract,
  type ColumnSpec,
  type DatasetContract,
} from '../core/contract';
import { compilePlan, LINE_COLUMN, PARTITION_VALUE, type TransformPlan } from '../core/plan';
import {
  coercerFor,
  schemaValueKind,
  type Coercer,
  type CoercionNotes,
  type SchemaValueKind,
} from './coerce';
import { QUOTED_EMPTY, type Cell } from './csv-records';
import type { HeaderMapping } from './header';
import {
  detached,
  objectArray,
  RowProblem,
  truncateValue,
  type RowError,
  type RowErrorCode,
} from './row-errors';

/** A contract with everything derived from it that is worth computing once. */
export interface CompiledContract {
  readonly contract: DatasetContract;
  readonly plan: TransformPlan;
  /** ajv over the typed values that need it; undefined when no column does. */
  readonly validateRow: ValidateFunction | undefined;
  /** Per contract column: does ajv need its value? */
  readonly checkedByAjv: readonly boolean[];
}

/**
 * Keywords that only describe; a property with nothing else adds no check beyond its type. The fast
 * paths' checks (sql-checks.ts, byte-checks.ts) skip the same ones.
 */
export const DESCRIPTIVE = new Set([
  'type',
  'description',
  'title',
  '$comment',
  'examples',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
]);
/** Top-level keywords the per-column schema handles; anything else needs the whole row in ajv. */
export const ROW_LEVEL_HANDLED = new Set([
  ...DESCRIPTIVE,
  '$schema',
  '$id',
  '$defs',
  'properties',
  'required',
  'additionalProperties',
]);

/** A fast path's rules compiled per contract column, or why the contract has none there. */
export type ColumnRules<T> =
  | { readonly columns: readonly T[]; readonly unsupported?: undefined }
  | { readonly unsupported: string; readonly columns?: undefined };

/**
 * Compiles every contract column with `compileColumn` (its row-schema property, whether it is the
 * text partition column, its index); a row-level rule, a JSON column, or a column `compileColumn`
 * answers with a reason (a string) leaves the whole contract to the JavaScript checker.
 */
export function compileColumns<T>(
  contract: DatasetContract,
  compileColumn: (
    column: ColumnSpec,
    prop: Record<string, unknown>,
    isTextPartition: boolean,
    index: number,
  ) => T | string,
): ColumnRules<T> {
  const schema = contract.rowSchema;
  const rowLevel = Object.keys(schema).find((k) => !ROW_LEVEL_HANDLED.has(k));
  if (rowLevel !== undefined) return { unsupported: `the row-level rule "${rowLevel}"` };
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const partition = contract.partition as { kind?: string; column?: string } | undefined;
  const columns: T[] = [];
  for (const column of contract.columns) {
    if (column.json || column.path)
      return { unsupported: `column ${JSON.stringify(column.name)} is a JSON column` };
    const r = compileColumn(
      column,
      properties[column.name] ?? {},
      partition?.kind === 'string' && partition.column === column.name,
      columns.length,
    );
    if (typeof r === 'string') return { unsupported: r };
    columns.push(r);
  }
  return { columns };
}

function compile(contract: DatasetContract): CompiledContract {
  const schema = contract.rowSchema;
  const properties = schema.properties as Record<string, Record<string, unknown>>;
  const needsWholeRow = Object.keys(schema).some((k) => !ROW_LEVEL_HANDLED.has(k));
  const checked: boolean[] = [];
  const reduced: Record<string, unknown> = {};
  for (const column of contract.columns) {
    const prop = { ...properties[column.name] };
    const proven = column.type === 'date' ? 'date' : column.type === 'timestamp' ? 'date-time' : undefined;
    if (proven && prop.format === proven) delete prop.format;
    const adds = Object.keys(prop).some((k) => !DESCRIPTIVE.has(k));
    checked.push(adds || needsWholeRow);
    if (adds || needsWholeRow) reduced[column.name] = prop;
  }
  let validateRow: ValidateFunction | undefined;
  if (Object.keys(reduced).length > 0) {
    const rowSchema: Record<string, unknown> = needsWholeRow
      ? { ...schema, properties: reduced, required: [] }
      : {
          ...(schema.$schema !== undefined && { $schema: schema.$schema }),
          ...(schema.$defs !== undefined && { $defs: schema.$defs }),
          type: 'object',
          properties: reduced,
        };
    delete rowSchema.$id; // the shared Ajv forgets each schema after compiling it; no $id needed
    // A failure reported as parseContract reports it (loadCompiledContract has it skip its own).
    validateRow = compileContractRowSchema(rowSchema, contract.file, '/columns');
  }
  return { contract, plan: compilePlan(contract), validateRow, checkedByAjv: checked };
}

const cache = new Map<string, { stamp: string; compiled: CompiledContract }>();

/**
 * The compiled contract of a dataset, or undefined when it has none. A broken contract throws
 * ContractError (a pipeline fault, not a rejection of the file).
 */
export function loadCompiledContract(
  dataset: string,
  schemasDir: string = DEFAULT_SCHEMAS_DIR,
): CompiledContract | undefined {
  const file = path.join(schemasDir, `${dataset}.schema.json`);
  let stamp: string;
  try {
    const st = statSync(file);
    stamp = `${st.mtimeMs}:${st.size}`;
  } catch {
    return undefined;
  }
  const hit = cache.get(file);
  if (hit && hit.stamp === stamp) return hit.compiled;
  // Its row schema is compiled once, here (compile), not also by the parse.
  const contract = findContract(dataset, schemasDir, { compileRowSchema: false });
  if (!contract) return undefined;
  const compiled = compile(contract);
  cache.set(file, { stamp, compiled });
  return compiled;
}

/** "must be one of …" per enum (its options array, from the compiled schema): made once, not per row. */
const enumRules = new WeakMap<readonly unknown[], string>();
function enumRule(options: readonly unknown[]): string {
  let rule = enumRules.get(options);
  if (rule === undefined) {
    rule = `must be one of ${options.map((v) => JSON.stringify(v)).join(', ')}`;
    enumRules.set(options, rule);
  }
  return rule;
}

/**
 * `JSON.stringify` of a string, without its set-up cost for the usual cell that needs no escaping.
 * Surrogates go the slow way: JSON.stringify escapes lone ones and keeps pairs.
 */
function jsonString(text: string): string {
  return NEEDS_JSON_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/** Characters JSON.stringify escapes or (surrogates) may escape; a regex beat a charCodeAt loop. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
const NEEDS_JSON_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** First characters that make a spreadsheet evaluate a cell: = + - @ tab CR. */
/** First characters (codes below 128) of a formula-looking cell; a byte of 128 or more is none. */
export const FORMULA_START = new Uint8Array(128);
for (const ch of '=+-@\t\r') FORMULA_START[ch.charCodeAt(0)] = 1;

/**
 * One reusable object for ajv, with a fixed shape (fast property access) and no prototype, so a
 * column named `__proto__` or `constructor` is just a property.
 */
function typedRowHolder(names: readonly string[]): Record<string, unknown> {
  function TypedRow(this: Record<string, unknown>) {
    for (const n of names) this[n] = undefined;
  }
  TypedRow.prototype = Object.create(null) as object;
  return new (TypedRow as unknown as new () => Record<string, unknown>)();
}

/**
 * One holder per compiled contract, shared by its checkers (each row sets every field, and a check
 * runs to its end before another starts): a file after the first in a warm process meets the
 * holder, and so the object shape, its optimised checker was compiled for. A holder per checker had
 * a shape of its own, which threw that code away (`--trace-deopt`: "wrong map"; ≈ 50 ms of
 * recompiling per file on one core).
 */
const holders = new WeakMap<CompiledContract, Record<string, unknown>>();
function sharedRowHolder(compiled: CompiledContract, names: readonly string[]): Record<string, unknown> {
  let holder = holders.get(compiled);
  if (!holder) holders.set(compiled, (holder = typedRowHolder(names)));
  return holder;
}

/** A spreadsheet-formula-looking cell: kept as text, listed in the report. */
export interface FormulaCell {
  readonly line: number;
  readonly column: string;
  readonly value: string;
}

/** Result of one row: its staging line (a string, no wrapper object per row), or its errors. */
export type RowOutcome = string | RowError[];

/** Checks rows of one file. Built per run (coercion notes are per file). */
export class RowChecker {
  readonly notes: CoercionNotes = { ambiguousLocalTimes: 0 };
  formulaCellCount = 0;
  readonly formulaSamples: FormulaCell[] = objectArray();
  /**
   * Whether the report's formula samples are all taken, kept as a flag rather than read from the
   * samples' length: the checked fast path reads it for every record with a formula-looking cell,
   * and an array that changes its elements' kind with the first sample made that optimised read
   * throw its code away.
   */
  private samplesFull: boolean;
  private readonly columns: readonly ColumnSpec[];
  private readonly coercers: readonly Coercer[];
  private readonly keyPrefixes: readonly string[];
  private readonly isString: readonly boolean[];
  /** How ajv sees each column's canonical text. */
  private readonly ajvKinds: readonly SchemaValueKind[];

  constructor(
    private readonly compiled: CompiledContract,
    private readonly header: HeaderMapping,
    private readonly delimiter: string,
    private readonly maxFormulaSamples: number,
  ) {
    this.samplesFull = maxFormulaSamples <= 0;
    this.columns = compiled.contract.columns;
    this.coercers = this.columns.map((c) => coercerFor(c, this.notes));
    this.keyPrefixes = this.columns.map((c, i) => `${i === 0 ? '{' : ','}${JSON.stringify(c.name)}:`);
    this.isString = this.columns.map((c) => c.type === 'string');
    this.ajvKinds = this.columns.map((c) => schemaValueKind(c.type));
    this.checkedNames = this.columns.filter((_, i) => compiled.checkedByAjv[i]).map((c) => c.name);
    this.typed = compiled.validateRow ? sharedRowHolder(compiled, this.checkedNames) : undefined;
    const partition = compiled.contract.partition;
    this.partitionIndex =
      partition?.kind === 'string' ? this.columns.findIndex((c) => c.name === partition.column) : -1;
  }

  /** The string partition column (its value is a folder name, so it is checked), or -1. */
  private readonly partitionIndex: number;

  private readonly checkedNames: readonly string[];
  /** Reused for every row: ajv keeps no reference to it. */
  private readonly typed: Record<string, unknown> | undefined;

  /** Checks one record (its cells) that starts on line `lineNo`. */
  check(record: Cell[], lineNo: number): RowOutcome {
    const width = this.header.width;
    if (record.length !== width) {
      const short = record.length < width;
      // A loop, not map + join: the first short row after the checker was optimised threw its code
      // away there (another array shape), a recompile that costs a small file ≈ 40 ms on one core.
      let text = '';
      for (let f = 0; f < record.length; f++) {
        const c = record[f]!;
        text += (f === 0 ? '' : this.delimiter) + (c === QUOTED_EMPTY ? '""' : c);
      }
      return [
        {
          line: lineNo,
          column: null,
          value: truncateValue(text),
          reason: short ? 'SHORT_ROW' : 'LONG_ROW',
          message: short
            ? `line ${lineNo} has ${record.length} fields but the header has ${width}; add the missing fields (empty ones still need their delimiters)`
            : `line ${lineNo} has ${record.length} fields but the header has ${width}; quote fields that contain "${this.delimiter}" or remove the extra fields`,
        },
      ];
    }
    const { sourceIndex } = this.header;
    const { validateRow, checkedByAjv } = this.compiled;
    const typed = this.typed;
    let out = '';
    let errors: RowError[] | undefined;
    for (let i = 0; i < this.columns.length; i++) {
      const cell = record[sourceIndex[i]!]!;
      this.noteIfFormula(i, cell, lineNo);
      const canonical = this.readCell(i, cell, lineNo);
      if (canonical === null) {
        out += this.keyPrefixes[i] + 'null';
        // Every checked column is set on every row (no reset pass): a missing value is undefined.
        if (typed && checkedByAjv[i]) typed[this.columns[i]!.name] = undefined;
      } else if (typeof canonical !== 'string') {
        (errors ??= []).push(canonical);
      } else {
        // Canonical numbers, dates, times and booleans never need JSON escaping; strings may.
        out += this.keyPrefixes[i] + (this.isString[i] ? jsonString(canonical) : `"${canonical}"`);
        if (typed && checkedByAjv[i]) typed[this.columns[i]!.name] = this.typedValue(i, canonical);
      }
    }
    if (errors) return errors;
    if (typed && !validateRow!(typed)) return [this.schemaError(lineNo, validateRow!.errors![0]!, record)];
    return `${out},"${LINE_COLUMN}":${lineNo}}\n`;
  }

  /**
   * The errors of a record the scan kernel found failing, from the columns it names alone (bit i:
   * contract column i failed its byte checks; scan.c `failing_columns`): the same errors
   * {@link check} gives, since a column that passes the byte checks passes here too, and the
   * schema's first error among the named columns is its first error of the row (the other checked
   * columns are left unset, and ajv checks only the properties a row has). Undefined when the named
   * columns pass here after all: then {@link check} the whole record (nothing stays noted).
   * Most rejected rows fail one column: this checks one, not every one.
   */
  checkFailing(record: Cell[], lineNo: number, failing: number): RowError[] | undefined {
    if (failing === 0 || record.length !== this.header.width) return undefined;
    const { sourceIndex } = this.header;
    const { validateRow, checkedByAjv } = this.compiled;
    const typed = this.typed;
    if (typed) for (const name of this.checkedNames) typed[name] = undefined;
    // A coercer notes what it meets (an ambiguous local time): undone when check follows.
    const ambiguousLocalTimes = this.notes.ambiguousLocalTimes;
    let errors: RowError[] | undefined;
    for (let i = 0; i < this.columns.length; i++) {
      if ((failing & (1 << i)) === 0) continue;
      const canonical = this.readCell(i, record[sourceIndex[i]!]!, lineNo);
      if (canonical !== null && typeof canonical !== 'string') (errors ??= []).push(canonical);
      else if (canonical !== null && typed && checkedByAjv[i])
        typed[this.columns[i]!.name] = this.typedValue(i, canonical);
    }
    if (!errors) {
      if (!typed || validateRow!(typed)) {
        this.notes.ambiguousLocalTimes = ambiguousLocalTimes;
        return undefined;
      }
      errors = [this.schemaError(lineNo, validateRow!.errors![0]!, record)];
    }
    // The formula-looking text cells, noted as check notes them (every column, in order).
    for (let i = 0; i < this.columns.length; i++) this.noteIfFormula(i, record[sourceIndex[i]!]!, lineNo);
    return errors;
  }

  /**
   * Column i's cell as a row check reads it: its canonical text, null when it is empty (and may
   * be), or its error (the coercion's, REQUIRED_EMPTY, BAD_PARTITION_VALUE).
   */
  private readCell(i: number, cell: Cell, lineNo: number): string | null | RowError {
    const column = this.columns[i]!;
    let canonical: string | null;
    if (cell === '' || (cell === QUOTED_EMPTY && !this.isString[i])) canonical = null;
    else if (cell === QUOTED_EMPTY) canonical = '';
    else if (this.isString[i]) canonical = cell;
    else {
      const r = this.coercers[i]!(cell);
      if (r instanceof RowProblem) return this.cellError(lineNo, column.source, cell, r.code, r.message);
      canonical = r;
    }
    if (canonical === null)
      return column.required
        ? this.cellError(
            lineNo,
            column.source,
            null,
            'REQUIRED_EMPTY',
            `column ${JSON.stringify(column.source)} is required but empty on line ${lineNo}`,
          )
        : null;
    if (i === this.partitionIndex && !PARTITION_VALUE.test(canonical))
      return this.badPartitionValue(lineNo, column.source, canonical);
    return canonical;
  }

  /** Notes column i's cell when it is text that looks like a spreadsheet formula. */
  private noteIfFormula(i: number, cell: Cell, lineNo: number): void {
    if (this.isString[i] && cell !== '' && cell !== QUOTED_EMPTY && FORMULA_START[cell.charCodeAt(0)] === 1)
      this.noteFormula(lineNo, this.columns[i]!.source, cell);
  }

  /** Column i's canonical text as ajv sees it (a number, a boolean or the text). */
  private typedValue(i: number, canonical: string): unknown {
    const kind = this.ajvKinds[i];
    return kind === 'number' ? Number(canonical) : kind === 'boolean' ? canonical === 'true' : canonical;
  }

  /** True once the report's formula samples are all taken: later formula cells only count. */
  get formulaSamplesFull(): boolean {
    return this.samplesFull;
  }

  /**
   * Counts `n` formula-looking cells found elsewhere (the checked fast path's byte pass, only once
   * {@link formulaSamplesFull}: before that, their records come through {@link check}).
   */
  countFormulaCells(n: number): void {
    this.formulaCellCount += n;
  }

  private noteFormula(line: number, column: string, value: string): void {
    this.formulaCellCount++;
    if (this.formulaSamples.length < this.maxFormulaSamples) {
      this.formulaSamples.push(detached({ line, column, value: truncateValue(value) }));
      this.samplesFull = this.formulaSamples.length >= this.maxFormulaSamples;
    }
  }

  private badPartitionValue(line: number, column: string, value: string): RowError {
    return this.cellError(
      line,
      column,
      value,
      'BAD_PARTITION_VALUE',
      `${JSON.stringify(truncateValue(value))} cannot be a partition folder: the dataset is partitioned by this column, and its values must be 1 to 100 letters, digits, "_", "." or "-", starting with a letter or digit (${PARTITION_VALUE.source}); correct the value, or partition the contract by another column`,
    );
  }

  private cellError(
    line: number,
    column: string,
    value: string | null,
    reason: RowErrorCode,
    message: string,
  ): RowError {
    return {
      line,
      column,
      value: value === null ? null : truncateValue(value),
      reason,
      message: `line ${line}, column ${JSON.stringify(column)}: ${message}`,
    };
  }

  private schemaError(line: number, err: ErrorObject, record: Cell[]): RowError {
    const name =
      err.instancePath.split('/')[1] ?? (err.params as { missingProperty?: string }).missingProperty ?? null;
    const index = name === null ? -1 : this.columns.findIndex((c) => c.name === name);
    // Row errors name the column as the file's header does.
    const column = index === -1 ? name : this.columns[index]!.source;
    const cell = index === -1 ? undefined : record[this.header.sourceIndex[index]!];
    const value = typeof cell === 'string' ? cell : null;
    let rule = `${err.message ?? 'is invalid'}`;
    if (err.keyword === 'enum') rule = enumRule((err.params as { allowedValues: unknown[] }).allowedValues);
    const reason: RowErrorCode = 'SCHEMA_VIOLATION';
    const shown = value === null ? '' : `${JSON.stringify(truncateValue(String(value)))} `;
    return {
      line,
      column,
      value: value === null ? null : truncateValue(String(value)),
      reason,
      message: `line ${line}${column ? `, column ${JSON.stringify(column)}` : ''}: ${shown}${rule} (contract rule "${err.keyword}")`,
    };
  }
}
