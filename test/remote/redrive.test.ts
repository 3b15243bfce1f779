import { redriveRun, RedriveRefusedError } from '../../remote';
import { startAwsJsonStub, type AwsJsonStub, type StubReply } from './aws-json-stub';
import { remoteOnStub, wireFixture } from './stub-fixtures';

const REDRIVE_DATE = 1767229200; // epoch seconds, as the service sends it

/** A stub whose DescribeExecution returns the failed run with `overrides`, and RedriveExecution `redrive`. */
async function stubWith(overrides: Record<string, unknown>, redrive: StubReply): Promise<AwsJsonStub> {
  return startAwsJsonStub(({ operation }) => {
    if (operation === 'DescribeExecution')
      return { body: { ...wireFixture('describe-execution-failed.json'), ...overrides } };
    if (operation === 'RedriveExecution') return redrive;
    return { error: 'UnknownOperationException', message: operation };
  });
}

// moto 5.1.4 answers RedriveExecution with a 500, so these scenarios run against the stub.
describe('etl redrive --stack (stub: DescribeExecution + RedriveExecution in the AWS wire format)', () => {
  let stub: AwsJsonStub | undefined;
  afterEach(async () => stub?.stop());

  test.each(['FAILED', 'TIMED_OUT', 'ABORTED'])(
    'a %s run is redriven once, by its execution ARN',
    async (status) => {
      stub = await stubWith({ status }, { body: { redriveDate: REDRIVE_DATE } });

      const result = await redriveRun(remoteOnStub(stub), '3f9c2a7e-redriven');

      expect(result).toEqual({
        id: '3f9c2a7e-redriven',
        arn: 'arn:aws:states:eu-west-1:123456789012:execution:etl-pipeline:3f9c2a7e-redriven',
        from: status,
        redriveDate: new Date(REDRIVE_DATE * 1000).toISOString(),
      });
      const calls = stub.requests.filter((r) => r.operation === 'RedriveExecution');
      expect(calls).toHaveLength(1);
      expect(calls[0]!.body.executionArn).toBe(result.arn);
      expect(calls[0]!.body.clientToken).toMatch(/^[0-9a-f-]{36}$/);
    },
  );

  test('a run Step Functions marks NOT_REDRIVABLE is refused with its reason, without calling RedriveExecution', async () => {
    stub = await stubWith(
      { redriveStatus: 'NOT_REDRIVABLE', redriveStatusReason: 'Execution is older than 14 days' },
      { body: {} },
    );

    const redriving = redriveRun(remoteOnStub(stub), '3f9c2a7e-redriven');

    await expect(redriving).rejects.toBeInstanceOf(RedriveRefusedError);
    await expect(redriving).rejects.toThrow(/older than 14 days.*upload the file again/);
    expect(stub.requests.map((r) => r.operation)).not.toContain('RedriveExecution');
  });

  test('ExecutionNotRedrivable from the service becomes the same clear refusal', async () => {
    stub = await stubWith(
      {},
      { error: 'ExecutionNotRedrivable', message: 'Execution was redriven 1000 times' },
    );

    const redriving = redriveRun(remoteOnStub(stub), '3f9c2a7e-redriven');

    await expect(redriving).rejects.toBeInstanceOf(RedriveRefusedError);
    await expect(redriving).rejects.toThrow(/cannot be redriven: Execution was redriven 1000 times/);
  });

  test('an execution of another state machine is refused before any call', async () => {
    stub = await stubWith({}, { body: {} });
    const foreign = 'arn:aws:states:eu-west-1:123456789012:execution:other-machine:3f9c2a7e';

    await expect(redriveRun(remoteOnStub(stub), foreign)).rejects.toThrow(
      /is not an execution of this stack's state machine/,
    );
    expect(stub.requests).toEqual([]);
  });
});
