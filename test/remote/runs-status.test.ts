import { displayStatusOf, listRuns } from '../../remote';
import { startAwsJsonStub, type AwsJsonStub } from './aws-json-stub';
import { remoteOnStub } from './stub-fixtures';

const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:etl-pipeline';
const T0 = 1767225600;

/** Three FAILED executions, newest first: a rejection, a pipeline fault, another rejection. */
const EXECUTIONS = [
  { name: 'r-3', error: 'FileRejectedError', key: 'incoming/orders/c.csv' },
  { name: 'r-2', error: 'States.TaskFailed', key: 'incoming/orders/b.csv' },
  { name: 'r-1', error: 'FileRejectedError', key: 'incoming/clicks/a.csv' },
].map((e, i) => ({
  ...e,
  executionArn: `${SM.replace(':stateMachine:', ':execution:')}:${e.name}`,
  startDate: T0 - i * 60,
}));

// moto's interpreter runs one execution per state machine, so lists of finished runs come from the stub.
/** An execution as ListExecutions lists it (DescribeExecution adds error and input). */
const listedAs = (e: (typeof EXECUTIONS)[number]) => ({
  executionArn: e.executionArn,
  stateMachineArn: SM,
  name: e.name,
  status: 'FAILED',
  startDate: e.startDate,
  stopDate: e.startDate + 30,
});

describe('etl runs --status REJECTED --stack (stub: ListExecutions + DescribeExecution)', () => {
  let stub: AwsJsonStub;
  beforeAll(async () => {
    stub = await startAwsJsonStub(({ operation, body }) => {
      if (operation === 'ListExecutions') {
        return {
          body: {
            executions: EXECUTIONS.map(listedAs),
          },
        };
      }
      if (operation === 'DescribeExecution') {
        const e = EXECUTIONS.find((x) => x.executionArn === body.executionArn)!;
        return {
          body: {
            ...listedAs(e),
            error: e.error,
            input: JSON.stringify({ detail: { object: { key: e.key } } }),
          },
        };
      }
      return { error: 'UnknownOperationException', message: operation };
    });
  });
  afterAll(async () => stub.stop());

  test('REJECTED asks Step Functions for FAILED runs and keeps those that ended in FileRejectedError', async () => {
    const { runs } = await listRuns(remoteOnStub(stub), { status: 'REJECTED' });

    expect(runs.map((r) => r.id)).toEqual(['r-3', 'r-1']);
    expect(runs.map(displayStatusOf)).toEqual(['REJECTED', 'REJECTED']);
    const listCall = stub.requests.find((r) => r.operation === 'ListExecutions')!;
    expect(listCall.body.statusFilter).toBe('FAILED');
  });

  test('FAILED lists faults and rejections alike; the display status tells them apart', async () => {
    const { runs } = await listRuns(remoteOnStub(stub), { status: 'FAILED' });

    expect(runs.map((r) => [r.id, displayStatusOf(r), r.durationMs])).toEqual([
      ['r-3', 'REJECTED', 30_000],
      ['r-2', 'FAILED', 30_000],
      ['r-1', 'REJECTED', 30_000],
    ]);
  });

  test('dataset and status filters combine', async () => {
    const { runs } = await listRuns(remoteOnStub(stub), { status: 'REJECTED', dataset: 'orders' });

    expect(runs.map((r) => r.id)).toEqual(['r-3']);
  });
});
