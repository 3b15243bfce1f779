/**
 * The Glue crawler behind the Catalog port. "Already running" is Glue's CrawlerRunningException,
 * mapped to CrawlerRunningError (the name the ASL retries); throttling maps to
 * TransientDependencyError.
 */
import { GetCrawlerCommand, GlueClient, StartCrawlerCommand } from '@aws-sdk/client-glue';
import { CrawlerRunningError } from '../../core/errors';
import type { Catalog, CrawlerState, CrawlerStatus, LastCrawl } from '../../core/ports';
import { rethrowTransient } from './transient';

/** @example new GlueCatalog(new GlueClient({})) */
export class GlueCatalog implements Catalog {
  constructor(private readonly client: GlueClient) {}

  async startCrawler(name: string): Promise<void> {
    try {
      await this.client.send(new StartCrawlerCommand({ Name: name }));
    } catch (e) {
      if ((e as Error).name === 'CrawlerRunningException') {
        throw new CrawlerRunningError(`crawler ${name} is already running: ${(e as Error).message}`);
      }
      rethrowTransient(e, `glue: start crawler ${name}`);
    }
  }

  async getCrawler(name: string): Promise<CrawlerStatus> {
    try {
      const { Crawler } = await this.client.send(new GetCrawlerCommand({ Name: name }));
      const last = Crawler?.LastCrawl;
      const lastCrawl: LastCrawl | undefined =
        last?.Status === undefined
          ? undefined
          : {
              status: last.Status,
              ...(last.StartTime !== undefined && { startTime: last.StartTime }),
              ...(last.ErrorMessage !== undefined && { errorMessage: last.ErrorMessage }),
            };
      return { state: (Crawler?.State ?? 'READY') as CrawlerState, ...(lastCrawl && { lastCrawl }) };
    } catch (e) {
      return rethrowTransient(e, `glue: get crawler ${name}`);
    }
  }
}
