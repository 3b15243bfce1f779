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
const T0 = Date.UTC(2024, 0, 1);
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
    '2024-01-01T00',
    '--to',
    '2024-01-01T03',
    '--no-run',
  ];
  const first = await box.etlJson<PullJson>(args);

  expect(first.code).toBe(0);
  expect(first.json.periods.map((p) => [p.period, p.status])).toEqual([
    ['2024-01-01T00:00:00Z', 'pulled'],
    ['2024-01-01T01:00:00Z', 'pulled'],
    ['2024-01-01T02:00:00Z', 'pulled'],
    ['2024-01-01T03:00:00Z', 'pulled'],
  ]);
  expect(first.json.bookmarkAfter).toBe('2024-01-01T03:00:00Z');
  expect(landing()).toEqual([0, 1, 2, 3].map((n) => `github-events-2024-01-01-0${n}.jsonl.gz`));
  const ledger = JSON.parse(readFileSync(first.json.ledger, 'utf8')) as {
    bookmark: string;
    periods: Record<string, { status: string }>;
  };
  expect(ledger.bookmark).toBe('2024-01-01T03:00:00Z');
  expect(Object.values(ledger.periods).map((p) => p.status)).toEqual(['DONE', 'DONE', 'DONE', 'DONE']);

  const again = await box.etl(args);
  expect(again.code).toBe(0);
  expect(again.out).toContain('· 2024-01-01 00:00  skipped  DONE');
  expect(again.out).toContain(
    'bookmark 2024-01-01T03:00:00Z · 0 pulled · 4 skipped · 0 not yet · 0 failed · 0 pending',
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
    '2024-01-01',
    '--to',
    '2024-01-01T02',
    '--no-run',
    '--retry-base-ms',
    '1',
  ]);
  expect(r.code).toBe(1);
  expect(r.json.periods.map((p) => p.status)).toEqual(['pulled', 'failed', 'pulled']);
  expect(r.json.periods[1]?.reason).toMatch(/HTTP 500/);
  expect(r.json.failures).toBe(1);
  expect(r.json.bookmarkAfter).toBe('2024-01-01T00:00:00Z');
  expect(landing()).toEqual(['github-events-2024-01-01-00.jsonl.gz', 'github-events-2024-01-01-02.jsonl.gz']);
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
  // Slow hours (≈ 0.25–0.5 s each) so the two processes really are pulling at the same time.
  server.faults.slowMs = new Map(Array.from({ length: 8 }, (_, n) => [hour(n), 250] as [number, number]));
  const args = [
    'pull',
    'github-events',
    '--url',
    server.template,
    '--from',
    '2024-01-01T00',
    '--to',
    '2024-01-01T07',
    '--no-run',
    '--json',
  ];

  const [a, b] = await Promise.all([etlProcess(args), etlProcess(args)]);

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
    '2024-01-01T00',
    '--to',
    '2024-01-01T07',
    '--no-run',
  ]);
  expect(after.json.periods.every((p) => p.status === 'skipped' && p.reason === 'DONE')).toBe(true);
  expect(after.json.bookmarkAfter).toBe('2024-01-01T07:00:00Z');
}, 120_000);

describe('usage errors start nothing (exit 64)', () => {
  test('an unknown source lists the ones there are', async () => {
    const r = await box.etl(['pull', 'github-event']);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(/github-event\.source\.json#\/: no such source .* Fix: use one of: github-events/);
  });

  test('a --from that is not a time, a --to before --from, a bad --url', async () => {
    expect((await box.etl(['pull', 'github-events', '--from', 'yesterday'])).err).toMatch(
      /--from "yesterday" is not a time/,
    );
    expect(
      (await box.etl(['pull', 'github-events', '--from', '2024-01-02', '--to', '2024-01-01'])).err,
    ).toMatch(/--to 2024-01-01 is before --from/);
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
        start: '2024-01-01T00:00:00Z',
        url: server.template,
        extension: '.jsonl.gz',
        headers: { Authorization: { secret: 'archive-token', prefix: 'token ' } },
      }),
    );
    const r = await box.etl(['pull', 'private', '--from', '2024-01-01T00', '--to', '2024-01-01T00']);
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
      '2024-01-01T00',
      '--to',
      '2024-01-01T00',
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
        start: '2024-01-01T00:00:00Z',
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
