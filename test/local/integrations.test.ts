/**
 * Local Tasks fail and answer the way the AWS service integrations do, so the ASL's Retry/Catch
 * by name and its ResultSelectors work identically in both worlds.
 */
import { TransformFailedError } from '../../core/errors';
import { invokeLambda, lambdaInvokeResult, runGlueJobSync } from '../../local/integrations';

describe('service integration shapes', () => {
  test('a Lambda handler error surfaces with its name as Error and Lambda’s JSON envelope as Cause', async () => {
    class FileRejectedError extends Error {
      override readonly name = 'FileRejectedError';
    }

    const failure = await invokeLambda(async () => {
      throw new FileRejectedError('HEADER_MISMATCH: no amount column');
    }).catch((e: Error) => e);

    expect(failure.name).toBe('FileRejectedError');
    const cause = JSON.parse(failure.message) as { errorType: string; errorMessage: string; trace: string[] };
    expect(cause.errorType).toBe('FileRejectedError');
    expect(cause.errorMessage).toBe('HEADER_MISMATCH: no amount column');
    expect(cause.trace[0]).toContain('HEADER_MISMATCH');
  });

  test('a Lambda result passes through; lambda:invoke wraps it under Payload', async () => {
    await expect(invokeLambda(async () => ({ status: 'CLAIMED' }))).resolves.toEqual({ status: 'CLAIMED' });
    expect(lambdaInvokeResult({ status: 'CLAIMED' })).toMatchObject({
      Payload: { status: 'CLAIMED' },
      StatusCode: 200,
    });
  });

  test('a failed Glue job run is States.TaskFailed with the FAILED JobRun as Cause', async () => {
    const failure = await runGlueJobSync(
      { JobName: 'transform', Arguments: { '--dataset': 'registrations' } },
      async () => {
        throw new TransformFailedError('line 7, column amount: "1,5" is not canonical');
      },
    ).then(
      () => new Error('expected the job run to fail'),
      (e: Error) => e,
    );

    expect(failure.name).toBe('States.TaskFailed');
    const run = JSON.parse(failure.message) as Record<string, unknown>;
    expect(run).toMatchObject({
      JobName: 'transform',
      JobRunState: 'FAILED',
      Arguments: { '--dataset': 'registrations' },
      ErrorMessage: 'TransformFailedError: line 7, column amount: "1,5" is not canonical',
    });
    expect(String(run.Id)).toMatch(/^jr_[0-9a-f]{64}$/);
  });

  test('a succeeded Glue job run returns the JobRun fields the ASL selects', async () => {
    const run = await runGlueJobSync({ JobName: 'transform' }, async () => ({}) as never);

    expect(run).toMatchObject({ JobRunState: 'SUCCEEDED', JobName: 'transform' });
    expect(typeof run.StartedOn).toBe('number'); // epoch ms, as Step Functions serialises dates
    expect(run.ExecutionTime).toBeGreaterThanOrEqual(0);
  });
});
