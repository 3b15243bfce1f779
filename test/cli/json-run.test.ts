/**
 * `etl run events.jsonl.gz` end to end (issue 14): a gzip JSON Lines file of nested events goes
 * through the whole local pipeline, and the lake holds exactly the rows an independent reader
 * (Python's gzip and json modules, test/cli/json_reference.py) derives from the same file by the
 * documented rules. Then files that are not what they are named: a fake .gz and a file that is
 * not JSON at all are REJECTED, quarantined byte for byte, and announced.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { LocalNotifier } from '../../adapters/local/notifier';
import { queryLake } from '../../local/lake-query';
import { REPO, Sandbox } from './harness';

const PYTHON = path.join(REPO, '.venv', 'bin', 'python');

const CONTRACT = {
  version: 2,
  description: 'Nested events read from JSON Lines (test)',
  format: 'jsonl',
  columns: [
    { name: 'id', type: 'integer', required: true },
    { name: 'type', type: 'string', required: true },
    { name: 'actor_login', path: 'actor.login', type: 'string' },
    { name: 'actor_id', path: 'actor.id', type: 'integer' },
    { name: 'repo_name', path: 'repo.name', type: 'string' },
    { name: 'amount', type: 'decimal', precision: 12, scale: 2 },
    { name: 'public', type: 'boolean' },
    { name: 'payload', type: 'string', json: true },
    { name: 'tags', type: 'string', json: true },
    { name: 'created_at', type: 'timestamp', required: true },
  ],
  primaryKey: ['id'],
  partition: { column: 'created_at', granularity: 'day' },
};

/** A deterministic generator (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LOGINS = ['octocat', 'josé-dev', 'zoë', '東京bot', 'dependabot[bot]', 'K8s-Bot'];
const TYPES = ['PushEvent', 'WatchEvent', 'IssuesEvent', 'PullRequestEvent'];
const MESSAGES = [
  'Fix typo',
  'Añadir pruebas ✅',
  'say "hi"',
  'line one\nline two',
  'tab\there',
  'back\\slash 🎉',
];

/** JSON Lines of nested events, with duplicates, CRLF, blank lines and a few bad lines. */
function eventsText(n: number): string {
  const random = seeded(14);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const lines: string[] = [];
  const start = Date.UTC(2015, 0, 1, 12);
  for (let i = 0; i < n; i++) {
    const id = 2_489_651_000 + (random() < 0.05 ? Math.floor(random() * i) : i); // some duplicates
    const login = pick(LOGINS);
    const at = new Date(start + i * 97_000 + Math.floor(random() * 1000));
    const zoned = random() < 0.3;
    const event: Record<string, unknown> = {
      id: random() < 0.2 ? String(id) : id,
      type: pick(TYPES),
      actor: { id: 1000 + LOGINS.indexOf(login), login, avatar_url: `https://a/${login}` },
      ...(random() < 0.9 && { repo: { id: 5, name: `acme/${login}` } }),
      public: random() < 0.8,
      payload:
        random() < 0.1
          ? null
          : {
              push_id: 536_000_000 + i,
              commits: Array.from({ length: Math.floor(random() * 3) }, (_, k) => ({
                sha: ((i + k) * 97).toString(16),
                message: pick(MESSAGES),
              })),
              nested: { deep: { deeper: [1, 2, { k: 'v' }] } },
            },
      ...(random() < 0.7 && { tags: ['a', pick(MESSAGES)] }),
      created_at: zoned
        ? at
            .toISOString()
            .replace('Z', '+00:00')
            .replace(/^(.{19})\.\d+/, '$1')
        : at.toISOString(),
    };
    let text = JSON.stringify(event);
    // Amounts written as exact decimal literals, and some as strings.
    const cents = Math.floor(random() * 10_000_000);
    const amount = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
    text = text.slice(0, -1) + (random() < 0.2 ? `,"amount":"${amount}"}` : `,"amount":${amount}}`);
    lines.push(text);
  }
  lines[10] = '{"id": 1, "type": "X", "created_at": "2015-01-01T00:00:00Z"'; // not JSON
  lines[20] = '["not", "an", "object"]';
  lines[30] = JSON.stringify({
    id: 3,
    type: 'X',
    actor: { login: { first: 'a' } },
    created_at: '2015-01-01T00:00:00Z',
  });
  lines[40] = JSON.stringify({ id: 4, type: 'X', amount: 1.005, created_at: '2015-01-01T00:00:00Z' });
  lines[50] = JSON.stringify({ id: 'x5', type: 'X', created_at: '2015-01-01T00:00:00Z' });
  lines[60] = JSON.stringify({ id: 6, type: 'X', actor: ['octocat'], created_at: '2015-01-01T00:00:00Z' });
  lines[70] = JSON.stringify({ id: 7, type: null, created_at: '2015-01-01T00:00:00Z' });
  return `${lines.slice(0, 100).join('\r\n')}\r\n\n${lines.slice(100).join('\n')}\n`;
}

interface Reference {
  read: number;
  rejected: number;
  rows: Record<string, string | null>[];
}

interface RunJson {
  status: string;
  rejection?: { reason: string; message: string };
  rowsRead: number;
  rowsValid: number;
  rowsRejected: number;
  rowsWritten: number;
  outputs: { quarantine?: string; reasonFile?: string; rejects?: string };
}

describe('etl run <events>.jsonl.gz', () => {
  const box = new Sandbox('etl-json-run-');
  const schemas = path.join(box.dir, 'contracts');
  const file = path.join(box.dir, 'data', 'nested_events', 'hour-12.JSONL.GZ');
  let run: { code: number; json: RunJson };

  beforeAll(async () => {
    mkdirSync(schemas, { recursive: true });
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(path.join(schemas, 'nested_events.schema.json'), JSON.stringify(CONTRACT, null, 2));
    writeFileSync(file, gzipSync(eventsText(2000)));
    run = await box.etlJson<RunJson>(['run', file, '--schemas', schemas]);
  }, 180_000);
  afterAll(() => box.remove());

  test('SUCCEEDED; the lake holds exactly what Python reads from the file by the documented rules', async () => {
    expect(run.json.status).toBe('SUCCEEDED');
    const reference = JSON.parse(
      execFileSync(PYTHON, [path.join(__dirname, 'json_reference.py'), file], { encoding: 'utf8' }),
    ) as Reference;
    expect(reference.read).toBe(2000);
    expect(reference.rejected).toBe(7);
    expect(run.json).toMatchObject({
      rowsRead: reference.read,
      rowsRejected: reference.rejected,
      rowsValid: reference.read - reference.rejected,
      rowsWritten: reference.rows.length,
    });
    expect(reference.rows.length).toBeLessThan(1993); // duplicates were dropped

    const { rows } = await queryLake(
      path.join(box.home, 'lake'),
      `SELECT CAST(id AS VARCHAR) AS id, type, actor_login, CAST(actor_id AS VARCHAR) AS actor_id, repo_name,
              CAST(amount AS VARCHAR) AS amount, CAST(public AS VARCHAR) AS public, payload, tags,
              CAST(epoch_us(created_at) AS VARCHAR) AS created_us
       FROM nested_events ORDER BY id`,
      schemas,
    );
    expect(rows).toEqual(reference.rows);
    expect(rows.some((r) => String(r.payload).includes('"line one\\nline two"'))).toBe(true);
    expect(rows.some((r) => String(r.actor_login) === '東京bot')).toBe(true);
  });

  test('rejects.jsonl names the bad lines (physical lines, the CRLF part included), in the CSV shape', () => {
    const rejects = readFileSync(run.json.outputs.rejects!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rejects.map((r) => [r.line, r.reason, r.column])).toEqual([
      [11, 'NOT_JSON', null],
      [21, 'NOT_AN_OBJECT', null],
      [31, 'WRONG_JSON_TYPE', 'actor.login'],
      [41, 'DECIMAL_TOO_MANY_FRACTION_DIGITS', 'amount'],
      [51, 'NOT_AN_INTEGER', 'id'],
      [61, 'WRONG_JSON_TYPE', 'actor.login'],
      [61, 'WRONG_JSON_TYPE', 'actor.id'],
      [71, 'REQUIRED_EMPTY', 'type'],
    ]);
    for (const r of rejects)
      expect(Object.keys(r).sort()).toEqual(['column', 'line', 'message', 'reason', 'value']);
  });
});

describe('etl run: files that are not what they are named are REJECTED and quarantined', () => {
  const box = new Sandbox('etl-json-rejected-');
  const schemas = path.join(box.dir, 'contracts');
  beforeAll(() => {
    mkdirSync(schemas, { recursive: true });
    writeFileSync(path.join(schemas, 'nested_events.schema.json'), JSON.stringify(CONTRACT));
  });
  afterAll(() => box.remove());

  test('without --dataset the dataset is the file name minus every suffix (nested_events.Jsonl.gz)', async () => {
    const file = path.join(box.dir, 'misc', 'nested_events.Jsonl.gz');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, gzipSync(eventsText(200)));
    const r = await box.etlJson<RunJson & { dataset: string }>(['run', file, '--schemas', schemas]);
    expect(r.json).toMatchObject({
      status: 'SUCCEEDED',
      dataset: 'nested_events',
      rowsRead: 200,
      rowsRejected: 7,
    });
  });

  test.each([
    [
      'a fake .gz (plain JSON Lines)',
      'fake.jsonl.gz',
      Buffer.from('{"id": 1, "type": "X", "created_at": "2015-01-01T00:00:00Z"}\n'),
      'NOT_GZIP',
    ],
    [
      'not JSON at all (a CSV named .jsonl)',
      'export.jsonl',
      Buffer.from('id,type,created_at\n1,X,2015-01-01\n'),
      'MALFORMED_JSON',
    ],
    ['a truncated gzip', 'cut.jsonl.gz', gzipSync(eventsText(300)).subarray(0, 2000), 'NOT_GZIP'],
  ])('%s → %s', async (_what, name, bytes, reason) => {
    const file = path.join(box.dir, 'in', name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bytes);
    const r = await box.etlJson<RunJson>(['run', file, '--dataset', 'nested_events', '--schemas', schemas]);
    expect(r.code).toBe(2);
    expect(r.json.status).toBe('REJECTED');
    expect(r.json.rejection?.reason).toBe(reason);
    expect(r.json.rejection?.message).toMatch(/Fix: /);
    expect(readFileSync(r.json.outputs.quarantine!)).toEqual(bytes);
    expect(readFileSync(r.json.outputs.reasonFile!, 'utf8')).toContain(reason);
    const notices = await new LocalNotifier({ outboxFile: path.join(box.home, 'outbox.jsonl') }).read();
    expect(notices.some((n) => n.attributes?.status === 'REJECTED' && n.subject.includes(reason))).toBe(true);
  });
});
