/**
 * FILE_TOO_LARGE (issue 13): a landing file above the validate limit (core/file-size-limit.ts) is
 * rejected from its size, up front, before a byte is read — never left to time out and be retried.
 */
import { FileRejectedError } from '../../core/errors';
import {
  DEFAULT_VALIDATE_MAX_FILE_BYTES,
  VALIDATE_LAMBDA_TIMEOUT_SECONDS,
  VALIDATE_MEASURED_BYTES_PER_SECOND,
  VALIDATE_TIMEOUT_SAFETY,
  validateMaxFileBytesFor,
  validateMaxFileBytesOf,
} from '../../core/file-size-limit';
import { validateObject } from '../../functions/validate/validate';
import { fixture, LAKE, TEST_SCHEMAS, TestLake } from './harness';

let lake: TestLake;
beforeEach(() => {
  lake = new TestLake();
});
afterEach(() => {
  jest.restoreAllMocks();
  lake.dispose();
});

describe('validateObject with a configured limit', () => {
  test('a file above the limit is REJECTED FILE_TOO_LARGE naming the file, its size, the limit and the fix; nothing is read or written', async () => {
    const body = fixture('people.csv');
    const source = await lake.upload('incoming/people/too-big.csv', body);
    const get = jest.spyOn(lake.store, 'get');
    const limit = body.length - 1;

    const error = await validateObject(
      { store: lake.store, lakeBucket: LAKE, schemasDir: TEST_SCHEMAS, maxFileBytes: limit },
      { runId: 'run-test', source },
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(FileRejectedError);
    const rejected = error as FileRejectedError;
    expect(rejected.reason).toBe('FILE_TOO_LARGE');
    expect(rejected.message).toContain('"incoming/people/too-big.csv"');
    expect(rejected.message).toContain(`${body.length.toLocaleString('en')} bytes`);
    expect(rejected.message).toContain(`${limit.toLocaleString('en')} bytes`);
    expect(rejected.message).toMatch(/validate Lambda's time limit/);
    expect(rejected.message).toMatch(
      /Fix: split the file into parts under .* each, every part with the header line/,
    );
    expect(rejected.details).toMatchObject({ key: 'incoming/people/too-big.csv', size: body.length, limit });
    expect(get).not.toHaveBeenCalled();
    expect(await lake.keys('')).toEqual([]);
    get.mockRestore();
    await lake.expectLandingIntact();
  });

  test('a file exactly at the limit is validated as usual', async () => {
    const body = fixture('people.csv');
    const source = await lake.upload('incoming/people/at-limit.csv', body);

    const result = await validateObject(
      { store: lake.store, lakeBucket: LAKE, schemasDir: TEST_SCHEMAS, maxFileBytes: body.length },
      { runId: 'run-test', source },
    );

    expect(result).toMatchObject({ dataset: 'people', rowsRead: 3, rowsValid: 3 });
  });

  test('without a configured limit the measured default applies, decided from the size alone (the object need not even exist)', async () => {
    const size = DEFAULT_VALIDATE_MAX_FILE_BYTES + 1;
    const error = await validateObject(
      { store: lake.store, lakeBucket: LAKE, schemasDir: TEST_SCHEMAS },
      {
        runId: 'run-test',
        source: { bucket: 'landing', key: 'incoming/people/huge.csv', size, etag: 'e', versionId: 'v' },
      },
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(FileRejectedError);
    expect((error as FileRejectedError).reason).toBe('FILE_TOO_LARGE');
    expect((error as FileRejectedError).details).toMatchObject({
      size,
      limit: DEFAULT_VALIDATE_MAX_FILE_BYTES,
    });
  });
});

describe('the limit, in one place (core/file-size-limit.ts)', () => {
  test('the default is the measured one-thread throughput × the Lambda timeout × the safety margin, in whole MiB', () => {
    const exact =
      VALIDATE_MEASURED_BYTES_PER_SECOND * VALIDATE_LAMBDA_TIMEOUT_SECONDS * VALIDATE_TIMEOUT_SAFETY;
    expect(DEFAULT_VALIDATE_MAX_FILE_BYTES).toBe(validateMaxFileBytesFor());
    expect(DEFAULT_VALIDATE_MAX_FILE_BYTES).toBeLessThanOrEqual(exact);
    expect(exact - DEFAULT_VALIDATE_MAX_FILE_BYTES).toBeLessThan(1024 * 1024);
    expect(DEFAULT_VALIDATE_MAX_FILE_BYTES % (1024 * 1024)).toBe(0);
    // The bench's largest file (1 GiB) must pass the default.
    expect(DEFAULT_VALIDATE_MAX_FILE_BYTES).toBeGreaterThan(1024 ** 3);
    expect(validateMaxFileBytesFor(10 * 1024 * 1024, 100, 0.5)).toBe(500 * 1024 * 1024);
  });

  test('the environment variable: bytes, unset = default, anything else is refused with the fix', () => {
    expect(validateMaxFileBytesOf(undefined)).toBeUndefined();
    expect(validateMaxFileBytesOf(' ')).toBeUndefined();
    expect(validateMaxFileBytesOf('1048576')).toBe(1048576);
    expect(() => validateMaxFileBytesOf('1GB', 'ETL_VALIDATE_MAX_FILE_BYTES')).toThrow(
      /ETL_VALIDATE_MAX_FILE_BYTES="1GB" is not a whole number of bytes ≥ 1\. Fix:/,
    );
    expect(() => validateMaxFileBytesOf('0')).toThrow(/VALIDATE_MAX_FILE_BYTES="0"/);
  });
});
