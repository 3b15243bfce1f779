/**
 * The checked fast path's DuckDB side (csv/checked-fast-path.ts): conversions share a pool of
 * connections, one at a time beside the byte pass and two once it is over; a DuckDB that cannot
 * open ends the pass with a decline (the caller validates the usual way), never a wait.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { LocalObjectStore } from '../../adapters/local/object-store';
import { registrationsCsvText } from '../../bench/registrations-generator';
import { columnProgramsFor } from '../../csv/byte-checks';
import { ConnectionPool, validateChecked } from '../../csv/checked-fast-path';
import { DEFAULT_LIMITS } from '../../csv/record-validator';
import { loadCompiledContract } from '../../csv/row-checker';
import { DeclineFastPathError } from '../../csv/sql-validate';
import { ObjectTextWriter } from '../../csv/writers';
import { DEFAULT_SCHEMAS_DIR } from '../../core/contract';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'etl-checked-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A job that runs until released; records which connection it got. */
function gatedJob(log: string[], name: string) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const job = async (c: DuckDBConnection) => {
    log.push(`${name} on ${(c as unknown as { id: string }).id}`);
    await gate;
  };
  return { job, release };
}

const fakeConnection = (id: string) => ({ id, closeSync: jest.fn() }) as unknown as DuckDBConnection;
const tick = () => new Promise((r) => setImmediate(r));

describe('ConnectionPool', () => {
  test('one job per connection; a connection added later takes the next job at once', async () => {
    const pool = new ConnectionPool(Promise.resolve(fakeConnection('c1')));
    const log: string[] = [];
    const a = gatedJob(log, 'a');
    const b = gatedJob(log, 'b');
    const c = gatedJob(log, 'c');
    const done = [pool.submit(a.job), pool.submit(b.job), pool.submit(c.job)];
    await tick();
    expect(log).toEqual(['a on c1']);

    pool.add(Promise.resolve(fakeConnection('c2')));
    await tick();
    expect(log).toEqual(['a on c1', 'b on c2']);

    b.release();
    await tick();
    expect(log).toEqual(['a on c1', 'b on c2', 'c on c2']);
    a.release();
    c.release();
    await Promise.all(done);
  });

  test('a connection that fails to open is never used; closeAll closes the others', async () => {
    const good = fakeConnection('good');
    const pool = new ConnectionPool(Promise.resolve(good));
    pool.add(Promise.reject(new Error('cannot open')));
    const log: string[] = [];
    const a = gatedJob(log, 'a');
    const b = gatedJob(log, 'b');
    const done = [pool.submit(a.job), pool.submit(b.job)];
    await tick();
    a.release();
    b.release();
    await Promise.all(done);
    await pool.closeAll();

    expect(log).toEqual(['a on good', 'b on good']);
    expect((good as unknown as { closeSync: jest.Mock }).closeSync).toHaveBeenCalledTimes(1);
  });
});

test('a DuckDB that cannot open declines the pass, with the reason, instead of waiting for it', async () => {
  const compiled = loadCompiledContract('registrations', DEFAULT_SCHEMAS_DIR)!;
  const file = path.join(root, 'in.csv');
  // Larger than the first chunk (2 MiB), so the pass reaches its first conversion.
  writeFileSync(file, registrationsCsvText({ rows: 30_000, seed: 4 }).text);
  const store = new LocalObjectStore(path.join(root, 'lake'));
  const workDir = path.join(root, 'work');
  mkdirSync(workDir);
  const pass = validateChecked(
    {
      file,
      compiled,
      key: 'incoming/registrations/in.csv',
      limits: DEFAULT_LIMITS,
      store,
      bucket: 'lake',
      stagingPrefix: 'staging/x/',
      openRejects: () => new ObjectTextWriter(store, 'lake', 'rejects/x.jsonl', 'application/x-ndjson'),
      workDir,
      threads: 1,
      memoryLimit: 'not a size',
      onDone: async () => undefined,
    },
    columnProgramsFor(compiled.contract).columns!,
  );

  await expect(pass).rejects.toThrow(DeclineFastPathError);
  await expect(pass).rejects.toThrow(/DuckDB: Failed to set config/);
});
