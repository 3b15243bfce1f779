/**
 * The rows a validate run staged, with canonical values as JSON Lines staging holds them, whatever
 * staging the run wrote (core/staging.ts): a JSON Lines part as it is; a CSV staging part (the
 * checked fast path's: `_line`, then the record's fields as they were; csv/README.md "CSV
 * staging") read with csv-parse by its plan.json layout, each value made canonical by the
 * JavaScript checker's own coercion (csv/coerce.ts), not by the transform's reader — that the
 * transform reads CSV staging as it reads the others is test/transform/csv-staging.test.ts's.
 * Parquet staging parts are not read here (test/support/parquet-staging.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { DatasetContract } from '../../core/contract';
import type { TransformPlan } from '../../core/plan';
import { coercerFor } from '../../csv/coerce';
import { RowProblem } from '../../csv/row-errors';

export type StagedRow = Record<string, string | number | null> & { _line: number };

/** Sets `name` as an own property, `__proto__` included (as JSON.parse does), never the prototype. */
function put(row: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(row, name, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The staged rows of one staging folder (its part files and plan.json), in line order; keys in the
 * contract's column order, then `_line`, as JSON Lines staging writes them.
 */
export function stagedRowsIn(dir: string, contract: DatasetContract): StagedRow[] {
  const rows: StagedRow[] = [];
  const names = readdirSync(dir).sort();
  for (const name of names) {
    const full = path.join(dir, name);
    if (/^part-\d{5}\.jsonl$/.test(name)) {
      for (const line of readFileSync(full, 'utf8').split('\n'))
        if (line) rows.push(JSON.parse(line) as StagedRow);
    } else if (/^part-\d{5}\.csv$/.test(name)) {
      const plan = JSON.parse(readFileSync(path.join(dir, 'plan.json'), 'utf8')) as TransformPlan;
      const layout = plan.stagingCsv;
      if (!layout) throw new Error(`${full}: a CSV staging part, but plan.json has no stagingCsv layout`);
      const notes = { ambiguousLocalTimes: 0 };
      const records = parse(readFileSync(full), {
        delimiter: layout.delimiter,
        quote: layout.quote,
        // An unquoted empty field is NULL; a quoted one ("") an empty text.
        cast: (value, context) => (value === '' && !context.quoting ? null : value),
      }) as (string | null)[][];
      for (const [line, ...fields] of records) {
        if (fields.length !== layout.fields)
          throw new Error(`${full}: a record of ${fields.length} fields, plan.json says ${layout.fields}`);
        const row: Record<string, unknown> = {};
        for (const column of contract.columns) {
          const raw = fields[layout.columnFields[column.name]!]!;
          const value = raw === null || (raw === '' && column.type !== 'string') ? null : raw;
          const canonical =
            value === null || column.type === 'string' ? value : coercerFor(column, notes)(value);
          if (canonical instanceof RowProblem) throw new Error(`${full}: ${canonical.message}`);
          put(row, column.name, canonical);
        }
        put(row, '_line', Number(line));
        rows.push(row as StagedRow);
      }
    } else if (/^part-\d{5}\./.test(name)) {
      throw new Error(`${full}: this staging format is not read here`);
    }
  }
  return rows.sort((a, b) => a._line - b._line);
}
