/**
 * ObjectTextWriter (csv/writers.ts) over several 1 MiB batches: every row arrives once, in order,
 * whatever the batch it fell in (the batch buffer is reused after each flush, so a flushed chunk
 * must be a copy the next rows cannot overwrite), with multi-byte text across batch ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { LocalObjectStore } from '../../adapters/local/object-store';
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
