/**
 * StartCrawl: make the new Parquet objects queryable by starting the crawler over curated/ —
 * or joining the crawl in progress (another file's). When hundreds of files land at once, runs
 * retrying StartCrawler against each other's crawls would exhaust their retries and fail;
 * instead PollCrawl (functions/poll-crawl) checks that the crawl it waited for started after this
 * run asked, and starts a fresh one when it did not — so one crawl can serve every run waiting on it.
 */
import type { Catalog } from '../../core/ports';

/** StartCrawl: Parameters { runId, dataset, crawlerName }. */
export interface StartCrawlInput {
  readonly runId: string;
  readonly dataset: string;
  readonly crawlerName: string;
}

/** What StartCrawl and PollCrawl return, kept at $.catalog. */
export interface CrawlResult {
  readonly crawlerName: string;
  /** When this run asked for a crawl (ISO): only a crawl started since then covers its output. */
  readonly requestedAt: string;
  /** StartCrawl: false when a crawl was already running and this run joined it. */
  readonly started?: boolean;
  readonly state: 'RUNNING' | 'READY';
  readonly lastCrawl?: { readonly status: string; readonly startTime?: string };
}

export interface CrawlDeps {
  readonly catalog: Catalog;
  readonly now?: () => Date;
}

/** Starts a crawl, or joins the one in progress: true when this call started it. */
export async function startOrJoinCrawl(catalog: Catalog, name: string): Promise<boolean> {
  try {
    await catalog.startCrawler(name);
    return true;
  } catch (e) {
    if ((e as Error).name === 'CrawlerRunningError') return false;
    throw e;
  }
}

export async function startCrawl(input: StartCrawlInput, deps: CrawlDeps): Promise<CrawlResult> {
  const requestedAt = (deps.now ?? (() => new Date()))().toISOString();
  const started = await startOrJoinCrawl(deps.catalog, input.crawlerName);
  return { crawlerName: input.crawlerName, requestedAt, started, state: 'RUNNING' };
}
