/**
 * StartCrawl Lambda: the AWS entry around `createStartCrawlStep` (step.ts), the catalog on Glue.
 * Clients come from the environment, each traced; the shared Logger, Metrics and Tracer are
 * attached with Middy as Powertools documents it (core/instrumentation.ts).
 */
import { GlueClient } from '@aws-sdk/client-glue';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { GlueCatalog } from '../../adapters/aws/glue-catalog';
import { logger, metrics } from '../../core/instrumentation';
import { tracer } from '../../core/tracer';
import type { CrawlResult, StartCrawlInput } from './start-crawl';
import { createStartCrawlStep } from './step';

const glue = tracer.captureAWSv3Client(new GlueClient({}));

const step = createStartCrawlStep({ catalog: new GlueCatalog(glue) });

export const handler = middy<StartCrawlInput, CrawlResult>(step)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
