/**
 * A bad file is a data rejection, not a pipeline fault: quarantined with its reason, announced as
 * REJECTED, exit code 2, and nothing lost. Also: `etl runs` filters.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LocalNotifier } from '../../adapters/local/notifier';
import { Sandbox } from './harness';

interface RunJson {
  runId: string;
  status: string;
  endState: string;
  rejection?: { reason: string; message: string };
  outputs: { quarantine?: string; reasonFile?: string };
}

describe('a rejected file', () => {
  const box = new Sandbox();
  let bad: string;
  let rejected: { code: number; json: RunJson };
  let accepted: { code: number; json: RunJson };

  beforeAll(async () => {
    bad = box.copyFixture('registrations/bad-header.csv', 'incoming/registrations/bad-header.csv');
    const good = box.copyFixture('registrations/small.csv', 'incoming/registrations/small.csv');
    rejected = await box.etlJson<RunJson>(['run', bad]);
    accepted = await box.etlJson<RunJson>(['run', good]);
  });
  afterAll(() => box.remove());

  test('ends REJECTED in FileRejected with exit code 2 and the reason named', () => {
    expect(rejected.code).toBe(2);
    expect(rejected.json).toMatchObject({ status: 'REJECTED', endState: 'FileRejected' });
    expect(rejected.json.rejection?.reason).toBe('HEADER_MISMATCH');
    expect(rejected.json.rejection?.message).toMatch(/line 1.*"amount"/);
  });

  test('the original is quarantined byte for byte with a reason file, and the uploaded file is untouched', () => {
    const quarantined = rejected.json.outputs.quarantine!;
    expect(quarantined).toContain(`${path.sep}quarantine${path.sep}registrations${path.sep}`);
    expect(readFileSync(quarantined)).toEqual(readFileSync(bad));
    const reason = JSON.parse(readFileSync(rejected.json.outputs.reasonFile!, 'utf8')) as Record<
      string,
      unknown
    >;
    expect(JSON.stringify(reason)).toContain('HEADER_MISMATCH');
    expect(existsSync(bad)).toBe(true); // `etl run` copies into landing; the user's file stays
  });

  test('a REJECTED notification is in the outbox', async () => {
    const notices = await new LocalNotifier({ outboxFile: path.join(box.home, 'outbox.jsonl') }).read();
    const mine = notices.filter((n) => n.attributes?.status === 'REJECTED');
    expect(mine).toHaveLength(1);
    expect(mine[0]!.subject).toContain('HEADER_MISMATCH');
  });

  test('a redrive is refused: the fix is a corrected upload', async () => {
    const r = await box.etl(['redrive', rejected.json.runId]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/REJECTED.*upload it again/);
  });

  test('etl runs filters by status and dataset', async () => {
    expect(accepted.json.status).toBe('SUCCEEDED');
    const ids = async (...args: string[]) =>
      (await box.etlJson<{ id: string }[]>(['runs', ...args])).json.map((r) => r.id);

    expect(await ids('--status', 'REJECTED')).toEqual([rejected.json.runId]);
    expect(await ids('--status', 'succeeded')).toEqual([accepted.json.runId]);
    expect(await ids('--status', 'FAILED')).toEqual([]); // REJECTED is its own status
    expect(await ids('--dataset', 'registrations')).toEqual([accepted.json.runId, rejected.json.runId]); // newest first
    expect(await ids('--dataset', 'payments')).toEqual([]);
    const wrong = await box.etl(['runs', '--status', 'DONE']);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/unknown status "DONE"/);
  });
});
