/**
 * GAP-7: the local runtime makes every Retry pause zero (local/runtime.ts), so PollCrawl's bounded
 * wait — 30 attempts, meant to cover tens of minutes of crawling on AWS — is spent in milliseconds.
 * Under a burst, another run's crawl holding the crawler RUNNING for a moment is enough to fail a
 * run at PollCrawl (load.test.ts saw 4 of 60). Here a crawl that takes five seconds does it.
 *
 * Pinned (flip when fixed): today the run fails long before the crawl ends; nothing is lost and
 * a redrive finishes it.
 */
import path from 'node:path';
import { LocalCatalog } from '../../adapters/local/catalog';
import { visitsOf } from '../../local/run-record';
import { fixture, ReliabilityHome } from './support';

const CRAWLER = 'serverless-etl-curated';

test('GAP-7 (pinned, flip when fixed): a crawl that takes 5 s exhausts PollCrawl at once; the run FAILS there, a redrive finishes it', async () => {
  const home = new ReliabilityHome('etl-crawl-budget-');
  try {
    const catalog = new LocalCatalog({ catalogFile: home.home.catalogFile, lakeDir: home.home.lakeDir });
    const landed = await home.land('incoming/event_sessions/base.csv', fixture('event_sessions/base.csv'));
    let released: Promise<void> | undefined;
    let crawlEnded = false;

    const record = await home.run(landed.event, {
      beforeTask: async (state) => {
        // Another run's crawl starts just as this one reaches StartCrawl, and lasts 5 s.
        if (state === 'StartCrawl' && !released) {
          await catalog.holdCrawler(CRAWLER, 'RUNNING');
          released = new Promise((r) => setTimeout(r, 5000)).then(async () => {
            await catalog.holdCrawler(CRAWLER, 'READY');
            crawlEnded = true;
          });
        }
      },
    });
    const failedWhileCrawling = !crawlEnded;

    const poll = visitsOf(record).find((v) => v.name === 'PollCrawl')!;
    expect({ status: record.status, endState: record.endState, error: record.error }).toEqual({
      status: 'FAILED',
      endState: 'PollCrawl',
      error: 'CrawlerNotReadyError',
    });
    expect(poll.attempts).toBe(31); // the whole budget...
    expect(failedWhileCrawling).toBe(true); // ...spent before the 5 s crawl ended (on AWS: up to ~30 min)
    await released; // the other crawl has ended
    const redriven = await home.pipeline.runtime.redrive(record.runId).done;
    expect(redriven).toMatchObject({ status: 'SUCCEEDED', endState: 'Succeeded' });
    expect(home.originalLocations(redriven, landed)).toEqual([redriven.outputs.archive]);
    expect(path.basename(redriven.outputs.archive!)).toBe('base.csv');
  } finally {
    home.dispose();
  }
});
