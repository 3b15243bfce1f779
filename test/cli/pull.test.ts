/**
 * `etl pull` against the loopback archive server: the shipped github-events source pointed at it
 * with --url, every hour landed and bookmarked once across reruns and across two overlapping
 * `bin/etl pull` processes; usage errors that start nothing.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO, Sandbox } from './harness';
import { startArchiveServer, type ArchiveServer } from '../support/archive-server';

const H = 3_600_000;
const T0 = Date.UTC(2026, 11, 1);
const hour = (n: number) => T0 + n * H;

interface PullJson {
  bookmarkBefore?: string;
  bookmarkAfter?: string;
  failures: number;
  pending: number;
  ledger: string;
  periods: { period: string; status: string; key: string; reason?: string; requests: number }[];
  runs: { status: string }[];
}

let server: ArchiveServer;
let box: Sandbox;
beforeEach(async () => {
  server = await startArchiveServer({ eventsPerHour: 30 });
  box = new Sandbox('etl-pull-cli-');
});
afterEach(async () => {
  await server.close();
  box.remove();
});

const landing = () => {
  const dir = path.join(box.home, 'landing', 'incoming', 'github_events');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
};

test('pulls a range of hours once, bookmarks them, and a rerun skips every one of them', async () => {
  const args = [
    'pull',
    'github-events',
    '--url',
    server.template,
    '--from',
    '2026-12-01T00',
    '--to',
    '2026-12-01T03',
    '--no-run',
  ];
  const first = await box.etlJson<PullJson>(args);

  expect(first.code).toBe(0);
  expect(first.json.periods.map((p) => [p.period, p.status])).toEqual([
    ['2026-12-01T00:00:00Z', 'pulled'],
    ['2026-12-01T01:00:00Z', 'pulled'],
    ['2026-12-01T02:00:00Z', 'pulled'],
    ['2026-12-01T03:00:00Z', 'pulled'],
  ]);
  expect(first.json.bookmarkAfter).toBe('2026-12-01T03:00:00Z');
  expect(landing()).toEqual([0, 1, 2, 3].map((n) => `github-events-2026-12-01-0${n}.jsonl.gz`));
  const ledger = JSON.parse(readFileSync(first.json.ledger, 'utf8')) as {
    bookmark: string;
    periods: Record<string, { status: string }>;
  };
  expect(ledger.bookmark).toBe('2026-12-01T03:00:00Z');
  expect(Object.values(ledger.periods).map((p) => p.status)).toEqual(['DONE', 'DONE', 'DONE', 'DONE']);

  const again = await box.etl(args);
  expect(again.code).toBe(0);
  expect(again.out).toContain('· 2026-12-01 00:00  skipped  DONE');
  expect(again.out).toContain(
    'bookmark 2026-12-01T03:00:00Z · 0 pulled · 4 skipped · 0 not yet · 0 failed · 0 pending',
  );
  for (let n = 0; n <= 3; n++) expect(server.requests.get(hour(n))).toBe(1);
});

test('on schedule (no range): from the start to the newest due hour; 404 for the newest is "not yet", exit 0', async () => {
  // A source that started three hours ago, beside a copy of the shipped contract.
  const schemas = path.join(box.dir, 'schemas');
  mkdirSync(schemas);
  copyFileSync(
    path.join(REPO, 'schemas', 'github_events.schema.json'),
    path.join(schemas, 'github_events.schema.json'),
  );
  const start = Math.floor(Date.now() / H) * H - 3 * H;
  writeFileSync(
    path.join(schemas, 'recent.source.json'),
    JSON.stringify({
      version: 1,
      dataset: 'github_events',
      cadence: 'hourly',
      start: new Date(start).toISOString(),
      url: server.template,
      extension: '.jsonl.gz',
    }),
  );
  server.faults.publishedUntilMs = start + H;

  const r = await box.etl(['pull', 'recent', '--no-run']);

  expect(r.code).toBe(0);
  expect(r.out.match(/^ {2}✓ .* pulled /gm)).toHaveLength(2);
  expect(r.out).toMatch(/^ {2}… .* not yet +HTTP 404: not published yet$/m);
  expect(r.out).toContain(
    `bookmark ${new Date(start + H).toISOString().replace('.000Z', 'Z')} (was none) · 2 pulled · 0 skipped · 1 not yet · 0 failed · 0 pending`,
  );
});

test('a failing hour exits 1 with the reason; the hours around it land', async () => {
  server.faults.failFirst = new Map([[hour(1), 100]]);
  const r = await box.etlJson<PullJson>([
    'pull',
    'github-events',
    '--url',
    server.template,
    '--from',
    '2026-12-01',
    '--to',
    '2026-12-01T02',
    '--no-run',
    '--retry-base-ms',
    '1',
  ]);
  expect(r.code).toBe(1);
  expect(r.json.periods.map((p) => p.status)).toEqual(['pulled', 'failed', 'pulled']);
  expect(r.json.periods[1]?.reason).toMatch(/HTTP 500/);
  expect(r.json.failures).toBe(1);
  expect(r.json.bookmarkAfter).toBe('2026-12-01T00:00:00Z');
  expect(landing()).toEqual(['github-events-2026-12-01-00.jsonl.gz', 'github-events-2026-12-01-02.jsonl.gz']);
});

/** `bin/etl <args>` as its own process; the server keeps answering meanwhile (no spawnSync). */
function etlProcess(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(REPO, 'bin/etl'), args, {
      cwd: box.dir,
      env: { ...process.env, ETL_HOME: box.home },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

test('two overlapping etl pull processes pull every hour exactly once between them', async () => {
  server.faults.slowMs = new Map(Array.from({ length: 8 }, (_, n) => [hour(n), 50] as [number, number]));
  const args = [
    'pull',
    'github-events',
    '--url',
    server.template,
    '--from',
    '2026-12-01T00',
    '--to',
    '2026-12-01T07',
    '--no-run',
    '--json',
  ];

  // The first two hours are answered only once both were requested: whichever process claimed
  // hour 0 waits on it while the other, finding it claimed, takes hour 1 — the pulls overlap for sure.
  let release = () => {};
  server.faults.hold = { hours: new Set([hour(0), hour(1)]), until: new Promise<void>((r) => (release = r)) };

  const both = Promise.all([etlProcess(args), etlProcess(args)]);
  await box.until(
    () => server.requests.has(hour(0)) && server.requests.has(hour(1)),
    'both processes pulling',
    60_000,
  );
  release();
  const [a, b] = await both;

  expect([a.err, b.err]).toEqual(['', '']);
  expect([a.code, b.code]).toEqual([0, 0]);
  const pulled = (r: { out: string }) =>
    (JSON.parse(r.out) as PullJson).periods.filter((p) => p.status === 'pulled').map((p) => p.period);
  const all = [...pulled(a), ...pulled(b)].sort();
  expect(all).toEqual(
    Array.from({ length: 8 }, (_, n) => new Date(hour(n)).toISOString().replace('.000Z', 'Z')),
  );
  for (let n = 0; n < 8; n++) expect(server.requests.get(hour(n))).toBe(1);
  expect(landing()).toHaveLength(8);
  // Both really worked: each pulled some (the other skipped those as claimed or DONE).
  expect(pulled(a).length).toBeGreaterThan(0);
  expect(pulled(b).length).toBeGreaterThan(0);
  const after = await box.etlJson<PullJson>([
    'pull',
    'github-events',
    '--url',
    server.template,
    '--from',
    '2026-12-01T00',
    '--to',
    '2026-12-01T07',
    '--no-run',
  ]);
  expect(after.json.periods.every((p) => p.status === 'skipped' && p.reason === 'DONE')).toBe(true);
  expect(after.json.bookmarkAfter).toBe('2026-12-01T07:00:00Z');
}, 120_000);

test('done when: each hour lands, is transformed and is bookmarked exactly once across overlapping pulls and reruns', async () => {
  const base = ['pull', 'github-events', '--url', server.template, '--from', '2026-12-01T00'];
  const args = [...base, '--to', '2026-12-01T05', '--json'];
  // The table's first file alone (its crawl creates the table), then two pulls at once for the rest.
  const first = await box.etlJson<PullJson>([...base, '--to', '2026-12-01T00']);
  expect(first.json.runs.map((r) => r.status)).toEqual(['SUCCEEDED']);
  let release = () => {};
  server.faults.hold = { hours: new Set([hour(1), hour(2)]), until: new Promise<void>((r) => (release = r)) };
  const both = Promise.all([etlProcess(args), etlProcess(args)]);
  await box.until(
    () => server.requests.has(hour(1)) && server.requests.has(hour(2)),
    'both processes pulling',
    60_000,
  );
  release();
  const [a, b] = await both;
  expect([a.code, b.code, a.err, b.err]).toEqual([0, 0, '', '']);
  const views = [a, b].map(
    (r) =>
      JSON.parse(r.out) as PullJson & { runs: { status: string; source: string; rowsWritten: number }[] },
  );
  const runs = views.flatMap((v) => v.runs);
  expect(runs.map((r) => r.source).sort()).toEqual(
    [1, 2, 3, 4, 5].map((n) => `landing/incoming/github_events/github-events-2026-12-01-0${n}.jsonl.gz`),
  );
  expect(runs.every((r) => r.status === 'SUCCEEDED' && r.rowsWritten === 30)).toBe(true);

  const rerun = await box.etlJson<PullJson>([...base, '--to', '2026-12-01T05']);
  expect(rerun.json.runs).toEqual([]);
  expect(rerun.json.periods.every((p) => p.status === 'skipped')).toBe(true);
  expect(rerun.json.bookmarkAfter).toBe('2026-12-01T05:00:00Z');

  for (let n = 0; n <= 5; n++) expect(server.requests.get(hour(n))).toBe(1);
  const all = await box.etlJson<{ rows: { runs: string }[] }>(['runs']);
  expect(all.json).toHaveLength(6);
  const q = await box.etlJson<{ rows: Record<string, string>[] }>([
    'query',
    'select count(*) as n, count(distinct id) as ids, count(distinct actor_login) as actors, min(created_at) as lo from github_events',
  ]);
  expect(q.json.rows[0]).toMatchObject({ n: '180', ids: '180' });
  expect(Number(q.json.rows[0]?.actors)).toBeGreaterThan(1); // nested actor.login flattened
  expect(q.json.rows[0]?.lo).toMatch(/^2026-12-01[ T]00:00:00/);
}, 180_000);

describe('usage errors start nothing (exit 64)', () => {
  test('an unknown source lists the ones there are', async () => {
    const r = await box.etl(['pull', 'github-event']);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(/github-event\.source\.json#\/: no such source .* Fix: use one of: github-events/);
  });

  test('a --from that is not a time or before the start, a --to before --from, a bad --url', async () => {
    expect((await box.etl(['pull', 'github-events', '--from', 'yesterday'])).err).toMatch(
      /--from "yesterday" is not a time/,
    );
    expect(
      (await box.etl(['pull', 'github-events', '--from', '2026-12-02', '--to', '2026-12-01'])).err,
    ).toMatch(/--to 2026-12-01 is before --from/);
    expect((await box.etl(['pull', 'github-events', '--from', '2024-01-01'])).err).toMatch(
      /--from 2024-01-01 is before the source's start 2026-12-01T00:00:00Z \(github-events\.source\.json\)/,
    );
    const bad = await box.etl(['pull', 'github-events', '--url', 'http://127.0.0.1:1/{yyyy}-{MM}-{dd}.gz']);
    expect(bad.code).toBe(64);
    expect(bad.err).toMatch(/lacks \{HH\} or \{H\}/);
    expect(server.requests.size).toBe(0);
  });

  test('a secret header that is not set names the variable and the file to set', async () => {
    const schemas = path.join(box.dir, 'schemas');
    mkdirSync(schemas);
    copyFileSync(
      path.join(REPO, 'schemas', 'github_events.schema.json'),
      path.join(schemas, 'github_events.schema.json'),
    );
    writeFileSync(
      path.join(schemas, 'private.source.json'),
      JSON.stringify({
        version: 1,
        dataset: 'github_events',
        cadence: 'hourly',
        start: '2026-12-01T00:00:00Z',
        url: server.template,
        extension: '.jsonl.gz',
        headers: { Authorization: { secret: 'archive-token', prefix: 'token ' } },
      }),
    );
    const r = await box.etl(['pull', 'private', '--from', '2026-12-01T00', '--to', '2026-12-01T00']);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(
      /secret "archive-token" not found: set ETL_SECRET_ARCHIVE_TOKEN or add "archive-token" to .*secrets\.json/,
    );

    expect(existsSync(box.home)).toBe(false); // nothing was started
    mkdirSync(box.home);
    writeFileSync(path.join(box.home, 'secrets.json'), JSON.stringify({ 'archive-token': 'abc123' }));
    const ok = await box.etl([
      'pull',
      'private',
      '--from',
      '2026-12-01T00',
      '--to',
      '2026-12-01T00',
      '--no-run',
    ]);
    expect(ok.code).toBe(0);
    expect(server.lastHeaders?.authorization).toBe('token abc123');
  });

  test('files whose extension is not the contract format are refused before anything is pulled', async () => {
    const schemas = path.join(box.dir, 'schemas');
    mkdirSync(schemas);
    copyFileSync(
      path.join(REPO, 'schemas', 'github_events.schema.json'),
      path.join(schemas, 'github_events.schema.json'),
    );
    writeFileSync(
      path.join(schemas, 'wrong.source.json'),
      JSON.stringify({
        version: 1,
        dataset: 'github_events',
        cadence: 'hourly',
        start: '2026-12-01T00:00:00Z',
        url: server.template,
        extension: '.csv.gz',
      }),
    );
    const r = await box.etl(['pull', 'wrong']);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(
      /wrong\.source\.json: its files land as \.csv\.gz \(csv\), but the contract of "github_events" reads jsonl/,
    );
    expect(server.requests.size).toBe(0);
  });
});
