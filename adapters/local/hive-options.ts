/**
 * How DuckDB reads a curated table's Hive folders, shared by the local query engine (Athena's
 * stand-in) and `etl query`. A module of its own, without DuckDB, so `etl query` loads DuckDB only
 * when it runs a query.
 */

/** A catalog name checked before it enters SQL (table and partition key names are identifiers). */
export function identifierText(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,127}$/.test(name))
    throw new Error(`catalog name "${name}" is not a SQL identifier`);
  return name;
}

/**
 * read_parquet's Hive options for a table's partition keys, typed as the Glue table types them
 * (`date`, or `string` for month, year and text values): left to itself DuckDB would read a year
 * folder `2024` as a BIGINT, where Athena has a string. No key: no Hive parsing at all, so no
 * `k=v` segment elsewhere in the path can turn into a column.
 *
 * @example hiveOptions([{ name: 'event_date', type: 'date' }]) // "hive_partitioning = true, hive_types = {'event_date': 'DATE'}"
 */
export function hiveOptions(partitionKeys: readonly { name: string; type: string }[]): string {
  if (partitionKeys.length === 0) return 'hive_partitioning = false';
  const types = partitionKeys.map(
    (k) => `'${identifierText(k.name)}': ${k.type === 'date' ? "'DATE'" : "'VARCHAR'"}`,
  );
  return `hive_partitioning = true, hive_types = {${types.join(', ')}}`;
}
