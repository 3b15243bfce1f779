/**
 * SQL text helpers of the sinks, free of DuckDB (the Redshift sink's Lambda bundles this, not
 * the DuckDB engine): identifiers as the contract allows them, literals for text the pipeline made.
 */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,127}$/;

/** `"name"`, for a SQL identifier (lower case, as Redshift folds it); anything else throws. */
export function quoteIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`"${name}" is not a SQL identifier`);
  return `"${name}"`;
}

/** A SQL string literal. Only for text the pipeline made (paths, checked ids), never row data. */
export function sqlLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
