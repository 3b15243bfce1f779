/**
 * GAP-7 (fixed): the local runtime used to make every Retry pause zero, so PollCrawl's bounded
 * wait — 30 attempts, meant to cover tens of minutes of crawling on AWS — was spent in
 * milliseconds, and under a burst another run's crawl holding the crawler RUNNING for a moment
 * failed runs at PollCrawl (load.test.ts saw 4 of 60). Now the poll-style retriers keep the ASL's
 * backoff scaled to LOCAL_POLL_MS_PER_SECOND ms per second (≈ 8 s for PollCrawl): a crawl by
 * another run that takes five seconds is waited out and the run succeeds without a redrive.
 */
import path from 'node:path';
import { LocalCatalog } from '../../adapters/local/catalog';
import { visitsOf } from '../../local/run-record';
import { fixture, ReliabilityHome } from './support';

const CRAWLER = 'serverless-etl-curated';

test('GAP-7 (fixed): a crawl by another run that takes 5 s is waited out by PollCrawl; the run succeeds', async () => {
  const home = new ReliabilityHome('etl-crawl-budget-');
  try {
    const catalog = new LocalCatalog({ catalogFile: home.home.catalogFile, lakeDir: home.home.lakeDir });
    const landed = await home.land('incoming/event_sessions/base.csv', fixture('event_sessions/base.csv'));
    let released: Promise<void> | undefined;
    let crawlEnded = false;
    let crawlEndedBeforePollSucceeded = false;

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
        if (state === 'Verify') crawlEndedBeforePollSucceeded = crawlEnded;
      },
    });

    const poll = visitsOf(record).find((v) => v.name === 'PollCrawl')!;
    expect({ status: record.status, endState: record.endState, redriveCount: record.redriveCount }).toEqual({
      status: 'SUCCEEDED',
      endState: 'Succeeded',
      redriveCount: 0,
    });
    expect(crawlEndedBeforePollSucceeded).toBe(true); // PollCrawl waited for the 5 s crawl...
    expect(poll.status).toBe('SUCCEEDED');
    expect(poll.attempts).toBeGreaterThan(5); // ...polling with pauses (75 ms growing to 300 ms)...
    expect(poll.attempts).toBeLessThan(31); // ...within its budget, with attempts to spare
    expect(home.originalLocations(record, landed)).toEqual([record.outputs.archive]);
    expect(path.basename(record.outputs.archive!)).toBe('base.csv');
    await released;
  } finally {
    home.dispose();
  }
});
