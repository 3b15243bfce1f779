/**
 * Manual measurement (not a test, jest does not run it): validate-step throughput against bare
 * csv-parse (array rows) on a generated registrations CSV, plus peak RSS. CPU seconds are
 * reported next to wall time because a shared machine makes wall time noisy.
 *
 *   PATH=/work/main/node_modules/.bin:$PATH tsx test/validate/measure-throughput.ts 100
 *
 * The argument is the file size in MiB (default 100). The generator here is a quick stand-in;
 * the official sample generator and benchmark live in bench/.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { LocalObjectStore } from '../../adapters/local/object-store';
import { validateObject } from '../../functions/validate/validate';

const TYPES = ['general', 'vip', 'student', 'speaker', 'sponsor', 'volunteer'];
const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF'];

async function generate(file: string, mib: number): Promise<void> {
  const out = createWriteStream(file);
  out.write(
    'registration_id,event_id,event_date,attendee_email,ticket_type,amount,currency,quantity,registered_at,notes\n',
  );
  let bytes = 0;
  for (let i = 0; bytes < mib * 1024 * 1024;) {
    let s = '';
    for (let k = 0; k < 5000; k++, i++) {
      const day = `2024-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`;
      const note = i % 100 === 0 ? '"likes ""quotes"", and commas"' : i % 3 === 0 ? '' : 'vegetarian meal';
      s += `REG-${String(i).padStart(8, '0')},EVT-${String(i % 1000).padStart(4, '0')},${day},user${i}@example.com,${TYPES[i % 6]},${(i % 50000) / 100},${CURRENCIES[i % 4]},${(i % 9) + 1},${day}T${String(i % 24).padStart(2, '0')}:15:30Z,${note}\n`;
    }
    bytes += s.length;
    if (!out.write(s)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function measure<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; wall: number; cpu: number; peakRss: number }> {
  let peakRss = process.memoryUsage().rss;
  const timer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await fn();
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(timer);
  return { result, wall, cpu: (cpu.user + cpu.system) / 1e6, peakRss };
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? 100);
  const dir = mkdtempSync(path.join(tmpdir(), 'validate-measure-'));
  try {
    const file = path.join(dir, 'registrations.csv');
    await generate(file, mib);
    const size = statSync(file).size / 1024 / 1024;

    const bare = await measure(() =>
      pipeline(
        createReadStream(file),
        parse({}),
        new Writable({ objectMode: true, write: (_r, _e, cb) => cb() }),
      ),
    );
    const store = new LocalObjectStore(path.join(dir, 'lake'));
    const key = 'incoming/registrations/measure.csv';
    const info = await store.put('landing', key, createReadStream(file));
    const validate = await measure(() =>
      validateObject(
        { store, lakeBucket: 'lake' },
        {
          runId: 'measure',
          source: { bucket: 'landing', key, versionId: info.versionId, size: info.size, etag: info.etag },
        },
      ),
    );

    const line = (name: string, m: { wall: number; cpu: number; peakRss: number }) =>
      `${name}: ${(size / m.wall).toFixed(1)} MiB/s wall, ${(size / m.cpu).toFixed(1)} MiB per CPU-second, peak RSS ${(m.peakRss / 1048576).toFixed(0)} MB`;
    console.log(
      `file: ${size.toFixed(1)} MiB, ${validate.result.rowsRead} rows (${validate.result.rowsValid} valid)`,
    );
    console.log(line('csv-parse alone (arrays)', bare));
    console.log(line('validateObject incl. staging + rejects (LocalObjectStore)', validate));
    console.log(
      `ratio validate / csv-parse: ${(bare.wall / validate.wall).toFixed(2)} wall, ${(bare.cpu / validate.cpu).toFixed(2)} CPU`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
