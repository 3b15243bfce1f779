/**
 * The local CLI lands any file name and lets the pipeline judge it, as S3 and the trigger do on
 * AWS: a name the key allowlist refuses ends REJECTED with KEY_NOT_ALLOWED (exit 2), with its
 * `--json` outcome, and the original bytes are kept in quarantine next to a reason file.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Sandbox } from './harness';

interface RunJson {
  runId: string;
  status: string;
  executionStatus: string;
  endState: string;
  rejection?: { reason: string; message: string };
  outputs: { quarantine?: string; reasonFile?: string };
}

describe('etl run with a file name the pipeline refuses', () => {
  const box = new Sandbox();
  afterAll(() => box.remove());

  test("x';DROP TABLE t;--.csv ends REJECTED with KEY_NOT_ALLOWED, --json output, exit 2, the original kept", async () => {
    const name = "x';DROP TABLE t;--.csv";
    const file = box.copyFixture('registrations/small.csv', path.join('registrations', name));

    const r = await box.etlJson<RunJson>(['run', file]);

    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ status: 'REJECTED', endState: 'FileRejected' });
    expect(r.json.rejection?.reason).toBe('KEY_NOT_ALLOWED');
    expect(r.json.rejection?.message).toMatch(/"'"|";"|"--"/);
    const quarantined = r.json.outputs.quarantine!;
    // No part of the refused name names a folder or file: only its hash id does.
    expect(quarantined).toContain(`${path.sep}quarantine${path.sep}_unrouted${path.sep}`);
    expect(quarantined).not.toContain('DROP');
    expect(readFileSync(quarantined)).toEqual(readFileSync(file));
    const reason = JSON.parse(readFileSync(r.json.outputs.reasonFile!, 'utf8')) as {
      code: string;
      original: { key: string };
      fix: string;
    };
    expect(reason.code).toBe('KEY_NOT_ALLOWED');
    expect(reason.original.key).toBe(`incoming/registrations/${name}`);
    expect(existsSync(file)).toBe(true);

    const listed = await box.etlJson<{ id?: string; runId?: string; status: string }[]>([
      'runs',
      '--status',
      'REJECTED',
    ]);
    expect(JSON.stringify(listed.json)).toContain(r.json.runId);
  });

  test('without --json: the state lines, the reason, exit 2', async () => {
    const file = box.copyFixture('registrations/small.csv', path.join('registrations', 'report $HOME.csv'));

    const r = await box.etl(['run', file]);

    expect(r.code).toBe(2);
    expect(r.out).toMatch(/REJECTED/);
    expect(r.out).toMatch(/KEY_NOT_ALLOWED/);
  });
});
