/**
 * The transform plan: what the Glue job and the embedded DuckDB engine both execute. It is data
 * (JSON), compiled once from the contract; neither engine re-derives rules from the contract.
 *
 * Input is the validate step's staging output (see core/staging.ts): JSON Lines whose values are
 * null or canonical strings, plus `_line`. Each engine reads every column as a string and applies
 * the casts below, so the two read the file identically by construction.
 */
import type { ColumnType, DatasetContract } from './contract';

export const PLAN_VERSION = 1;
/** Staging column holding the 1-based CSV line the row started on (dedupe tie-breaker). */
export const LINE_COLUMN = '_line';

export interface PlanColumn {
  /** Column name in staging (the CSV header name). */
  readonly source: string;
  /** Column name in the curated table. */
  readonly name: string;
  readonly type: ColumnType;
  readonly precision?: number;
  readonly scale?: number;
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
    columns: contract.columns
      .filter((c) => !c.drop)
      .map((c) => ({
        source: c.name,
        name: c.outputName,
        type: c.type,
        ...(c.type === 'decimal' && { precision: c.precision!, scale: c.scale! }),
      })),
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
