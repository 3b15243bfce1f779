/**
 * The transform plan: what the Glue job and the embedded DuckDB engine both execute. It is data
 * (JSON), compiled once from the contract; neither engine re-derives rules from the contract.
 *
 * Input is the validate step's staging output (see core/staging.ts): JSON Lines whose values are
 * null or canonical strings, plus `_line`. Each engine reads every column as a string and applies
 * the casts below, so the two read the file identically by construction.
 */
import { DATASET_NAME, type ColumnSpec, type ColumnType, type DatasetContract } from './contract';
import { TransformFailedError } from './errors';

export const PLAN_VERSION = 1;
/** Staging column holding the 1-based CSV line the row started on (dedupe tie-breaker). */
export const LINE_COLUMN = '_line';

/** A column's SQL type; `precision` and `scale` are set for decimals only. */
export interface PlanType {
  readonly type: ColumnType;
  readonly precision?: number;
  readonly scale?: number;
}

export interface PlanColumn extends PlanType {
  /** Column name in staging (the CSV header name). */
  readonly source: string;
  /** Column name in the curated table. */
  readonly name: string;
}

export interface PlanOrder {
  /** A staging column name, or `_line`. */
  readonly column: string;
  readonly direction: 'asc' | 'desc';
}

export interface TransformPlan {
  readonly planVersion: typeof PLAN_VERSION;
  readonly dataset: string;
  readonly table: string;
  /** Every column present in staging, in contract order (all canonical strings or null). */
  readonly stagingColumns: readonly string[];
  /**
   * The type of every staging column, dropped ones included: a dedupe `orderBy` column may be
   * dropped from the output and must still be sorted as its typed value (timestamps as instants,
   * decimals numerically), never as text. `_line` is not listed; it is always an integer.
   */
  readonly stagingTypes: Readonly<Record<string, PlanType>>;
  /** Output columns in order, drops removed, partition column included (it is written as the folder). */
  readonly columns: readonly PlanColumn[];
  /**
   * Keep one row per key: the first after sorting by `orderBy` (nulls last in every direction).
   * The last entry is always `_line`, so exact ties are broken deterministically.
   */
  readonly dedupe: { readonly key: readonly string[]; readonly orderBy: readonly PlanOrder[] };
  /** Hive-style `<name>=YYYY-MM-DD/` folders; the column is not repeated inside the files. */
  readonly partition: { readonly source: string; readonly name: string };
  readonly output: {
    readonly format: 'parquet';
    readonly compression: 'snappy';
    readonly timestampUnit: 'micros';
  };
}

/** Compiles a contract to its plan. Pure and deterministic: same contract, same JSON. */
export function compilePlan(contract: DatasetContract): TransformPlan {
  const part = contract.columns.find((c) => c.name === contract.partition.column)!;
  return {
    planVersion: PLAN_VERSION,
    dataset: contract.dataset,
    table: contract.table,
    stagingColumns: contract.columns.map((c) => c.name),
    stagingTypes: Object.fromEntries(contract.columns.map((c) => [c.name, typeOf(c)])),
    columns: contract.columns
      .filter((c) => !c.drop)
      .map((c) => ({ source: c.name, name: c.outputName, ...typeOf(c) })),
    dedupe: {
      key: [...contract.primaryKey],
      orderBy: [
        ...contract.dedupe.orderBy.map((o) => ({ column: o.column, direction: o.direction })),
        { column: LINE_COLUMN, direction: contract.dedupe.tieBreaker === 'lastLine' ? 'desc' : 'asc' },
      ],
    },
    partition: { source: part.name, name: part.outputName },
    output: { format: 'parquet', compression: 'snappy', timestampUnit: 'micros' },
  };
}

function typeOf(c: ColumnSpec): PlanType {
  return { type: c.type, ...(c.type === 'decimal' && { precision: c.precision!, scale: c.scale! }) };
}

/** The type of a staging column as the plan declares it (`_line` is an integer). */
export function stagingTypeOf(plan: TransformPlan, column: string): PlanType {
  if (column === LINE_COLUMN) return { type: 'integer' };
  const t = plan.stagingTypes[column];
  if (!t) throw new TransformFailedError(`plan for ${plan.dataset}: staging column "${column}" has no type`);
  return t;
}

// Parts of the canonical staging text (core/staging.ts), shared so every pattern reads the same.
const YEAR = '(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})';
const DAY = `${YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])`;

/**
 * The canonical staging text of a type, as a regular expression that must match the WHOLE value
 * (DuckDB `regexp_full_match`; Spark `rlike('^(?:' + p + ')\\z')` — not `$`, which in Java also
 * matches before a final newline). Written in the common subset of RE2, Java and Python syntax.
 * `undefined` for strings, which are stored as read.
 *
 * Why engines check at all, when validate already did: a cast alone is too forgiving and the two
 * engines forgive differently — DuckDB casts '1.5' to BIGINT 2 and rounds '1.234' to
 * DECIMAL(12,2) 1.23, Spark (non-ANSI) truncates to 1 — so a staging file that is not canonical
 * must fail the transform in both engines rather than be silently changed. Calendar validity
 * (2024-02-30) and the int64 range are left to the cast, which fails loudly on them.
 *
 * @example canonicalPattern({ type: 'decimal', precision: 12, scale: 2 }) // '-?(?:0|[1-9][0-9]{0,9})\\.[0-9]{2}'
 */
export function canonicalPattern(t: PlanType): string | undefined {
  switch (t.type) {
    case 'string':
      return undefined;
    case 'integer':
      return '-?(?:0|[1-9][0-9]{0,18})';
    case 'decimal': {
      const scale = t.scale ?? 0;
      const whole = (t.precision ?? 0) - scale;
      const intPart = whole === 0 ? '0' : `(?:0|[1-9][0-9]{0,${whole - 1}})`;
      return `-?${intPart}${scale > 0 ? `\\.[0-9]{${scale}}` : ''}`;
    }
    case 'double':
      return '-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:e[+-][0-9]+)?';
    case 'boolean':
      return 'true|false';
    case 'date':
      return DAY;
    case 'timestamp':
      return `${DAY}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.[0-9]{6}Z`;
  }
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,127}$/;

/**
 * Checks that a value read from a plan file (staging's plan.json) is a plan this code can
 * execute, and returns it typed. Every name in the plan ends up quoted inside SQL or in a folder
 * name, so names are held to the contract's identifier rule here, not only when compiled.
 * Throws a {@link TransformFailedError} naming `source`, the JSON path and the fix.
 */
export function checkPlan(value: unknown, source: string): TransformPlan {
  const fail = (where: string, problem: string, fix: string): never => {
    throw new TransformFailedError(`${source}: transform plan ${where}: ${problem}. Fix: ${fix}`);
  };
  const recompile = 're-run the validate step so it writes a plan compiled by this version';
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail('/', 'is not a JSON object', recompile);
  const p = value as TransformPlan;
  if (p.planVersion !== PLAN_VERSION)
    fail('/planVersion', `is ${JSON.stringify(p.planVersion)}, this engine runs ${PLAN_VERSION}`, recompile);
  if (typeof p.dataset !== 'string' || !DATASET_NAME.test(p.dataset))
    fail('/dataset', `${JSON.stringify(p.dataset)} is not a dataset name`, recompile);
  if (!Array.isArray(p.stagingColumns) || p.stagingColumns.length === 0)
    fail('/stagingColumns', 'is missing or empty', recompile);
  if (typeof p.stagingTypes !== 'object' || p.stagingTypes === null)
    fail('/stagingTypes', 'is missing', recompile);
  const isType = (t: PlanType | undefined, where: string): void => {
    if (!t || !['string', 'integer', 'decimal', 'double', 'boolean', 'date', 'timestamp'].includes(t.type))
      fail(where, `has no known type (${JSON.stringify(t?.type)})`, recompile);
    if (
      t!.type === 'decimal' &&
      !(
        Number.isInteger(t!.precision) &&
        Number.isInteger(t!.scale) &&
        t!.precision! >= 1 &&
        t!.precision! <= 38 &&
        t!.scale! >= 0 &&
        t!.scale! <= t!.precision!
      )
    )
      fail(where, 'is a decimal without a valid precision and scale', recompile);
  };
  p.stagingColumns.forEach((c, i) => {
    if (typeof c !== 'string' || !IDENTIFIER.test(c))
      fail(`/stagingColumns/${i}`, `${JSON.stringify(c)} is not an identifier`, recompile);
    isType(p.stagingTypes[c], `/stagingTypes/${c}`);
  });
  const staged = new Set(p.stagingColumns);
  if (!Array.isArray(p.columns) || p.columns.length === 0) fail('/columns', 'is missing or empty', recompile);
  const names = new Set<string>();
  p.columns.forEach((c, i) => {
    if (!staged.has(c.source))
      fail(`/columns/${i}/source`, `"${c.source}" is not a staging column`, recompile);
    if (typeof c.name !== 'string' || !IDENTIFIER.test(c.name) || names.has(c.name))
      fail(`/columns/${i}/name`, `${JSON.stringify(c.name)} is not a distinct identifier`, recompile);
    names.add(c.name);
    isType(c, `/columns/${i}`);
  });
  if (!p.dedupe || !Array.isArray(p.dedupe.key) || p.dedupe.key.length === 0)
    fail('/dedupe/key', 'is missing or empty', recompile);
  p.dedupe.key.forEach((k, i) => {
    if (!p.columns.some((c) => c.source === k))
      fail(`/dedupe/key/${i}`, `"${k}" is not an output column`, recompile);
  });
  if (!Array.isArray(p.dedupe.orderBy) || p.dedupe.orderBy.at(-1)?.column !== LINE_COLUMN)
    fail('/dedupe/orderBy', `must end with ${LINE_COLUMN} so ties are broken deterministically`, recompile);
  p.dedupe.orderBy.forEach((o, i) => {
    if (o.column !== LINE_COLUMN && !staged.has(o.column))
      fail(`/dedupe/orderBy/${i}/column`, `"${o.column}" is not a staging column`, recompile);
    if (o.direction !== 'asc' && o.direction !== 'desc')
      fail(`/dedupe/orderBy/${i}/direction`, 'must be "asc" or "desc"', recompile);
  });
  const part = p.columns.find((c) => c.source === p.partition?.source);
  if (!part || part.name !== p.partition.name || part.type !== 'date')
    fail('/partition', 'must name an output date column (source and name)', recompile);
  if (
    p.output?.format !== 'parquet' ||
    p.output.compression !== 'snappy' ||
    p.output.timestampUnit !== 'micros'
  )
    fail('/output', 'must be parquet, snappy, micros', recompile);
  return p;
}

/** Parses plan JSON (staging's plan.json) and checks it; `source` names the file in errors. */
export function parsePlan(text: string, source: string): TransformPlan {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new TransformFailedError(
      `${source}: transform plan is not valid JSON (${(e as Error).message}). Fix: re-run the validate step, which writes it`,
    );
  }
  return checkPlan(value, source);
}
