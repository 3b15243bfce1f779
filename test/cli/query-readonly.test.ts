/**
 * `etl query` is read-only for real: one SELECT-type statement (DuckDB's own parser decides),
 * file access limited to the lake, configuration locked; `--param` binds `?` placeholders.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseQueryParam } from '../../cli/commands/query';
import { DEFAULT_SCHEMAS_DIR } from '../../core/contract';
import { Sandbox } from './harness';

describe('etl query is read-only', () => {
  const box = new Sandbox();
  beforeAll(async () => {
    const good = box.copyFixture('registrations/small.csv', 'incoming/registrations/small.csv');
    const run = await box.etl(['run', good]);
    expect(run.code).toBe(0);
  });
  afterAll(() => box.remove());

  test('a SELECT answers', async () => {
    const r = await box.etlJson<{ rows: { n: unknown }[] }>([
      'query',
      'SELECT count(*) AS n FROM registrations',
    ]);
    expect(r.code).toBe(0);
    expect(Number(r.json.rows[0]!.n)).toBeGreaterThan(0);
  });

  test.each([
    'DESCRIBE registrations',
    'WITH t AS (SELECT 1 AS x) SELECT * FROM t',
    'FROM registrations LIMIT 1',
  ])('%s is a query too', async (sql) => {
    expect((await box.etl(['query', sql])).code).toBe(0);
  });

  const out = (name: string) => path.join(box.dir, name);
  test.each([
    [`COPY registrations TO '${out('copy.csv')}'`, /COPY statement is refused/, 'copy.csv'],
    [
      `COPY (SELECT 1) TO '${out('copy2.parquet')}' (FORMAT parquet)`,
      /COPY statement is refused/,
      'copy2.parquet',
    ],
    [`ATTACH '${out('other.duckdb')}' AS other`, /ATTACH statement is refused/, 'other.duckdb'],
    ['INSTALL httpfs', /INSTALL statement is refused/, undefined],
    ['CREATE TABLE t AS SELECT 1 AS x', /CREATE statement is refused/, undefined],
    ['SET threads = 1', /SET statement is refused/, undefined],
    [`EXPORT DATABASE '${out('export')}'`, /EXPORT statement is refused/, 'export'],
    ['SELECT 1; SELECT 2', /exactly one statement; this text holds 2/, undefined],
  ])('%s is refused with exit 64 and a clear message, nothing written', async (sql, message, written) => {
    const r = await box.etl(['query', sql]);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(message);
    expect(r.err).toMatch(/^etl: /);
    if (written) expect(existsSync(out(written))).toBe(false);
  });

  test('a SELECT cannot read files outside the lake either', async () => {
    const r = await box.etl(['query', "SELECT * FROM read_csv('/etc/hostname')"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/file system operations are disabled|Permission Error/);
  });

  test('--param binds ? placeholders in order: text, numbers, quoted text', async () => {
    const r = await box.etlJson<{ rows: { a: unknown; b: unknown; c: unknown; n: unknown }[] }>([
      'query',
      'SELECT ? AS a, ? + 1 AS b, ? AS c, (SELECT count(*) FROM registrations WHERE ? = 1) AS n',
      '--param',
      "it's",
      '--param',
      '41',
      '--param',
      "'5'",
      '--param',
      '1',
    ]);
    expect(r.code).toBe(0);
    expect(r.json.rows[0]).toMatchObject({ a: "it's", c: '5' });
    expect(Number(r.json.rows[0]!.b)).toBe(42);
    expect(Number(r.json.rows[0]!.n)).toBeGreaterThan(0);
  });

  test('a --param count that does not match the placeholders is refused', async () => {
    const r = await box.etl(['query', 'SELECT ? AS a', '--param', '1', '--param', '2']);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(/1 \? placeholder\(s\) but 2 --param/);
  });

  test('curated data whose contract is not in --schemas is named, with the flag to pass', async () => {
    const other = path.join(box.dir, 'other-contracts');
    mkdirSync(other);
    const none = await box.etl(['query', 'SELECT 1 AS x FROM registrations', '--schemas', other]);
    expect(none.code).toBe(64);
    expect(none.err).toContain(
      `curated data without a contract in ${other}: registrations — pass --schemas <dir>, the contracts folder those runs used`,
    );
    expect(none.err).not.toMatch(/run a file first/);
    // With its contract there as well, the same query answers.
    copyFileSync(
      path.join(DEFAULT_SCHEMAS_DIR, 'registrations.schema.json'),
      path.join(other, 'registrations.schema.json'),
    );
    expect((await box.etl(['query', 'SELECT 1 AS x FROM registrations', '--schemas', other])).code).toBe(0);
  });

  test('parseQueryParam: the one rule for local and remote', () => {
    expect(parseQueryParam('5')).toBe(5);
    expect(parseQueryParam('-1.5')).toBe(-1.5);
    expect(parseQueryParam('12345678901234567890')).toBe(12345678901234567890n);
    expect(parseQueryParam('true')).toBe(true);
    expect(parseQueryParam("'5'")).toBe('5');
    expect(parseQueryParam('2024-06-01')).toBe('2024-06-01');
  });
});
