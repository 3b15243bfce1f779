/**
 * What functions/reconcile does to AWS, as data: the stack grants exactly this (infra/).
 * Kept apart from handler.ts so reading it loads no AWS SDK.
 */
import { LANDING_PREFIX } from '../../core/layout';
import type { IamNeeds } from '../../core/steps';
export const iamNeeds: IamNeeds = [
  {
    on: 'landingBucket',
    actions: ['s3:ListBucket'],
    prefixes: [LANDING_PREFIX],
    why: 'list the uploads under incoming/',
  },
  {
    on: 'landingBucket',
    actions: ['s3:GetObject'],
    prefixes: [LANDING_PREFIX],
    why: 'HeadObject for the current version id of each upload',
  },
  { on: 'ledgerTable', actions: ['dynamodb:GetItem'], why: 'does the ledger know this version?' },
  { on: 'stateMachine', actions: ['states:StartExecution'], why: 'start a run for a version nobody claimed' },
];
