/**
 * `etl query "<SQL>" --stack NAME`: runs SQL in Athena, in the stack's workgroup and Glue database,
 * and returns the rows. Values are bound with Athena execution parameters (`?` placeholders),
 * never spliced into the SQL text.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  GetQueryExecutionCommand,
  paginateGetQueryResults,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type QueryExecution,
} from '@aws-sdk/client-athena';
import type { RemoteStack } from './stack';

/** A value for one `?` placeholder. */
export type QueryParameter = string | number | bigint | boolean;

export interface QueryOptions {
  /** Values for the `?` placeholders, in order. Strings are bound as SQL string literals. */
  readonly parameters?: readonly QueryParameter[];
  /** Most rows returned; the rest are not fetched. @default 10000 */
  readonly maxRows?: number;
  /** Give up (and stop the query) after this long. @default 600000 (10 minutes) */
  readonly timeoutMs?: number;
  /** First and longest wait between status polls; waits double in between. @default 200 / 5000 */
  readonly pollMs?: { readonly initial: number; readonly max: number };
  /** Cancels the wait and stops the query (the CLI wires Ctrl-C here). */
  readonly signal?: AbortSignal;
}

export interface QueryColumn {
  readonly name: string;
  /** Athena's type name: varchar, bigint, decimal, date, timestamp ... */
  readonly type: string;
}

export interface QueryResult {
  readonly queryExecutionId: string;
  readonly columns: readonly QueryColumn[];
  /** Athena returns every value as text; SQL NULL is `null`. */
  readonly rows: readonly (readonly (string | null)[])[];
  /** True when more rows exist past `maxRows`. */
  readonly truncated: boolean;
  readonly dataScannedBytes: number;
  readonly engineExecutionMs: number;
  /** Where Athena wrote the full result (CSV). */
  readonly outputLocation?: string;
}

/** The query ended FAILED or CANCELLED; the message carries Athena's reason. */
export class QueryFailedError extends Error {
  override readonly name = 'QueryFailedError';
  constructor(
    readonly queryExecutionId: string,
    readonly state: string,
    readonly reason: string,
  ) {
    super(`Athena query ${queryExecutionId} ${state}: ${reason}`);
  }
}

/** The query ran past `timeoutMs` (or was cancelled) and was stopped. */
export class QueryTimeoutError extends Error {
  override readonly name = 'QueryTimeoutError';
}

/**
 * Renders one parameter as the SQL literal Athena expects in ExecutionParameters. Strings are
 * quoted with `'` doubled, so a value can never end its literal and become SQL.
 */
export function athenaLiteral(value: QueryParameter): string {
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'`;
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'bigint') return value.toString();
  if (!Number.isFinite(value))
    throw new Error(
      `query parameter ${value} is not a finite number. Fix: pass a finite number or a string.`,
    );
  return String(value);
}

/**
 * Runs one SQL statement in Athena and returns its rows.
 *
 * @example
 * const r = await queryLake(remote, 'SELECT count(*) AS n FROM registrations WHERE country = ?', {
 *   parameters: ['DE'],
 * });
 * r.rows[0]?.[0]; // "1234"
 * @throws QueryFailedError, QueryTimeoutError
 */
export async function queryLake(
  remote: RemoteStack,
  sql: string,
  options: QueryOptions = {},
): Promise<QueryResult> {
  const { athena } = remote.clients;
  const parameters = (options.parameters ?? []).map(athenaLiteral);
  const started = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      WorkGroup: remote.info.athenaWorkGroup,
      QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: remote.info.glueDatabase },
      // Ignored when the workgroup enforces its own location, required when it sets none.
      ResultConfiguration: { OutputLocation: `s3://${remote.info.athenaResultsBucket}/cli/` },
      ...(parameters.length > 0 && { ExecutionParameters: parameters }),
    }),
  );
  const id = started.QueryExecutionId!;
  const execution = await waitForQuery(remote, id, options);
  return fetchRows(remote, execution, options.maxRows ?? 10_000);
}

async function waitForQuery(remote: RemoteStack, id: string, options: QueryOptions): Promise<QueryExecution> {
  const { initial, max } = options.pollMs ?? { initial: 200, max: 5000 };
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  let wait = initial;
  for (;;) {
    const out = await remote.clients.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    const q = out.QueryExecution ?? {};
    const state = q.Status?.State;
    if (state === 'SUCCEEDED') return q;
    if (state === 'FAILED' || state === 'CANCELLED') {
      const reason = q.Status?.AthenaError?.ErrorMessage ?? q.Status?.StateChangeReason ?? 'no reason given';
      throw new QueryFailedError(id, state, reason);
    }
    if (Date.now() + wait > deadline || options.signal?.aborted) {
      await stopQuietly(remote, id);
      throw new QueryTimeoutError(
        `Athena query ${id} was stopped: ${options.signal?.aborted ? 'cancelled' : `still ${state ?? 'QUEUED'} after ${options.timeoutMs ?? 600_000} ms`}. ` +
          'Fix: narrow the query (filter on the partition column) or raise the timeout.',
      );
    }
    try {
      // Jitter keeps many concurrent CLIs from polling in lockstep.
      await sleep(
        wait / 2 + Math.random() * (wait / 2),
        undefined,
        options.signal ? { signal: options.signal } : {},
      );
    } catch {
      // Aborted while sleeping: the next turn stops the query.
    }
    wait = Math.min(wait * 2, max);
  }
}

async function stopQuietly(remote: RemoteStack, id: string): Promise<void> {
  try {
    await remote.clients.athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
  } catch {
    // Best effort: the query may have just finished; the caller reports the timeout either way.
  }
}

async function fetchRows(remote: RemoteStack, q: QueryExecution, maxRows: number): Promise<QueryResult> {
  const id = q.QueryExecutionId!;
  let columns: QueryColumn[] = [];
  const rows: (string | null)[][] = [];
  let truncated = false;
  let first = true;
  const pages = paginateGetQueryResults(
    { client: remote.clients.athena, pageSize: 1000 },
    { QueryExecutionId: id },
  );
  for await (const page of pages) {
    const rs = page.ResultSet;
    if (first) {
      columns = (rs?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => ({
        name: c.Name ?? '',
        type: c.Type ?? 'varchar',
      }));
    }
    let pageRows = rs?.Rows ?? [];
    // Athena repeats the column names as the first row of a SELECT's first page.
    if (first && q.StatementType === 'DML' && pageRows.length > 0) {
      const head = pageRows[0]!.Data?.map((d) => d.VarCharValue ?? null) ?? [];
      if (head.length === columns.length && head.every((v, i) => v === columns[i]!.name))
        pageRows = pageRows.slice(1);
    }
    first = false;
    for (const r of pageRows) {
      if (rows.length === maxRows) {
        truncated = true;
        break;
      }
      rows.push((r.Data ?? []).map((d) => d.VarCharValue ?? null));
    }
    if (truncated) break;
  }
  const outputLocation = q.ResultConfiguration?.OutputLocation;
  return {
    queryExecutionId: id,
    columns,
    rows,
    truncated,
    dataScannedBytes: q.Statistics?.DataScannedInBytes ?? 0,
    engineExecutionMs: q.Statistics?.EngineExecutionTimeInMillis ?? 0,
    ...(outputLocation !== undefined && { outputLocation }),
  };
}
