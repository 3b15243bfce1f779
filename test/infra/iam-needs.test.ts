import { App, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { IamNeeds } from '../../core/steps';
import { STEPS, stepRegistration, type StepRegistration } from '../../functions/steps';
import { statementsFor, type IamResourceMap } from '../../infra/iam-needs';

const REPO = path.resolve(__dirname, '../..');
const FUNCTIONS = path.join(REPO, 'functions');
const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const LAKE = 'arn:aws:s3:::lake';

const stack = new Stack(new App(), 'Needs');
const key = kms.Key.fromKeyArn(stack, 'Key', KEY_ARN);
const resources: IamResourceMap = {
  lakeBucket: { kind: 'bucket', bucketArn: LAKE },
  ledgerTable: { kind: 'arns', arns: ['arn:aws:dynamodb:eu-west-1:111122223333:table/ledger'] },
  stateMachine: {
    kind: 'stateMachine',
    stateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:pipe',
    executionsArn: 'arn:aws:states:eu-west-1:111122223333:execution:pipe:*',
  },
};

/** The statements as IAM JSON. */
function render(needs: IamNeeds): Record<string, unknown>[] {
  return statementsFor('functions/test', needs, resources, key).map(
    (s) => stack.resolve(s.toStatementJson()) as Record<string, unknown>,
  );
}

describe('iamNeeds → IAM statements', () => {
  test('object actions are limited to the declared prefixes; listing carries an s3:prefix condition', () => {
    const statements = render([
      {
        on: 'lakeBucket',
        actions: ['s3:GetObject', 's3:ListBucket'],
        prefixes: ['staging/', 'rejects/'],
        why: 't',
      },
    ]);

    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: 's3:GetObject',
          Resource: [`${LAKE}/staging/*`, `${LAKE}/rejects/*`],
        }),
        expect.objectContaining({
          Action: 's3:ListBucket',
          Resource: LAKE,
          Condition: { StringLike: { 's3:prefix': ['staging/*', 'rejects/*'] } },
        }),
      ]),
    );
  });

  test('reading an SSE-KMS object adds Decrypt only; writing adds GenerateDataKey, on the key alone', () => {
    const reads = render([{ on: 'lakeBucket', actions: ['s3:GetObject'], why: 't' }]);
    const writes = render([{ on: 'lakeBucket', actions: ['s3:PutObject'], why: 't' }]);

    expect(reads.find((s) => JSON.stringify(s.Action).includes('kms:'))).toEqual({
      Action: 'kms:Decrypt',
      Effect: 'Allow',
      Resource: KEY_ARN,
    });
    expect(writes.find((s) => JSON.stringify(s.Action).includes('kms:'))?.Action).toEqual([
      'kms:Decrypt',
      'kms:GenerateDataKey',
    ]);
  });

  test('execution-level Step Functions actions go to the executions ARN, starting to the machine', () => {
    const statements = render([
      { on: 'stateMachine', actions: ['states:StartExecution', 'states:DescribeExecution'], why: 't' },
    ]);

    expect(statements).toEqual([
      expect.objectContaining({
        Action: 'states:StartExecution',
        Resource: 'arn:aws:states:eu-west-1:111122223333:stateMachine:pipe',
      }),
      expect.objectContaining({
        Action: 'states:DescribeExecution',
        Resource: 'arn:aws:states:eu-west-1:111122223333:execution:pipe:*',
      }),
    ]);
  });

  test('a wildcard action is refused, naming the step and the fix', () => {
    expect(() => render([{ on: 'lakeBucket', actions: ['s3:*'], why: 't' }])).toThrow(
      /functions\/test: iamNeeds action "s3:\*" on lakeBucket is not an exact IAM action/,
    );
  });

  test('a prefix that is not a folder is refused', () => {
    expect(() =>
      render([{ on: 'lakeBucket', actions: ['s3:GetObject'], prefixes: ['staging'], why: 't' }]),
    ).toThrow(/prefix "staging" on lakeBucket must be a key prefix ending in "\/"/);
  });

  test('a resource the stack does not give this function is refused, listing the known ones', () => {
    expect(() => render([{ on: 'glueCrawler', actions: ['glue:StartCrawler'], why: 't' }])).toThrow(
      /names "glueCrawler", which this stack does not give to that function. Known: lakeBucket, ledgerTable, stateMachine/,
    );
  });
});

describe('the step registry (functions/steps.ts)', () => {
  const folders = readdirSync(FUNCTIONS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

  test('every step folder is registered with the needs its iam.ts declares, and every registered step has a folder', () => {
    expect(Object.keys(STEPS).sort()).toEqual(folders);
    for (const step of folders) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- every folder's iam.ts, by path
      const declared = (require(path.join(FUNCTIONS, step, 'iam.ts')) as { iamNeeds: IamNeeds }).iamNeeds;
      expect({ step, iamNeeds: stepRegistration(step).iamNeeds }).toEqual({ step, iamNeeds: declared });
    }
  });

  test('a worker-thread entry a step registers exists', () => {
    const workers = Object.values(STEPS).flatMap((r: StepRegistration) => r.workers ?? []);
    expect(workers).toContain('csv/parse-worker.ts');
    for (const w of workers)
      expect({ w, exists: existsSync(path.join(REPO, w)) }).toEqual({ w, exists: true });
  });

  test('a step the registry does not know stops the synth with the fix', () => {
    expect(() => stepRegistration('undeclared')).toThrow(
      /functions\/steps.ts: no step "undeclared". Fix: add functions\/undeclared\/ \(handler.ts, step.ts, iam.ts\) and register its iamNeeds in STEPS/,
    );
  });
});
