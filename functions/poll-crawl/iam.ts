/**
 * What functions/poll-crawl does to AWS, as data: the stack grants exactly this (infra/), and
 * test/steps/aws-wiring.test.ts checks every call the step makes against moto is covered.
 * Kept apart from handler.ts so reading it loads no AWS SDK.
 */
import type { IamNeeds } from '../../core/steps';
export const iamNeeds: IamNeeds = [
  {
    on: 'glueCrawler',
    actions: ['glue:GetCrawler', 'glue:StartCrawler'],
    why: 'poll the crawl; start a fresh one when the last started before this run asked',
  },
];
