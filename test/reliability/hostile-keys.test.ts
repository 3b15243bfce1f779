/**
 * Hostile object keys (`'`, `;`, `--`, `../`, `\`, control characters, and a few of their
 * combinations) against the whole pipeline and against every step on its own — claim, validate,
 * check-still-latest, quarantine, archive, verify, start-crawl, poll-crawl — as if a hand-made execution input had skipped Claim's
 * allowlist. The home sits a few folders deep inside a scratch folder; that whole scratch folder
 * is walked before and after, and every file that appeared or changed must be under a prefix the
 * pipeline owns, named by hashes and safe ids, never by key text.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalCatalog } from '../../adapters/local/catalog';
import { LocalLedger } from '../../adapters/local/ledger';
import { LocalQueryEngine } from '../../adapters/local/query-engine';
import { findContract } from '../../core/contract';
import { encodeEventKey, type SourceObject } from '../../core/events';
import { sourceIdOf, versionTagOf } from '../../core/layout';
import { createArchiveStep } from '../../functions/archive/step';
import { createCheckStillLatestStep } from '../../functions/check-still-latest/step';
import { createClaimStep } from '../../functions/claim/step';
import { createPollCrawlStep } from '../../functions/poll-crawl/step';
import { createQuarantineStep } from '../../functions/quarantine/step';
import { createStartCrawlStep } from '../../functions/start-crawl/step';
import { createValidateStep } from '../../functions/validate/step';
import { createVerifyStep } from '../../functions/verify/step';
import { verifyQueries } from '../../functions/verify/verify';
import { changedPaths, fixture, ReliabilityHome, snapshotOf } from './support';

const CSV = fixture('event_sessions/base.csv');

/** BAD_INPUTS.md "must never reach a path, a prefix or SQL", each alone and in combination. */
const HOSTILE_KEYS: readonly (readonly [string, string])[] = [
  ["'", "incoming/event_sessions/o'brien.csv"],
  [';', 'incoming/event_sessions/a;b.csv'],
  ['--', 'incoming/event_sessions/a--b.csv'],
  ['../', 'incoming/event_sessions/../../../../escaped.csv'],
  ['\\', 'incoming/event_sessions/..\\..\\..\\escaped.csv'],
  ['control characters', 'incoming/event_sessions/bell\u0007tab\tnl\n.csv'],
  ['SQL injection', "incoming/event_sessions/x'); DROP TABLE event_sessions; --.csv"],
  ['../ into another dataset', 'incoming/event_sessions/../sponsor_payments/p.csv'],
  ['../ out of incoming/', 'incoming/../../lake/curated/event_sessions/session_date=2024-09-11/x.csv'],
];

/** What the pipeline may create or change: each pattern is a prefix it owns, with safe names only. */
const OWNED = [
  /^home\/landing\/incoming\//, // the landing bucket (the test's own upload; quarantine removes it)
  /^home\/\.versions\/(landing|lake)\/[0-9a-f]{64}\/([0-9a-f]{32}(\.json)?|current)$/,
  /^home\/lake\/quarantine\/_unrouted\/[a-z0-9-]{1,40}-[0-9a-f]{12}\/[0-9a-f]{12}\/(original|reason\.json)$/,
  /^home\/ledger\/[0-9a-f]{64}\/v-[0-9a-f]{12}\.json$/,
  /^home\/runs\/[A-Za-z0-9_-]+\.json$/,
  /^home\/(outbox\.jsonl|catalog\.json)$/,
];

let scratch: string;
let home: ReliabilityHome;
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'etl-hostile-'));
  mkdirSync(path.join(scratch, 'home'));
  home = new ReliabilityHome('', path.join(scratch, 'home'));
});
afterAll(() => {
  home.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

/** Everything under the scratch folder (the home and anything a key could escape to). */
const snapshot = () => snapshotOf(scratch);

function expectOnlyOwnedWrites(before: Map<string, string>, after: Map<string, string>, landingFile: string) {
  const written = changedPaths(before, after);
  const stray = written.filter((p) => !OWNED.some((re) => re.test(p)));
  expect(stray).toEqual([]);
  // The only landing file touched is the test's own upload (its encoded path).
  for (const p of written.filter((w) => w.startsWith('home/landing/'))) expect(p).toBe(landingFile);
  // Nothing that existed before disappeared, except that upload being moved to quarantine (its
  // landing file, and its version's `current` marker: S3's delete marker; the version stays).
  const gone = [...before.keys()].filter((p) => !after.has(p));
  expect(
    gone.filter((p) => p !== landingFile && !/^home\/\.versions\/landing\/[0-9a-f]{64}\/current$/.test(p)),
  ).toEqual([]);
}

describe.each(HOSTILE_KEYS)('a key with %s', (_what, key) => {
  test('through the whole pipeline: KEY_NOT_ALLOWED, quarantined by hash id, nothing written elsewhere', async () => {
    const before = snapshot();
    const landed = await home.land(key, CSV);
    const landingFile = path.relative(scratch, home.pipeline.store.pathOf(home.home.landingBucket, key));
    const afterLanding = snapshot();

    const record = await home.run(landed.event);

    expect(record.rejection?.reason).toBe('KEY_NOT_ALLOWED');
    expect(home.originalLocations(record, landed)).toEqual([record.outputs.quarantine]);
    expect(record.outputs.quarantine).toContain(
      `${path.sep}_unrouted${path.sep}${sourceIdOf(key)}${path.sep}`,
    );
    // Landing the object itself stays inside the landing bucket folder (segments are encoded).
    expect(changedPaths(before, afterLanding).every((p) => OWNED.slice(0, 2).some((re) => re.test(p)))).toBe(
      true,
    );
    expectOnlyOwnedWrites(afterLanding, snapshot(), landingFile);
  });

  test('against every step on its own (Claim skipped): each refuses or confines itself to its own prefixes', async () => {
    const landed = await home.land(key, CSV);
    const landingFile = path.relative(scratch, home.pipeline.store.pathOf(home.home.landingBucket, key));
    const { store } = home.pipeline;
    const ledger = new LocalLedger(home.home.ledgerDir);
    const catalog = new LocalCatalog({ catalogFile: home.home.catalogFile, lakeDir: home.home.lakeDir });
    const query = new LocalQueryEngine({ lakeDir: home.home.lakeDir, catalog });
    const source: SourceObject = {
      bucket: home.home.landingBucket,
      key,
      versionId: landed.info.versionId!,
      size: landed.info.size,
      etag: landed.info.etag,
      sequencer: landed.event.detail.object.sequencer,
    };
    const lakeBucket = home.home.lakeBucket;
    const runId = `hostile-${sourceIdOf(key)}`;
    const before = snapshot();
    const outcomes: Record<string, string> = {};
    const attempt = async (step: string, call: () => Promise<unknown>) => {
      try {
        await call();
        outcomes[step] = 'ok';
      } catch (e) {
        outcomes[step] = (e as Error).name;
      }
    };

    await attempt('claim', () => createClaimStep({ ledger })({ runId, event: landed.event }));
    await attempt('validate', () => createValidateStep({ store, lakeBucket })({ runId, source }));
    await attempt('check-still-latest', () =>
      createCheckStillLatestStep({ ledger })({
        runId,
        source,
        versionTag: versionTagOf(source.versionId, source.etag),
      }),
    );
    // The key text offered where each later step expects a dataset or a source id, too.
    for (const [dataset, sourceId] of [
      ['event_sessions', sourceIdOf(key)],
      [key, key],
    ] as const) {
      await attempt(`archive(${dataset === key ? 'key' : 'id'})`, () =>
        createArchiveStep({ store, ledger })({
          runId,
          source,
          dataset,
          sourceId,
          versionTag: versionTagOf(source.versionId, source.etag),
          lakeBucket,
          counts: { rowsRead: 1, rowsValid: 1, rowsRejected: 0, rowsOut: 1 },
        }),
      );
      await attempt(`verify(${dataset === key ? 'key' : 'id'})`, () =>
        createVerifyStep({ store, query, ledger })({
          runId,
          source,
          dataset,
          sourceId: dataset === key ? key : sourceId,
          versionTag: '000000000000',
          rowsValid: 1,
          lakeBucket,
          database: 'serverless_etl',
        }),
      );
      await attempt(`start-crawl(${dataset === key ? 'key' : 'id'})`, () =>
        createStartCrawlStep({ catalog })({ runId, dataset, crawlerName: 'serverless-etl-curated' }),
      );
      await attempt(`poll-crawl(${dataset === key ? 'key' : 'id'})`, () =>
        createPollCrawlStep({ catalog })({
          runId,
          dataset,
          crawlerName: 'serverless-etl-curated',
          requestedAt: new Date(0).toISOString(),
        }),
      );
    }
    // Quarantine last: it is the step that moves the original (as the ASL's Catch would).
    await attempt('quarantine', () =>
      createQuarantineStep({ store, ledger })({
        runId,
        detail: {
          ...landed.event.detail,
          object: { ...landed.event.detail.object, key: encodeEventKey(key) },
        },
        rejection: { Error: 'FileRejectedError', Cause: `KEY_NOT_ALLOWED: ${JSON.stringify(key)}` },
        lakeBucket,
      }),
    );
    query.close();

    // Claim and validate refuse by name; check-still-latest finds no newer claim; archive refuses;
    // verify never finds a manifest outside manifests/<dataset>/; the crawler calls only touch the
    // catalog; quarantine succeeds.
    expect(outcomes).toMatchObject({
      claim: 'FileRejectedError',
      validate: 'FileRejectedError',
      'check-still-latest': 'ok',
      'archive(id)': 'Error',
      'archive(key)': 'Error',
      'verify(id)': 'VerificationFailedError',
      'verify(key)': 'VerificationFailedError',
      quarantine: 'ok',
    });
    expectOnlyOwnedWrites(before, snapshot(), landingFile);
  });
});

test('verify queries carry the objects as parameters, never in the SQL text, and a hostile one is inert', async () => {
  const contract = findContract('event_sessions')!;
  const hostile = "x'; DROP TABLE event_sessions; --";
  const hostileKey = `curated/event_sessions/session_date=2024-03-01/${hostile}.snappy.parquet`;
  const queries = verifyQueries(contract, { objects: [hostileKey], pathOf: (key) => `s3://lake/${key}` });
  for (const q of queries) {
    expect(q.sql).not.toContain(hostile);
    expect(q.sql).not.toContain("'");
    expect(q.parameters.some((p) => String(p).includes(hostile))).toBe(true);
  }
  // Run them against a real table: they match nothing and the table is still there afterwards.
  const lakeHome = new ReliabilityHome('etl-hostile-sql-');
  try {
    const landed = await lakeHome.land('incoming/event_sessions/base.csv', CSV);
    expect((await lakeHome.run(landed.event)).endState).toBe('Succeeded');
    const catalog = new LocalCatalog({
      catalogFile: lakeHome.home.catalogFile,
      lakeDir: lakeHome.home.lakeDir,
    });
    const engine = new LocalQueryEngine({ lakeDir: lakeHome.home.lakeDir, catalog });
    const results = [];
    for (const q of queries)
      results.push(...(await engine.query(q.sql, q.parameters, { database: 'serverless_etl' })));
    engine.close();
    // Every count the checks return is zero (or NULL: a sum over no rows): the pattern matched nothing.
    expect(results.length).toBeGreaterThan(0);
    expect(results.flatMap((r) => Object.values(r)).filter((v) => v !== null && v !== '0')).toEqual([]);
    const [{ n }] = await lakeHome.query<{ n: string }>('SELECT count(*) AS n FROM event_sessions');
    expect(Number(n)).toBe(20);
  } finally {
    lakeHome.dispose();
  }
});
