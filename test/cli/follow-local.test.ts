/**
 * `etl runs show <id> --follow` on the local folder: a run started by another command is followed
 * through its run record until it ends, state by state, then drawn; the exit code is the run's.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Sandbox } from './harness';

describe('etl runs show --follow (local)', () => {
  const box = new Sandbox();
  afterAll(() => box.remove());

  test('follows a run another command is running to its end; exit 0', async () => {
    const csv = box.copyFixture('registrations/small.csv', 'incoming/registrations/small.csv');
    const running = box.start(['run', csv]);
    const runsDir = path.join(box.home, 'runs');
    await box.until(
      () => existsSync(runsDir) && readdirSync(runsDir).some((f) => f.endsWith('.json')),
      'the run record',
    );
    const id = readdirSync(runsDir)
      .find((f) => f.endsWith('.json'))!
      .replace(/\.json$/, '');

    const followed = await box.etl(['runs', 'show', id, '--follow', '--poll-ms', '20']);
    const ran = await running.done;

    expect(ran.code).toBe(0);
    expect(followed.code).toBe(0);
    expect(followed.out).toMatch(/^ {2}✓ Claim +SUCCEEDED/m);
    expect(followed.out).toMatch(/^ {2}✓ Archive +SUCCEEDED/m);
    expect(followed.out).toMatch(new RegExp(`^run ${id} {2}SUCCEEDED`, 'm'));
    // Each state's line once, whatever the number of looks (the path drawn after it has its own).
    const live = followed.out.slice(0, followed.out.indexOf(`run ${id}`));
    expect(live.match(/^ {2}✓ Claim /gm)).toHaveLength(1);
  });

  test('a rejected run is exit 2; an unknown id is a usage error', async () => {
    const bad = box.copyFixture('registrations/bad-header.csv', 'incoming/registrations/bad-header.csv');
    const rejected = (await box.etlJson<{ runId: string }>(['run', bad])).json.runId;

    const r = await box.etl(['runs', 'show', rejected, '--follow']);
    const missing = await box.etl(['runs', 'show', 'nope-123', '--follow']);

    expect(r.code).toBe(2);
    expect(r.out).toMatch(/FileRejected/);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/no run "nope-123"/);
  });
});
