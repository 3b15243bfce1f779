/**
 * What functions/check-still-latest does to AWS, as data: the stack grants exactly this (infra/),
 * and test/steps/aws-wiring.test.ts checks every call the step makes against moto is covered.
 * Kept apart from handler.ts so reading it loads no AWS SDK.
 */
import type { IamNeeds } from '../../core/steps';
export const iamNeeds: IamNeeds = [
  {
    on: 'ledgerTable',
    actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    why: 'is a newer version of the key claimed (latest), then record this one STALE',
  },
];
