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

/**
 * Staging written as CSV (issue 13): the validate step's checked fast path copies each good record's bytes as they are, after its line number, so the step
 * never re-encodes a value and needs no DuckDB. Files: `<stagingPrefix>part-00000.csv` (…-00001, …),
 * plus at most one JSON Lines part (`.jsonl`, the rows the JavaScript checker accepted after all,
 * in canonical text), and `_SUCCESS` last. The layout is in plan.json, `stagingCsv`
 * ({@link StagingCsvLayout}). Each line: `_line` (digits), the delimiter, then the source record's
 * `fields` fields exactly as they were in the file (quoted or not, line breaks inside quotes kept),
 * `\n`. An unquoted empty field is NULL, a quoted empty one `""` an empty string. Every value of a
 * staging column passed the validate step's byte checks, which vouch that {@link csvStagingValueSql}
 * (a plain CAST) is the value the JavaScript checker stages. Both engines read them: the DuckDB
 * transform with {@link csvStagingSelectSql}, the Glue job with Spark's CSV reader and the same
 * casts (glue/etl_job.py read_csv_staging). The step writes them on one core (functions/validate
 * `stagingFormat`), where DuckDB's conversion to Parquet would take the byte pass's own core.
 */
export const STAGING_PART_CSV = (n: number): string => `part-${String(n).padStart(5, '0')}.csv`;

/** Whether a staging part name is a CSV part. */
export const isCsvStagingPart = (name: string): boolean => name.endsWith('.csv');

/** How the CSV staging parts of one prefix are laid out (plan.json `stagingCsv`). */
export interface StagingCsvLayout {
  /** The contract's delimiter and quote (one ASCII character each; the quote is doubled inside quotes). */
  readonly delimiter: string;
  readonly quote: string;
  /** Fields per line after `_line`: the source header's width. */
  readonly fields: number;
  /** Per staging column, its field (0-based, after `_line`). */
  readonly columnFields: Readonly<Record<string, number>>;
  /** The longest line of any CSV part, in bytes (`_line`, delimiter and line end included); 0 when there is none. */
  readonly maxLineBytes: number;
  /** Rows of the staging altogether: the CSV parts' lines and the JSON Lines part's rows. */
  readonly rows: number;
}

/**
 * The staged value of a CSV staging field, in DuckDB SQL over its VARCHAR text `raw` (NULL =
 * unquoted empty, '' = `""`): a plain CAST, so a value DuckDB would not cast fails the statement
 * instead of becoming NULL. An empty field of any type but string is NULL, as the checker stages it.
 *
 * @example csvStagingValueSql({ type: 'integer' }, 'c3') // "CASE WHEN c3 IS NULL OR c3 = '' THEN NULL ELSE CAST(c3 AS BIGINT) END"
 */
export function csvStagingValueSql(
  t: { readonly type: string; readonly precision?: number; readonly scale?: number },
  raw: string,
): string {
  if (t.type === 'string') return raw;
  const value =
    t.type === 'boolean'
      ? `(${raw} = '1' OR lower(${raw}) = 'true')`
      : t.type === 'double'
        ? `(CAST(${raw} AS DOUBLE) + 0.0)` // -0 becomes 0, as JavaScript stages it
        : `CAST(${raw} AS ${stagingParquetType(t)})`;
  return `CASE WHEN ${raw} IS NULL OR ${raw} = '' THEN NULL ELSE ${value} END`;
}

/**
 * The environment variable that sets the validate step's staging on the checked fast path
 * (`csv`, or `parquet` from 24 MiB and CSV below; functions/validate `stagingFormat`): infra sets it
 * on the validate Lambda from its memory (one vCPU: csv). Unset: `auto`.
 */
export const STAGING_FORMAT_ENV = 'ETL_STAGING_FORMAT';

/**
 * CSV staging files as typed rows, in DuckDB SQL: each line read as text (`_line`, then `fields`
 * VARCHAR fields; `strict_mode`; NULL = unquoted empty, '' = `""`), each column cast from its field
 * with {@link csvStagingValueSql}, `_line` last. The one statement both sides read CSV staging with:
 * the validate step's conversion of a chunk to Parquet and the transform's read of CSV parts.
 * `minBufferBytes`: DuckDB allocates its read buffer whole, so it follows the longest line, no less
 * than this.
 */
export function csvStagingSelectSql(
  files: readonly string[],
  layout: Pick<StagingCsvLayout, 'delimiter' | 'quote' | 'fields' | 'maxLineBytes'>,
  columns: readonly {
    readonly name: string;
    readonly field: number;
    readonly type: { readonly type: string; readonly precision?: number; readonly scale?: number };
  }[],
  minBufferBytes: number,
): string {
  const values = columns.map(
    (c) => `${csvStagingValueSql(c.type, `_etl_f${c.field}`)} AS ${sqlIdent(c.name)}`,
  );
  return (
    `SELECT ${values.join(', ')}, _etl_line AS ${sqlIdent('_line')} ` +
    `FROM ${csvStagingReadSql(files, layout, minBufferBytes, false)}`
  );
}

const sqlLiteral = (s: string) => `'${s.replaceAll("'", "''")}'`;
const sqlIdent = (s: string) => `"${s.replaceAll('"', '""')}"`;

/** `read_csv(…)` of CSV staging files as text: `_etl_line` BIGINT, then `_etl_f0…` VARCHAR. */
function csvStagingReadSql(
  files: readonly string[],
  layout: Pick<StagingCsvLayout, 'delimiter' | 'quote' | 'fields' | 'maxLineBytes'>,
  minBufferBytes: number,
  filename: boolean,
): string {
  const fields = [
    `'_etl_line': 'BIGINT'`,
    ...Array.from({ length: layout.fields }, (_, i) => `'_etl_f${i}': 'VARCHAR'`),
  ];
  const maxLine = Math.max(layout.maxLineBytes + 1024, 64 * 1024);
  return (
    `read_csv([${files.map(sqlLiteral).join(', ')}], ` +
    `header = false, auto_detect = false, columns = {${fields.join(', ')}}, delim = ${sqlLiteral(layout.delimiter)}, ` +
    `quote = ${sqlLiteral(layout.quote)}, escape = ${sqlLiteral(layout.quote)}, new_line = '\\n', strict_mode = true, ` +
    `null_padding = false, allow_quoted_nulls = false, max_line_size = ${maxLine}, ` +
    `buffer_size = ${Math.max(2 * maxLine, minBufferBytes)}, encoding = 'utf-8'${filename ? ', filename = true' : ''})`
  );
}

/**
 * The first CSV staging value (by `_line`) that {@link csvStagingValueSql}'s CAST refuses, in DuckDB
 * SQL: one row (`filename`, `_etl_line`, `column`: the first such column's name in `columns` order,
 * `value`: its text) or none; undefined when no column has a CAST (strings and booleans). Run only
 * after the read failed, to name what failed as the Glue job names it (glue/etl_job.py
 * `csv_value`): the statement itself stays a plain CAST.
 */
export function csvStagingCastFailureSql(
  files: readonly string[],
  layout: Pick<StagingCsvLayout, 'delimiter' | 'quote' | 'fields' | 'maxLineBytes'>,
  columns: readonly {
    readonly name: string;
    readonly field: number;
    readonly type: { readonly type: string; readonly precision?: number; readonly scale?: number };
  }[],
  minBufferBytes: number,
): string | undefined {
  const fails = columns.flatMap((c) => {
    if (c.type.type === 'string' || c.type.type === 'boolean') return []; // no cast to fail
    const raw = `_etl_f${c.field}`;
    const target = c.type.type === 'double' ? 'DOUBLE' : stagingParquetType(c.type);
    return [{ name: c.name, raw, fails: `(${raw} <> '' AND TRY_CAST(${raw} AS ${target}) IS NULL)` }];
  });
  if (fails.length === 0) return undefined;
  const first = (what: (f: (typeof fails)[number]) => string) =>
    `CASE ${fails.map((f) => `WHEN ${f.fails} THEN ${what(f)}`).join(' ')} END`;
  return (
    `SELECT filename, _etl_line, ${first((f) => sqlLiteral(f.name))} AS "column", ${first((f) => f.raw)} AS value ` +
    `FROM ${csvStagingReadSql(files, layout, minBufferBytes, true)} ` +
    `WHERE ${fails.map((f) => f.fails).join(' OR ')} ORDER BY _etl_line LIMIT 1`
  );
}
