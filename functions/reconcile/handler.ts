/**
 * Reconcile Lambda, invoked by the EventBridge Scheduler schedule (infra/pipeline-stack.ts).
 * `createHandler(deps)` for any wiring; `handler` wired to S3, DynamoDB and Step Functions from
 * the environment on first use.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDbLedger } from '../../adapters/aws/dynamodb-ledger';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { requireStepEnv } from '../../adapters/aws/step-env';
import { LANDING_PREFIX } from '../../core/layout';
import { logger, metrics } from '../../core/instrumentation';
import type { IamNeeds } from '../../core/steps';
import { reconcileLanding, type ReconcileDeps, type ReconcileInput, type ReconcileResult } from './reconcile';
import { regionAndAccountOf, SfnRunStarter } from './sfn-run-starter';

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

export function createHandler(deps: ReconcileDeps): (input?: ReconcileInput) => Promise<ReconcileResult> {
  return async (input = {}) => {
    try {
      const result = await reconcileLanding(input ?? {}, deps);
      const count = (action: string) => result.decisions.filter((d) => d.action === action).length;
      logger.info('reconcile sweep', {
        scanned: result.scanned,
        started: result.started,
        alreadyStarted: count('already-started'),
        deferred: count('deferred'),
        tooRecent: count('too-recent'),
        startedKeys: result.decisions.filter((d) => d.action === 'started').map((d) => d.key),
      });
      metrics.addMetric('ReconcileStarted', MetricUnit.Count, result.started);
      return result;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

let wired: ((input?: ReconcileInput) => Promise<ReconcileResult>) | undefined;
export const handler = (input?: ReconcileInput): Promise<ReconcileResult> => {
  if (!wired) {
    const stateMachineArn = requireStepEnv('stateMachine');
    wired = createHandler({
      store: new S3ObjectStore(new S3Client({})),
      ledger: new DynamoDbLedger(new DynamoDBClient({}), requireStepEnv('ledgerTable')),
      starter: new SfnRunStarter(new SFNClient({}), stateMachineArn),
      landingBucket: requireStepEnv('landingBucket'),
      ...regionAndAccountOf(stateMachineArn),
    });
  }
  return wired(input);
};
