/** `etl init` through the CLI's main(): the table, the file it writes, --force, --json, exit codes. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Sandbox } from '../cli/harness';

describe('etl init', () => {
  const box = new Sandbox('etl-init-');
  afterAll(() => box.remove());
  const csv = path.join(box.dir, 'Airport Delays.csv');
  writeFileSync(csv, 'Airport Name,Cost Total $,id\nSFO,12.50,1\nOAK,3.25,2\n');
  const contractFile = path.join(box.dir, 'contracts', 'airport_delays.schema.json');

  test('prints the decisions and writes <schemas>/<dataset>.schema.json (contract v2)', async () => {
    const r = await box.etl(['init', csv, '--schemas', 'contracts']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/column\s+source\s+type\s+required\s+checks\s+why/);
    expect(r.out).toMatch(/airport_name\s+"Airport Name"\s+string\s+yes/);
    expect(r.out).toMatch(/cost_total\s+"Cost Total \$"\s+decimal\(9,2\)\s+yes/);
    expect(r.out).toMatch(/primary key {2}id — /);
    expect(r.out).toMatch(/partition {4}\(none\) — none: the file has no date or timestamp column/);
    expect(r.out).toMatch(/next: etl run .* --dataset airport_delays --schemas contracts/);
    const contract = JSON.parse(readFileSync(contractFile, 'utf8')) as Record<string, unknown>;
    expect(contract).toMatchObject({
      version: 2,
      csv: { delimiter: ',', relaxQuotes: false },
      columns: [
        { name: 'airport_name', source: 'Airport Name', type: 'string', required: true },
        {
          name: 'cost_total',
          source: 'Cost Total $',
          type: 'decimal',
          precision: 9,
          scale: 2,
          required: true,
        },
        { name: 'id', source: 'id', type: 'integer', required: true },
      ],
      primaryKey: ['id'],
    });
    expect(contract.partition).toBeUndefined();
  });

  test('never overwrites without --force: exit 64 with the fix, file unchanged', async () => {
    writeFileSync(contractFile, '{"edited": true}\n');
    const r = await box.etl(['init', csv, '--schemas', 'contracts']);
    expect(r.code).toBe(64);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/airport_delays\.schema\.json already exists; nothing was written\. Pass --force/);
    expect(readFileSync(contractFile, 'utf8')).toBe('{"edited": true}\n');
    const forced = await box.etl(['init', csv, '--schemas', 'contracts', '--force']);
    expect(forced.code).toBe(0);
    expect(JSON.parse(readFileSync(contractFile, 'utf8'))).toMatchObject({ version: 2 });
  });

  test('--json prints the contract and the decisions as one object', async () => {
    const { code, json } = await box.etlJson<{
      dataset: string;
      contract: { version: number };
      decisions: { primaryKey: { columns: string[] }; columns: { name: string; why: string }[] };
    }>(['init', csv, '--schemas', 'contracts', '--dataset', 'delays', '--force']);
    expect(code).toBe(0);
    expect(json.dataset).toBe('delays');
    expect(json.contract.version).toBe(2);
    expect(json.decisions.primaryKey.columns).toEqual(['id']);
    expect(json.decisions.columns[1]!.why).toMatch(/plain decimals/);
    expect(existsSync(path.join(box.dir, 'contracts', 'delays.schema.json'))).toBe(true);
  });

  test('ETL_SCHEMAS is the default contracts folder', async () => {
    let out = '';
    const { main } = await import('../../cli/main');
    const code = await main(['init', csv, '--dataset', 'from_env'], {
      out: (t) => (out += t),
      err: (t) => (out += t),
      cwd: box.dir,
      env: { ...process.env, ETL_SCHEMAS: path.join(box.dir, 'env-contracts') },
      isTTY: false,
    });
    expect(code).toBe(0);
    expect(existsSync(path.join(box.dir, 'env-contracts', 'from_env.schema.json'))).toBe(true);
  });

  test('a dataset name the rule refuses is a usage error that says the rule', async () => {
    const r = await box.etl(['init', csv, '--dataset', 'Bad Name', '--schemas', 'contracts']);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(/dataset name "Bad Name" is not allowed: it must match .*Pass --dataset <name>/);
  });

  test('a missing file is a usage error', async () => {
    const r = await box.etl(['init', 'nope.csv']);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(/nope\.csv: no such file/);
  });

  test('a file that is not UTF-8 exits 2 naming the byte offset and the fix; nothing is written', async () => {
    const latin1 = path.join(box.dir, 'latin1.csv');
    writeFileSync(latin1, Buffer.concat([Buffer.from('name\ncaf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    const r = await box.etl(['init', latin1, '--schemas', 'contracts']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /latin1\.csv: the file is not valid UTF-8: bytes 0xE9 .* at byte offset 8.*Fix: save the file as UTF-8/,
    );
    expect(existsSync(path.join(box.dir, 'contracts', 'latin1.schema.json'))).toBe(false);
  });
});

describe('etl init on a file whose name etl run would refuse', () => {
  const box = new Sandbox('etl-init-name-');
  afterAll(() => box.remove());

  test('a .tsv: the contract is written, and init says first what etl run will refuse and how to fix it', async () => {
    const tsv = path.join(box.dir, 'packages.tsv');
    writeFileSync(tsv, 'name (every package)\tversion\nAcornima\t1.9.2\nADRaffy.ENSNormalize\t0.3.1\n');
    const r = await box.etl(['init', tsv, '--schemas', 'contracts']);
    expect(r.code).toBe(0);
    expect(existsSync(path.join(box.dir, 'contracts', 'packages.schema.json'))).toBe(true);
    expect(r.out).toMatch(
      /\nfirst: etl run will refuse this file's name \(file name does not end in \.csv, .*\); name the file after its format: \*\.csv/,
    );
    expect(r.out.indexOf('first:')).toBeLessThan(r.out.indexOf('next: etl run'));
    const json = await box.etl(['init', tsv, '--schemas', 'contracts', '--force', '--json']);
    expect(JSON.parse(json.out)).toMatchObject({ first: expect.stringMatching(/^etl run will refuse/) });
  });

  test('a .csv says nothing of the kind', async () => {
    const csv = path.join(box.dir, 'packages.csv');
    writeFileSync(csv, 'name,version\nAcornima,1.9.2\nADRaffy.ENSNormalize,0.3.1\n');
    const r = await box.etl(['init', csv, '--schemas', 'contracts', '--force']);
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/first:/);
    const json = await box.etl(['init', csv, '--schemas', 'contracts', '--force', '--json']);
    expect(JSON.parse(json.out)).not.toHaveProperty('first');
  });
});
