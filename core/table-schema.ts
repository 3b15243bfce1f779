/**
 * A curated table's schema as the Glue Data Catalog holds it, derived from the transform plan: the
 * columns inside the Parquet files (Glue/Athena types) and the partition key. One rule for the CDK
 * stack (infra/constructs/lake-catalog.ts builds the tables from it), the local catalog (its crawl
 * records it), and RegisterPartitions (which compares it with the table in the catalog: equal →
 * register this run's partitions; different or no table → the crawler runs).
 */
import { fileColumns, partitionKeyType, type PlanColumn, type TransformPlan } from './plan';

export interface CatalogColumn {
  readonly name: string;
  readonly type: string;
}

/** What RegisterPartitions compares: columns in file order, and the partition key (none or one). */
export interface TableSchema {
  readonly columns: readonly CatalogColumn[];
  readonly partitionKeys: readonly CatalogColumn[];
}

/** The Glue/Athena type of a curated column (the Parquet types both engines write). */
export function glueTypeOf(column: PlanColumn): string {
  switch (column.type) {
    case 'string':
      return 'string';
    case 'integer':
      return 'bigint';
    case 'decimal':
      return `decimal(${column.precision},${column.scale})`;
    case 'double':
      return 'double';
    case 'boolean':
      return 'boolean';
    case 'date':
      return 'date';
    case 'timestamp':
      return 'timestamp';
  }
}

/**
 * The table schema a plan's output has: file columns typed for Glue, and the partition key typed
 * as core/plan partitionKeyType says (`date` for day partitions, `string` otherwise).
 */
export function tableSchemaOf(plan: TransformPlan): TableSchema {
  const keyType = partitionKeyType(plan);
  return {
    columns: fileColumns(plan).map((c) => ({ name: c.name, type: glueTypeOf(c) })),
    partitionKeys: plan.partition && keyType ? [{ name: plan.partition.name, type: keyType }] : [],
  };
}

/**
 * How `actual` (the catalog's table) differs from `expected` (this run's output), in words, or
 * undefined when they are the same. Names and types compare case-insensitively (Glue lower-cases
 * names and Athena types), order matters (Parquet columns are read by name, but a reordered
 * contract is still a new schema worth a crawl's log line).
 */
export function schemaDifference(expected: TableSchema, actual: TableSchema): string | undefined {
  const show = (cs: readonly CatalogColumn[]) => cs.map((c) => `${c.name} ${c.type}`).join(', ') || '(none)';
  const norm = (t: string) => t.replace(/\s+/g, '').toLowerCase();
  const same = (a: readonly CatalogColumn[], b: readonly CatalogColumn[]) =>
    a.length === b.length &&
    a.every((c, i) => c.name.toLowerCase() === b[i]!.name.toLowerCase() && norm(c.type) === norm(b[i]!.type));
  if (!same(expected.partitionKeys, actual.partitionKeys))
    return `partition key is ${show(actual.partitionKeys)} in the catalog, ${show(expected.partitionKeys)} in this run's output`;
  if (!same(expected.columns, actual.columns)) {
    const have = new Map(actual.columns.map((c) => [c.name.toLowerCase(), c.type]));
    const want = new Map(expected.columns.map((c) => [c.name.toLowerCase(), c.type]));
    const added = expected.columns.filter((c) => !have.has(c.name.toLowerCase())).map((c) => c.name);
    const removed = actual.columns.filter((c) => !want.has(c.name.toLowerCase())).map((c) => c.name);
    const retyped = expected.columns
      .filter((c) => have.has(c.name.toLowerCase()) && norm(have.get(c.name.toLowerCase())!) !== norm(c.type))
      .map((c) => `${c.name} ${have.get(c.name.toLowerCase())} → ${c.type}`);
    const parts = [
      ...(added.length > 0 ? [`new column(s) ${added.join(', ')}`] : []),
      ...(removed.length > 0 ? [`column(s) no longer written ${removed.join(', ')}`] : []),
      ...(retyped.length > 0 ? [`type changed ${retyped.join('; ')}`] : []),
    ];
    return parts.length > 0 ? parts.join('; ') : 'columns are in a different order';
  }
  return undefined;
}
