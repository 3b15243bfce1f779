/**
 * PollCrawl: after a Wait, throws CrawlerNotReadyError until a crawl that started after this
 * run's output existed has finished (the ASL retries it, bounded), then fails the run with
 * CrawlFailedError if that crawl FAILED or was CANCELLED. A crawl that started too early (the one
 * StartCrawl joined, or none) is replaced by a fresh one, as StartCrawl would start it.
 */
import { CrawlFailedError, CrawlerNotReadyError } from '../../core/errors';
import { startOrJoinCrawl, type CrawlDeps, type CrawlResult } from '../start-crawl/start-crawl';

/** PollCrawl: Parameters { runId, dataset, crawlerName, requestedAt ($.catalog.requestedAt) }. */
export interface PollCrawlInput {
  readonly runId: string;
  readonly dataset: string;
  readonly crawlerName: string;
  readonly requestedAt: string;
}

/**
 * Clock tolerance when comparing Glue's crawl start time with our request time. Small on purpose:
 * a crawl that started before our objects existed may have missed them. (A crawler spends its
 * first tens of seconds provisioning before it lists S3, which covers this margin.)
 */
const CLOCK_SKEW_MS = 2_000;

export async function pollCrawl(input: PollCrawlInput, deps: CrawlDeps): Promise<CrawlResult> {
  const status = await deps.catalog.getCrawler(input.crawlerName);
  if (status.state !== 'READY') {
    throw new CrawlerNotReadyError(`crawler ${input.crawlerName} is ${status.state}`);
  }
  const last = status.lastCrawl;
  const requested = Date.parse(input.requestedAt);
  if (!last || (last.startTime && last.startTime.getTime() < requested - CLOCK_SKEW_MS)) {
    // The crawl we joined (or none) started before this run's output existed: start a fresh one.
    const started = await startOrJoinCrawl(deps.catalog, input.crawlerName);
    throw new CrawlerNotReadyError(
      `crawler ${input.crawlerName}: the last crawl started before ${input.requestedAt}; ${started ? 'started a new crawl' : 'another crawl is starting'}`,
    );
  }
  if (last.status === 'FAILED' || last.status === 'CANCELLED') {
    throw new CrawlFailedError(
      `crawler ${input.crawlerName}: last crawl ${last.status}${last.errorMessage ? `: ${last.errorMessage}` : ''}. ` +
        `Fix: read the crawler's CloudWatch log (/aws-glue/crawlers), correct it, then redrive this run (it resumes at the crawl).`,
    );
  }
  return {
    crawlerName: input.crawlerName,
    requestedAt: input.requestedAt,
    state: 'READY',
    lastCrawl: { status: last.status, ...(last.startTime && { startTime: last.startTime.toISOString() }) },
  };
}
