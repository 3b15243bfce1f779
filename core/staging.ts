/**
 * The canonical staging format: the contract between the validate step and both transform engines.
 *
 * Why not CSV: Spark's CSV reader in PERMISSIVE mode silently drops extra fields and
 * `enforceSchema` ignores header names; quoting rules differ between engines. Staging is therefore
 * JSON Lines (UTF-8, `\n`-terminated, one object per valid row) with:
 *  - one key per contract column (the CSV header name), in contract order, plus `_line`;
 *  - every value either JSON `null` (empty unquoted cell) or a JSON string in canonical text:
 *
 * | type      | canonical text                                            | example                        |
 * |-----------|-----------------------------------------------------------|--------------------------------|
 * | string    | the cell as read; a quoted empty cell `""` stays ""         | "Zoë, \"VIP\""                 |
 * | integer   | optional `-`, digits, no leading zeros, within int64        | "-42"                          |
 * | decimal   | plain notation, exactly `scale` fraction digits, ≤ precision | "1234.50"                      |
 * | double    | JS shortest round-trip text; never NaN/Infinity             | "0.1", "1e+300"                |
 * | boolean   | "true" / "false"                                            | "true"                         |
 * | date      | YYYY-MM-DD, a real calendar day, years 0001–9999            | "2024-02-29"                   |
 * | timestamp | UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (microseconds)           | "2024-03-31T01:30:00.000000Z"  |
 *
 * `_line` is a JSON number: the 1-based physical line the record starts on in the source file.
 * Zones are resolved by the validate step (values without a zone use the column's
 * `defaultTimezone`), so the engines only ever parse UTC.
 *
 * Files: `<stagingPrefix>part-00000.jsonl` (more parts may follow: part-00001, ...), and
 * `<stagingPrefix>_SUCCESS` written last; engines refuse a staging prefix without `_SUCCESS`.
 */
export const STAGING_PART = (n: number): string => `part-${String(n).padStart(5, '0')}.jsonl`;
export const STAGING_SUCCESS = '_SUCCESS';

/**
 * Staging written as Parquet (issue 13): the same rows as the JSON Lines parts, typed, about the
 * size of the CSV instead of 2.4× it, read by both engines without re-parsing text. Files:
 * `<stagingPrefix>part-00000.parquet` (…-00001, …) and `_SUCCESS` last; one staging prefix holds
 * either `.jsonl` parts or `.parquet` parts, never both. Columns: the plan's `stagingColumns` in
 * order, each of {@link stagingParquetType}, then `_line` BIGINT (the 1-based physical line the
 * record starts on). NULL is a missing value; an empty string stays an empty string. Timestamps
 * are instants (Parquet INT64 microseconds, adjusted to UTC).
 */
export const STAGING_PART_PARQUET = (n: number): string => `part-${String(n).padStart(5, '0')}.parquet`;

/** Whether a staging part name is a Parquet part (else a JSON Lines part). */
export const isParquetStagingPart = (name: string): boolean => name.endsWith('.parquet');

/**
 * The DuckDB SQL type a staging column has in a Parquet staging part (Spark: the same logical
 * type — string, bigint, decimal(p,s), double, boolean, date, timestamp).
 *
 * @example stagingParquetType({ type: 'decimal', precision: 12, scale: 2 }) // 'DECIMAL(12,2)'
 */
export function stagingParquetType(t: {
  readonly type: string;
  readonly precision?: number;
  readonly scale?: number;
}): string {
  switch (t.type) {
    case 'string':
      return 'VARCHAR';
    case 'integer':
      return 'BIGINT';
    case 'decimal':
      return `DECIMAL(${t.precision ?? 18},${t.scale ?? 0})`;
    case 'double':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'date':
      return 'DATE';
    case 'timestamp':
      return 'TIMESTAMPTZ';
    default:
      throw new Error(`no Parquet staging type for column type ${JSON.stringify(t.type)}`);
  }
}
