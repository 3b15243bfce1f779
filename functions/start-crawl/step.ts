/** The StartCrawl state's step, free of AWS: `createStartCrawlStep(ports)`. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import { startCrawl, type CrawlDeps, type CrawlResult, type StartCrawlInput } from './start-crawl';

export function createStartCrawlStep(ports: CrawlDeps): (input: StartCrawlInput) => Promise<CrawlResult> {
  return async (input) => {
    bindRun({ runId: input.runId, dataset: input.dataset });
    const result = await startCrawl(input, ports);
    logger.info('crawler start', { crawler: input.crawlerName, state: result.state });
    metrics.addMetric('CrawlsStarted', MetricUnit.Count, 1);
    return result;
  };
}
