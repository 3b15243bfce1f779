/** `etl init` on JSON files: reading (gzip, arrays, bad records), sampling, the key, and the CLI's report. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { inferJsonContract } from '../../infer/json-reader';
import { Sandbox } from '../cli/harness';
import { csvFile } from './support';

const jsonl = (records: readonly unknown[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';
const events = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: 100 + i,
    kind: ['a', 'b', 'c'][i % 3],
    user: { id: i % 7, name: `u${i % 7}` },
    at: new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString(),
  }));

describe('inferJsonContract', () => {
  test('a gzip JSON Lines file is read through gunzip; its records give the columns, key and enum', async () => {
    const file = csvFile(gzipSync(jsonl(events(120))), 'events.jsonl.gz');
    const inference = await inferJsonContract(file);
    expect(inference).toMatchObject({ format: 'jsonl', gzip: true, rows: 120, sampled: false });
    expect(inference.contract).toMatchObject({
      format: 'jsonl',
      columns: [
        { name: 'id', path: 'id', type: 'integer', required: true },
        { name: 'kind', path: 'kind', type: 'string', enum: ['a', 'b', 'c'] },
        { name: 'user_id', path: 'user.id', type: 'integer' },
        { name: 'user_name', path: 'user.name', type: 'string' },
        { name: 'at', path: 'at', type: 'timestamp' },
      ],
      primaryKey: ['id'],
    });
    expect(inference.reading).toEqual(expect.arrayContaining([expect.stringMatching(/compression gzip/)]));
  });

  test('a JSON array file: records start on their own lines; a repeated id is no key, naming both lines', async () => {
    const records = [{ id: 1 }, { id: 2 }, { id: 1 }];
    const file = csvFile(JSON.stringify(records, null, 2), 'rows.json');
    const inference = await inferJsonContract(file);
    expect(inference.format).toBe('json');
    expect(inference.key.columns).toEqual([]);
    expect(inference.key.why).toMatch(/"1" appears on line 2 and again on line 8/);
  });

  test('past maxBytes only the first records are read: sampled, no key, no enum, and the warning says so', async () => {
    const text = jsonl(events(400));
    const file = csvFile(text, 'big.jsonl');
    const inference = await inferJsonContract(file, { maxBytes: Math.floor(text.length / 4) });
    expect(inference.sampled).toBe(true);
    expect(inference.rows).toBeGreaterThan(50);
    expect(inference.rows).toBeLessThan(200);
    expect(inference.key.columns).toEqual([]);
    expect(inference.key.why).toMatch(/unique in the part of the file read/);
    expect(inference.columns.find((c) => c.name === 'kind')!.enum).toBeUndefined();
    expect(inference.warnings.join('\n')).toMatch(/only the first .* of JSON text \(\d+ records\) were read/);
  });

  test('a line that is not JSON and a record that is not an object are warnings (etl run rejects those rows)', async () => {
    const file = csvFile('{"id": 1}\n{"id": 2,\n[1, 2]\n{"id": 3}\n', 'mixed.jsonl');
    const inference = await inferJsonContract(file);
    expect(inference.rows).toBe(2);
    expect(inference.warnings.join('\n')).toMatch(
      /1 record\(s\) are not JSON objects \(first: line 3 is an array\)/,
    );
    expect(inference.warnings.join('\n')).toMatch(
      /1 record\(s\) could not be read \(first: line 2, NOT_JSON/,
    );
  });

  test('a .json file holding JSON Lines is refused with the fix', async () => {
    const file = csvFile(jsonl(events(3)), 'events.json');
    await expect(inferJsonContract(file)).rejects.toThrow(
      /the file starts with an object on line 1, not an array.*name the file \.jsonl/,
    );
  });

  test('a .gz file that is not gzip is refused with the fix', async () => {
    const file = csvFile(jsonl(events(3)), 'events.jsonl.gz');
    await expect(inferJsonContract(file)).rejects.toThrow(/named \.gz but is not gzip data .*Fix: /);
  });

  test('an empty file, and a file with no object, say what a record should look like', async () => {
    await expect(inferJsonContract(csvFile('', 'empty.jsonl'))).rejects.toThrow(
      /empty\.jsonl has no records.*Fix: give it one JSON object per line/,
    );
    await expect(inferJsonContract(csvFile('[1, 2]', 'nums.json'))).rejects.toThrow(
      /nums\.json has no JSON object records \(line 1 is a number\).*Fix: give it an array of objects/,
    );
  });

  test('bytes that are not UTF-8 are refused naming the offset', async () => {
    const file = csvFile(
      Buffer.concat([Buffer.from('{"name": "caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]),
      'l1.jsonl',
    );
    await expect(inferJsonContract(file)).rejects.toThrow(/not valid UTF-8.*byte offset 13/);
  });
});

describe('etl init FILE.jsonl', () => {
  const box = new Sandbox('etl-init-json-');
  afterAll(() => box.remove());

  test('prints how it read the file and a column table with the JSON path; writes a contract etl contract check accepts', async () => {
    const file = path.join(box.dir, 'Team Events.jsonl');
    writeFileSync(
      file,
      jsonl([
        { 'Event ID': 'E1', team: { 'Team Name': 'A' }, tags: ['x'] },
        { 'Event ID': 'E2', team: { 'Team Name': 'B' }, tags: [] },
      ]),
    );
    const r = await box.etl(['init', file, '--schemas', 'contracts']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/format jsonl: one JSON object per line/);
    expect(r.out).toMatch(/column\s+path\s+type\s+required\s+checks\s+why/);
    expect(r.out).toMatch(/event_id\s+\["Event ID"\]\s+string\s+yes/);
    expect(r.out).toMatch(/team_team_name\s+team\["Team Name"\]\s+string\s+yes/);
    expect(r.out).toMatch(/tags\s+tags\s+string \(JSON text\)\s+yes\s+an array/);
    expect(r.out).toMatch(/primary key {2}event_id — /);
    expect(r.out).toMatch(/next: etl run .*Team Events\.jsonl --dataset team_events --schemas contracts/);
    const contract = JSON.parse(
      readFileSync(path.join(box.dir, 'contracts', 'team_events.schema.json'), 'utf8'),
    );
    expect(contract.columns[1]).toEqual({
      name: 'team_team_name',
      path: 'team.Team Name',
      type: 'string',
      required: true,
    });
    const check = await box.etl(['contract', 'check', 'team_events', '--schemas', 'contracts']);
    expect(check.out).toMatch(/ok +team_events +v2/);
    expect(check.code).toBe(0);
  });

  test('--json has the format, the paths and every decision', async () => {
    const file = path.join(box.dir, 'x.json.gz');
    writeFileSync(
      file,
      gzipSync(
        JSON.stringify([
          { id: 'a', n: 1 },
          { id: 'b', n: null },
        ]),
      ),
    );
    const { code, json } = await box.etlJson<{
      format: string;
      gzip: boolean;
      decisions: {
        columns: { name: string; path: string[]; required: boolean }[];
        primaryKey: { columns: string[] };
      };
    }>(['init', file, '--schemas', 'contracts']);
    expect(code).toBe(0);
    expect(json).toMatchObject({ format: 'json', gzip: true });
    expect(json.decisions.columns).toMatchObject([
      { name: 'id', path: ['id'], required: true },
      { name: 'n', path: ['n'], required: false },
    ]);
    expect(json.decisions.primaryKey.columns).toEqual(['id']);
  });

  test('a file that cannot be read exits 2 naming the problem; nothing is written', async () => {
    const file = path.join(box.dir, 'cut.json');
    writeFileSync(file, '[{"id": 1}, {"id": 2}');
    const r = await box.etl(['init', file, '--schemas', 'contracts']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cut\.json: the file ends before the array.*Fix: /);
  });
});
