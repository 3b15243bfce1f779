/**
 * Idempotency and ordering through the real local pipeline: claims key on bucket + key + version,
 * each version is processed from its own bytes, the newest version's rows are the ones left in the
 * table, and re-running one file never touches another file's rows.
 *
 * test/local/pipeline.test.ts already covers a duplicate delivered after the first run finished and
 * an older version's event arriving after the newer one finished (StaleVersion); these scenarios
 * add concurrency and check the table's contents, not only the end states.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sequencerOrderKey } from '../../core/events';
import { sourceIdOf, versionTagOf } from '../../core/layout';
import type { EngineName } from '../../local/pipeline';
import { visitsOf, type RunRecord } from '../../local/run-record';
import { requirePythonSide } from '../support/python';
import { filesUnder, fixture, ReliabilityHome } from './support';

const KEY = 'incoming/event_sessions/schedule.csv';
const V1 = fixture('event_sessions/base.csv'); // 20 sessions, SES-000001..20
const V2 = fixture('event_sessions/schedule.csv'); // 6 rows, 5 sessions after dedupe
const idsOf = (csv: Buffer) =>
  [
    ...new Set(
      csv
        .toString('utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',')[0]!),
    ),
  ].sort();

/** A gate a run waits at (in a beforeTask hook) until the scenario opens it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  let reached!: () => void;
  const arrived = new Promise<void>((r) => (reached = r));
  return { open, opened, arrived, reached };
}

const stateNames = (r: RunRecord) => visitsOf(r).map((v) => v.name);
const ledgerRecords = (h: ReliabilityHome) =>
  readdirSync(h.home.ledgerDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /^v-[0-9a-f]{12}\.json$/.test(e.name))
    .map(
      (e) =>
        JSON.parse(readFileSync(path.join(e.parentPath, e.name), 'utf8')) as {
          status: string;
          versionTag: string;
        },
    );

let h: ReliabilityHome;
beforeEach(() => (h = new ReliabilityHome('etl-idem-')));
afterEach(() => h.dispose());

test('the same event delivered twice at the same moment: one claim, one transform, one set of rows', async () => {
  const v = await h.land(KEY, V2);

  const [a, b] = await Promise.all([h.run(v.event), h.run(v.event)]);

  const ends = [a.endState, b.endState].sort();
  expect(ends).toEqual(['DuplicateDelivery', 'Succeeded']);
  const transformed = [a, b].filter((r) => stateNames(r).includes('Transform'));
  expect(transformed).toHaveLength(1);
  const [{ n, ids }] = await h.query<{ n: string; ids: string }>(
    'SELECT count(*) AS n, count(DISTINCT session_id) AS ids FROM event_sessions',
  );
  expect([Number(n), Number(ids)]).toEqual([5, 5]);
  expect(ledgerRecords(h)).toEqual([expect.objectContaining({ status: 'SUCCEEDED' })]);
});

test('the claim keys on the object version, not the event: a re-sent event (new event id) is a duplicate, a new version is not', async () => {
  const v1 = await h.land(KEY, V2);
  // EventBridge's retry of the same S3 notification: another event id and request id, same object version.
  const resent = {
    ...v1.event,
    id: 'another-event-id',
    detail: { ...v1.event.detail, 'request-id': 'ANOTHERREQUEST' },
  };

  const first = await h.run(v1.event);
  const again = await h.run(resent);
  const v2 = await h.land(KEY, V2); // the same bytes uploaded again: a new version of the key
  const second = await h.run(v2.event);

  expect([first.endState, again.endState, second.endState]).toEqual([
    'Succeeded',
    'DuplicateDelivery',
    'Succeeded',
  ]);
  expect(ledgerRecords(h).map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  const [{ n }] = await h.query<{ n: string }>('SELECT count(*) AS n FROM event_sessions');
  expect(Number(n)).toBe(5); // the newer version replaced the older one's rows, nothing doubled
});

test('a stale event for an older version arriving after the newer one finished leaves the newer rows in place', async () => {
  const older = await h.land(KEY, V1);
  const newer = await h.land(KEY, V2);

  const latest = await h.run(newer.event);
  const late = await h.run(older.event);

  expect([latest.endState, late.endState]).toEqual(['Succeeded', 'StaleVersion']);
  // One ledger record per object version; the stale version's bytes are not lost either.
  await expectNewerVersionWon(h, older.info.versionId!);
});

test('overwritten while its first run validates: each version is read from its own bytes, the newest wins', async () => {
  const v1 = await h.land(KEY, V1);
  const hold = gate();
  const first = h.run(v1.event, {
    beforeTask: async (state) => {
      if (state !== 'Validate') return;
      hold.reached();
      await hold.opened;
    },
  });
  await hold.arrived;

  // The key is overwritten while the first run is inside Validate; the newer run goes all the way.
  const v2 = await h.land(KEY, V2);
  const second = await h.run(v2.event);
  hold.open();
  const firstDone = await first;

  expect(second.endState).toBe('Succeeded');
  expect(second.counts).toMatchObject({ rowsRead: 6, rowsWritten: 5 });
  // The first run read version 1 (20 rows), not what the key holds now, then stood down.
  expect(firstDone.counts.rowsRead).toBe(20);
  expect(firstDone.endState).toBe('Superseded');
  expect(stateNames(firstDone)).not.toContain('Transform');
  await expectNewerVersionWon(h, v1.info.versionId!);
});

const ENGINES_HERE: EngineName[] = [
  'duckdb',
  ...(requirePythonSide('spark', 'idempotency: GAP-2 on local Spark') ? (['spark'] as const) : []),
];

test.each(ENGINES_HERE)(
  'GAP-2 (fixed): overwritten after the first run passed CheckStillLatest: the newer rows stay, the older run stands down (%s)',
  async (engine) => {
    // Interleaving: v1 passes CheckStillLatest and is about to start its transform; v2 is uploaded
    // and runs to the end; then v1's transform runs. v1's transform finds v2's manifest in place
    // (greater source order) and publishes nothing; v1's Verify stands the run down.
    const e = new ReliabilityHome(`etl-idem-${engine}-`, undefined, engine);
    try {
      const v1 = await e.land(KEY, V1);
      const hold = gate();
      let afterV1Transform: string[] | undefined;
      const first = e.run(v1.event, {
        beforeTask: async (state) => {
          if (state === 'Transform') {
            hold.reached();
            await hold.opened;
          }
          if (state === 'RegisterPartitions' && afterV1Transform === undefined) {
            // v1's transform has ended (an ordinary file goes on to RegisterPartitions, then
            // Verify; no crawl): not one of its rows is visible, not even before Verify.
            afterV1Transform = (
              await e.query<{ session_id: string }>('SELECT session_id FROM event_sessions ORDER BY 1')
            ).map((r) => r.session_id);
          }
        },
      });
      await hold.arrived;
      const v2 = await e.land(KEY, V2);
      const second = await e.run(v2.event);
      hold.open();
      const firstDone = await first;

      expect(second.endState).toBe('Succeeded');
      expect(firstDone.status).toBe('SUCCEEDED');
      expect(firstDone.endState).toBe('Superseded');
      expect(stateNames(firstDone)).toEqual(expect.arrayContaining(['Transform', 'Verify', 'VerifyOutcome']));
      expect(stateNames(firstDone)).not.toContain('Archive');
      expect(afterV1Transform).toEqual(idsOf(V2));
      await expectNewerVersionWon(e, v1.info.versionId!);
      const manifest = JSON.parse(
        readFileSync(
          path.join(e.home.lakeDir, 'manifests/event_sessions', `${sourceIdOf(KEY)}.json`),
          'utf8',
        ),
      ) as { versionTag: string; rowsOut: number; sourceOrder: string };
      expect(manifest).toMatchObject({
        versionTag: versionTagOf(v2.info.versionId, v2.info.etag),
        rowsOut: 5,
        sourceOrder: sequencerOrderKey(v2.event.detail.object.sequencer),
      });
      // Both originals can be found: v2 archived, v1 still a version of the landing key (above).
      expect(e.originalLocations(second, v2)).toEqual([second.outputs.archive]);
      // v1's temp output (and every publish lock) is gone: nothing of it is left in the lake.
      expect([
        ...filesUnder(path.join(e.home.lakeDir, '_tmp')),
        ...filesUnder(path.join(e.home.lakeDir, 'tmp')),
      ]).toEqual([]);
    } finally {
      e.dispose();
    }
  },
  180_000,
);

test("a newer version published between the first run's transform and its verify: the newer rows stay, the older run stands down at Verify", async () => {
  const v1 = await h.land(KEY, V1);
  const hold = gate();
  const first = h.run(v1.event, {
    beforeTask: async (state) => {
      if (state !== 'Verify') return;
      hold.reached();
      await hold.opened;
    },
  });
  await hold.arrived; // v1's rows are published (and verified by nobody yet)
  const v2 = await h.land(KEY, V2);
  const second = await h.run(v2.event);
  hold.open();
  const firstDone = await first;

  expect([second.endState, firstDone.endState]).toEqual(['Succeeded', 'Superseded']);
  await expectNewerVersionWon(h, v1.info.versionId!);
});

test("re-running a file replaces exactly its own rows; another file's rows in the same partitions stay", async () => {
  const other = await h.land('incoming/event_sessions/other.csv', V1); // SES-000001..20, 4 days
  const mine1 = await h.land(KEY, V1.toString('utf8').replace(/SES-0000/g, 'SES-1000'));
  for (const r of [await h.run(other.event), await h.run(mine1.event)]) expect(r.endState).toBe('Succeeded');
  const before = await h.query<{ n: string }>('SELECT count(*) AS n FROM event_sessions');
  expect(Number(before[0]!.n)).toBe(40);

  // The same key again with different contents: fewer rows, on other days.
  const mine2 = await h.land(KEY, V2.toString('utf8').replace(/SES-0000/g, 'SES-2000'));
  const rerun = await h.run(mine2.event);

  expect(rerun.endState).toBe('Succeeded');
  const counts = await h.query<{ prefix: string; n: string }>(
    'SELECT left(session_id, 8) AS prefix, count(*) AS n FROM event_sessions GROUP BY 1 ORDER BY 1',
  );
  expect(counts.map((c) => [c.prefix, Number(c.n)])).toEqual([
    ['SES-0000', 20], // the other file: untouched
    ['SES-2000', 5], // this file: only its newest version
  ]);
  // No object of this file is left in a partition its newest version no longer has.
  const mine = h
    .curatedObjects('event_sessions')
    .filter((k) => k.endsWith(`/${sourceIdOf(KEY)}.snappy.parquet`));
  expect(mine.map((k) => k.split('/')[2]).sort()).toEqual(
    rerun.outputs.partitions!.map((p) => `session_date=${p}`).sort(),
  );
});

/**
 * The newer version won: the table holds exactly its rows, the ledger one STALE (the older
 * version) and one SUCCEEDED record, and the older version's bytes are still a version of the key.
 */
async function expectNewerVersionWon(home: ReliabilityHome, olderVersionId: string): Promise<void> {
  const rows = await home.query<{ session_id: string }>('SELECT session_id FROM event_sessions ORDER BY 1');
  expect(rows.map((r) => r.session_id)).toEqual(idsOf(V2));
  expect(
    ledgerRecords(home)
      .map((r) => r.status)
      .sort(),
  ).toEqual(['STALE', 'SUCCEEDED']);
  expect(await readVersion(home, KEY, olderVersionId)).toEqual(V1);
}

async function readVersion(home: ReliabilityHome, key: string, versionId: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await home.pipeline.store.get({ bucket: home.home.landingBucket, key, versionId }))
    chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
