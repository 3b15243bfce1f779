/**
 * Athena behind the QueryEngine port. Values travel as ExecutionParameters (Athena substitutes
 * them for `?` as typed literals), never by concatenation into the SQL text. Polls until the query
 * ends; throttling and Athena's own retryable failures become TransientDependencyError.
 */
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { TransientDependencyError } from '../../core/errors';
import type { QueryEngine, QueryOptions, QueryParameter, QueryRow } from '../../core/ports';
import { rethrowTransient } from './transient';

export interface AthenaQueryEngineOptions {
  readonly workGroup: string;
  /** Result location, when the work group does not enforce one. */
  readonly outputLocation?: string;
  /** @default 500 */
  readonly pollIntervalMs?: number;
  /** Give up (and stop the query) after this long; keep it under the Lambda timeout. @default 240000 */
  readonly timeoutMs?: number;
}

/** An ExecutionParameters entry: Athena reads each as a SQL literal. */
export function athenaLiteral(value: QueryParameter): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`query parameter ${value} is not a finite number`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return `'${value.replace(/'/g, "''")}'`;
}

/** @example new AthenaQueryEngine(new AthenaClient({}), { workGroup: process.env.ATHENA_WORKGROUP! }) */
export class AthenaQueryEngine implements QueryEngine {
  constructor(
    private readonly client: AthenaClient,
    private readonly options: AthenaQueryEngineOptions,
  ) {}

  async query(
    sql: string,
    parameters: readonly QueryParameter[],
    options: QueryOptions,
  ): Promise<QueryRow[]> {
    const started = await this.client
      .send(
        new StartQueryExecutionCommand({
          QueryString: sql,
          ...(parameters.length > 0 && { ExecutionParameters: parameters.map(athenaLiteral) }),
          QueryExecutionContext: { Database: options.database },
          WorkGroup: this.options.workGroup,
          ...(this.options.outputLocation !== undefined && {
            ResultConfiguration: { OutputLocation: this.options.outputLocation },
          }),
        }),
      )
      .catch((e: unknown) => rethrowTransient(e, 'athena: start query'));
    const id = started.QueryExecutionId!;
    await this.waitFor(id);
    return this.readRows(id);
  }

  /** Athena's `"$path"`: the object's S3 URI. */
  objectPath(bucket: string, key: string): string {
    return `s3://${bucket}/${key}`;
  }

  private async waitFor(id: string): Promise<void> {
    const deadline = Date.now() + (this.options.timeoutMs ?? 240_000);
    for (;;) {
      const { QueryExecution: q } = await this.client
        .send(new GetQueryExecutionCommand({ QueryExecutionId: id }))
        .catch((e: unknown) => rethrowTransient(e, 'athena: get query'));
      const state = q?.Status?.State;
      if (state === 'SUCCEEDED') return;
      if (state === 'FAILED' || state === 'CANCELLED') {
        const err = q?.Status?.AthenaError;
        const reason = `athena query ${id} ${state}: ${q?.Status?.StateChangeReason ?? err?.ErrorMessage ?? 'no reason given'}`;
        // Category 1 = system error; Athena also flags failures it knows are worth retrying.
        if (err?.Retryable || err?.ErrorCategory === 1) throw new TransientDependencyError(reason);
        throw new Error(reason);
      }
      if (Date.now() > deadline) {
        await this.client
          .send(new StopQueryExecutionCommand({ QueryExecutionId: id }))
          .catch(() => undefined);
        throw new TransientDependencyError(
          `athena query ${id} still ${state} after ${this.options.timeoutMs ?? 240_000} ms; stopped`,
        );
      }
      await new Promise((r) => setTimeout(r, this.options.pollIntervalMs ?? 500));
    }
  }

  private async readRows(id: string): Promise<QueryRow[]> {
    const rows: QueryRow[] = [];
    let token: string | undefined;
    let names: string[] | undefined;
    let first = true;
    do {
      const page = await this.client
        .send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token }))
        .catch((e: unknown) => rethrowTransient(e, 'athena: read results'));
      names ??= (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Label ?? c.Name ?? '');
      const data = (page.ResultSet?.Rows ?? []).map((r) => (r.Data ?? []).map((d) => d.VarCharValue ?? null));
      // A SELECT's first row is the header (the column labels); skip it when it is.
      if (first && data.length > 0 && data[0]!.every((v, i) => v === names![i])) data.shift();
      first = false;
      for (const values of data) rows.push(Object.fromEntries(names.map((n, i) => [n, values[i] ?? null])));
      token = page.NextToken;
    } while (token);
    return rows;
  }
}
