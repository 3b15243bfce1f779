/**
 * ParquetStaging (csv/sql-validate.ts): parts uploaded early — while the checked fast path waits
 * for DuckDB's last chunks — and the rest at end(); settle() and abort() wait for the early ones,
 * so that a declined pass never has a part land after its staging prefix is cleared.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalObjectStore } from '../../adapters/local/object-store';
import type { ObjectInfo, PutOptions } from '../../core/ports';
import { ParquetStaging } from '../../csv/sql-validate';
import { TRANSFERS_AT_ONCE } from '../../core/uploads';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'etl-parquet-staging-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A local lake whose scratch-file puts take `delayMs` and are counted. */
class SlowStore extends LocalObjectStore {
  puts: string[] = [];
  inFlight = 0;
  mostInFlight = 0;
  constructor(
    dir: string,
    private readonly delayMs: number,
  ) {
    super(dir);
  }
  override async putScratchFile(
    bucket: string,
    key: string,
    file: string,
    options?: PutOptions,
  ): Promise<ObjectInfo> {
    this.puts.push(key);
    this.mostInFlight = Math.max(this.mostInFlight, ++this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, this.delayMs));
      return await super.putScratchFile(bucket, key, file, options);
    } finally {
      this.inFlight--;
    }
  }
}

function scratchParts(n: number): string[] {
  const dir = path.join(root, 'work');
  mkdirSync(dir, { recursive: true });
  return Array.from({ length: n }, (_, i) => {
    const file = path.join(dir, `good-${i}.parquet`);
    writeFileSync(file, `part ${i}`);
    return file;
  });
}

const keysOf = async (store: LocalObjectStore) => {
  const keys: string[] = [];
  for await (const o of store.list('lake', 'staging/')) keys.push(o.key);
  return keys;
};

test('end() uploads every part once, the early ones included, then runs onDone', async () => {
  const store = new SlowStore(path.join(root, 'lake-root'), 20);
  let done = 0;
  const staging = new ParquetStaging(store, 'lake', 'staging/x/', async () => void done++);
  staging.parts.push(...scratchParts(5));
  staging.uploadNow(1);
  staging.uploadNow(3);
  staging.uploadNow(3); // once only
  await staging.end();
  expect(store.puts.sort()).toEqual([0, 1, 2, 3, 4].map((n) => `staging/x/part-0000${n}.parquet`));
  expect(await keysOf(store)).toEqual([0, 1, 2, 3, 4].map((n) => `staging/x/part-0000${n}.parquet`));
  expect(staging.parquetBytes).toBe(5 * 'part 0'.length);
  expect(done).toBe(1);
});

test('abort() waits for the uploads in flight: once it returns, nothing more lands', async () => {
  const store = new SlowStore(path.join(root, 'lake-root'), 80);
  const staging = new ParquetStaging(store, 'lake', 'staging/y/', async () => undefined);
  staging.parts.push(...scratchParts(3));
  staging.uploadNow(0);
  staging.uploadNow(2);
  await staging.abort();
  const after = await keysOf(store);
  expect(after).toEqual(['staging/y/part-00000.parquet', 'staging/y/part-00002.parquet']);
  // What the caller does next (validate.ts: clearPrefix): the prefix stays empty.
  for (const key of after) await store.delete({ bucket: 'lake', key });
  await new Promise((r) => setTimeout(r, 120));
  expect(await keysOf(store)).toEqual([]);
});

test('however many parts are started early, at most TRANSFERS_AT_ONCE upload at a time (each holds a read buffer)', async () => {
  const store = new SlowStore(path.join(root, 'lake-root'), 10);
  const staging = new ParquetStaging(store, 'lake', 'staging/z/', async () => undefined);
  staging.parts.push(...scratchParts(12));
  for (let n = 0; n < 9; n++) staging.uploadNow(n);
  await staging.end();
  expect(store.puts).toHaveLength(12);
  expect(store.mostInFlight).toBe(TRANSFERS_AT_ONCE);
  expect((await keysOf(store)).length).toBe(12);
});
