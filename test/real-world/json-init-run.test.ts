/**
 * Issue 14's "Done when" for JSON: a gzip JSON Lines file of nested GitHub-Archive-shaped events
 * (generated, seeded: test/real-world/github-events.ts) and public-style JSON files
 * (test/fixtures/real-world-json: messy keys, a top-level array, no key and no dates) each go through
 * `etl init` and then `etl run` UNEDITED, end SUCCEEDED with no rejected record, and the curated
 * table equals, row for row, what Python's json and gzip modules read from the original file
 * (json_reference_reader.py, typed by the inferred contract's column types and paths).
 *
 * Rows are compared as multisets (the curated table has no order; exact duplicates count).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../cli/main';
import { queryLake } from '../../local/lake-query';
import { VENV_PYTHON } from '../support/python';
import { writeGithubEvents } from './github-events';

const FIXTURES = path.resolve(__dirname, '../fixtures/real-world-json');
const READER = path.join(__dirname, 'json_reference_reader.py');

interface ContractColumn {
  name: string;
  path: string;
  type: string;
  scale?: number;
  json?: boolean;
  required: boolean;
}
interface Contract {
  format: string;
  columns: ContractColumn[];
  primaryKey?: string[];
  partition?: { column: string; granularity: string };
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

type Row = (string | null)[];

/** Python's view of the original file, typed by the contract; the lake's JSON texts canonicalized alike. */
function reference(file: string, contractFile: string, lakeRows: Row[]): { rows: Row[]; lake: Row[] } {
  const lakeFile = `${contractFile}.lake.json`;
  writeFileSync(lakeFile, JSON.stringify(lakeRows));
  const r = spawnSync(VENV_PYTHON, [READER, file, contractFile, lakeFile], {
    encoding: 'utf8',
    maxBuffer: 512 * 2 ** 20,
  });
  if (r.status !== 0)
    throw new Error(`json_reference_reader.py failed on ${path.basename(file)}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as { rows: Row[]; lake: Row[] };
}

/** The SQL expression whose text is the column's canonical form (see json_reference_reader.py). */
function canonicalSql(c: ContractColumn): string {
  const col = `"${c.name}"`;
  if (c.type === 'timestamp') return `CAST(epoch_us(${col}) AS VARCHAR)`;
  if (c.type === 'double') return col;
  return `CAST(${col} AS VARCHAR)`;
}

function canonicalCell(c: ContractColumn, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (c.type === 'decimal') {
    const [int, frac = ''] = String(value).split('.');
    return BigInt(`${int}${frac.padEnd(c.scale!, '0')}`).toString();
  }
  if (c.type === 'double') return String(Number(value));
  return String(value);
}

const sortRows = (rows: Row[]) => rows.map((r) => JSON.stringify(r)).sort();

describe('JSON files: etl init, then etl run unedited, equal to Python json row for row', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'etl-real-world-json-'));
  const schemas = path.join(work, 'schemas');
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** init → run → compare; returns the contract for the case's own assertions. */
  async function initRunCompare(file: string): Promise<Contract> {
    const home = path.join(work, `home-${path.basename(file)}`);
    const init = await etl(['init', file, '--schemas', schemas, '--json'], work);
    expect(init.err).toBe('');
    expect(init.code).toBe(0);
    const { dataset, contractFile } = JSON.parse(init.out) as { dataset: string; contractFile: string };
    const contract = JSON.parse(readFileSync(contractFile, 'utf8')) as Contract;

    const check = await etl(['contract', 'check', dataset, '--schemas', schemas], work);
    expect(check.code).toBe(0);

    const run = await etl(
      ['--home', home, 'run', file, '--dataset', dataset, '--schemas', schemas, '--json'],
      work,
    );
    expect(run.err).toBe('');
    const result = JSON.parse(run.out) as {
      status: string;
      rowsRead: number;
      rowsRejected: number;
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

    const table = dataset.replace(/-/g, '_');
    const select = contract.columns.map((c) => `${canonicalSql(c)} AS "${c.name}"`).join(', ');
    const curated = await queryLake(path.join(home, 'lake'), `SELECT ${select} FROM "${table}"`, schemas);
    const lakeRows = curated.rows.map((row) => contract.columns.map((c) => canonicalCell(c, row[c.name])));
    const expected = reference(file, contractFile, lakeRows);
    expect(result.rowsRead).toBe(expected.rows.length);
    const pythonRows = expected.rows.map((row) =>
      row.map((v, i) => (v !== null && contract.columns[i]!.type === 'double' ? String(Number(v)) : v)),
    );
    expect(sortRows(expected.lake)).toEqual(sortRows(pythonRows));
    return contract;
  }

  const column = (contract: Contract, name: string) => contract.columns.find((c) => c.name === name);

  test('gzip JSON Lines of nested GitHub events: flattened columns, payload as JSON text, key id, partition by day', async () => {
    const file = path.join(work, 'github-events.jsonl.gz');
    await writeGithubEvents(file, 12_000, 8);
    const contract = await initRunCompare(file);
    expect(contract.format).toBe('jsonl');
    expect(contract.primaryKey).toEqual(['id']);
    expect(contract.partition).toEqual({ column: 'created_at', granularity: 'day' });
    expect(column(contract, 'id')).toMatchObject({ path: 'id', type: 'integer', required: true });
    expect(column(contract, 'actor_login')).toMatchObject({
      path: 'actor.login',
      type: 'string',
      required: true,
    });
    expect(column(contract, 'actor_id')).toMatchObject({ path: 'actor.id', type: 'integer', required: true });
    expect(column(contract, 'actor_display_login')).toMatchObject({ required: false });
    expect(column(contract, 'repo_name')).toMatchObject({ path: 'repo.name', type: 'string' });
    expect(column(contract, 'payload')).toMatchObject({
      path: 'payload',
      type: 'string',
      json: true,
      required: true,
    });
    expect(column(contract, 'public')).toMatchObject({ type: 'boolean' });
    expect(column(contract, 'created_at')).toMatchObject({ type: 'timestamp', required: true });
    expect(column(contract, 'org_login')).toMatchObject({
      path: 'org.login',
      type: 'string',
      required: false,
    });
    expect(column(contract, 'org_id')).toMatchObject({ type: 'integer', required: false });
  });

  test('messy keys (spaces, dashes, unicode, a dot in a key, a reserved word) get safe names; the original is the path', async () => {
    const contract = await initRunCompare(path.join(FIXTURES, 'survey-messy-keys.jsonl'));
    const paths = Object.fromEntries(contract.columns.map((c) => [c.name, c.path]));
    expect(paths).toMatchObject({
      response_id: 'Response ID',
      e_mail: 'e-mail',
      is_active: 'isActive',
      order_: 'order',
      col_2019_pop: '2019 Pop',
      a_b: 'a\\.b',
      team_team_name: 'Team.Team Name',
      tags: 'tags',
    });
    for (const c of contract.columns) expect(c.name).toMatch(/^[a-z_][a-z0-9_]{0,127}$/);
    expect(column(contract, 'tags')).toMatchObject({ json: true });
    expect(contract.primaryKey).toEqual(['response_id']);
    expect(contract.partition).toBeUndefined();
  });

  test('a top-level JSON array (pretty-printed), nested address, decimals as strings and numbers, a nullable timestamp', async () => {
    const contract = await initRunCompare(path.join(FIXTURES, 'customers-array.json'));
    expect(contract.format).toBe('json');
    expect(column(contract, 'address_zip')).toMatchObject({ path: 'address.zip', type: 'string' });
    expect(column(contract, 'balance')).toMatchObject({ type: 'decimal', scale: 2 });
    expect(column(contract, 'last_order_at')).toMatchObject({ type: 'timestamp', required: false });
    expect(contract.primaryKey).toEqual(['customer_id']);
  });

  test('no key and no dates (CRLF, exact duplicate records, numbers and booleans written as strings)', async () => {
    const contract = await initRunCompare(path.join(FIXTURES, 'sensor-no-key.jsonl'));
    expect(contract.primaryKey).toBeUndefined();
    expect(contract.partition).toBeUndefined();
    expect(column(contract, 'battery')).toMatchObject({ type: 'integer' });
    expect(column(contract, 'ok')).toMatchObject({ type: 'boolean' });
  });
});
