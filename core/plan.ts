/**
 * The transform plan: what the Glue job and the embedded DuckDB engine both execute. It is data
 * (JSON), compiled once from the contract; neither engine re-derives rules from the contract.
 *
 * Input is the validate step's staging output (see core/staging.ts): JSON Lines whose values are
 * null or canonical strings, plus `_line`. Each engine reads every column as a string and applies
 * the casts below, so the two read the file identically by construction.
 */
import {
  CONTRACT_DEFAULTS,
  DATASET_NAME,
  type ColumnSpec,
  type ColumnType,
  type DatasetContract,
} from './contract';
import { TransformFailedError } from './errors';
import type { StagingCsvLayout } from './staging';

export const PLAN_VERSION = 2;
/** Staging column holding the 1-based CSV line the row started on (dedupe tie-breaker). */
export const LINE_COLUMN = '_line';

/**
 * What a partition folder value may be (`<name>=<value>/`): safe in S3 keys, Hive folders, Spark
 * and DuckDB alike, and never starting with `_`, so no engine sentinel (`__HIVE_DEFAULT_PARTITION__`)
 * can pass for one. Day, month and year values (`2024-07-14`, `2024-07`, `2024`) all match it; a
 * string partition value that does not is a row error in validate and fails the transform.
 */
export const PARTITION_VALUE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** A column's SQL type; `precision` and `scale` are set for decimals only. */
export interface PlanType {
  readonly type: ColumnType;
  readonly precision?: number;
  readonly scale?: number;
}

export interface PlanColumn extends PlanType {
  /** Column name in staging. Equal to `name` in plan v2 (staging is keyed by the output name). */
  readonly source: string;
  /** Column name in the curated table. */
  readonly name: string;
}

export interface PlanOrder {
  /** A staging column name, or `_line`. */
  readonly column: string;
  readonly direction: 'asc' | 'desc';
}

export type PartitionGranularity = 'day' | 'month' | 'year';

/**
 * Hive-style `<name>=<value>/` folders. The value is derived from the `source` column:
 *
 * | kind      | granularity | value                            | `source` inside the files |
 * |-----------|-------------|----------------------------------|---------------------------|
 * | date      | day         | YYYY-MM-DD (the column itself)   | no (`name` === `source`)  |
 * | date      | month/year  | YYYY-MM / YYYY                   | yes (`keepColumn`)        |
 * | timestamp | day/month/year | YYYY-MM-DD / YYYY-MM / YYYY of the UTC instant | yes (`keepColumn`) |
 * | string    | null        | the value (must match {@link PARTITION_VALUE}) | no (`name` === `source`) |
 *
 * The partition key itself is never inside the files: it is the folder.
 */
export interface PlanPartition {
  /** The staging/output column the value derives from. */
  readonly source: string;
  /** The partition key (folder name). */
  readonly name: string;
  readonly kind: 'date' | 'timestamp' | 'string';
  /** null for string partitions. */
  readonly granularity: PartitionGranularity | null;
  /** true when `source` stays inside the files (derived partitions). */
  readonly keepColumn: boolean;
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
  /**
   * Output columns in order, drops removed. A partition column that is the folder (date by day,
   * string) is listed too, but written only as the folder; see {@link fileColumns}.
   */
  readonly columns: readonly PlanColumn[];
  /**
   * Keep one row per key: the first after sorting by `orderBy` (nulls last in every direction).
   * The last entry is always `_line`, so exact ties are broken deterministically. null: the
   * contract has no key, every row is kept (exact duplicate lines included).
   */
  readonly dedupe: { readonly key: readonly string[]; readonly orderBy: readonly PlanOrder[] } | null;
  /** null: no partition, one object per source file directly under `curated/<dataset>/`. */
  readonly partition: PlanPartition | null;
  readonly output: {
    readonly format: 'parquet';
    readonly compression: 'snappy';
    readonly timestampUnit: 'micros';
    /**
     * Most rows in one object: a partition value with more rows (of this file) is written as
     * objects `part` 0, 1, … (core/layout curatedObject) of this many rows each but the last,
     * filled in {@link splitOrder}. A plan written before this field existed gets the default
     * ({@link checkPlan}).
     */
    readonly maxRowsPerFile: number;
  };
  /**
   * Present only in the plan.json the validate step writes beside CSV staging parts: how their lines
   * are laid out (core/staging.ts). Never part of the plan compiled from a contract.
   */
  readonly stagingCsv?: StagingCsvLayout;
}

/** The contract's default; glue/etl_job.py DEFAULT_MAX_ROWS_PER_FILE (test/glue checks they agree). */
export const DEFAULT_MAX_ROWS_PER_FILE: number = CONTRACT_DEFAULTS.maxRowsPerFile;

/** Compiles a contract to its plan. Pure and deterministic: same contract, same JSON. */
export function compilePlan(contract: DatasetContract): TransformPlan {
  const p = contract.partition;
  return {
    planVersion: PLAN_VERSION,
    dataset: contract.dataset,
    table: contract.table,
    stagingColumns: contract.columns.map((c) => c.name),
    stagingTypes: Object.fromEntries(contract.columns.map((c) => [c.name, typeOf(c)])),
    columns: contract.columns
      .filter((c) => !c.drop)
      .map((c) => ({ source: c.name, name: c.name, ...typeOf(c) })),
    dedupe:
      contract.primaryKey.length === 0
        ? null
        : {
            key: [...contract.primaryKey],
            orderBy: [
              ...contract.dedupe.orderBy.map((o) => ({ column: o.column, direction: o.direction })),
              {
                column: LINE_COLUMN,
                direction: contract.dedupe.tieBreaker === 'lastLine' ? 'desc' : 'asc',
              },
            ],
          },
    partition: p
      ? {
          source: p.column,
          name: p.name,
          kind: p.kind,
          granularity: p.kind === 'string' ? null : p.granularity,
          keepColumn: p.keepColumn,
        }
      : null,
    output: {
      format: 'parquet',
      compression: 'snappy',
      timestampUnit: 'micros',
      maxRowsPerFile: contract.maxRowsPerFile,
    },
  };
}

/**
 * The order rows fill the objects of a split partition (part 0 first): the dedupe key's columns
 * inside the files when there is a key (unique, so the order is total), else every file column;
 * ascending, nulls first (Spark's default; DuckDB is told so). Both engines use it, so a split
 * puts the same rows in the same part. Rows equal in every column are interchangeable.
 */
export function splitOrder(plan: TransformPlan): string[] {
  const inFiles = fileColumns(plan);
  if (!plan.dedupe) return inFiles.map((c) => c.name);
  const keys = inFiles.filter((c) => plan.dedupe!.key.includes(c.source)).map((c) => c.name);
  // A key made only of the folder column (a date by day, a string): one row per folder value.
  return keys.length > 0 ? keys : inFiles.map((c) => c.name);
}

/**
 * The output columns written inside the Parquet files, in order: `plan.columns` without a
 * partition column that is only the folder (date by day, string). Both engines and the catalogs
 * use this one rule.
 */
export function fileColumns(plan: TransformPlan): PlanColumn[] {
  const p = plan.partition;
  return plan.columns.filter((c) => !p || p.keepColumn || c.source !== p.source);
}

/**
 * The partition key's type in the catalog: `date` for day partitions (of a date, or of a
 * timestamp's UTC day), `string` for month, year and string partitions. undefined: no partition.
 */
export function partitionKeyType(plan: TransformPlan): 'date' | 'string' | undefined {
  if (!plan.partition) return undefined;
  return plan.partition.granularity === 'day' ? 'date' : 'string';
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
  if (typeof p.table !== 'string' || !IDENTIFIER.test(p.table))
    fail('/table', `${JSON.stringify(p.table)} is not an identifier`, recompile);
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
    if (c.name !== c.source)
      fail(
        `/columns/${i}`,
        `source "${c.source}" differs from name "${c.name}" (staging is keyed by name)`,
        recompile,
      );
    names.add(c.name);
    isType(c, `/columns/${i}`);
  });
  const outputs = new Set(p.columns.map((c) => c.source));
  if (p.dedupe === undefined || (p.dedupe !== null && typeof p.dedupe !== 'object'))
    fail('/dedupe', 'must be an object or null (no key: every row kept)', recompile);
  if (p.dedupe !== null) {
    if (!Array.isArray(p.dedupe.key) || p.dedupe.key.length === 0)
      fail('/dedupe/key', 'is missing or empty (a plan without a key has "dedupe": null)', recompile);
    p.dedupe.key.forEach((k, i) => {
      if (!outputs.has(k)) fail(`/dedupe/key/${i}`, `"${k}" is not an output column`, recompile);
    });
    if (!Array.isArray(p.dedupe.orderBy) || p.dedupe.orderBy.at(-1)?.column !== LINE_COLUMN)
      fail('/dedupe/orderBy', `must end with ${LINE_COLUMN} so ties are broken deterministically`, recompile);
    p.dedupe.orderBy.forEach((o, i) => {
      if (o.column !== LINE_COLUMN && !staged.has(o.column))
        fail(`/dedupe/orderBy/${i}/column`, `"${o.column}" is not a staging column`, recompile);
      if (o.direction !== 'asc' && o.direction !== 'desc')
        fail(`/dedupe/orderBy/${i}/direction`, 'must be "asc" or "desc"', recompile);
    });
  }
  if (p.partition === undefined || (p.partition !== null && typeof p.partition !== 'object'))
    fail('/partition', 'must be an object or null (no partition)', recompile);
  if (p.partition !== null)
    checkPartition(p.partition, p.columns, (where, problem) => fail(where, problem, recompile));
  if (
    p.output?.format !== 'parquet' ||
    p.output.compression !== 'snappy' ||
    p.output.timestampUnit !== 'micros'
  )
    fail('/output', 'must be parquet, snappy, micros', recompile);
  if (p.stagingCsv !== undefined) checkStagingCsv(p, (where, problem) => fail(where, problem, recompile));
  const maxRows = (p.output as { maxRowsPerFile?: unknown }).maxRowsPerFile;
  if (maxRows === undefined)
    // Staging written before the field existed: the default, as its contract had then.
    return { ...p, output: { ...p.output, maxRowsPerFile: DEFAULT_MAX_ROWS_PER_FILE } };
  if (!Number.isSafeInteger(maxRows) || (maxRows as number) < 1)
    fail('/output/maxRowsPerFile', `${JSON.stringify(maxRows)} is not a whole number ≥ 1`, recompile);
  return p;
}

/** The partition rules of the plan v2 table (see {@link PlanPartition}); `fail` throws. */
function checkPartition(
  part: PlanPartition,
  columns: readonly PlanColumn[],
  fail: (where: string, problem: string) => never,
): void {
  const column = columns.find((c) => c.source === part.source);
  if (!column) fail('/partition/source', `${JSON.stringify(part.source)} is not an output column`);
  if (typeof part.name !== 'string' || !IDENTIFIER.test(part.name))
    fail('/partition/name', `${JSON.stringify(part.name)} is not an identifier`);
  if (part.kind !== column!.type)
    fail(
      '/partition/kind',
      `is ${JSON.stringify(part.kind)}, but column "${part.source}" is ${column!.type}`,
    );
  if (part.kind === 'string') {
    if (part.granularity !== null) fail('/partition/granularity', 'must be null for a string partition');
  } else if (part.kind === 'date' || part.kind === 'timestamp') {
    if (!['day', 'month', 'year'].includes(part.granularity as string))
      fail('/partition/granularity', `${JSON.stringify(part.granularity)} is not day, month or year`);
  } else {
    fail('/partition/kind', `${JSON.stringify(part.kind)} is not date, timestamp or string`);
  }
  // The column is the folder exactly when the folder value is the column's own value.
  const isFolder = part.kind === 'string' || (part.kind === 'date' && part.granularity === 'day');
  if (part.keepColumn !== !isFolder)
    fail(
      '/partition/keepColumn',
      `must be ${!isFolder} for a ${part.kind} partition by ${part.granularity ?? 'value'}`,
    );
  // A key named after its own column is that column moved to the folder; any other name must not
  // collide with a column inside the files.
  if ((part.keepColumn || part.name !== part.source) && columns.some((c) => c.name === part.name))
    fail(
      '/partition/name',
      `"${part.name}" is also an output column; give the partition key a name of its own`,
    );
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

/** The CSV staging layout of a plan: one ASCII delimiter and quote, a field for every staging column. */
function checkStagingCsv(p: TransformPlan, fail: (where: string, problem: string) => never): void {
  const csv = p.stagingCsv!;
  if (typeof csv !== 'object' || csv === null) fail('/stagingCsv', 'must be an object');
  const oneAscii = (c: unknown) => typeof c === 'string' && /^[\x20-\x7e\t]$/.test(c) && c !== '\n';
  if (!oneAscii(csv.delimiter) || !oneAscii(csv.quote) || csv.delimiter === csv.quote)
    fail('/stagingCsv', 'needs a delimiter and a quote, one different ASCII character each');
  const whole = (n: unknown, min: number) => Number.isSafeInteger(n) && (n as number) >= min;
  if (!whole(csv.fields, 1)) fail('/stagingCsv/fields', 'must be a whole number ≥ 1');
  // 0: no CSV part at all (every good row was staged by the JavaScript checker, as JSON Lines).
  if (!whole(csv.maxLineBytes, 0)) fail('/stagingCsv/maxLineBytes', 'must be a whole number ≥ 0');
  if (!whole(csv.rows, 0)) fail('/stagingCsv/rows', 'must be a whole number ≥ 0');
  if (typeof csv.columnFields !== 'object' || csv.columnFields === null)
    fail('/stagingCsv/columnFields', 'must be an object');
  for (const c of p.stagingColumns) {
    const f = csv.columnFields[c];
    if (!Number.isSafeInteger(f) || f! < 0 || f! >= csv.fields)
      fail(`/stagingCsv/columnFields/${c}`, `must be a field number below ${csv.fields}`);
  }
}
