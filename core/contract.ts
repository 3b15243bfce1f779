/**
 * Dataset contracts: `<schemas dir>/<dataset>.schema.json`, one per dataset. Two file formats load
 * into the same in-memory {@link DatasetContract}:
 *
 *  - **v2** (`"version": 2`): each column declared once — its output `name`, the header text it
 *    comes from (`source`, any text), its SQL type and its checks; the row JSON Schema ajv
 *    validates is derived from the columns. Primary key and partition are optional. The file's
 *    own shape is {@link CONTRACT_V2_SCHEMA}; docs/contracts.md documents every field (a test
 *    keeps the two in step).
 *  - **v1** (JSON Schema 2020-12 for one row plus an `x-etl` block, `"x-etl": {"version": 1}`):
 *    converted in memory (v1 property name → `source`, `rename ?? name` → `name`, the date
 *    partition → a day partition).
 *
 * A contract is validated when loaded; every problem is a {@link ContractError} naming the file,
 * the JSON pointer, the column and the fix, so a broken contract never reaches a running pipeline.
 */
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { ContractError } from './errors';
import { pathProblem, splitPath } from './json-path';
import { DATASET_NAME, datasetNameProblem, suggestedDatasetName } from './dataset-name';
import { parseSinks, SINK_TYPES, type SinkConfig } from './sinks';

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

/** Input file formats: CSV, JSON Lines (one object per line), JSON (one array of objects). */
export const INPUT_FORMATS = ['csv', 'jsonl', 'json'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** CSV header policy: `exact` = same names in the same order; `anyOrder` = same set of names;
 * `extraAllowed` = every contract column present, in any order, unknown columns ignored. */
export type HeaderPolicy = 'exact' | 'anyOrder' | 'extraAllowed';

export interface ColumnSpec {
  /**
   * SQL-safe identifier: the staging column, the curated column, and what `primaryKey`,
   * `partition` and `dedupe` refer to (v1: `rename ?? name`).
   */
  readonly name: string;
  /**
   * Where the value is read from, for messages and row errors: the header text to match in a CSV
   * file, as written there (any text; v1: the property name), or the JSON dot path (`actor.login`).
   */
  readonly source: string;
  /** JSON formats only: the keys from the record down to the value (`source` split at the dots). */
  readonly path?: readonly string[];
  /** JSON formats only: store the value (object, array or scalar) as its compact JSON text. */
  readonly json?: boolean;
  readonly type: ColumnType;
  /** decimal only: total digits (1..38) and digits after the point (0..precision). */
  readonly precision?: number;
  readonly scale?: number;
  /** timestamp only: the zone assumed for values written without one (IANA name). @default 'UTC' */
  readonly defaultTimezone?: string;
  /** Validated but not written to the curated table. @default false */
  readonly drop: boolean;
  /** An empty cell is a row error (listed in the row schema's `required`). @default false */
  readonly required: boolean;
}

export interface CsvDialect {
  readonly delimiter: string;
  readonly quote: string;
  readonly escape: string;
  readonly encoding: 'utf-8';
  readonly header: HeaderPolicy;
  /** A quote inside an unquoted field is data (`37.8"N`), as csv-parse's `relax_quotes`. */
  readonly relaxQuotes: boolean;
}

export interface DedupeOrder {
  readonly column: string;
  readonly direction: 'asc' | 'desc';
}

export type PartitionGranularity = 'day' | 'month' | 'year';

/**
 * How curated objects are partitioned, defaults resolved (see docs/contracts.md):
 *
 * | column type | granularity | `name` default     | `keepColumn` |
 * |-------------|-------------|--------------------|--------------|
 * | date        | day         | the column         | false (the folder is the column) |
 * | date        | month/year  | `<column>_month` / `<column>_year` | true |
 * | timestamp   | day/month/year | `<column>_day` / `_month` / `_year` (UTC) | true |
 * | string      | null        | the column         | false |
 *
 * A custom `name` other than the column keeps the column inside the files.
 */
export interface PartitionSpec {
  /** The column (its `name`) the folder value comes from. */
  readonly column: string;
  readonly kind: 'date' | 'timestamp' | 'string';
  /** null for string partitions. */
  readonly granularity: PartitionGranularity | null;
  /** The partition key: the Hive folder name. */
  readonly name: string;
  /** Whether the column stays inside the files (true when the folder is derived from it). */
  readonly keepColumn: boolean;
}

export interface DatasetContract {
  readonly dataset: string;
  /** Absolute path of the contract file, for messages. */
  readonly file: string;
  /** The file format version the contract was written in. */
  readonly version: 1 | 2;
  /** Table name in the Glue catalog / local catalog / DuckDB: always an identifier. */
  readonly table: string;
  /** How the landing file is written: CSV, JSON Lines or one JSON array (gzip accepted for each). */
  readonly format: InputFormat;
  /** [] = no key: no dedupe, every valid row is kept (exact duplicate lines included). */
  readonly primaryKey: readonly string[];
  /** Which duplicate wins: the first row after sorting by these; equal rows → `tieBreaker`. */
  readonly dedupe: {
    readonly orderBy: readonly DedupeOrder[];
    readonly tieBreaker: 'lastLine' | 'firstLine';
  };
  /** null: no partition (objects directly under `curated/<dataset>/`). */
  readonly partition: PartitionSpec | null;
  /** Largest share of bad rows (0..1) before the whole file is rejected. */
  readonly rejectThreshold: number;
  /**
   * Most rows in one curated Parquet object: a partition of one file with more rows is written as
   * several objects of at most this many rows each (both engines, the same rows in each).
   */
  readonly maxRowsPerFile: number;
  readonly csv: CsvDialect;
  /** In contract order. */
  readonly columns: readonly ColumnSpec[];
  /**
   * The JSON Schema for one coerced row, properties keyed by column `name`: derived from the
   * columns (v2), or as written (v1, re-keyed by `name` where a column is renamed).
   */
  readonly rowSchema: Record<string, unknown>;
  /** Where the verified rows go besides the lake (core/sinks.ts); [] = the lake only. */
  readonly sinks: readonly SinkConfig[];
}

export { DATASET_NAME };
const IDENTIFIER = '^[a-z_][a-z0-9_]{0,127}$';
/** The staging column holding each row's line (core/plan LINE_COLUMN; not imported: plan imports this). */
const LINE_COLUMN = '_line';
const IDENTIFIER_RE = new RegExp(IDENTIFIER);

/** The defaults the loader applies, in the meta-schema (`default`) and in docs/contracts.md. */
export const CONTRACT_DEFAULTS = {
  format: 'csv',
  csv: {
    delimiter: ',',
    quote: '"',
    escape: '"',
    encoding: 'utf-8',
    header: 'exact',
    relaxQuotes: false,
  },
  column: { required: false, drop: false, timezone: 'UTC', json: false },
  primaryKey: [] as string[],
  dedupe: { orderBy: [] as DedupeOrder[], tieBreaker: 'lastLine' },
  partition: { granularity: 'day' },
  rejectThreshold: 0.05,
  /** ≈140 MiB of Snappy Parquet at the registrations table's ≈30 bytes a row (Athena likes 128 MiB–1 GiB objects). */
  maxRowsPerFile: 5_000_000,
  sinks: [] as SinkConfig[],
} as const;

/** `format` values a column check may name (ajv-formats, "fast" mode). */
export const CHECK_FORMATS = ['email', 'uuid', 'uri', 'date', 'date-time', 'time'] as const;

const oneChar = (description: string, defaultValue: string) => ({
  type: 'string',
  minLength: 1,
  maxLength: 1,
  not: { enum: ['\n', '\r'] },
  default: defaultValue,
  description,
});

/**
 * JSON Schema of a contract v2 file. The loader checks a file against it first, then the rules
 * that span fields (a key names a column, a decimal has a scale ...). Each property's
 * `description` and `default` are what docs/contracts.md shows; test/contract-docs.test.ts fails
 * when the two differ.
 */
export const CONTRACT_V2_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'serverless-etl dataset contract, version 2',
  type: 'object',
  additionalProperties: false,
  required: ['version', 'columns'],
  properties: {
    version: { const: 2, description: 'The contract format version.' },
    description: { type: 'string', description: 'Free text for people.' },
    table: {
      type: 'string',
      pattern: IDENTIFIER,
      description: "Table name in the catalog and in SQL (default: the dataset name with '-' → '_').",
    },
    format: {
      enum: INPUT_FORMATS,
      default: CONTRACT_DEFAULTS.format,
      description:
        'Input file format: csv, jsonl (one JSON object per line) or json (one array of objects); a .gz file of each is accepted.',
    },
    csv: {
      type: 'object',
      additionalProperties: false,
      description: 'How the CSV file is written.',
      properties: {
        delimiter: {
          ...oneChar(
            'Field delimiter: one character, e.g. "," ";" "\\t" "|".',
            CONTRACT_DEFAULTS.csv.delimiter,
          ),
          not: { enum: ['"', '\n', '\r'] },
        },
        quote: oneChar('Quote character around fields that hold delimiters, quotes or line breaks.', '"'),
        escape: oneChar('Escapes a quote inside a quoted field (default: the quote itself, "" → ").', '"'),
        encoding: {
          const: 'utf-8',
          default: 'utf-8',
          description: 'Text encoding (UTF-8; a BOM is ignored).',
        },
        header: {
          enum: ['exact', 'anyOrder', 'extraAllowed'],
          default: CONTRACT_DEFAULTS.csv.header,
          description:
            'exact: the sources in contract order; anyOrder: the same set in any order; extraAllowed: every source present, other columns ignored.',
        },
        relaxQuotes: {
          type: 'boolean',
          default: CONTRACT_DEFAULTS.csv.relaxQuotes,
          description: 'A quote inside an unquoted field is data (37.8"N) instead of malformed CSV.',
        },
      },
    },
    columns: {
      type: 'array',
      minItems: 1,
      description: 'The columns, in file order for header "exact"; each declared once.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'type'],
        properties: {
          name: {
            type: 'string',
            pattern: IDENTIFIER,
            description:
              'Output column name (SQL identifier): the curated column, what primaryKey, partition and dedupe name.',
          },
          source: {
            type: 'string',
            description:
              'csv only: the header text in the file, any text (spaces, $, unicode) (default: name); "" is the column whose header cell is blank (a trailing delimiter on the header line, say).',
          },
          path: {
            type: 'string',
            minLength: 1,
            description:
              'jsonl/json only: the dot path of the value in each object, e.g. actor.login (default: name).',
          },
          json: {
            type: 'boolean',
            default: CONTRACT_DEFAULTS.column.json,
            description:
              'jsonl/json only, type string only: store the value (object, array or scalar) as compact JSON text.',
          },
          type: { enum: COLUMN_TYPES, description: 'SQL type the cell is coerced to.' },
          precision: {
            type: 'integer',
            minimum: 1,
            maximum: 38,
            description: 'decimal only (required for decimal): total digits, 1..38.',
          },
          scale: {
            type: 'integer',
            minimum: 0,
            maximum: 38,
            description: 'decimal only (required for decimal): digits after the point, 0..precision.',
          },
          timezone: {
            type: 'string',
            minLength: 1,
            default: CONTRACT_DEFAULTS.column.timezone,
            description: 'timestamp only: IANA zone for values written without an offset.',
          },
          required: {
            type: 'boolean',
            default: CONTRACT_DEFAULTS.column.required,
            description: 'true: an empty cell is a row error; false: an empty cell is null.',
          },
          drop: {
            type: 'boolean',
            default: CONTRACT_DEFAULTS.column.drop,
            description: 'Validated but not written to the curated table.',
          },
          pattern: {
            type: 'string',
            minLength: 1,
            description: 'Check (text columns): a regular expression the value matches.',
          },
          enum: { type: 'array', minItems: 1, uniqueItems: true, description: 'Check: the allowed values.' },
          minimum: { type: 'number', description: 'Check (numeric columns): value ≥ minimum.' },
          maximum: { type: 'number', description: 'Check (numeric columns): value ≤ maximum.' },
          exclusiveMinimum: {
            type: 'number',
            description: 'Check (numeric columns): value > exclusiveMinimum.',
          },
          exclusiveMaximum: {
            type: 'number',
            description: 'Check (numeric columns): value < exclusiveMaximum.',
          },
          minLength: {
            type: 'integer',
            minimum: 0,
            description: 'Check (text columns): at least this many characters.',
          },
          maxLength: {
            type: 'integer',
            minimum: 0,
            description: 'Check (text columns): at most this many characters.',
          },
          format: {
            enum: CHECK_FORMATS,
            description: 'Check (text, date and timestamp columns): a JSON Schema format.',
          },
          description: { type: 'string', description: 'Free text for people.' },
        },
      },
    },
    primaryKey: {
      type: 'array',
      uniqueItems: true,
      items: { type: 'string' },
      default: CONTRACT_DEFAULTS.primaryKey,
      description: 'Key column names (required, not dropped); [] = no key, no dedupe, every row kept.',
    },
    dedupe: {
      type: 'object',
      additionalProperties: false,
      description: 'Which row of a key wins (only with a primaryKey).',
      properties: {
        orderBy: {
          type: 'array',
          default: CONTRACT_DEFAULTS.dedupe.orderBy,
          description: 'Sort rows of one key by these columns; the first wins (nulls last).',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['column', 'direction'],
            properties: { column: { type: 'string' }, direction: { enum: ['asc', 'desc'] } },
          },
        },
        tieBreaker: {
          enum: ['lastLine', 'firstLine'],
          default: CONTRACT_DEFAULTS.dedupe.tieBreaker,
          description: 'Among rows equal in orderBy: the last or the first line of the file wins.',
        },
      },
    },
    partition: {
      type: 'object',
      additionalProperties: false,
      required: ['column'],
      description: 'Hive folders of the curated table (absent: no partition).',
      properties: {
        column: {
          type: 'string',
          description: 'A required, kept column of type date, timestamp or string.',
        },
        granularity: {
          enum: ['day', 'month', 'year'],
          default: CONTRACT_DEFAULTS.partition.granularity,
          description:
            'date and timestamp columns only: one folder per day, month or year (UTC for timestamps).',
        },
        name: {
          type: 'string',
          pattern: IDENTIFIER,
          description:
            'The folder (partition key) name (default: the column for a date by day or a string; else <column>_day, _month or _year).',
        },
      },
    },
    rejectThreshold: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      default: CONTRACT_DEFAULTS.rejectThreshold,
      description: 'Largest share of bad rows (0..1) before the whole file is rejected.',
    },
    maxRowsPerFile: {
      type: 'integer',
      minimum: 1,
      default: CONTRACT_DEFAULTS.maxRowsPerFile,
      description:
        'Most rows in one curated Parquet object: a partition of one file with more rows is split into several objects.',
    },
    sinks: {
      type: 'array',
      default: CONTRACT_DEFAULTS.sinks,
      description:
        'Where the verified rows go besides the lake: {"type":"dynamodb"} and/or {"type":"redshift",...} (sinks/README.md).',
      items: { type: 'object', required: ['type'], properties: { type: { enum: SINK_TYPES } } },
    },
  },
} as const;

/** JSON Schema of the v1 x-etl block (unchanged since v1). */
/** @internal exported for its test (the meta-schema accepts it) */
export const X_ETL_SCHEMA = {
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
        relaxQuotes: { type: 'boolean' },
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

/**
 * One Ajv for contracts (2020-12, strict, formats). Shared so row validators compile once. It
 * does not check schemas against the 2020-12 meta-schema by itself: compiling that meta-schema
 * is ≈ 50 ms of every cold process, and most schemas it sees are made here from contracts already
 * checked ({@link compileRowSchema}).
 */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: false, allowUnionTypes: true, validateSchema: false });
  // "fast" formats: the full ones cost ~75% of ajv's time (measured, DESIGN.md) and dates/times
  // are checked exactly by coercion before ajv sees them anyway.
  addFormats(ajv, { mode: 'fast', formats: [...CHECK_FORMATS] });
  ajv.addKeyword('x-etl');
  return ajv;
}

const metaAjv = createAjv();
// Contract files are checked by an Ajv of their own: `verbose` gives each error its schema, so a
// misspelt key gets "did you mean"; row validation (metaAjv) stays without that cost.
// Its two schemas are constants of this module (a test checks them against the meta-schema):
// checking them in every process would compile the 2020-12 meta-schema, ≈ 40 ms of a cold start.
const fileAjv = new Ajv2020({ strict: true, allErrors: false, verbose: true, validateSchema: false });
const validateXEtl = fileAjv.compile(X_ETL_SCHEMA);
const validateV2 = fileAjv.compile(CONTRACT_V2_SCHEMA);

/**
 * Compiles a contract's row schema (or a part of it) with the process's one Ajv, then forgets the
 * schema there: the returned function stays valid, and the next compile of a changed contract
 * (same `$id`) does not collide with this one.
 *
 * `checkSchema`: check it against the 2020-12 meta-schema first (a keyword's value of the wrong
 * type, ...). Needed for a schema a person wrote (a version-1 contract); a version-2 row schema is
 * made here from columns {@link CONTRACT_V2_SCHEMA} has checked, and a schema derived from a checked
 * one needs no second check. Strict mode (an unknown keyword such as "minimun") applies either way.
 * @throws Error from ajv when the schema does not compile, or is invalid
 */
export function compileRowSchema(
  schema: Record<string, unknown>,
  { checkSchema = false }: { readonly checkSchema?: boolean } = {},
): ValidateFunction {
  // Throws when it is invalid (the meta-schema is synchronous: no promise to wait for).
  if (checkSchema) void metaAjv.validateSchema(schema, true);
  try {
    return metaAjv.compile(schema);
  } finally {
    metaAjv.removeSchema(schema);
  }
}

/**
 * {@link compileRowSchema} for a contract's row schema (or a schema derived from it): a failure is
 * the contract's, a ContractError naming `file` and `pointer`.
 */
export function compileContractRowSchema(
  schema: Record<string, unknown>,
  file: string,
  pointer: string,
  options: { readonly checkSchema?: boolean } = {},
): ValidateFunction {
  try {
    return compileRowSchema(schema, options);
  } catch (e) {
    throw new ContractError(
      file,
      pointer,
      `the row schema does not compile: ${(e as Error).message}`,
      'correct the keyword or value it names',
    );
  }
}

const escapePointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

function pointerOf(err: ErrorObject): string {
  if (err.keyword === 'additionalProperties') {
    return `${err.instancePath}/${escapePointer((err.params as { additionalProperty: string }).additionalProperty)}`;
  }
  if (err.keyword === 'required') {
    return `${err.instancePath}/${escapePointer((err.params as { missingProperty: string }).missingProperty)}`;
  }
  return err.instancePath || '/';
}

/** Edit distance, for "did you mean" on a misspelt key. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** Keys a v1 habit puts where v2 has another field. */
const V1_HABITS: Record<string, string> = {
  rename:
    'in v2 "name" is the output name and "source" the header text: {"name": "<output>", "source": "<header>"}',
  defaultTimezone: 'in v2 this is "timezone"',
  properties: 'v2 declares columns once, under "columns" (a list)',
  'x-etl': 'a v2 contract has no x-etl block: its fields are at the top level',
  $schema: 'a v2 contract is not a JSON Schema: remove "$schema" (the row schema is derived from "columns")',
};

function fixFor(err: ErrorObject): string {
  switch (err.keyword) {
    case 'additionalProperties': {
      const key = (err.params as { additionalProperty: string }).additionalProperty;
      if (V1_HABITS[key]) return V1_HABITS[key];
      const allowed = Object.keys(
        ((err.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ??
          {}) as object,
      );
      const near = allowed.filter((k) => distance(k.toLowerCase(), key.toLowerCase()) <= 2);
      return near.length > 0
        ? `did you mean ${near.map((k) => JSON.stringify(k)).join(' or ')}? (allowed here: ${allowed.join(', ')})`
        : `remove this key or correct its spelling (allowed here: ${allowed.join(', ')})`;
    }
    case 'required':
      return 'add this key';
    case 'enum':
      return `use one of ${JSON.stringify((err.params as { allowedValues: unknown[] }).allowedValues)}`;
    case 'const':
      return `set it to ${JSON.stringify((err.params as { allowedValue: unknown }).allowedValue)}`;
    case 'pattern':
      return 'use lower-case letters, digits and underscores, starting with a letter or underscore (at most 128)';
    case 'type':
      return `write a JSON ${(err.params as { type: string }).type}`;
    default:
      return `make it satisfy "${err.keyword}" ${JSON.stringify(err.params)}`;
  }
}

/** The column a v2 JSON pointer is inside (`/columns/3/...` → that column's name or source). */
function columnAt(doc: Record<string, unknown>, pointer: string): string | undefined {
  const m = /^\/columns\/(\d+)(?:\/|$)/.exec(pointer);
  if (!m) return undefined;
  const col = (doc.columns as unknown[] | undefined)?.[Number(m[1])] as Record<string, unknown> | undefined;
  if (!col || typeof col !== 'object') return undefined;
  if (typeof col.name === 'string') return col.name;
  return typeof col.source === 'string' ? col.source : undefined;
}

/** A column before the cross-field checks, with where it was declared. */
interface DraftColumn {
  readonly spec: ColumnSpec;
  /** JSON pointer of the column's declaration (v2 `/columns/3`, v1 `/x-etl/columns/notes`). */
  readonly at: string;
  /** Pointers for its fields, as the format spells them. */
  readonly fieldAt: (field: 'name' | 'precision' | 'scale' | 'timezone' | 'required' | 'drop') => string;
}

/** What both formats hand to the shared checks. */
interface Draft {
  readonly version: 1 | 2;
  readonly format: InputFormat;
  readonly table: string | undefined;
  readonly columns: DraftColumn[];
  readonly primaryKey: readonly string[];
  readonly primaryKeyAt: string;
  readonly dedupe: { orderBy: readonly DedupeOrder[]; tieBreaker: 'lastLine' | 'firstLine' };
  readonly dedupeAt: string;
  readonly dedupeGiven: boolean;
  readonly partition: { column: string; granularity?: PartitionGranularity; name?: string } | undefined;
  readonly partitionAt: string;
  readonly rejectThreshold: number;
  readonly maxRowsPerFile: number;
  readonly csv: CsvDialect;
  readonly csvAt: string;
  readonly rowSchema: Record<string, unknown>;
  /** The contract's `sinks` as written (undefined = none), checked by parseSinks in finish. */
  readonly sinks?: unknown;
  /** A column `name` as the file spells it where keys refer to columns (v1: the property name). */
  readonly written: (name: string) => string;
}

/** The table name of a dataset when the contract names none: `-` → `_`. */
export function tableNameOf(dataset: string): string {
  return dataset.replace(/-/g, '_');
}

export interface ParseOptions {
  /**
   * false: a version-2 contract's row schema is not compiled here, because the caller compiles
   * it next anyway (the validate step's row checker, csv/row-checker.ts `loadCompiledContract`,
   * which reports a failure as this would): a second ajv compile is ≈ 8 ms of a cold Lambda. A
   * version-1 row schema, written by a person, is always checked here.
   */
  readonly compileRowSchema?: boolean;
}

/**
 * Parses and validates one contract (v1 or v2).
 * @throws ContractError naming the file, the JSON pointer, the column and the fix
 * @example const c = parseContract('registrations', fs.readFileSync(p, 'utf8'), p);
 */
export function parseContract(
  dataset: string,
  text: string,
  file: string,
  options: ParseOptions = {},
): DatasetContract {
  const nameProblem = datasetNameProblem(dataset);
  if (nameProblem !== undefined) {
    throw new ContractError(
      file,
      '',
      `dataset name "${dataset}" is not allowed: ${nameProblem}`,
      `rename the file to ${suggestedDatasetName(dataset) ?? '<name>'}.schema.json (the dataset is the file name and the folder after incoming/)`,
    );
  }
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text.replace(/^\ufeff/, '')) as Record<string, unknown>;
  } catch (e) {
    throw new ContractError(file, '', `not valid JSON (${(e as Error).message})`, 'fix the JSON syntax');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ContractError(
      file,
      '',
      'the contract is not a JSON object',
      'write an object: {"version": 2, "columns": [...]} (see docs/contracts.md)',
    );
  }
  const draft =
    doc['x-etl'] !== undefined || doc.$schema !== undefined || doc.properties !== undefined
      ? draftV1(doc, file)
      : draftV2(doc, file);
  return finish(dataset, file, draft, options);
}

function draftV2(doc: Record<string, unknown>, file: string): Draft {
  if (doc.version === undefined && Array.isArray(doc.columns)) {
    throw new ContractError(file, '/version', 'missing', 'add "version": 2');
  }
  if (!validateV2(doc)) {
    const err = validateV2.errors![0]!;
    const at = pointerOf(err);
    throw new ContractError(file, at, err.message ?? 'invalid', fixFor(err), columnAt(doc, at));
  }
  const d = doc as {
    table?: string;
    format?: InputFormat;
    csv?: Partial<CsvDialect>;
    columns: {
      name: string;
      source?: string;
      path?: string;
      json?: boolean;
      type: ColumnType;
      precision?: number;
      scale?: number;
      timezone?: string;
      required?: boolean;
      drop?: boolean;
      description?: string;
      [check: string]: unknown;
    }[];
    primaryKey?: string[];
    dedupe?: { orderBy?: DedupeOrder[]; tieBreaker?: 'lastLine' | 'firstLine' };
    partition?: { column: string; granularity?: PartitionGranularity; name?: string };
    rejectThreshold?: number;
    maxRowsPerFile?: number;
    sinks?: unknown;
  };
  const format = d.format ?? CONTRACT_DEFAULTS.format;
  const isJson = format !== 'csv';
  if (isJson && d.csv !== undefined)
    throw new ContractError(
      file,
      '/csv',
      `"csv" settings do not apply to format "${format}"`,
      'remove "csv" (or set "format": "csv")',
    );
  const properties: Record<string, Record<string, unknown>> = {};
  const columns: DraftColumn[] = d.columns.map((c, i) => {
    const at = `/columns/${i}`;
    if (isJson && c.source !== undefined)
      throw new ContractError(
        file,
        `${at}/source`,
        `"source" is a CSV header; a ${format} column names its value with "path"`,
        `write "path": ${JSON.stringify(c.source)} (a dot path such as "actor.login") instead of "source"`,
        c.name,
      );
    for (const field of ['path', 'json'] as const)
      if (!isJson && c[field] !== undefined)
        throw new ContractError(
          file,
          `${at}/${field}`,
          `"${field}" applies to JSON input only (format "jsonl" or "json"), and this contract reads CSV`,
          `remove "${field}", or set "format": "jsonl" / "json" at the top level`,
          c.name,
        );
    const path = c.path ?? c.name;
    const problem = isJson ? pathProblem(path) : undefined;
    if (problem !== undefined)
      throw new ContractError(
        file,
        `${at}/path`,
        `${problem}: ${JSON.stringify(path)}`,
        'write the keys from the object down, joined by "." (e.g. "actor.login"); a "." inside a key is "\\."',
        c.name,
      );
    if (c.json === true && c.type !== 'string')
      throw new ContractError(
        file,
        `${at}/json`,
        `a JSON-text column must be of type string, not ${c.type}`,
        'set "type": "string" (the column holds JSON text), or remove "json"',
        c.name,
      );
    const spec: ColumnSpec = {
      name: c.name,
      source: isJson ? path : (c.source ?? c.name),
      ...(isJson && { path: splitPath(path), json: c.json ?? CONTRACT_DEFAULTS.column.json }),
      type: c.type,
      ...(c.precision !== undefined && { precision: c.precision }),
      ...(c.scale !== undefined && { scale: c.scale }),
      ...(c.type === 'timestamp' && { defaultTimezone: c.timezone ?? CONTRACT_DEFAULTS.column.timezone }),
      required: c.required ?? CONTRACT_DEFAULTS.column.required,
      drop: c.drop ?? CONTRACT_DEFAULTS.column.drop,
    };
    if (c.timezone !== undefined && c.type !== 'timestamp')
      throw new ContractError(
        file,
        `${at}/timezone`,
        'only timestamps have a zone',
        'remove "timezone"',
        c.name,
      );
    checkColumnChecks(c, at, file);
    const json = ROW_SCHEMA_TYPE[c.type];
    const prop: Record<string, unknown> = { type: spec.required ? json : [json, 'null'] };
    for (const k of CHECK_KEYWORDS) if (c[k] !== undefined) prop[k] = c[k];
    if (c.description !== undefined) prop.description = c.description;
    if (Object.prototype.hasOwnProperty.call(properties, c.name))
      throw new ContractError(
        file,
        `${at}/name`,
        `two columns are named "${c.name}"`,
        'give each column a distinct name',
        c.name,
      );
    properties[c.name] = prop;
    return { spec, at, fieldAt: (f) => `${at}/${f}` };
  });
  const csv = d.csv ?? {};
  return {
    version: 2,
    format,
    table: d.table,
    columns,
    primaryKey: d.primaryKey ?? CONTRACT_DEFAULTS.primaryKey,
    primaryKeyAt: '/primaryKey',
    dedupe: {
      orderBy: d.dedupe?.orderBy ?? CONTRACT_DEFAULTS.dedupe.orderBy,
      tieBreaker: d.dedupe?.tieBreaker ?? CONTRACT_DEFAULTS.dedupe.tieBreaker,
    },
    dedupeAt: '/dedupe',
    dedupeGiven: d.dedupe !== undefined,
    partition: d.partition,
    partitionAt: '/partition',
    rejectThreshold: d.rejectThreshold ?? CONTRACT_DEFAULTS.rejectThreshold,
    maxRowsPerFile: d.maxRowsPerFile ?? CONTRACT_DEFAULTS.maxRowsPerFile,
    csv: dialectOf(csv),
    csvAt: '/csv',
    sinks: d.sinks,
    written: (name) => name,
    rowSchema: {
      type: 'object',
      additionalProperties: false,
      properties,
      required: columns.filter((c) => c.spec.required).map((c) => c.spec.name),
    },
  };
}

const CHECK_KEYWORDS = [
  'pattern',
  'enum',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'format',
] as const;
const TEXT_TYPES: readonly ColumnType[] = ['string', 'date', 'timestamp'];
const NUMERIC_TYPES: readonly ColumnType[] = ['integer', 'decimal', 'double'];
/** Which column types each check applies to. */
const CHECK_APPLIES: Record<(typeof CHECK_KEYWORDS)[number], readonly ColumnType[]> = {
  pattern: TEXT_TYPES,
  minLength: TEXT_TYPES,
  maxLength: TEXT_TYPES,
  format: TEXT_TYPES,
  minimum: NUMERIC_TYPES,
  maximum: NUMERIC_TYPES,
  exclusiveMinimum: NUMERIC_TYPES,
  exclusiveMaximum: NUMERIC_TYPES,
  enum: COLUMN_TYPES,
};

/** v2: each check fits the column's type; an enum holds values of that type; a pattern compiles. */
function checkColumnChecks(
  c: { name: string; type: ColumnType; [k: string]: unknown },
  at: string,
  file: string,
) {
  for (const k of CHECK_KEYWORDS) {
    if (c[k] === undefined) continue;
    if (!CHECK_APPLIES[k].includes(c.type))
      throw new ContractError(
        file,
        `${at}/${k}`,
        `"${k}" does not apply to a ${c.type} column`,
        `remove it, or use it on a ${CHECK_APPLIES[k].join(' / ')} column`,
        c.name,
      );
  }
  if (typeof c.pattern === 'string') {
    try {
      new RegExp(c.pattern, 'u');
    } catch (e) {
      throw new ContractError(
        file,
        `${at}/pattern`,
        `not a valid regular expression (${(e as Error).message})`,
        'correct the pattern (JavaScript syntax, "u" flag)',
        c.name,
      );
    }
  }
  if (Array.isArray(c.enum)) {
    const json = ROW_SCHEMA_TYPE[c.type];
    c.enum.forEach((v, i) => {
      const ok =
        json === 'string'
          ? typeof v === 'string'
          : json === 'boolean'
            ? typeof v === 'boolean'
            : typeof v === 'number' && (json !== 'integer' || Number.isInteger(v));
      if (!ok)
        throw new ContractError(
          file,
          `${at}/enum/${i}`,
          `${JSON.stringify(v)} is not a ${c.type} value`,
          `write the values as JSON ${json}s${json === 'string' ? ' (in quotes)' : ''}`,
          c.name,
        );
    });
  }
}

function dialectOf(csv: Partial<CsvDialect>): CsvDialect {
  const quote = csv.quote ?? CONTRACT_DEFAULTS.csv.quote;
  return {
    delimiter: csv.delimiter ?? CONTRACT_DEFAULTS.csv.delimiter,
    quote,
    escape: csv.escape ?? quote,
    encoding: 'utf-8',
    header: csv.header ?? CONTRACT_DEFAULTS.csv.header,
    relaxQuotes: csv.relaxQuotes ?? CONTRACT_DEFAULTS.csv.relaxQuotes,
  };
}

function draftV1(doc: Record<string, unknown>, file: string): Draft {
  if (doc.$schema !== 'https://json-schema.org/draft/2020-12/schema') {
    throw new ContractError(
      file,
      '/$schema',
      'a v1 contract must be JSON Schema 2020-12',
      'set "$schema": "https://json-schema.org/draft/2020-12/schema" (or write the contract as v2: {"version": 2, "columns": [...]}, see docs/contracts.md)',
    );
  }
  const xEtl = doc['x-etl'];
  if (xEtl === undefined)
    throw new ContractError(
      file,
      '/x-etl',
      'missing',
      'add an x-etl block, or write the contract as v2 (see docs/contracts.md)',
    );
  if (!validateXEtl(xEtl)) {
    const err = validateXEtl.errors![0]!;
    const at = pointerOf(err);
    const m = /^\/columns\/([^/]+)/.exec(at);
    throw new ContractError(
      file,
      `/x-etl${at}`,
      err.message ?? 'invalid',
      fixFor(err),
      m ? m[1]!.replace(/~1/g, '/').replace(/~0/g, '~') : undefined,
    );
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

  const { ['x-etl']: _omit, ...written } = doc;
  void _omit;
  if (written.type !== 'object') {
    throw new ContractError(file, '/type', 'a row schema must be "type": "object"', 'set "type": "object"');
  }
  if (written.additionalProperties !== false) {
    throw new ContractError(
      file,
      '/additionalProperties',
      'rows must not carry unknown fields',
      'set "additionalProperties": false',
    );
  }
  const properties = written.properties as Record<string, Record<string, unknown>> | undefined;
  if (!properties || typeof properties !== 'object') {
    throw new ContractError(file, '/properties', 'missing', 'describe every CSV column under "properties"');
  }
  const required = new Set((written.required as string[] | undefined) ?? []);
  for (const name of required) {
    if (!(name in properties)) {
      throw new ContractError(
        file,
        '/required',
        `"${name}" is required but has no property`,
        `add "${name}" to "properties" or remove it from "required"`,
        name,
      );
    }
  }
  for (const name of Object.keys(x.columns)) {
    if (!(name in properties)) {
      throw new ContractError(
        file,
        `/x-etl/columns/${escapePointer(name)}`,
        `column "${name}" has no property in the row schema`,
        `add "${name}" to "properties" or remove it here`,
        name,
      );
    }
  }

  const columns: DraftColumn[] = [];
  const names = new Map<string, string>();
  for (const [source, prop] of Object.entries(properties)) {
    const spec = x.columns[source];
    const at = `/x-etl/columns/${escapePointer(source)}`;
    if (!spec)
      throw new ContractError(
        file,
        at,
        `property "${source}" has no SQL type`,
        `add "${source}": { "type": "string" } (or its real type) to x-etl.columns`,
        source,
      );
    if (!IDENTIFIER_RE.test(source)) {
      throw new ContractError(
        file,
        `/properties/${escapePointer(source)}`,
        'v1 column names must be SQL-safe identifiers',
        'use lower-case letters, digits and underscores, or write the contract as v2, where "source" may be any header text',
        source,
      );
    }
    const want = ROW_SCHEMA_TYPE[spec.type];
    const declared = ([] as unknown[]).concat(prop.type ?? []);
    if (!declared.includes(want)) {
      throw new ContractError(
        file,
        `/properties/${escapePointer(source)}/type`,
        `an x-etl ${spec.type} column is validated as JSON "${want}", but the schema says ${JSON.stringify(prop.type)}`,
        `set "type": "${want}" (or ["${want}", "null"] for an optional column)`,
        source,
      );
    }
    const name = spec.rename ?? source;
    names.set(source, name);
    columns.push({
      spec: {
        name,
        source,
        type: spec.type,
        ...(spec.precision !== undefined && { precision: spec.precision }),
        ...(spec.scale !== undefined && { scale: spec.scale }),
        ...(spec.type === 'timestamp' && { defaultTimezone: spec.defaultTimezone ?? 'UTC' }),
        drop: spec.drop ?? false,
        required: required.has(source),
      },
      at,
      fieldAt: (f) =>
        f === 'required'
          ? '/required'
          : `${at}/${f === 'name' ? 'rename' : f === 'timezone' ? 'defaultTimezone' : f}`,
    });
    if (spec.defaultTimezone !== undefined && spec.type !== 'timestamp')
      throw new ContractError(
        file,
        `${at}/defaultTimezone`,
        'only timestamps have a zone',
        'remove defaultTimezone',
        source,
      );
  }
  // v1 keys, the dedupe order and the partition name v1 property names; in memory they name
  // columns by `name`, as v2 does.
  const byName = (n: string) => names.get(n) ?? n;
  const rowProperties = Object.fromEntries(Object.entries(properties).map(([s, p]) => [byName(s), p]));
  return {
    version: 1,
    format: 'csv',
    table: x.table,
    columns,
    primaryKey: x.primaryKey.map(byName),
    primaryKeyAt: '/x-etl/primaryKey',
    dedupe: {
      orderBy: x.dedupe.orderBy.map((o) => ({
        column: names.get(o.column) ?? o.column,
        direction: o.direction,
      })),
      tieBreaker: x.dedupe.tieBreaker ?? 'lastLine',
    },
    dedupeAt: '/x-etl/dedupe',
    dedupeGiven: true,
    partition: { column: names.get(x.partition.column) ?? x.partition.column },
    partitionAt: '/x-etl/partition',
    rejectThreshold: x.rejectThreshold,
    maxRowsPerFile: CONTRACT_DEFAULTS.maxRowsPerFile,
    csv: dialectOf(x.csv),
    csvAt: '/x-etl/csv',
    written: (name) => columns.find((c) => c.spec.name === name)?.spec.source ?? name,
    rowSchema: {
      ...written,
      properties: rowProperties,
      ...(written.required !== undefined && { required: [...required].map(byName) }),
    },
  };
}

/** The checks both formats share, and the contract they make. */
function finish(dataset: string, file: string, d: Draft, options: ParseOptions): DatasetContract {
  const v1 = d.version === 1;
  const columns = d.columns.map((c) => c.spec);
  const byName = new Map(d.columns.map((c) => [c.spec.name, c]));
  const sources = new Map<string, DraftColumn>();
  const names = new Map<string, DraftColumn>();
  for (const c of d.columns) {
    const { spec } = c;
    if (spec.type === 'decimal') {
      if (spec.precision === undefined || spec.scale === undefined) {
        throw new ContractError(
          file,
          c.at,
          'a decimal needs precision and scale',
          'add "precision" (1..38) and "scale" (0..precision)',
          spec.name,
        );
      }
      if (spec.scale > spec.precision) {
        throw new ContractError(
          file,
          c.fieldAt('scale'),
          `scale ${spec.scale} exceeds precision ${spec.precision}`,
          'make scale ≤ precision',
          spec.name,
        );
      }
    } else if (spec.precision !== undefined || spec.scale !== undefined) {
      throw new ContractError(
        file,
        c.at,
        'precision/scale only apply to decimal columns',
        'remove them or change the type to decimal',
        spec.name,
      );
    }
    // UTC needs no look-up (coercion takes it without Intl too); the first Intl.DateTimeFormat of a
    // process loads ICU's zone data, ≈ 15 ms of a cold start.
    if (
      spec.defaultTimezone !== undefined &&
      spec.defaultTimezone !== 'UTC' &&
      spec.defaultTimezone !== 'Etc/UTC'
    ) {
      try {
        new Intl.DateTimeFormat('en', { timeZone: spec.defaultTimezone });
      } catch {
        throw new ContractError(
          file,
          c.fieldAt('timezone'),
          `unknown time zone "${spec.defaultTimezone}"`,
          'use an IANA zone such as "UTC" or "Europe/Berlin"',
          spec.name,
        );
      }
    }
    if (spec.name === LINE_COLUMN)
      throw new ContractError(
        file,
        c.fieldAt('name'),
        `"${LINE_COLUMN}" is reserved (staging keeps each row's line number in it)`,
        'give the column another name',
        spec.name,
      );
    const sameName = names.get(spec.name);
    if (sameName) {
      throw new ContractError(
        file,
        c.fieldAt('name'),
        `two columns would be written as "${spec.name}"`,
        'give each output column a distinct name',
        spec.name,
      );
    }
    names.set(spec.name, c);
    const sameSource = sources.get(spec.source);
    if (sameSource) {
      throw new ContractError(
        file,
        `${c.at}/${d.format === 'csv' ? 'source' : 'path'}`,
        `columns ${sameSource.at.split('/').pop()} and ${c.at.split('/').pop()} both read the ${d.format === 'csv' ? 'header' : 'path'} ${JSON.stringify(spec.source)}`,
        d.format === 'csv'
          ? 'give each column the header text of its own column in the file'
          : 'give each column the path of its own value',
        spec.name,
      );
    }
    sources.set(spec.source, c);
  }

  if (d.csv.quote === d.csv.delimiter)
    throw new ContractError(
      file,
      `${d.csvAt}/quote`,
      `the quote and the delimiter are both ${JSON.stringify(d.csv.quote)}`,
      'use different characters',
    );

  const keyFix = v1 ? 'name a column from "properties"' : 'name a column from "columns" (its "name")';
  d.primaryKey.forEach((k, i) => {
    const c = byName.get(k);
    const at = `${d.primaryKeyAt}/${i}`;
    const w = d.written(k);
    if (!c) throw new ContractError(file, at, `"${w}" is not a column`, keyFix);
    if (!c.spec.required)
      throw new ContractError(
        file,
        at,
        `key column "${w}" may be empty`,
        v1 ? `add "${w}" to "required"` : `set "required": true on column "${k}" (${c.at})`,
        k,
      );
    if (c.spec.drop)
      throw new ContractError(file, at, `key column "${w}" is dropped`, 'keep key columns in the output', k);
  });
  if (!v1 && d.dedupeGiven && d.primaryKey.length === 0)
    throw new ContractError(
      file,
      d.dedupeAt,
      'dedupe is set but there is no primaryKey (without a key every row is kept)',
      'add a "primaryKey", or remove "dedupe"',
    );
  d.dedupe.orderBy.forEach((o, i) => {
    if (!byName.has(o.column))
      throw new ContractError(
        file,
        `${d.dedupeAt}/orderBy/${i}/column`,
        `"${o.column}" is not a column`,
        keyFix,
      );
  });

  let partition: PartitionSpec | null = null;
  if (d.partition) {
    const at = `${d.partitionAt}/column`;
    const c = byName.get(d.partition.column);
    const wants = v1 ? 'a date column' : 'a date, timestamp or string column';
    if (!c) throw new ContractError(file, at, `"${d.partition.column}" is not a column`, `name ${wants}`);
    const { spec } = c;
    const w = d.written(spec.name);
    if (v1 ? spec.type !== 'date' : !['date', 'timestamp', 'string'].includes(spec.type))
      throw new ContractError(
        file,
        at,
        `partition column "${w}" is ${spec.type}`,
        `partition by ${wants}${v1 ? '' : ', or remove "partition"'}`,
        spec.name,
      );
    if (!spec.required)
      throw new ContractError(
        file,
        at,
        `partition column "${w}" may be empty`,
        v1 ? `add "${w}" to "required"` : `set "required": true on column "${spec.name}" (${c.at})`,
        spec.name,
      );
    if (spec.drop)
      throw new ContractError(
        file,
        at,
        'the partition column is dropped',
        'keep it in the output',
        spec.name,
      );
    const kind = spec.type as PartitionSpec['kind'];
    if (kind === 'string' && d.partition.granularity !== undefined)
      throw new ContractError(
        file,
        `${d.partitionAt}/granularity`,
        'a string partition has one folder per value, no granularity',
        'remove "granularity" (it applies to date and timestamp columns)',
        spec.name,
      );
    const granularity = kind === 'string' ? null : (d.partition.granularity ?? 'day');
    const folderIsColumn = kind === 'string' || (kind === 'date' && granularity === 'day');
    const name = d.partition.name ?? (folderIsColumn ? spec.name : `${spec.name}_${granularity}`);
    const keepColumn = !(folderIsColumn && name === spec.name);
    const clash = columns.find((o) => !o.drop && o.name === name);
    if (clash && (keepColumn || clash.name !== spec.name))
      throw new ContractError(
        file,
        d.partition.name !== undefined ? `${d.partitionAt}/name` : d.partitionAt,
        `the partition key "${name}" is also the name of column "${clash.name}" written inside the files`,
        'set "partition.name" to a name no output column has',
        clash.name,
      );
    partition = { column: spec.name, kind, granularity, name, keepColumn };
  }

  const table = d.table ?? tableNameOf(dataset);
  if (!IDENTIFIER_RE.test(table))
    throw new ContractError(
      file,
      v1 ? '/x-etl/table' : '/table',
      `the table name "${table}" (from the dataset name) is not a SQL identifier`,
      `set "table" to an identifier, e.g. ${JSON.stringify(tableNameOf(dataset).replace(/[^a-z0-9_]/g, '_'))}`,
    );

  // The row schema must compile on its own (strict mode catches typos such as "minimun").
  if (v1 || options.compileRowSchema !== false)
    compileContractRowSchema(d.rowSchema, file, v1 ? '' : '/columns', { checkSchema: v1 });

  return {
    dataset,
    file,
    version: d.version,
    table,
    format: d.format,
    primaryKey: d.primaryKey,
    dedupe: d.dedupe,
    partition,
    rejectThreshold: d.rejectThreshold,
    maxRowsPerFile: d.maxRowsPerFile,
    csv: d.csv,
    columns,
    rowSchema: d.rowSchema,
    sinks: parseSinks(d.sinks, {
      file,
      primaryKey: d.primaryKey,
      columns: columns.map((c) => ({ name: c.name, type: c.type, drop: c.drop })),
    }),
  };
}

/** The repository's schemas/ folder (steps get theirs from configuration; the CLI from --schemas). */
export const DEFAULT_SCHEMAS_DIR = path.resolve(__dirname, '..', 'schemas');

const CONTRACT_SUFFIX = '.schema.json';

/** The contract file of `dataset` in `dir`. */
export function contractFileOf(dataset: string, dir: string = DEFAULT_SCHEMAS_DIR): string {
  return path.join(dir, `${dataset}${CONTRACT_SUFFIX}`);
}

/** The dataset a contract file is for (its name without `.schema.json`), or undefined. */
export function datasetOfContractFile(file: string): string | undefined {
  const base = path.basename(file);
  return base.endsWith(CONTRACT_SUFFIX) ? base.slice(0, -CONTRACT_SUFFIX.length) : undefined;
}

/** Every `*.schema.json` in `dir`, also those whose name is not an allowed dataset name. */
export function listContractFiles(dir: string = DEFAULT_SCHEMAS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(CONTRACT_SUFFIX))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Datasets that have a contract in `dir`. */
export function listDatasets(dir: string = DEFAULT_SCHEMAS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(CONTRACT_SUFFIX))
    .map((f) => f.slice(0, -CONTRACT_SUFFIX.length))
    .filter((d) => DATASET_NAME.test(d))
    .sort();
}

/**
 * Parsed contracts by file, with the file's stamp. Parsing compiles the row schema with a fresh
 * ajv (≈100–300 ms), and several steps look the same contract up per run (claim, validate,
 * catalog, verify, quarantine): in a warm Lambda or the local runtime each file is parsed once,
 * and again only when it changes.
 */
const parsedContracts = new Map<string, { stamp: string; contract: DatasetContract; compiled: boolean }>();

/**
 * Loads one contract file (any path); the dataset is its name without `.schema.json`.
 * @throws ContractError when the file is broken, unreadable or not named `<dataset>.schema.json`
 */
export function loadContractFile(file: string, options: ParseOptions = {}): DatasetContract {
  const dataset = datasetOfContractFile(file);
  if (dataset === undefined)
    throw new ContractError(
      file,
      '',
      'a contract file is named <dataset>.schema.json',
      'rename it, e.g. my_data.schema.json',
    );
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    throw new ContractError(
      file,
      '',
      `cannot be read (${(e as NodeJS.ErrnoException).code})`,
      'check the path',
    );
  }
  const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
  const compiled = options.compileRowSchema !== false;
  const hit = parsedContracts.get(file);
  // A contract parsed without its compile check is not handed to a caller who wants it checked.
  if (hit && hit.stamp === stamp && (hit.compiled || !compiled)) return hit.contract;
  const contract = parseContract(dataset, readFileSync(file, 'utf8'), file, options);
  parsedContracts.set(file, { stamp, contract, compiled });
  return contract;
}

/**
 * Loads `<dir>/<dataset>.schema.json`, or returns undefined when there is none (or the name is
 * not a dataset name).
 * @throws ContractError when the contract is broken
 */
export function findContract(
  dataset: string,
  dir: string = DEFAULT_SCHEMAS_DIR,
  options: ParseOptions = {},
): DatasetContract | undefined {
  if (!DATASET_NAME.test(dataset)) return undefined;
  const file = contractFileOf(dataset, dir);
  if (!existsSync(file)) return undefined;
  return loadContractFile(file, options);
}
