/**
 * Issue 12, "no crawl per file", through `etl run`: the first file of a dataset finds no table in
 * the local catalog, so the crawler runs and creates it; an ordinary second file of the same
 * dataset registers its partitions (RegisterPartitions) and runs zero crawls, and its rows are
 * queryable all the same. The run record, `etl run --json` and `etl runs show` say which way it went.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LocalCatalog } from '../../adapters/local/catalog';
import { RunStore, visitsOf } from '../../local/run-record';
import { Sandbox } from './harness';

const HEADER = 'session_id,event_id,session_date,title,speaker,room,capacity,starts_at';
const line = (id: number, day: string) =>
  `SES-${String(id).padStart(6, '0')},EVT-0101,${day},Talk ${id},Grace Hopper,Room B,25,${day}T09:30:00Z`;

describe('etl run: the crawl runs only when the table is missing or its schema changed', () => {
  const box = new Sandbox('etl-crawl-skip-');
  afterAll(() => box.remove());

  test('first file crawls (no table yet); a second file registers its partitions and runs zero crawls', async () => {
    const first = path.join(box.dir, 'sessions-a.csv');
    const second = path.join(box.dir, 'sessions-b.csv');
    writeFileSync(first, `${HEADER}\n${line(1, '2024-09-11')}\n${line(2, '2024-09-12')}\n`);
    // One day the table has already, two new ones.
    writeFileSync(
      second,
      `${HEADER}\n${line(3, '2024-09-12')}\n${line(4, '2024-09-13')}\n${line(5, '2024-09-14')}\n`,
    );

    const a = await box.etlJson<{ runId: string; status: string; catalog?: unknown }>([
      'run',
      first,
      '--dataset',
      'event_sessions',
    ]);
    const b = await box.etlJson<{ runId: string; status: string; catalog?: unknown }>([
      'run',
      second,
      '--dataset',
      'event_sessions',
    ]);

    expect([a.json.status, b.json.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const runs = new RunStore(path.join(box.home, 'runs'));
    const crawlStates = (runId: string) =>
      visitsOf(runs.load(runId)!)
        .map((v) => v.name)
        .filter((n) => ['StartCrawl', 'WaitForCrawl', 'PollCrawl'].includes(n));
    expect(crawlStates(a.json.runId)).toEqual(['StartCrawl', 'WaitForCrawl', 'PollCrawl']);
    expect(crawlStates(b.json.runId)).toEqual([]);
    expect(a.json.catalog).toMatchObject({
      crawl: 'ran',
      reason: expect.stringContaining('not in the catalog'),
    });
    expect(b.json.catalog).toEqual({ crawl: 'skipped', registered: 2, existing: 1 });
    // The catalog holds every partition, and the crawler ran once in all.
    const catalog = JSON.parse(readFileSync(path.join(box.home, 'catalog.json'), 'utf8')) as {
      tables: Record<string, { partitions: string[] }>;
    };
    expect(catalog.tables.event_sessions!.partitions).toEqual([
      '2024-09-11',
      '2024-09-12',
      '2024-09-13',
      '2024-09-14',
    ]);
    const q = await box.etlJson<{ rows: { n: unknown }[] }>([
      'query',
      'SELECT count(*) AS n FROM event_sessions',
    ]);
    expect(Number(q.json.rows[0]!.n)).toBe(5);
    const shown = await box.etl(['runs', 'show', b.json.runId]);
    expect(shown.out).toContain('catalog: crawl skipped · 2 partitions registered, 1 existing');
    const summary = await box.etl(['runs', 'show', a.json.runId]);
    expect(summary.out).toMatch(/catalog: crawl ran \(table .*event_sessions is not in the catalog\)/);
  });

  test('a changed schema in the catalog (here: a column type edited by hand) crawls again', async () => {
    const file = path.join(box.dir, 'sessions-c.csv');
    writeFileSync(file, `${HEADER}\n${line(6, '2024-09-15')}\n`);
    const catalogFile = path.join(box.home, 'catalog.json');
    const catalog = JSON.parse(readFileSync(catalogFile, 'utf8')) as {
      tables: Record<string, { columns: { name: string; type: string }[] }>;
    };
    catalog.tables.event_sessions!.columns = catalog.tables.event_sessions!.columns.map((c) =>
      c.name === 'capacity' ? { ...c, type: 'string' } : c,
    );
    writeFileSync(catalogFile, JSON.stringify(catalog));

    const c = await box.etlJson<{ status: string; catalog?: { crawl: string; reason?: string } }>([
      'run',
      file,
      '--dataset',
      'event_sessions',
    ]);

    expect(c.json.status).toBe('SUCCEEDED');
    expect(c.json.catalog).toMatchObject({
      crawl: 'ran',
      reason: expect.stringContaining('capacity string → bigint'),
    });
    // The crawl rewrote the table from the contract: the next file registers again.
    const [table] = (
      await new LocalCatalog({ catalogFile, lakeDir: path.join(box.home, 'lake') }).tables()
    ).filter((t) => t.table === 'event_sessions');
    expect(table!.columns).toContainEqual({ name: 'capacity', type: 'bigint' });
  });
});
