/**
 * The validate step the way a first Lambda is usually written: read the whole object, parse it
 * synchronously, check every row, build the outputs in memory, write them at the end. It is the
 * "load everything" baseline of `npm run bench`, and — being a small reading of the contract that
 * shares no code with functions/validate — the sample test's independent check of the sample.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { createAjv, type ColumnSpec, type DatasetContract } from '../core/contract';

/**
 * Returns a function that coerces one record's cells (in `header` order) to the contract's typed
 * row — integers and decimals as numbers, dates as real calendar days, timestamps as UTC ISO text,
 * empty optional cells as null — and checks it with the contract's row schema. It answers
 * undefined for a row that breaks the contract (wrong field count included).
 */
export function naiveRowReader(
  contract: DatasetContract,
  header: readonly string[],
): (cells: readonly string[]) => Record<string, unknown> | undefined {
  const validate = createAjv().compile(contract.rowSchema);
  // Header cells are the columns' sources (the text in the file); the typed row is keyed by name.
  const byName = new Map<string, ColumnSpec>(contract.columns.map((c) => [c.source, c]));
  const specs = header.map((h) => byName.get(h));
  return (cells) => {
    if (cells.length !== header.length) return undefined;
    const row: Record<string, unknown> = {};
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i];
      if (!spec) return undefined;
      const value = coerceCell(spec, cells[i]!);
      if (value === INVALID) return undefined;
      if (value !== undefined) row[spec.name] = value;
    }
    return validate(row) ? row : undefined;
  };
}

const INVALID = Symbol('invalid');

function coerceCell(spec: ColumnSpec, cell: string): unknown {
  if (cell === '') return spec.required ? undefined : null;
  switch (spec.type) {
    case 'integer':
      return /^-?\d+$/.test(cell) ? Number(cell) : INVALID;
    case 'decimal': {
      const m = /^-?\d+(?:\.(\d+))?$/.exec(cell);
      return m && (m[1]?.length ?? 0) <= spec.scale! ? Number(cell) : INVALID;
    }
    case 'double':
      return Number.isFinite(Number(cell)) ? Number(cell) : INVALID;
    case 'boolean':
      return cell === 'true' ? true : cell === 'false' ? false : INVALID;
    case 'date': {
      const [y, m, d] = cell.split('-').map(Number);
      const day = new Date(Date.UTC(y!, m! - 1, d!));
      return /^\d{4}-\d{2}-\d{2}$/.test(cell) && day.toISOString().slice(0, 10) === cell ? cell : INVALID;
    }
    case 'timestamp': {
      if (spec.defaultTimezone !== 'UTC' && !/(Z|[+-]\d\d:\d\d)$/.test(cell)) return INVALID;
      // Zone-less values take the default zone, which this naive reader only knows for UTC.
      const ms = Date.parse(/(Z|[+-]\d\d:\d\d)$/.test(cell) ? cell : `${cell}Z`);
      return Number.isNaN(ms) ? INVALID : new Date(ms).toISOString();
    }
    case 'string':
      return cell;
  }
}

/** Counts of one in-memory validation. */
export interface NaiveValidation {
  readonly rowsRead: number;
  readonly rowsValid: number;
  readonly rowsRejected: number;
}

/** Validates `file` entirely in memory and writes `staging.jsonl` and `rejects.jsonl` to `outDir`. */
export function validateInMemory(file: string, contract: DatasetContract, outDir: string): NaiveValidation {
  const records = parse(readFileSync(file, 'utf8'), { relax_column_count: true }) as string[][];
  const header = records[0] ?? [];
  const readRow = naiveRowReader(contract, header);
  const valid: string[] = [];
  const rejected: string[] = [];
  for (let i = 1; i < records.length; i++) {
    const row = readRow(records[i]!);
    if (row) valid.push(JSON.stringify({ ...row, _record: i }));
    else rejected.push(JSON.stringify({ record: i, cells: records[i] }));
  }
  writeFileSync(path.join(outDir, 'staging.jsonl'), valid.join('\n'));
  writeFileSync(path.join(outDir, 'rejects.jsonl'), rejected.join('\n'));
  return { rowsRead: records.length - 1, rowsValid: valid.length, rowsRejected: rejected.length };
}
