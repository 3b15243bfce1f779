/**
 * ObjectTextWriter (csv/writers.ts) over several 1 MiB batches: every row arrives once, in order,
 * whatever the batch it fell in (the batch buffer is reused after each flush, so a flushed chunk
 * must be a copy the next rows cannot overwrite), with multi-byte text across batch ends; and a
 * writer no text reached stores nothing (the validator makes its rejects writer before it knows
 * whether the file has a row error).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { LocalObjectStore } from '../../adapters/local/object-store';
import type { ObjectStore } from '../../core/ports';
import { DEFAULT_LIMITS, RecordValidator } from '../../csv/record-validator';
import { loadCompiledContract } from '../../csv/row-checker';
import { DEFAULT_SCHEMAS_DIR } from '../../core/contract';
import { ObjectTextWriter } from '../../csv/writers';

test('rows written across many batches are stored whole and in order', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'otw-'));
  try {
    const store = new LocalObjectStore(root);
    const writer = new ObjectTextWriter(store, 'lake', 'rejects/x.jsonl', 'application/x-ndjson');
    const rows: string[] = [];
    for (let i = 0; i < 60_000; i++) {
      // ≈ 75 bytes a row, some with 2- and 3-byte characters: ≈ 3 MB, three batches and more.
      const row = `{"line":${i},"value":"${i % 7 === 0 ? 'Grüße–€' : 'plain'}-${'x'.repeat(i % 40)}"}\n`;
      rows.push(row);
      const wait = writer.write(row);
      if (wait) await wait;
    }
    const info = await writer.end();
    const stored = await text(
      await store.get({ bucket: 'lake', key: 'rejects/x.jsonl', versionId: info.versionId }),
    );
    expect(Buffer.byteLength(stored)).toBeGreaterThan(3 * 1024 * 1024);
    expect(stored).toBe(rows.join(''));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a writer nothing was written to stores nothing; the validator reports no rejects until a row error', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'otw-'));
  try {
    const local = new LocalObjectStore(root);
    const puts: string[] = [];
    // The store as the writer uses it, counting the uploads it starts.
    const store = new Proxy(local, {
      get(target, prop, receiver) {
        if (prop === 'put')
          return (bucket: string, key: string, ...rest: unknown[]) => {
            puts.push(key);
            return (target.put as (...a: unknown[]) => unknown).call(target, bucket, key, ...rest);
          };
        return Reflect.get(target, prop, receiver) as unknown;
      },
    }) as ObjectStore;
    const unused = new ObjectTextWriter(store, 'lake', 'rejects/none.jsonl', 'application/x-ndjson');
    await unused.abort();
    expect(puts).toEqual([]);

    const compiled = loadCompiledContract('registrations', DEFAULT_SCHEMAS_DIR)!;
    const validator = new RecordValidator(
      compiled,
      'incoming/registrations/x.csv',
      DEFAULT_LIMITS,
      { write: () => undefined },
      () => new ObjectTextWriter(store, 'lake', 'rejects/x.jsonl', 'application/x-ndjson'),
    );
    const header = compiled.contract.columns.map((c) => c.source);
    validator.onRecord(header, 1);
    expect(validator.rejects).toBeUndefined();
    validator.onRecord(['too', 'few'], 2);
    expect(validator.rowsRejected).toBe(1);
    const rejects = validator.rejects;
    expect(rejects).toBeDefined();
    const info = await rejects!.end();
    expect(puts).toEqual(['rejects/x.jsonl']);
    const stored = await text(
      await store.get({ bucket: 'lake', key: 'rejects/x.jsonl', versionId: info.versionId }),
    );
    expect(JSON.parse(stored.trim())).toMatchObject({ line: 2, reason: 'SHORT_ROW' });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
