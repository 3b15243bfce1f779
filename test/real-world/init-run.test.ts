/**
 * The "Done when": real-world-shaped files that nobody shaped to this pipeline (messy
 * headers, no date, no key, exact duplicate lines, quoted newlines, CRLF, a BOM, unicode, tabs, a
 * quote in an unquoted field, semicolons with decimal commas, timestamps over years) each go
 * through `etl init` and then `etl run` UNEDITED, end SUCCEEDED with no rejected row, and the
 * curated table equals, cell for cell, what Python's csv module reads from the original file
 * (reference_reader.py, typed by the inferred contract's column types).
 *
 * Rows are compared as multisets (the curated table has no order; exact duplicates count).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { main } from '../../cli/main';
import { queryLake } from '../../local/lake-query';
import { VENV_PYTHON } from '../support/python';

const FIXTURES = path.resolve(__dirname, '../fixtures/real-world');
const READER = path.join(__dirname, 'reference_reader.py');

interface ContractColumn {
  name: string;
  source: string;
  type: string;
  scale?: number;
}

async function etl(
  args: readonly string[],
  cwd: string,
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, {
    out: (t) => (out += t),
    err: (t) => (err += t),
    cwd,
    env: { ...process.env, ETL_HOME: '', ETL_SCHEMAS: '' },
    isTTY: false,
  });
  return { code, out, err };
}

/** Python's view of the original file, typed by the contract. */
function reference(file: string, contractFile: string): { columns: string[]; rows: (string | null)[][] } {
  const r = spawnSync(VENV_PYTHON, [READER, file, contractFile], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`reference_reader.py failed on ${path.basename(file)}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as { columns: string[]; rows: (string | null)[][] };
}

/** The SQL expression whose text is the column's canonical form (see reference_reader.py). */
function canonicalSql(c: ContractColumn): string {
  const col = `"${c.name}"`;
  switch (c.type) {
    case 'timestamp':
      return `CAST(epoch_us(${col}) AS VARCHAR)`;
    case 'double':
      return col; // a JSON number; compared through Number() on both sides
    default:
      return `CAST(${col} AS VARCHAR)`;
  }
}

function canonicalCell(c: ContractColumn, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (c.type === 'decimal') {
    // "12.50" → "1250": the value × 10^scale, exactly.
    const [int, frac = ''] = String(value).split('.');
    return BigInt(`${int}${frac.padEnd(c.scale!, '0')}`).toString();
  }
  if (c.type === 'double') return String(Number(value));
  return String(value);
}

const sortRows = (rows: (string | null)[][]) => rows.map((r) => JSON.stringify(r)).sort();

const CASES = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.csv'))
  .sort();

describe('real-world files: etl init, then etl run unedited', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'etl-real-world-'));
  const schemas = path.join(work, 'schemas');
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test('the suite has the files it promises', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(10);
  });

  test.each([
    ...CASES.map((name) => [name, name] as const),
    // The pipeline takes .csv.gz as it is (gunzipped as it streams): so does etl init.
    ['shop-visits.csv', 'shop-visits-gzip.csv.gz'] as const,
  ])('%s as %s loads as inferred and matches Python csv cell for cell', async (name, as) => {
    const plain = path.join(FIXTURES, name);
    const file = as === name ? plain : path.join(work, as);
    if (as !== name) writeFileSync(file, gzipSync(readFileSync(plain)));
    const home = path.join(work, `home-${as}`);

    const init = await etl(['init', file, '--schemas', schemas, '--json'], work);
    expect(init.err).toBe('');
    expect(init.code).toBe(0);
    const { dataset, contractFile } = JSON.parse(init.out) as { dataset: string; contractFile: string };
    const contract = JSON.parse(readFileSync(contractFile, 'utf8')) as { columns: ContractColumn[] };

    const run = await etl(
      ['--home', home, 'run', file, '--dataset', dataset, '--schemas', schemas, '--json'],
      work,
    );
    expect(run.err).toBe('');
    const result = JSON.parse(run.out) as {
      status: string;
      rowsRead: number;
      rowsRejected: number;
      exactDuplicates?: number;
      rejection?: unknown;
    };
    expect({ status: result.status, rowsRejected: result.rowsRejected, rejection: result.rejection }).toEqual(
      {
        status: 'SUCCEEDED',
        rowsRejected: 0,
        rejection: undefined,
      },
    );
    expect(run.code).toBe(0);

    const expected = reference(plain, contractFile);
    expect(result.rowsRead).toBe(expected.rows.length);
    // Exact duplicate lines are kept (no key) and counted: as many as the independent reader sees.
    const distinct = new Set(expected.rows.map((row) => JSON.stringify(row))).size;
    expect(result.exactDuplicates).toBe(expected.rows.length - distinct);
    const table = dataset.replace(/-/g, '_');
    const select = contract.columns.map((c) => `${canonicalSql(c)} AS "${c.name}"`).join(', ');
    const curated = await queryLake(path.join(home, 'lake'), `SELECT ${select} FROM "${table}"`, schemas);
    const actual = curated.rows.map((row) => contract.columns.map((c) => canonicalCell(c, row[c.name])));
    const pythonRows = expected.rows.map((row) =>
      row.map((v, i) => (v !== null && contract.columns[i]!.type === 'double' ? String(Number(v)) : v)),
    );
    expect(sortRows(actual)).toEqual(sortRows(pythonRows));
  });
});
