/**
 * Test helper: the Parquet staging equivalent of a JSON Lines staging folder (core/staging.ts),
 * written with DuckDB — each `part-NNNNN.jsonl` read with every column VARCHAR, each value checked
 * against its canonical text (core/plan canonicalPattern) and cast to core/staging
 * `stagingParquetType`, `_line` BIGINT, COPY'd to `part-NNNNN.parquet`; `_SUCCESS` copied when
 * the folder has one (last). The same rows as the JSON Lines, typed, as the validate step's fast
 * path writes them.
 *
 * A column holding text that is not canonical (or that its type cannot hold, 2024-02-30) cannot
 * be typed without changing it: that part keeps the column as VARCHAR, i.e. a Parquet staging
 * whose schema does not match the plan — what a careless writer would leave — and the columns are
 * returned so a test can require both engines to refuse it naming the part and the column.
 *
 * Used by the parity suite (test/parity) and the transform benchmark (bench/), which converts the
 * validate step's staging once, outside its timing. Two passes per part: one aggregate finds the
 * columns that cannot be typed, one COPY writes the part.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { LINE_COLUMN, canonicalPattern, stagingTypeOf, type TransformPlan } from '../../core/plan';
import { STAGING_PART_PARQUET, STAGING_SUCCESS, stagingParquetType } from '../../core/staging';

const JSONL_PART = /^part-(\d{5})\.jsonl$/;

/** A column of a part that stayed VARCHAR because its text is not canonical. */
export interface MismatchedColumn {
  readonly part: string;
  readonly column: string;
}

/** Writes the Parquet twin of `jsonlDir`'s parts into `outDir` (created); returns the columns left VARCHAR. */
export async function writeParquetStaging(
  plan: TransformPlan,
  jsonlDir: string,
  outDir: string,
  options: { readonly threads?: number } = {},
): Promise<MismatchedColumn[]> {
  mkdirSync(outDir, { recursive: true });
  const mismatched: MismatchedColumn[] = [];
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(options.threads ?? 1),
    preserve_insertion_order: 'false',
  });
  const connection = await instance.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    for (const name of readdirSync(jsonlDir).sort()) {
      const m = JSONL_PART.exec(name);
      if (!m) continue;
      const part = STAGING_PART_PARQUET(Number(m[1]));
      const columns = [
        ...plan.stagingColumns.map((c) => `${ident(c)}: 'VARCHAR'`),
        `${ident(LINE_COLUMN)}: 'BIGINT'`,
      ];
      const read =
        `read_json(${literal(path.join(jsonlDir, name))}, columns = {${columns.join(', ')}}, ` +
        `format = 'newline_delimited', records = true, maximum_object_size = ${16 * 1024 * 1024})`;
      const checked = plan.stagingColumns.filter(
        (c) => canonicalPattern(stagingTypeOf(plan, c)) !== undefined,
      );
      const badCounts = checked.map((c) => {
        const t = stagingTypeOf(plan, c);
        return (
          `count(*) FILTER (WHERE ${ident(c)} IS NOT NULL AND (NOT regexp_full_match(${ident(c)}, ` +
          `${literal(canonicalPattern(t)!)}) OR TRY_CAST(${ident(c)} AS ${stagingParquetType(t)}) IS NULL))`
        );
      });
      const counts =
        badCounts.length === 0
          ? []
          : (await connection.runAndReadAll(`SELECT ${badCounts.join(', ')} FROM ${read}`)).getRows()[0]!;
      const untyped = new Set(checked.filter((_, i) => Number(counts[i]) > 0));
      const select = plan.stagingColumns.map((c) => {
        if (!checked.includes(c)) return ident(c);
        if (untyped.has(c)) {
          mismatched.push({ part, column: c });
          return ident(c);
        }
        return `CAST(${ident(c)} AS ${stagingParquetType(stagingTypeOf(plan, c))}) AS ${ident(c)}`;
      });
      select.push(ident(LINE_COLUMN));
      await connection.run(
        `COPY (SELECT ${select.join(', ')} FROM ${read}) TO ${literal(path.join(outDir, part))} (FORMAT parquet)`,
      );
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  if (existsSync(path.join(jsonlDir, STAGING_SUCCESS)))
    copyFileSync(path.join(jsonlDir, STAGING_SUCCESS), path.join(outDir, STAGING_SUCCESS));
  return mismatched;
}

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
