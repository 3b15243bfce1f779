/**
 * The Redshift sink on AWS, through the Redshift Data API (no driver, no VPC access needed from
 * the Lambda): {@link RedshiftDataSqlRunner} runs statements — one with ExecuteStatement, several
 * with BatchExecuteStatement, which runs them as one transaction — and polls DescribeStatement
 * within a bounded budget; {@link RedshiftDataSink} writes the COPY manifests next to the run's
 * manifest and runs sinks/redshift.ts's statements.
 */
import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  type RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { SinkLoadFailedError, TransientDependencyError } from '../../core/errors';
import type { ObjectStore } from '../../core/ports';
import type { RedshiftSinkConfig } from '../../core/sinks';
import type { SqlRunner, WarehouseLoadResult, WarehouseSink } from '../../sinks/ports';
import { copyStatements, warehouseStatements, type CopyObject } from '../../sinks/redshift';
import type { SinkRun, SinkTable } from '../../sinks/table';
import { rethrowTransient } from './transient';

export interface RedshiftDataOptions {
  /** First poll after this long; the interval doubles up to 5 s. @default 250 */
  readonly pollIntervalMs?: number;
  /** Give up (and cancel the statement) after this long; keep it under the Lambda timeout. @default 600000 */
  readonly timeoutMs?: number;
}

/** Where statements run: a workgroup or a cluster, a database, and how to sign in. */
export type RedshiftTarget = Pick<
  RedshiftSinkConfig,
  'workgroup' | 'clusterIdentifier' | 'database' | 'secretArn' | 'dbUser'
>;

/**
 * Serializable isolation violations (Redshift error 1023) and lock timeouts: another transaction
 * touched the table; the same statements succeed when retried.
 */
const CONCURRENT_CONFLICT = /serializable isolation violation|1023|could not obtain lock|deadlock/i;

/** @example new RedshiftDataSqlRunner(new RedshiftDataClient({}), { workgroup: 'analytics', database: 'dev', ... }) */
export class RedshiftDataSqlRunner implements SqlRunner {
  constructor(
    private readonly client: RedshiftDataClient,
    private readonly target: RedshiftTarget,
    private readonly options: RedshiftDataOptions = {},
  ) {}

  async run(sqls: readonly string[]): Promise<readonly (number | null)[]> {
    if (sqls.length === 0) return [];
    const where = {
      Database: this.target.database,
      ...(this.target.workgroup !== null && { WorkgroupName: this.target.workgroup }),
      ...(this.target.clusterIdentifier !== null && { ClusterIdentifier: this.target.clusterIdentifier }),
      ...(this.target.secretArn !== null && { SecretArn: this.target.secretArn }),
      ...(this.target.dbUser !== null && { DbUser: this.target.dbUser }),
    };
    const started = await (
      sqls.length === 1
        ? this.client.send(new ExecuteStatementCommand({ ...where, Sql: sqls[0]! }))
        : this.client.send(new BatchExecuteStatementCommand({ ...where, Sqls: [...sqls] }))
    ).catch((e: unknown) => rethrowTransient(e, 'redshift data api: start statement'));
    return this.waitFor(started.Id!, sqls);
  }

  private async waitFor(id: string, sqls: readonly string[]): Promise<readonly (number | null)[]> {
    const budget = this.options.timeoutMs ?? 600_000;
    const deadline = Date.now() + budget;
    let interval = this.options.pollIntervalMs ?? 250;
    for (;;) {
      await new Promise((r) => setTimeout(r, interval));
      interval = Math.min(interval * 2, 5000);
      const d = await this.client
        .send(new DescribeStatementCommand({ Id: id }))
        .catch((e: unknown) => rethrowTransient(e, 'redshift data api: describe statement'));
      if (d.Status === 'FINISHED') {
        if (sqls.length === 1) return [resultRows(d.ResultRows)];
        return sqls.map((_, i) => resultRows(d.SubStatements?.[i]?.ResultRows));
      }
      if (d.Status === 'FAILED' || d.Status === 'ABORTED') {
        // A batch names the sub-statement that failed; one statement is its own text.
        const failed = d.SubStatements?.find((s) => s.Status === 'FAILED' || s.Error);
        const statement = failed?.QueryString ?? (sqls.length === 1 ? sqls[0]! : `(batch of ${sqls.length})`);
        const message = failed?.Error ?? d.Error ?? `statement ${d.Status}`;
        const text = `redshift sink: statement ${id} ${d.Status}: ${message}\n  statement: ${statement}`;
        if (CONCURRENT_CONFLICT.test(message)) throw new TransientDependencyError(text);
        throw new SinkLoadFailedError(text);
      }
      if (Date.now() > deadline) {
        await this.client.send(new CancelStatementCommand({ Id: id })).catch(() => undefined);
        throw new TransientDependencyError(
          `redshift sink: statement ${id} still ${d.Status ?? 'unknown'} after ${budget} ms; cancelled. statement: ${sqls.length === 1 ? sqls[0] : `(batch of ${sqls.length})`}`,
        );
      }
    }
  }
}

/** The Data API says -1 (or nothing) when a statement has no row count. */
function resultRows(n: number | undefined): number | null {
  return n === undefined || n < 0 ? null : n;
}

export interface RedshiftDataSinkDeps {
  readonly store: ObjectStore;
  /** The runner for a target (one per sink config). */
  readonly runnerFor: (target: RedshiftSinkConfig) => SqlRunner;
  /** The COPY role when the sink config names none (the stack's, scoped to curated/ and the key). */
  readonly defaultCopyRoleArn: string;
}

/** @example new RedshiftDataSink({ store, runnerFor: (t) => new RedshiftDataSqlRunner(client, t), defaultCopyRoleArn }) */
export class RedshiftDataSink implements WarehouseSink {
  constructor(private readonly deps: RedshiftDataSinkDeps) {}

  async load(run: SinkRun, table: SinkTable, target: RedshiftSinkConfig): Promise<WarehouseLoadResult> {
    const runner = this.deps.runnerFor(target);
    const statements = warehouseStatements(run, table, target);
    const objects: CopyObject[] = [];
    for (const key of run.objects) {
      const info = await this.deps.store.head({ bucket: run.bucket, key });
      if (!info)
        throw new SinkLoadFailedError(
          `redshift sink: s3://${run.bucket}/${key} (in the run's manifest) does not exist`,
        );
      objects.push({ key, size: info.size });
    }
    const copy = copyStatements(
      run,
      table,
      statements,
      objects,
      target.copyRoleArn ?? this.deps.defaultCopyRoleArn,
    );
    for (const m of copy.manifests) {
      await this.deps.store.put(run.bucket, m.key, m.body, { contentType: 'application/json' });
    }
    for (const sql of statements.setup) await runner.run([sql]);
    await runner.run(statements.createStage);
    let staged = 0;
    for (const batch of copy.batches) {
      const counts = await runner.run(batch);
      // Rows that reached the staging table: the COPY (one manifest) or the per-object INSERTs.
      staged += batch.reduce(
        (n, sql, i) =>
          sql.startsWith(`INSERT INTO ${statements.stage}`) ||
          (table.folderColumn === null && sql.startsWith('COPY'))
            ? n + (counts[i] ?? 0)
            : n,
        0,
      );
    }
    const merged = await runner.run(statements.merge);
    const inserted = merged[statements.merge.findIndex((s) => s.startsWith('INSERT'))] ?? null;
    return { rowsLoaded: inserted, skippedNewer: inserted === 0 && staged > 0 };
  }
}
