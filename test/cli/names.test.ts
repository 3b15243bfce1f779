/**
 * File names are untrusted input (BAD_INPUTS "Object keys"): unusual but allowed names go through
 * the whole pipeline (URL-encoded in the event, decoded once); names the allowlist refuses land
 * (as any name can be uploaded to S3) and are rejected and quarantined by the pipeline, however
 * they arrive (`etl run`, dropped into landing), never reaching a path, a prefix or SQL.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { RunStore } from '../../local/run-record';
import { FIXTURES, Sandbox } from './harness';

const SMALL = path.join(FIXTURES, 'registrations/small.csv');

describe('landing key names', () => {
  let box: Sandbox;
  beforeEach(() => (box = new Sandbox()));
  afterEach(() => box.remove());

  test('spaces, +, parentheses, accents and emoji: processed and archived under the original name', async () => {
    const name = 'red flower+(1) é 🌸.csv';
    const csv = box.copyFixture('registrations/small.csv', `registrations/${name}`);

    const r = await box.etlJson<{ status: string; source: string; outputs: { archive: string } }>([
      'run',
      csv,
    ]);

    expect(r.code).toBe(0);
    expect(r.json.status).toBe('SUCCEEDED');
    expect(r.json.source).toBe(`landing/incoming/registrations/${name}`);
    expect(path.basename(r.json.outputs.archive)).toBe(name);
    expect(existsSync(r.json.outputs.archive)).toBe(true);
  });

  test("a quote in the name: etl run lands it and the pipeline rejects it with the allowlist's reason (exit 2)", async () => {
    const csv = box.copyFixture('registrations/small.csv', "registrations/it's.csv");

    const r = await box.etl(['run', csv]);

    expect(r.code).toBe(2);
    expect(r.out).toMatch(/KEY_NOT_ALLOWED/);
    expect(r.out).toMatch(/key contains the character "'"/);
    const [run] = new RunStore(path.join(box.home, 'runs')).list();
    expect(existsSync(run!.outputs.quarantine!)).toBe(true);
    expect(existsSync(path.join(box.home, "landing/incoming/registrations/it's.csv"))).toBe(false);
  });

  test('the same name dropped straight into landing is rejected by the pipeline and quarantined', async () => {
    const incoming = path.join(box.home, 'landing/incoming/registrations');
    mkdirSync(incoming, { recursive: true });
    copyFileSync(SMALL, path.join(incoming, 'a;b.csv'));

    const r = await box.etl(['reconcile']);

    const [run] = new RunStore(path.join(box.home, 'runs')).list();
    expect(r.code).toBe(1);
    expect(run).toMatchObject({
      displayStatus: 'REJECTED',
      dataset: 'registrations',
      rejection: { reason: 'KEY_NOT_ALLOWED' },
    });
    expect(existsSync(path.join(incoming, 'a;b.csv'))).toBe(false); // moved to quarantine, not left behind
    expect(existsSync(run!.outputs.quarantine!)).toBe(true);
  });
});
