import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { BENCH_DIR } from '../../bench/inputs';
import { buildWorkers, runWorker, workerBuilt } from '../../bench/measure';
import { median, renderTable } from '../../bench/report';
import { treeRssBytes } from '../../bench/process-tree';

const SAMPLE = path.resolve(__dirname, '../../samples/registrations.csv');

describe('npm run bench harness', () => {
  // Its own folder (a bench running meanwhile keeps its bundles), inside the repository so the
  // bundles' external packages resolve from node_modules/.
  mkdirSync(BENCH_DIR, { recursive: true });
  const workersDir = mkdtempSync(path.join(BENCH_DIR, 'test-workers-'));
  beforeAll(async () => {
    await buildWorkers(workersDir);
  });
  afterAll(() => rmSync(workersDir, { recursive: true, force: true }));

  test('a measurement runs in its own process and reports its own rows, bytes and peak memory', async () => {
    // Arrange
    expect(workerBuilt('csv-parse', workersDir)).toBe(true);

    // Act: the csv-parse ceiling on the committed sample.
    const m = await runWorker('csv-parse', { file: SAMPLE }, { workersDir });

    // Assert: 3,000 records (a multi-line note is one record), the file's size, a real child's RSS.
    expect(m.ok).toBe(true);
    expect(m.rows).toBe(3000);
    expect(m.bytes).toBe(377390);
    expect(m.peakRssBytes).toBeGreaterThan(20 * 1024 * 1024);
    expect(m.peakRssBytes).not.toBe(process.resourceUsage().maxRSS * 1024);
    expect(m.wallSeconds).toBeGreaterThanOrEqual(m.seconds);
  });

  test('a worker that fails reports the error instead of numbers', async () => {
    const m = await runWorker(
      'csv-parse',
      { file: path.join(__dirname, 'no-such-file.csv') },
      { workersDir },
    );

    expect(m.ok).toBe(false);
    expect(m.error).toMatch(/ENOENT.*no-such-file\.csv/);
  });

  test('tables pad their columns and medians take the middle', () => {
    const table = renderTable(['size', 'MiB/s'], [['10MB', '12.5'], ['1GB', '9.0']]);

    expect(table.split('\n')).toEqual(['| size | MiB/s |', '|------|-------|', '| 10MB | 12.5  |', '| 1GB  | 9.0   |']);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  test('the process-tree sampler sees this process', () => {
    if (process.platform !== 'linux') return; // /proc is Linux-only; elsewhere the bench omits the figure
    expect(treeRssBytes(process.pid)).toBeGreaterThan(10 * 1024 * 1024);
  });
});
