/** The PollCrawl state's step, free of AWS: `createPollCrawlStep(ports)`. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import type { CrawlDeps, CrawlResult } from '../start-crawl/start-crawl';
import { pollCrawl, type PollCrawlInput } from './poll-crawl';

export function createPollCrawlStep(ports: CrawlDeps): (input: PollCrawlInput) => Promise<CrawlResult> {
  return async (input) => {
    bindRun({ runId: input.runId, dataset: input.dataset });
    const result = await pollCrawl(input, ports);
    logger.info('crawler poll', { crawler: input.crawlerName, state: result.state });
    metrics.addMetric('CrawlsCompleted', MetricUnit.Count, 1);
    return result;
  };
}
