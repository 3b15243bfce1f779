/**
 * FILE_TOO_LARGE through `etl run` (issue 13): with the validate limit set small
 * (ETL_VALIDATE_MAX_FILE_BYTES, as the stack sets VALIDATE_MAX_FILE_BYTES on the validate Lambda),
 * a larger file is REJECTED at its first Validate attempt — no timeout, no retry — and quarantined
 * with its reason like every other rejection; a file under the limit runs as usual.
 */
import { readFileSync, statSync } from 'node:fs';
import { Sandbox } from './harness';

interface RunJson {
  status: string;
  endState: string;
  rejection?: { reason: string; message: string };
  outputs: { quarantine?: string; reasonFile?: string };
  states: { name: string; status: string; attempts?: number; retries?: number }[];
}

describe('a file above the validate limit', () => {
  const box = new Sandbox();
  let file: string;
  let limit: number;
  let rejected: { code: number; json: RunJson };
  let underLimit: { code: number; json: RunJson };
  const saved = process.env.ETL_VALIDATE_MAX_FILE_BYTES;

  beforeAll(async () => {
    file = box.copyFixture('registrations/small.csv', 'incoming/registrations/small.csv');
    limit = statSync(file).size - 1;
    process.env.ETL_VALIDATE_MAX_FILE_BYTES = String(limit);
    try {
      rejected = await box.etlJson<RunJson>(['run', file]);
      process.env.ETL_VALIDATE_MAX_FILE_BYTES = String(limit + 1);
      underLimit = await box.etlJson<RunJson>(['run', file]);
    } finally {
      if (saved === undefined) delete process.env.ETL_VALIDATE_MAX_FILE_BYTES;
      else process.env.ETL_VALIDATE_MAX_FILE_BYTES = saved;
    }
  });
  afterAll(() => box.remove());

  test('ends REJECTED FILE_TOO_LARGE (exit 2) naming the file, its size, the limit and the fix', () => {
    expect(rejected.code).toBe(2);
    expect(rejected.json).toMatchObject({ status: 'REJECTED', endState: 'FileRejected' });
    expect(rejected.json.rejection?.reason).toBe('FILE_TOO_LARGE');
    const message = rejected.json.rejection!.message;
    expect(message).toContain('small.csv');
    expect(message).toContain(`${(limit + 1).toLocaleString('en')} bytes`);
    expect(message).toContain(`${limit.toLocaleString('en')} bytes`);
    expect(message).toMatch(/Fix: split the file into parts under/);
  });

  test('Validate ran once: rejected up front, never retried', () => {
    const validate = rejected.json.states.filter((s) => s.name === 'Validate');
    expect(validate).toHaveLength(1);
    expect(validate[0]).toMatchObject({ attempts: 1, retries: 0 });
  });

  test('the original is quarantined byte for byte with a reason file naming FILE_TOO_LARGE', () => {
    expect(readFileSync(rejected.json.outputs.quarantine!)).toEqual(readFileSync(file));
    const reason = readFileSync(rejected.json.outputs.reasonFile!, 'utf8');
    expect(reason).toContain('FILE_TOO_LARGE');
    expect(reason).toMatch(/split the file/);
  });

  test('the same file at the limit runs as usual', () => {
    expect(underLimit.code).toBe(0);
    expect(underLimit.json.status).toBe('SUCCEEDED');
  });
});
