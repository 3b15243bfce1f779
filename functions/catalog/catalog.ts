/**
 * Catalog: make the new Parquet objects queryable. `start` starts the crawler; after a Wait,
 * `poll` throws CrawlerNotReadyError until a crawl that started after this run's output existed
 * has finished (the ASL retries it, bounded), then fails the run with CrawlFailedError if that
 * crawl FAILED or was CANCELLED.
 *
 * A crawl already in progress (another file's) is joined rather than retried: when hundreds of
 * files land at once, runs retrying StartCrawler against each other's crawls would exhaust their
 * retries and fail. Instead the poll checks that the crawl it waited for started after this run
 * asked, and starts a fresh one when it did not — so one crawl can serve every run waiting on it.
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
  /** When this run asked for a crawl (ISO): only a crawl started since then covers its output. */
  readonly requestedAt: string;
  /** start: false when a crawl was already running and this run joined it. */
  readonly started?: boolean;
  readonly state: 'RUNNING' | 'READY';
  readonly lastCrawl?: { readonly status: string; readonly startTime?: string };
}

export interface CatalogDeps {
  readonly catalog: Catalog;
  readonly now?: () => Date;
}

/**
 * Clock tolerance when comparing Glue's crawl start time with our request time. Small on purpose:
 * a crawl that started before our objects existed may have missed them. (A crawler spends its
 * first tens of seconds provisioning before it lists S3, which covers this margin.)
 */
const CLOCK_SKEW_MS = 2_000;

/** Starts a crawl, or joins the one in progress. */
async function startOrJoin(catalog: Catalog, name: string): Promise<boolean> {
  try {
    await catalog.startCrawler(name);
    return true;
  } catch (e) {
    if ((e as Error).name === 'CrawlerRunningError') return false;
    throw e;
  }
}

export async function startCrawl(input: StartCrawlInput, deps: CatalogDeps): Promise<CatalogResult> {
  const requestedAt = (deps.now ?? (() => new Date()))().toISOString();
  const started = await startOrJoin(deps.catalog, input.crawlerName);
  return { crawlerName: input.crawlerName, requestedAt, started, state: 'RUNNING' };
}

export async function pollCrawl(input: PollCrawlInput, deps: CatalogDeps): Promise<CatalogResult> {
  const status = await deps.catalog.getCrawler(input.crawlerName);
  if (status.state !== 'READY') {
    throw new CrawlerNotReadyError(`crawler ${input.crawlerName} is ${status.state}`);
  }
  const last = status.lastCrawl;
  const requested = Date.parse(input.requestedAt);
  if (!last || (last.startTime && last.startTime.getTime() < requested - CLOCK_SKEW_MS)) {
    // The crawl we joined (or none) started before this run's output existed: start a fresh one.
    const started = await startOrJoin(deps.catalog, input.crawlerName);
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
