/**
 * StartCrawl and PollCrawl scenarios with the local catalog (a JSON file over a tmp lake folder): a crawl registers
 * the table and its partitions, a crawler already running is CrawlerRunningError (retried by the
 * ASL), polling waits for READY, and a failed crawl fails the run.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalCatalog } from '../../adapters/local/catalog';
import { logger } from '../../core/instrumentation';
import type { Catalog } from '../../core/ports';
import { pollCrawl } from '../../functions/poll-crawl/poll-crawl';
import { createPollCrawlStep } from '../../functions/poll-crawl/step';
import { startCrawl } from '../../functions/start-crawl/start-crawl';
import { createStartCrawlStep } from '../../functions/start-crawl/step';

const CRAWLER = 'serverless-etl-curated';
let dir: string;
let catalog: LocalCatalog;
beforeAll(() => logger.setLogLevel('SILENT'));
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'catalog-'));
  const lakeDir = path.join(dir, 'lake');
  // The shipped registrations contract partitions event_date by month.
  for (const month of ['2026-03', '2026-04']) {
    mkdirSync(path.join(lakeDir, 'curated/registrations', `event_date_month=${month}`), { recursive: true });
    writeFileSync(
      path.join(
        lakeDir,
        'curated/registrations',
        `event_date_month=${month}`,
        'march-0123456789ab.snappy.parquet',
      ),
      'PAR1',
    );
  }
  mkdirSync(path.join(lakeDir, 'curated/registrations/event_date_month=2026-05'), { recursive: true });
  catalog = new LocalCatalog({ catalogFile: path.join(dir, 'catalog.json'), lakeDir });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const base = { runId: 'run-1', dataset: 'registrations', crawlerName: CRAWLER };

describe('catalog', () => {
  test('start then poll: the crawl registers the table, its columns and the partitions holding Parquet', async () => {
    const startStep = createStartCrawlStep({ catalog });
    const pollStep = createPollCrawlStep({ catalog });

    const started = await startStep(base);
    const polled = await pollStep({ ...base, requestedAt: started.requestedAt });

    expect(polled).toMatchObject({ state: 'READY', lastCrawl: { status: 'SUCCEEDED' } });
    const [table] = await catalog.tables();
    expect(table).toMatchObject({
      table: 'registrations',
      location: 'curated/registrations/',
      partitionKeys: [{ name: 'event_date_month', type: 'string' }],
      partitions: ['2026-03', '2026-04'],
    });
    expect(table!.columns).toContainEqual({ name: 'amount', type: 'decimal(12,2)' });
    expect(table!.columns.map((c) => c.name)).toContain('attendee_notes');
  });

  test('the catalog port reports a crawler already running as CrawlerRunningError', async () => {
    await catalog.holdCrawler(CRAWLER);

    await expect(catalog.startCrawler(CRAWLER)).rejects.toMatchObject({
      name: 'CrawlerRunningError',
      message: expect.stringContaining('RUNNING'),
    });
  });

  test("a crawl already running (another file's) is joined; the poll then starts a crawl that covers this run", async () => {
    await catalog.holdCrawler(CRAWLER);
    const startStep = createStartCrawlStep({ catalog });
    const pollStep = createPollCrawlStep({ catalog });

    const joined = await startStep(base);
    const whileRunning = pollStep({ ...base, requestedAt: joined.requestedAt });
    await expect(whileRunning).rejects.toMatchObject({ name: 'CrawlerNotReadyError' });
    await catalog.holdCrawler(CRAWLER, 'READY'); // the other file's crawl ends; it never crawled for us
    const restarted = pollStep({ ...base, requestedAt: joined.requestedAt });
    await expect(restarted).rejects.toMatchObject({
      name: 'CrawlerNotReadyError',
      message: expect.stringContaining('started a new crawl'),
    });
    const done = await pollStep({ ...base, requestedAt: joined.requestedAt });

    expect(joined.started).toBe(false);
    expect(done).toMatchObject({ state: 'READY', lastCrawl: { status: 'SUCCEEDED' } });
    expect((await catalog.tables())[0]!.partitions).toEqual(['2026-03', '2026-04']);
  });

  test('polling a crawler that is still running is CrawlerNotReadyError', async () => {
    const started = await startCrawl(base, { catalog });
    await catalog.holdCrawler(CRAWLER, 'STOPPING');

    await expect(pollCrawl({ ...base, requestedAt: started.requestedAt }, { catalog })).rejects.toMatchObject(
      {
        name: 'CrawlerNotReadyError',
      },
    );
  });

  test('a READY crawler whose last crawl predates ours gets a new crawl, and the poll waits for it', async () => {
    const starts: string[] = [];
    const stale: Catalog = {
      startCrawler: async (name) => void starts.push(name),
      getCrawler: async () => ({
        state: 'READY',
        lastCrawl: { status: 'SUCCEEDED', startTime: new Date('2026-01-01T00:00:00Z') },
      }),
    };

    await expect(
      pollCrawl({ ...base, requestedAt: '2026-11-22T08:00:00.000Z' }, { catalog: stale }),
    ).rejects.toMatchObject({ name: 'CrawlerNotReadyError' });
    expect(starts).toEqual([CRAWLER]);
  });

  test.each(['FAILED', 'CANCELLED'] as const)(
    'a crawl that ended %s fails the run with CrawlFailedError and the fix',
    async (status) => {
      const failed: Catalog = {
        startCrawler: async () => undefined,
        getCrawler: async () => ({
          state: 'READY',
          lastCrawl: {
            status,
            startTime: new Date('2026-11-22T08:00:05Z'),
            errorMessage: 'Insufficient Lake Formation permission(s)',
          },
        }),
      };

      await expect(
        pollCrawl({ ...base, requestedAt: '2026-11-22T08:00:00.000Z' }, { catalog: failed }),
      ).rejects.toMatchObject({
        name: 'CrawlFailedError',
        message: expect.stringMatching(new RegExp(`${status}: Insufficient Lake Formation.*Fix: .*redrive`)),
      });
    },
  );
});
