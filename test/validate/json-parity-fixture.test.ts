/**
 * The JSON-origin parity case (test/fixtures/parity/cases/json_origin_nested_events) holds the
 * staging the validate step writes from its source.jsonl: this test validates the source (plain and
 * gzipped) and requires exactly the committed staging, so the case the engines' parity suite runs
 * stays JSON-origin. Regenerate with UPDATE_PARITY_GOLDENS=1 (then the parity goldens).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { TestLake } from './harness';

const CASE = path.resolve(__dirname, '../fixtures/parity/cases/json_origin_nested_events');
const CONTRACTS = path.resolve(__dirname, '../fixtures/parity/contracts');
const UPDATE = process.env.UPDATE_PARITY_GOLDENS === '1';

let lake: TestLake;
beforeEach(() => (lake = new TestLake()));
afterEach(async () => {
  await lake.expectLandingIntact();
  lake.dispose();
});

test.each([
  ['incoming/parity_json/events.jsonl.gz', true],
  ['incoming/parity_json/events.jsonl', false],
])('validating %s writes exactly the case staging', async (key, gz) => {
  const source = readFileSync(path.join(CASE, 'source.jsonl'));
  const result = await lake.validate(await lake.upload(key, gz ? gzipSync(source) : source), {
    schemasDir: CONTRACTS,
  });
  expect(result).toMatchObject({ rowsRead: 9, rowsValid: 9, rowsRejected: 0 });
  const staged = await lake.text(`${result.staging.key}part-00000.jsonl`);
  const committed = path.join(CASE, 'staging', 'part-00000.jsonl');
  if (UPDATE && gz) {
    mkdirSync(path.dirname(committed), { recursive: true });
    writeFileSync(committed, staged);
    writeFileSync(path.join(CASE, 'staging', '_SUCCESS'), '');
  }
  expect(staged).toBe(readFileSync(committed, 'utf8'));
});
