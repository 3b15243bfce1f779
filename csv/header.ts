/**
 * The header row against the contract's header policy. Each contract column is found by its
 * `source` (the header text as written: spaces, `$`, unicode; a BOM is already gone). Names are
 * compared exactly: a header that
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

/** Delimiters a header is tried on when it does not match, to say which one the file uses. */
const OTHER_DELIMITERS = ['\t', ';', '|', ','];
const delimiterName = (d: string) => (d === '\t' ? '<tab>' : JSON.stringify(d));

/**
 * The delimiter (other than the contract's) on which the header line splits into the contract's
 * columns, or undefined. The cells are joined back with the contract's delimiter: that is the
 * line as read (without the quotes around cells).
 */
function delimiterHint(
  names: readonly string[],
  contractDelimiter: string,
  expected: readonly string[],
  policy: string,
): string | undefined {
  const line = names.join(contractDelimiter);
  for (const d of OTHER_DELIMITERS) {
    if (d === contractDelimiter || !line.includes(d)) continue;
    const parts = line.split(d).map((p) => (/^".*"$/s.test(p) ? p.slice(1, -1).replaceAll('""', '"') : p));
    const got = new Set(parts);
    const all = expected.every((n) => got.has(n));
    if (all && (policy === 'extraAllowed' || parts.length === expected.length)) return d;
  }
  return undefined;
}

/**
 * Checks the header and maps contract columns to fields: each column's `source` (the header text,
 * any text) is looked up among the header's cells.
 * @throws FileRejectedError HEADER_MISMATCH naming the header found, the missing and the unknown
 *   columns, and the fix (the delimiter to set when the header splits on another one)
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
  const expected = contract.columns.map((c) => c.source);
  const { delimiter } = contract.csv;
  const expectedLine = expected.join(delimiter);
  const contractFile = `${contract.dataset}.schema.json`;
  const found = () => {
    const line = names.join(delimiter);
    return ` (the header on line ${headerLine} reads ${JSON.stringify(line.length > 300 ? `${line.slice(0, 300)}…` : line)})`;
  };
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
  const policy = contract.csv.header;
  const hinted = delimiterHint(names, delimiter, expected, policy);
  if (hinted !== undefined) {
    const missing = expected.filter((n) => !names.includes(n));
    throw reject(
      `missing column(s) ${listNames(missing)}${found()}`,
      `the header splits on ${delimiterName(hinted)} into the expected columns: set csv.delimiter to ${JSON.stringify(hinted)} in ${contractFile}, or save the file with ${delimiterName(delimiter)} between fields`,
      { missing, delimiter: hinted },
    );
  }
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    // A blank name is refused unless the contract names that very text as a column's source.
    if (name.trim() === '' && !expected.includes(name)) {
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
  const unknownAllowed = policy === 'extraAllowed';
  const unknownText = `unknown column(s) ${listNames(unknown)} (the ${contract.dataset} contract's header policy "${policy}" allows no extra columns)`;
  if (missing.length > 0) {
    throw reject(
      `missing column(s) ${listNames(missing)}${unknown.length > 0 && !unknownAllowed ? `; ${unknownText}` : ''}${found()}`,
      `add them (or set their "source" in ${contractFile} to the header text the file uses); the contract's header is: ${expectedLine}`,
      { missing, ...(unknown.length > 0 && { unknown: unknown.slice(0, 100) }) },
    );
  }
  if (unknown.length > 0 && !unknownAllowed) {
    throw reject(
      `${unknownText}${found()}`,
      `remove them, or correct their names; the contract's header is: ${expectedLine}`,
      { unknown: unknown.slice(0, 100) },
    );
  }
  if (policy === 'exact') {
    const wrong = expected.findIndex((n, i) => names[i] !== n);
    if (wrong !== -1) {
      throw reject(
        `column ${wrong + 1} is ${show(names[wrong]!)} but the contract (header policy "exact") expects ${show(expected[wrong]!)} there${found()}`,
        `put the columns in this order: ${expectedLine}`,
        { column: wrong + 1 },
      );
    }
  }
  return { sourceIndex: expected.map((n) => seen.get(n)!), width: names.length, names };
}
