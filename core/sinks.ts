/**
 * The contract's `sinks: [...]`: where a dataset's verified rows go besides the lake. Parsed and
 * checked when the contract loads (core/contract.ts calls {@link parseSinks}), so a broken sink
 * setting is a usage error from `etl contract check`, never a FAILED run.
 *
 * @example
 * "sinks": [
 *   { "type": "dynamodb" },
 *   { "type": "redshift", "workgroup": "analytics", "database": "dev", "table": "registrations" }
 * ]
 */
import Ajv2020 from 'ajv/dist/2020';
import { ContractError } from './errors';

/** SQL identifier as the rest of the project uses it (lower case, Redshift folds to lower case). */
const IDENTIFIER = '^[a-z_][a-z0-9_]{0,126}$';

export const SINK_TYPES = ['dynamodb', 'redshift'] as const;
export type SinkType = (typeof SINK_TYPES)[number];

/** Bookkeeping columns every sink row or item carries (reserved: no contract column may use them). */
export const SINK_META_COLUMNS = {
  sourceId: '_source_id',
  sourceVersion: '_source_version',
  sourceOrder: '_source_order',
  runId: '_run_id',
} as const;

export interface DynamoDbSinkConfig {
  readonly type: 'dynamodb';
  /**
   * An existing table, by name; its key schema must be the contract's primary key.
   * null: the stack creates one table for the dataset (on-demand, PITR, the pipeline's KMS key);
   * locally the stand-in table is named after the contract's table.
   */
  readonly table: string | null;
  /** The contract's primary key: the table's partition key, then its sort key when there are two. */
  readonly key: readonly string[];
}

export interface RedshiftSinkConfig {
  readonly type: 'redshift';
  /** Exactly one of these names the warehouse: a Redshift Serverless workgroup or a provisioned cluster. */
  readonly workgroup: string | null;
  readonly clusterIdentifier: string | null;
  readonly database: string;
  /** @default 'public' */
  readonly schema: string;
  readonly table: string;
  /** Secrets Manager secret with the database user's credentials; null = the Lambda's IAM identity. */
  readonly secretArn: string | null;
  /** Provisioned clusters only: temporary credentials for this database user (redshift:GetClusterCredentials). */
  readonly dbUser: string | null;
  /**
   * The role COPY reads the curated objects with; it must be associated with the cluster or the
   * workgroup's namespace. null = the role the stack creates (scoped to the curated prefix and the key).
   */
  readonly copyRoleArn: string | null;
  /** The contract's primary key ([] = none: a rerun replaces this source's rows by `_source_id`). */
  readonly key: readonly string[];
}

export type SinkConfig = DynamoDbSinkConfig | RedshiftSinkConfig;

/** JSON Schema of the contract's `sinks` array (what `etl contract check` validates). */
export const SINKS_SCHEMA = {
  type: 'array',
  items: {
    type: 'object',
    required: ['type'],
    properties: { type: { enum: SINK_TYPES } },
    // if/then on the type (not oneOf): an error then names the field of the sink that was meant.
    allOf: [
      {
        if: { properties: { type: { const: 'dynamodb' } } },
        then: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: { const: 'dynamodb' },
            table: { type: 'string', pattern: '^[A-Za-z0-9_.-]{3,255}$' },
          },
        },
      },
      {
        if: { properties: { type: { const: 'redshift' } } },
        then: {
          type: 'object',
          additionalProperties: false,
          required: ['database', 'table'],
          properties: {
            type: { const: 'redshift' },
            workgroup: { type: 'string', pattern: '^[a-z0-9-]{3,64}$' },
            clusterIdentifier: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,62}$' },
            database: { type: 'string', pattern: IDENTIFIER },
            schema: { type: 'string', pattern: IDENTIFIER },
            table: { type: 'string', pattern: IDENTIFIER },
            secretArn: {
              type: 'string',
              pattern: '^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$',
            },
            dbUser: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_$:.-]{0,127}$' },
            copyRoleArn: { type: 'string', pattern: '^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$' },
          },
        },
      },
    ],
  },
} as const;

// One small Ajv with no meta-schema (it checks only this fixed schema), so loading a contract
// does not pay for compiling the 2020-12 meta-schema a second time.
const validateSinks = new Ajv2020({
  strict: true,
  meta: false,
  validateSchema: false,
  allErrors: false,
}).compile(SINKS_SCHEMA);

/** Column facts the sinks check the key against (the contract's columns). */
export interface SinkColumnFacts {
  readonly name: string;
  readonly type: string;
  readonly drop?: boolean;
}

export interface SinkParseContext {
  /** The contract file, for messages. */
  readonly file: string;
  readonly primaryKey: readonly string[];
  readonly columns: readonly SinkColumnFacts[];
}

/**
 * Checks and resolves the contract's `sinks` (undefined = none). Every problem is a
 * {@link ContractError} naming the file, the JSON pointer (`/sinks/<i>/...`) and the fix.
 */
export function parseSinks(raw: unknown, context: SinkParseContext): SinkConfig[] {
  if (raw === undefined) return [];
  const { file } = context;
  if (!validateSinks(raw)) {
    const err = validateSinks.errors![0]!;
    const at = `/sinks${err.instancePath}`;
    throw new ContractError(
      file,
      at,
      `${err.message ?? 'invalid'}${err.keyword === 'additionalProperties' ? ` (${(err.params as { additionalProperty: string }).additionalProperty})` : ''}`,
      'a sink is {"type":"dynamodb","table"?:"<existing table>"} or {"type":"redshift","workgroup"|"clusterIdentifier":"<name>","database":"<db>","schema"?:"public","table":"<table>","secretArn"?|"dbUser"?}',
    );
  }
  const entries = raw as Record<string, string>[];
  const reserved = context.columns.find((c) => RESERVED_COLUMNS.includes(c.name));
  if (entries.length > 0 && reserved) {
    throw new ContractError(
      file,
      '/sinks',
      `column "${reserved.name}" has a name the sinks keep for their own bookkeeping (${RESERVED_COLUMNS.join(', ')})`,
      'rename the column',
    );
  }
  const seen = new Set<string>();
  return entries.map((entry, i) => {
    const at = `/sinks/${i}`;
    if (seen.has(entry.type!)) {
      throw new ContractError(
        file,
        at,
        `a second "${entry.type}" sink`,
        'declare each sink type at most once',
      );
    }
    seen.add(entry.type!);
    return entry.type === 'dynamodb' ? dynamoDbSink(entry, at, context) : redshiftSink(entry, at, context);
  });
}

const RESERVED_COLUMNS: readonly string[] = Object.values(SINK_META_COLUMNS);

/** DynamoDB keys are S, N or B: the types whose text is stable enough to look an item up by. */
const DYNAMODB_KEY_TYPES = new Set(['string', 'integer', 'decimal', 'date', 'timestamp']);

function dynamoDbSink(
  entry: Record<string, string>,
  at: string,
  context: SinkParseContext,
): DynamoDbSinkConfig {
  const { file, primaryKey } = context;
  if (primaryKey.length === 0) {
    throw new ContractError(
      file,
      at,
      "the DynamoDB sink needs the contract's primary key (items are written and looked up by it) and the contract has none",
      'add "primaryKey": ["<column>"] (one or two required columns that identify a row), or remove the dynamodb sink',
    );
  }
  if (primaryKey.length > 2) {
    throw new ContractError(
      file,
      `${at}`,
      `the primary key has ${primaryKey.length} columns; a DynamoDB table key has at most two (partition key, sort key)`,
      'use a primary key of one or two columns for a dataset with a dynamodb sink',
    );
  }
  for (const name of primaryKey) {
    const column = context.columns.find((c) => c.name === name);
    if (column && !DYNAMODB_KEY_TYPES.has(column.type)) {
      throw new ContractError(
        file,
        at,
        `key column "${name}" is ${column.type}; DynamoDB keys are strings or numbers`,
        'key the dataset by a string, integer, decimal, date or timestamp column',
      );
    }
  }
  return { type: 'dynamodb', table: entry.table ?? null, key: [...primaryKey] };
}

function redshiftSink(
  entry: Record<string, string>,
  at: string,
  context: SinkParseContext,
): RedshiftSinkConfig {
  const { file } = context;
  const workgroup = entry.workgroup ?? null;
  const clusterIdentifier = entry.clusterIdentifier ?? null;
  if ((workgroup === null) === (clusterIdentifier === null)) {
    throw new ContractError(
      file,
      at,
      workgroup === null ? 'no warehouse named' : 'both "workgroup" and "clusterIdentifier" given',
      'name exactly one: "workgroup" (Redshift Serverless) or "clusterIdentifier" (a provisioned cluster)',
    );
  }
  if (entry.secretArn !== undefined && entry.dbUser !== undefined) {
    throw new ContractError(
      file,
      `${at}/dbUser`,
      '"secretArn" and "dbUser" both given',
      'give one way to sign in, or neither (the IAM identity)',
    );
  }
  if (entry.dbUser !== undefined && workgroup !== null) {
    throw new ContractError(
      file,
      `${at}/dbUser`,
      '"dbUser" applies to provisioned clusters only',
      'remove "dbUser": a workgroup maps the Lambda\'s IAM identity to a database user, or use "secretArn"',
    );
  }
  return {
    type: 'redshift',
    workgroup,
    clusterIdentifier,
    database: entry.database!,
    schema: entry.schema ?? 'public',
    table: entry.table!,
    secretArn: entry.secretArn ?? null,
    dbUser: entry.dbUser ?? null,
    copyRoleArn: entry.copyRoleArn ?? null,
    key: [...context.primaryKey],
  };
}
