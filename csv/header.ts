/**
 * The header row against the contract's header policy. Names are compared exactly: a header that
 * differs only in case or surrounding spaces is a mismatch whose message names the column and the
 * exact name to use — trimming silently would make `" amount"` and `"amount"` mean one column in
 * one file and two in another. Header text is untrusted: it is only ever compared and quoted,
 * never used as an object key (Maps and arrays only, so `__proto__` is just a name).
 */
import type { DatasetContract } from '../core/contract';
import { FileRejectedError } from '../core/errors';
import { QUOTED_EMPTY, type Cell } from './csv-records';
import { detached } from './row-errors';

/** Where each contract column is in the CSV records. */
export interface HeaderMapping {
  /** For contract column i (contract order), the index of its field in each record. */
  readonly sourceIndex: readonly number[];
  /** Number of fields every record must have. */
  readonly width: number;
  /** The header as read (for messages). */
  readonly names: readonly string[];
}

const show = (name: string) => JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);

function listNames(names: readonly string[], max = 10): string {
  const shown = names.slice(0, max).map(show).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/**
 * Checks the header and maps contract columns to fields.
 * @throws FileRejectedError HEADER_MISMATCH naming the column and the fix.
 */
export function checkHeader(
  contract: DatasetContract,
  header: readonly Cell[],
  fileKey: string,
  headerLine: number,
  maxColumns: number,
): HeaderMapping {
  // Kept for the whole run: a copy, not slices of the text the record was cut from.
  const names = detached(header.map((c) => (c === QUOTED_EMPTY ? '' : c)));
  const where = `${show(fileKey)}, header on line ${headerLine}`;
  const expected = contract.columns.map((c) => c.name);
  const expectedLine = expected.join(contract.csv.delimiter);
  const reject = (problem: string, fix: string, details: Record<string, unknown> = {}) =>
    new FileRejectedError('HEADER_MISMATCH', `${where}: ${problem}. Fix: ${fix}`, {
      key: fileKey,
      line: headerLine,
      expectedHeader: expected,
      ...details,
    });

  if (names.length > maxColumns) {
    throw reject(
      `the header has ${names.length} columns; the ${contract.dataset} contract has ${expected.length} and at most ${maxColumns} are accepted`,
      `make the first line the header: ${expectedLine}`,
      { columns: names.length },
    );
  }
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    if (name.trim() === '') {
      throw reject(
        `column ${i + 1} has a blank name`,
        'give every column its name from the contract, or remove the empty column',
        { column: i + 1 },
      );
    }
    const first = seen.get(name);
    if (first !== undefined) {
      throw reject(
        `column ${show(name)} appears twice (columns ${first + 1} and ${i + 1})`,
        'keep one of them',
        { column: i + 1, name },
      );
    }
    seen.set(name, i);
  });

  // Near misses first: they are the most common mistake and the most confusing to find.
  const canonical = (s: string) => s.trim().toLowerCase();
  const expectedByCanonical = new Map(expected.map((n) => [canonical(n), n]));
  names.forEach((name, i) => {
    if (expected.includes(name)) return;
    const meant = expectedByCanonical.get(canonical(name));
    if (meant !== undefined && !seen.has(meant)) {
      throw reject(
        `column ${i + 1} is named ${show(name)}, which differs from the contract's ${show(meant)} only in case or surrounding spaces (names are compared exactly)`,
        `rename it to exactly ${show(meant)}`,
        { column: i + 1, name, expected: meant },
      );
    }
  });

  const missing = expected.filter((n) => !seen.has(n));
  const expectedSet = new Set(expected);
  const unknown = names.filter((n) => !expectedSet.has(n));
  const policy = contract.csv.header;
  if (missing.length > 0) {
    throw reject(
      `missing column(s) ${listNames(missing)}`,
      `add them; the contract's header is: ${expectedLine}`,
      { missing },
    );
  }
  if (unknown.length > 0 && policy !== 'extraAllowed') {
    throw reject(
      `unknown column(s) ${listNames(unknown)} (the ${contract.dataset} contract's header policy "${policy}" allows no extra columns)`,
      `remove them, or correct their names; the contract's header is: ${expectedLine}`,
      { unknown: unknown.slice(0, 100) },
    );
  }
  if (policy === 'exact') {
    const wrong = expected.findIndex((n, i) => names[i] !== n);
    if (wrong !== -1) {
      throw reject(
        `column ${wrong + 1} is ${show(names[wrong]!)} but the contract (header policy "exact") expects ${show(expected[wrong]!)} there`,
        `put the columns in this order: ${expectedLine}`,
        { column: wrong + 1 },
      );
    }
  }
  return { sourceIndex: expected.map((n) => seen.get(n)!), width: names.length, names };
}
