/**
 * Dataset contracts: `schemas/<dataset>.schema.json` = JSON Schema 2020-12 for one row (after
 * coercion to the column's SQL type) plus an `x-etl` block for what JSON Schema cannot say.
 * A contract is validated when loaded; every problem is a {@link ContractError} naming the file,
 * the JSON pointer and the fix, so a broken contract never reaches a running pipeline.
 */
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { ContractError } from './errors';
import { DATASET_NAME } from './dataset-name';

export const COLUMN_TYPES = [
  'string',
  'integer',
  'decimal',
  'double',
  'boolean',
  'date',
  'timestamp',
] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** CSV header policy: `exact` = same names in the same order; `anyOrder` = same set of names;
 * `extraAllowed` = every contract column present, in any order, unknown columns ignored. */
export type HeaderPolicy = 'exact' | 'anyOrder' | 'extraAllowed';

export interface ColumnSpec {
  /** Name in the CSV header and in the row schema. */
  readonly name: string;
  readonly type: ColumnType;
  /** decimal only: total digits (1..38) and digits after the point (0..precision). */
  readonly precision?: number;
  readonly scale?: number;
  /** timestamp only: the zone assumed for values written without one (IANA name). @default 'UTC' */
  readonly defaultTimezone?: string;
  /** Name of the column in the curated table. @default name */
  readonly outputName: string;
  /** Validated but not written to the curated table. @default false */
  readonly drop: boolean;
  /** Listed in the row schema's `required`: an empty cell is a row error. */
  readonly required: boolean;
}

export interface CsvDialect {
  readonly delimiter: string;
  readonly quote: string;
  readonly escape: string;
  readonly encoding: 'utf-8';
  readonly header: HeaderPolicy;
}

export interface DedupeOrder {
  readonly column: string;
  readonly direction: 'asc' | 'desc';
}

export interface DatasetContract {
  readonly dataset: string;
  /** Absolute path of the contract file, for messages. */
  readonly file: string;
  readonly version: number;
  /** Table name in the Glue catalog / local catalog. */
  readonly table: string;
  readonly primaryKey: readonly string[];
  /** Which duplicate wins: the first row after sorting by these; equal rows → `tieBreaker`. */
  readonly dedupe: {
    readonly orderBy: readonly DedupeOrder[];
    readonly tieBreaker: 'lastLine' | 'firstLine';
  };
  readonly partition: { readonly column: string };
  /** Largest share of bad rows (0..1) before the whole file is rejected. */
  readonly rejectThreshold: number;
  readonly csv: CsvDialect;
  /** In contract order (the order of `properties`). */
  readonly columns: readonly ColumnSpec[];
  /** The JSON Schema for one coerced row, as written in the file (without `x-etl`). */
  readonly rowSchema: Record<string, unknown>;
}

export { DATASET_NAME };
const IDENTIFIER = '^[a-z_][a-z0-9_]{0,127}$';

/** JSON Schema of the x-etl block itself. */
const X_ETL_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'primaryKey', 'dedupe', 'partition', 'rejectThreshold', 'csv', 'columns'],
  properties: {
    version: { const: 1 },
    table: { type: 'string', pattern: IDENTIFIER },
    primaryKey: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string' } },
    dedupe: {
      type: 'object',
      additionalProperties: false,
      required: ['orderBy'],
      properties: {
        orderBy: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['column', 'direction'],
            properties: { column: { type: 'string' }, direction: { enum: ['asc', 'desc'] } },
          },
        },
        tieBreaker: { enum: ['lastLine', 'firstLine'] },
      },
    },
    partition: {
      type: 'object',
      additionalProperties: false,
      required: ['column'],
      properties: { column: { type: 'string' } },
    },
    rejectThreshold: { type: 'number', minimum: 0, maximum: 1 },
    csv: {
      type: 'object',
      additionalProperties: false,
      properties: {
        delimiter: { type: 'string', minLength: 1, maxLength: 1, not: { enum: ['"', '\n', '\r'] } },
        quote: { type: 'string', minLength: 1, maxLength: 1 },
        escape: { type: 'string', minLength: 1, maxLength: 1 },
        encoding: { const: 'utf-8' },
        header: { enum: ['exact', 'anyOrder', 'extraAllowed'] },
      },
    },
    columns: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: IDENTIFIER },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['type'],
        properties: {
          type: { enum: COLUMN_TYPES },
          precision: { type: 'integer', minimum: 1, maximum: 38 },
          scale: { type: 'integer', minimum: 0, maximum: 38 },
          defaultTimezone: { type: 'string', minLength: 1 },
          rename: { type: 'string', pattern: IDENTIFIER },
          drop: { type: 'boolean' },
        },
      },
    },
  },
} as const;

/** JSON Schema `type` each SQL type's coerced value must have in the row schema. */
const ROW_SCHEMA_TYPE: Record<ColumnType, string> = {
  string: 'string',
  integer: 'integer',
  decimal: 'number',
  double: 'number',
  boolean: 'boolean',
  date: 'string',
  timestamp: 'string',
};

/** One Ajv for contracts (2020-12, strict, formats). Shared so row validators compile once. */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: false, allowUnionTypes: true });
  // "fast" formats: the full ones cost ~75% of ajv's time (measured, DESIGN.md) and dates/times
  // are checked exactly by coercion before ajv sees them anyway.
  addFormats(ajv, { mode: 'fast', formats: ['date', 'date-time', 'email', 'uuid', 'uri', 'time'] });
  ajv.addKeyword('x-etl');
  return ajv;
}

const metaAjv = createAjv();
const validateXEtl = metaAjv.compile(X_ETL_SCHEMA);

/**
 * Compiles a contract's row schema (or a part of it) with the process's one Ajv (a new instance
 * compiles the 2020-12 meta-schema first, ≈30–100 ms of every cold start), then forgets the schema
 * there: the returned function stays valid, and the next compile of a
 * changed contract (same `$id`) does not collide with this one.
 * @throws Error from ajv when the schema does not compile (strict mode: unknown keywords ...)
 */
export function compileRowSchema(schema: Record<string, unknown>): ValidateFunction {
  try {
    return metaAjv.compile(schema);
  } finally {
    metaAjv.removeSchema(schema);
  }
}

function pointerOf(err: ErrorObject): string {
  if (err.keyword === 'additionalProperties') {
    return `${err.instancePath}/${(err.params as { additionalProperty: string }).additionalProperty}`;
  }
  if (err.keyword === 'required') {
    return `${err.instancePath}/${(err.params as { missingProperty: string }).missingProperty}`;
  }
  return err.instancePath || '/';
}

function fixFor(err: ErrorObject): string {
  switch (err.keyword) {
    case 'additionalProperties':
      return 'remove this key or correct its spelling';
    case 'required':
      return 'add this key';
    case 'enum':
      return `use one of ${JSON.stringify((err.params as { allowedValues: unknown[] }).allowedValues)}`;
    case 'const':
      return `set it to ${JSON.stringify((err.params as { allowedValue: unknown }).allowedValue)}`;
    case 'pattern':
      return 'use lower-case letters, digits and underscores, starting with a letter or underscore';
    default:
      return `make it satisfy "${err.keyword}" ${JSON.stringify(err.params)}`;
  }
}

/**
 * Parses and validates one contract.
 * @example const c = parseContract('registrations', fs.readFileSync(p, 'utf8'), p);
 */
export function parseContract(dataset: string, text: string, file: string): DatasetContract {
  if (!DATASET_NAME.test(dataset)) {
    throw new ContractError(
      file,
      '',
      `dataset name "${dataset}" is not allowed`,
      `rename the file to match ${DATASET_NAME}`,
    );
  }
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new ContractError(file, '', `not valid JSON (${(e as Error).message})`, 'fix the JSON syntax');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ContractError(
      file,
      '',
      'the contract is not a JSON object',
      'write a JSON Schema object with an x-etl block',
    );
  }
  if (doc.$schema !== 'https://json-schema.org/draft/2020-12/schema') {
    throw new ContractError(
      file,
      '/$schema',
      'must be JSON Schema 2020-12',
      'set "$schema": "https://json-schema.org/draft/2020-12/schema"',
    );
  }
  const xEtl = doc['x-etl'];
  if (xEtl === undefined)
    throw new ContractError(
      file,
      '/x-etl',
      'missing',
      'add an x-etl block (see schemas/registrations.schema.json)',
    );
  if (!validateXEtl(xEtl)) {
    const err = validateXEtl.errors![0]!;
    throw new ContractError(file, `/x-etl${pointerOf(err)}`, err.message ?? 'invalid', fixFor(err));
  }
  const x = xEtl as {
    version: number;
    table?: string;
    primaryKey: string[];
    dedupe: { orderBy: DedupeOrder[]; tieBreaker?: 'lastLine' | 'firstLine' };
    partition: { column: string };
    rejectThreshold: number;
    csv: Partial<CsvDialect>;
    columns: Record<
      string,
      {
        type: ColumnType;
        precision?: number;
        scale?: number;
        defaultTimezone?: string;
        rename?: string;
        drop?: boolean;
      }
    >;
  };

  const { ['x-etl']: _omit, ...rowSchema } = doc;
  void _omit;
  if (rowSchema.type !== 'object') {
    throw new ContractError(file, '/type', 'a row schema must be "type": "object"', 'set "type": "object"');
  }
  if (rowSchema.additionalProperties !== false) {
    throw new ContractError(
      file,
      '/additionalProperties',
      'rows must not carry unknown fields',
      'set "additionalProperties": false',
    );
  }
  const properties = rowSchema.properties as Record<string, Record<string, unknown>> | undefined;
  if (!properties || typeof properties !== 'object') {
    throw new ContractError(file, '/properties', 'missing', 'describe every CSV column under "properties"');
  }
  const required = new Set((rowSchema.required as string[] | undefined) ?? []);
  for (const name of required) {
    if (!(name in properties)) {
      throw new ContractError(
        file,
        '/required',
        `"${name}" is required but has no property`,
        `add "${name}" to "properties" or remove it from "required"`,
      );
    }
  }
  for (const name of Object.keys(x.columns)) {
    if (!(name in properties)) {
      throw new ContractError(
        file,
        `/x-etl/columns/${name}`,
        `column "${name}" has no property in the row schema`,
        `add "${name}" to "properties" or remove it here`,
      );
    }
  }

  const columns: ColumnSpec[] = [];
  const outputNames = new Set<string>();
  for (const [name, prop] of Object.entries(properties)) {
    const spec = x.columns[name];
    const ptr = `/x-etl/columns/${name}`;
    if (!spec)
      throw new ContractError(
        file,
        ptr,
        `property "${name}" has no SQL type`,
        `add "${name}": { "type": "string" } (or its real type) to x-etl.columns`,
      );
    if (!new RegExp(IDENTIFIER).test(name)) {
      throw new ContractError(
        file,
        `/properties/${name}`,
        'column names must be SQL-safe identifiers',
        'use lower-case letters, digits and underscores',
      );
    }
    const want = ROW_SCHEMA_TYPE[spec.type];
    const declared = ([] as unknown[]).concat(prop.type ?? []);
    if (!declared.includes(want)) {
      throw new ContractError(
        file,
        `/properties/${name}/type`,
        `an x-etl ${spec.type} column is validated as JSON "${want}", but the schema says ${JSON.stringify(prop.type)}`,
        `set "type": "${want}" (or ["${want}", "null"] for an optional column)`,
      );
    }
    if (spec.type === 'decimal') {
      if (spec.precision === undefined || spec.scale === undefined) {
        throw new ContractError(
          file,
          ptr,
          'a decimal needs precision and scale',
          'add "precision" (1..38) and "scale" (0..precision)',
        );
      }
      if (spec.scale > spec.precision) {
        throw new ContractError(
          file,
          `${ptr}/scale`,
          `scale ${spec.scale} exceeds precision ${spec.precision}`,
          'make scale ≤ precision',
        );
      }
    } else if (spec.precision !== undefined || spec.scale !== undefined) {
      throw new ContractError(
        file,
        ptr,
        'precision/scale only apply to decimal columns',
        'remove them or change the type to decimal',
      );
    }
    if (spec.defaultTimezone !== undefined) {
      if (spec.type !== 'timestamp')
        throw new ContractError(
          file,
          `${ptr}/defaultTimezone`,
          'only timestamps have a zone',
          'remove defaultTimezone',
        );
      try {
        new Intl.DateTimeFormat('en', { timeZone: spec.defaultTimezone });
      } catch {
        throw new ContractError(
          file,
          `${ptr}/defaultTimezone`,
          `unknown time zone "${spec.defaultTimezone}"`,
          'use an IANA zone such as "UTC" or "Europe/Berlin"',
        );
      }
    }
    const outputName = spec.rename ?? name;
    if (outputNames.has(outputName)) {
      throw new ContractError(
        file,
        `${ptr}/rename`,
        `two columns would be written as "${outputName}"`,
        'give each output column a distinct name',
      );
    }
    outputNames.add(outputName);
    columns.push({
      name,
      type: spec.type,
      ...(spec.precision !== undefined && { precision: spec.precision, scale: spec.scale }),
      ...(spec.type === 'timestamp' && { defaultTimezone: spec.defaultTimezone ?? 'UTC' }),
      outputName,
      drop: spec.drop ?? false,
      required: required.has(name),
    });
  }
  const byName = new Map(columns.map((c) => [c.name, c]));
  x.primaryKey.forEach((k, i) => {
    const c = byName.get(k);
    if (!c)
      throw new ContractError(
        file,
        `/x-etl/primaryKey/${i}`,
        `"${k}" is not a column`,
        'name a column from "properties"',
      );
    if (!c.required)
      throw new ContractError(
        file,
        `/x-etl/primaryKey/${i}`,
        `key column "${k}" may be empty`,
        `add "${k}" to "required"`,
      );
    if (c.drop)
      throw new ContractError(
        file,
        `/x-etl/primaryKey/${i}`,
        `key column "${k}" is dropped`,
        'keep key columns in the output',
      );
  });
  x.dedupe.orderBy.forEach((o, i) => {
    if (!byName.has(o.column))
      throw new ContractError(
        file,
        `/x-etl/dedupe/orderBy/${i}/column`,
        `"${o.column}" is not a column`,
        'name a column from "properties"',
      );
  });
  const part = byName.get(x.partition.column);
  if (!part)
    throw new ContractError(
      file,
      '/x-etl/partition/column',
      `"${x.partition.column}" is not a column`,
      'name a date column from "properties"',
    );
  if (part.type !== 'date')
    throw new ContractError(
      file,
      '/x-etl/partition/column',
      `partition column "${part.name}" is ${part.type}`,
      'partition by a column of type date',
    );
  if (!part.required)
    throw new ContractError(
      file,
      '/x-etl/partition/column',
      `partition column "${part.name}" may be empty`,
      `add "${part.name}" to "required"`,
    );
  if (part.drop)
    throw new ContractError(
      file,
      '/x-etl/partition/column',
      'the partition column is dropped',
      'keep it in the output',
    );

  // The row schema must compile on its own (strict mode catches typos such as "minimun").
  try {
    compileRowSchema(rowSchema);
  } catch (e) {
    throw new ContractError(
      file,
      '',
      `the row schema does not compile: ${(e as Error).message}`,
      'correct the keyword or value it names',
    );
  }

  return {
    dataset,
    file,
    version: x.version,
    table: x.table ?? dataset,
    primaryKey: x.primaryKey,
    dedupe: { orderBy: x.dedupe.orderBy, tieBreaker: x.dedupe.tieBreaker ?? 'lastLine' },
    partition: x.partition,
    rejectThreshold: x.rejectThreshold,
    csv: {
      delimiter: x.csv.delimiter ?? ',',
      quote: x.csv.quote ?? '"',
      escape: x.csv.escape ?? x.csv.quote ?? '"',
      encoding: 'utf-8',
      header: x.csv.header ?? 'exact',
    },
    columns,
    rowSchema,
  };
}

/** The repository's schemas/ folder. */
export const DEFAULT_SCHEMAS_DIR = path.resolve(__dirname, '..', 'schemas');

/** Datasets that have a contract in `dir`. */
export function listDatasets(dir: string = DEFAULT_SCHEMAS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.schema.json'))
    .map((f) => f.slice(0, -'.schema.json'.length))
    .filter((d) => DATASET_NAME.test(d))
    .sort();
}

/**
 * Parsed contracts by file, with the file's stamp. Parsing compiles the row schema with a fresh
 * ajv (≈100–300 ms), and several steps look the same contract up per run (claim, validate,
 * catalog, verify, quarantine): in a warm Lambda or the local runtime each file is parsed once,
 * and again only when it changes.
 */
const parsedContracts = new Map<string, { stamp: string; contract: DatasetContract }>();

/** Loads `schemas/<dataset>.schema.json`, or returns undefined when there is none. */
export function findContract(
  dataset: string,
  dir: string = DEFAULT_SCHEMAS_DIR,
): DatasetContract | undefined {
  if (!DATASET_NAME.test(dataset)) return undefined;
  const file = path.join(dir, `${dataset}.schema.json`);
  if (!existsSync(file)) return undefined;
  const st = statSync(file);
  const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
  const hit = parsedContracts.get(file);
  if (hit && hit.stamp === stamp) return hit.contract;
  const contract = parseContract(dataset, readFileSync(file, 'utf8'), file);
  parsedContracts.set(file, { stamp, contract });
  return contract;
}
