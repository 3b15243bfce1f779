/**
 * A run that fails outside the rejection path (a pipeline fault) is recorded FAILED from the
 * execution-status event, and a later successful redrive still ends SUCCEEDED.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalLedger } from '../../adapters/local/ledger';
import { logger } from '../../core/instrumentation';
import type { S3ObjectCreatedEvent } from '../../core/events';
import { claimObject } from '../../functions/claim/claim';
import { createRecordFailureStep } from '../../functions/record-failure/step';
import type { ExecutionStatusChange } from '../../functions/record-failure/record-failure';

const EVENT = readFileSync(path.join(__dirname, '../fixtures/steps/event-registrations.json'), 'utf8');
const statusChange = (status: string, input: string | null = EVENT): ExecutionStatusChange => ({
  'detail-type': 'Step Functions Execution Status Change',
  detail: { name: 'run-1', status, input },
});

let dir: string;
let ledger: LocalLedger;
beforeAll(() => logger.setLogLevel('SILENT'));
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'record-failure-'));
  ledger = new LocalLedger(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('a FAILED execution marks its claimed version FAILED; a redrive that succeeds moves it to SUCCEEDED', async () => {
  const claim = await claimObject(
    { runId: 'run-1', event: JSON.parse(EVENT) as S3ObjectCreatedEvent },
    { ledger },
  );
  const ref = { bucket: claim.source.bucket, key: claim.source.key, versionTag: claim.versionTag };

  const failed = await createRecordFailureStep({ ledger })(statusChange('FAILED'));
  const redriven = await ledger.settle(ref, 'SUCCEEDED', 'run-1');

  expect(failed).toMatchObject({ status: 'FAILED', detail: 'FAILED' });
  expect(redriven.status).toBe('SUCCEEDED');
});

test.each([
  ['a SUCCEEDED execution', statusChange('SUCCEEDED')],
  ['an execution without input', statusChange('TIMED_OUT', null)],
  ['an input that is not an S3 event', statusChange('ABORTED', '{"hello":"world"}')],
])('%s changes nothing', async (_what, event) => {
  expect(await createRecordFailureStep({ ledger })(event)).toBeUndefined();
});

/** The event's object claimed by run-1, whose file was then rejected (ledger REJECTED). */
async function claimThenReject(): Promise<void> {
  const claim = await claimObject(
    { runId: 'run-1', event: JSON.parse(EVENT) as S3ObjectCreatedEvent },
    { ledger },
  );
  await ledger.settle(
    { bucket: claim.source.bucket, key: claim.source.key, versionTag: claim.versionTag },
    'REJECTED',
    'run-1',
  );
}

test('a rejected file stays REJECTED even if its execution (which ends in Fail) reports FAILED', async () => {
  await claimThenReject();

  expect(await createRecordFailureStep({ ledger })(statusChange('FAILED'))).toMatchObject({
    status: 'REJECTED',
  });
});

test('a rejected run is not logged or counted as a failed run', async () => {
  await claimThenReject();
  const warn = jest.spyOn(logger, 'warn');

  await createRecordFailureStep({ ledger })(statusChange('FAILED'));

  expect(warn).not.toHaveBeenCalledWith('run failed', expect.anything());
  warn.mockRestore();
});

test('a pipeline fault is logged as a failed run', async () => {
  await claimObject({ runId: 'run-1', event: JSON.parse(EVENT) as S3ObjectCreatedEvent }, { ledger });
  const warn = jest.spyOn(logger, 'warn');

  await createRecordFailureStep({ ledger })(statusChange('TIMED_OUT'));

  expect(warn).toHaveBeenCalledWith('run failed', expect.objectContaining({ status: 'TIMED_OUT' }));
  warn.mockRestore();
});
