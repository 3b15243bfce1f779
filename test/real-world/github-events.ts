/**
 * GitHub-Archive-shaped events, generated with a seeded random walk (the same file every run):
 * `id` (digits in a string, as the archive writes it), `type`, `actor{id, login, display_login?,
 * gravatar_id: "", url, avatar_url}`, `repo{id, name, url}`, a `payload` whose keys depend on the
 * type (commits arrays, nested issues and pull requests, free-form), `public`, `created_at` (UTC
 * with Z), and `org{id, login, …}` on some events only. Payload numbers are whole, so a JSON text
 * reads the same to any JSON library.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';

/** A small deterministic generator (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LOGINS = ['octocat', 'hubot', 'mona-lisa', 'josé-dev', 'zoë', 'a_b', 'dependabot[bot]', 'K8s-Bot'];
const REPOS = ['octo/hello-world', 'acme/etl', 'acme/web', 'torvalds/linux', 'nodejs/node'];
const ORGS = ['acme', 'octo', 'nodejs'];
const TYPES = ['PushEvent', 'WatchEvent', 'CreateEvent', 'IssuesEvent', 'PullRequestEvent', 'ForkEvent'];
const MESSAGES = [
  'Fix typo',
  'Añadir pruebas ✅',
  'Merge branch "main"',
  'line one\nline two',
  'Bump deps → 2.0',
];

/** One event; `i` makes the id unique and moves the clock forward. */
export function githubEvent(i: number, random: () => number, startMs: number, spanMs: number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const type = pick(TYPES);
  const login = pick(LOGINS);
  const actorId = 1000 + LOGINS.indexOf(login);
  const repo = pick(REPOS);
  const repoId = 500_000 + REPOS.indexOf(repo);
  const created = new Date(startMs + Math.floor((i / 1) * (spanMs / 1e9)) + Math.floor(random() * 1000));
  const user = { login, id: actorId, site_admin: random() < 0.05 };
  let payload: Record<string, unknown>;
  switch (type) {
    case 'PushEvent': {
      const n = Math.floor(random() * 3);
      payload = {
        push_id: 536_000_000 + i,
        size: n,
        distinct_size: n,
        ref: 'refs/heads/main',
        head: (i * 2654435761).toString(16).padStart(40, '0').slice(-40),
        before: (i * 40503).toString(16).padStart(40, '0').slice(-40),
        commits: Array.from({ length: n }, (_, k) => ({
          sha: ((i + k) * 97).toString(16).padStart(40, 'a'),
          author: { email: `${login}@users.noreply.github.com`, name: login },
          message: pick(MESSAGES),
          distinct: true,
        })),
      };
      break;
    }
    case 'WatchEvent':
      payload = { action: 'started' };
      break;
    case 'CreateEvent':
      payload = {
        ref: random() < 0.5 ? null : `feature/${i}`,
        ref_type: random() < 0.5 ? 'branch' : 'tag',
        master_branch: 'main',
        description: random() < 0.3 ? null : 'An ETL on serverless',
        pusher_type: 'user',
      };
      break;
    case 'IssuesEvent':
      payload = {
        action: pick(['opened', 'closed', 'reopened']),
        issue: {
          id: 70_000_000 + i,
          number: 1 + (i % 900),
          title: pick(MESSAGES),
          user,
          labels: random() < 0.5 ? [] : [{ name: 'bug', color: 'fc2929' }],
          state: 'open',
          comments: Math.floor(random() * 10),
          body: random() < 0.2 ? null : 'Steps to reproduce:\n1. run it',
        },
      };
      break;
    case 'PullRequestEvent':
      payload = {
        action: pick(['opened', 'closed']),
        number: 1 + (i % 500),
        pull_request: {
          id: 30_000_000 + i,
          title: pick(MESSAGES),
          user,
          merged: random() < 0.5,
          additions: i % 77,
        },
      };
      break;
    default:
      payload = {
        forkee: {
          id: 28_000_000 + i,
          full_name: `${login}/${repo.split('/')[1]}`,
          private: false,
          owner: user,
        },
      };
  }
  const event: Record<string, unknown> = {
    id: String(2_489_651_045 + i),
    type,
    actor: {
      id: actorId,
      login,
      ...(random() < 0.5 && { display_login: login }),
      gravatar_id: '',
      url: `https://api.github.com/users/${encodeURIComponent(login)}`,
      avatar_url: `https://avatars.githubusercontent.com/u/${actorId}?`,
    },
    repo: { id: repoId, name: repo, url: `https://api.github.com/repos/${repo}` },
    payload,
    public: true,
    created_at: created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  if (random() < 0.4) {
    const org = pick(ORGS);
    event.org = {
      id: 9_000 + ORGS.indexOf(org),
      login: org,
      gravatar_id: '',
      url: `https://api.github.com/orgs/${org}`,
      avatar_url: `https://avatars.githubusercontent.com/u/${9_000 + ORGS.indexOf(org)}?`,
    };
  }
  return event;
}

/**
 * Writes `count` events as gzip JSON Lines to `file`, spread evenly over `days` days from
 * 2015-01-01 (UTC).
 */
export async function writeGithubEvents(file: string, count: number, days: number, seed = 14): Promise<void> {
  const random = seeded(seed);
  const gzip = createGzip();
  const out = createWriteStream(file);
  gzip.pipe(out);
  const start = Date.UTC(2015, 0, 1);
  const step = (days * 86_400_000) / count;
  for (let i = 0; i < count; i++) {
    const event = githubEvent(i, random, start + Math.floor(i * step), 0);
    if (!gzip.write(`${JSON.stringify(event)}\n`)) await once(gzip, 'drain');
  }
  gzip.end();
  await once(out, 'close');
}
