/**
 * What functions/start-crawl does to AWS, as data: the stack grants exactly this (infra/), and
 * test/steps/aws-wiring.test.ts checks every call the step makes against moto is covered.
 * Kept apart from handler.ts so reading it loads no AWS SDK.
 */
import type { IamNeeds } from '../../core/steps';
export const iamNeeds: IamNeeds = [
  {
    on: 'glueCrawler',
    actions: ['glue:StartCrawler'],
    why: 'start the crawl over curated/ (or find one running and join it)',
  },
];
