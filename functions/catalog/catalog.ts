/**
 * Catalog: make the new Parquet objects queryable. `start` starts the crawler (a crawl already
 * in progress — another file's — surfaces as CrawlerRunningError, retried by the ASL); after a
 * Wait, `poll` throws CrawlerNotReadyError until the crawler is READY again (the ASL retries it,
 * bounded), then fails the run with CrawlFailedError if that crawl FAILED or was CANCELLED.
 */
import { CrawlFailedError, CrawlerNotReadyError } from '../../core/errors';
import type { Catalog } from '../../core/ports';

/** StartCrawl: Parameters { action: "start", runId, dataset, crawlerName }. */
export interface StartCrawlInput {
  readonly action: 'start';
  readonly runId: string;
  readonly dataset: string;
  readonly crawlerName: string;
}

/** PollCrawl: Parameters { action: "poll", runId, dataset, crawlerName, requestedAt ($.catalog.requestedAt) }. */
export interface PollCrawlInput {
  readonly action: 'poll';
  readonly runId: string;
  readonly dataset: string;
  readonly crawlerName: string;
  readonly requestedAt: string;
}

export type CatalogInput = StartCrawlInput | PollCrawlInput;

/** Kept at $.catalog. */
export interface CatalogResult {
  readonly crawlerName: string;
  /** When this run started its crawl (ISO). */
  readonly requestedAt: string;
  readonly state: 'RUNNING' | 'READY';
  readonly lastCrawl?: { readonly status: string; readonly startTime?: string };
}

export interface CatalogDeps {
  readonly catalog: Catalog;
  readonly now?: () => Date;
}

/**
 * A crawl recorded as starting this long before our start request is not ours (clocks of Lambda
 * and Glue differ by far less).
 */
const CLOCK_SKEW_MS = 60_000;

export async function startCrawl(input: StartCrawlInput, deps: CatalogDeps): Promise<CatalogResult> {
  const requestedAt = (deps.now ?? (() => new Date()))().toISOString();
  await deps.catalog.startCrawler(input.crawlerName);
  return { crawlerName: input.crawlerName, requestedAt, state: 'RUNNING' };
}

export async function pollCrawl(input: PollCrawlInput, deps: CatalogDeps): Promise<CatalogResult> {
  const status = await deps.catalog.getCrawler(input.crawlerName);
  if (status.state !== 'READY') {
    throw new CrawlerNotReadyError(`crawler ${input.crawlerName} is ${status.state}`);
  }
  const last = status.lastCrawl;
  const requested = Date.parse(input.requestedAt);
  if (!last || (last.startTime && last.startTime.getTime() < requested - CLOCK_SKEW_MS)) {
    throw new CrawlerNotReadyError(
      `crawler ${input.crawlerName} is READY but has not recorded the crawl started at ${input.requestedAt} yet`,
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
