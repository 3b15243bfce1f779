/**
 * Catalog Lambda (two Task states, one function): `{ action: "start" }` starts the crawler,
 * `{ action: "poll" }` checks it. `createHandler(deps)` for any wiring, `handler` wired to Glue.
 */
import { GlueClient } from '@aws-sdk/client-glue';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { GlueCatalog } from '../../adapters/aws/glue-catalog';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import { pollCrawl, startCrawl, type CatalogDeps, type CatalogInput, type CatalogResult } from './catalog';

export { iamNeeds } from './iam';

export function createHandler(deps: CatalogDeps): (input: CatalogInput) => Promise<CatalogResult> {
  return async (input) => {
    bindRun({ runId: input.runId, dataset: input.dataset });
    try {
      const result = input.action === 'start' ? await startCrawl(input, deps) : await pollCrawl(input, deps);
      logger.info(`crawler ${input.action}`, { crawler: input.crawlerName, state: result.state });
      metrics.addMetric(input.action === 'start' ? 'CrawlsStarted' : 'CrawlsCompleted', MetricUnit.Count, 1);
      return result;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

let wired: ((input: CatalogInput) => Promise<CatalogResult>) | undefined;
export const handler = (input: CatalogInput): Promise<CatalogResult> =>
  (wired ??= createHandler({ catalog: new GlueCatalog(new GlueClient({})) }))(input);
