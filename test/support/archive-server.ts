/**
 * A loopback HTTP server shaped like GH Archive (`/{yyyy}-{MM}-{dd}-{H}.json.gz`): each hour is a
 * gzip of JSON Lines of nested, GitHub-style events, generated from the hour alone (the same bytes
 * every time), with faults to inject per hour. Used by the pull tests and by
 * `npm run archive:serve` (the README's `etl pull` walk-through). No internet needed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/** A small deterministic generator (mulberry32). */
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

const TYPES = ['PushEvent', 'WatchEvent', 'CreateEvent', 'IssuesEvent', 'PullRequestEvent', 'ForkEvent'];
const LOGINS = ['octocat', 'hubot', 'mona-lisa', 'josé-dev', 'dependabot[bot]'];
const REPOS = ['octo/hello-world', 'acme/etl', 'acme/web', 'nodejs/node'];

export interface ArchiveEvent {
  readonly id: string;
  readonly type: string;
  readonly actor: { id: number; login: string; display_login: string; url: string };
  readonly repo: { id: number; name: string; url: string };
  readonly payload: Record<string, unknown>;
  readonly public: boolean;
  readonly created_at: string;
  readonly org?: { id: number; login: string };
}

/** The events of the hour starting at `hourMs` (UTC): `count` of them, ids unique across hours. */
export function eventsOfHour(hourMs: number, count: number): ArchiveEvent[] {
  const random = seeded(hourMs / 3_600_000);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  return Array.from({ length: count }, (_, i) => {
    const type = pick(TYPES);
    const login = pick(LOGINS);
    const repo = pick(REPOS);
    const payload: Record<string, unknown> =
      type === 'PushEvent'
        ? {
            size: 1,
            ref: 'refs/heads/main',
            commits: [{ sha: (hourMs + i).toString(16), message: 'Fix typo' }],
          }
        : type === 'IssuesEvent'
          ? { action: 'opened', issue: { number: i + 1, title: `Issue ${i}`, labels: [{ name: 'bug' }] } }
          : { action: 'started' };
    return {
      // Hour number × 10^6 + index: unique across hours, digits in a string as the archive writes it.
      id: String((hourMs / 3_600_000) * 1_000_000 + i),
      type,
      actor: {
        id: 1000 + LOGINS.indexOf(login),
        login,
        display_login: login,
        url: `https://api.github.com/users/${encodeURIComponent(login)}`,
      },
      repo: { id: 500_000 + REPOS.indexOf(repo), name: repo, url: `https://api.github.com/repos/${repo}` },
      payload,
      public: true,
      created_at: new Date(hourMs + Math.floor((i * 3_600_000) / count))
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
      ...(repo.startsWith('acme/') && { org: { id: 77, login: 'acme' } }),
    };
  });
}

/** The gzip file of one hour, as the archive would serve it. */
export function hourFile(hourMs: number, count: number): Buffer {
  return gzipSync(
    eventsOfHour(hourMs, count)
      .map((e) => `${JSON.stringify(e)}\n`)
      .join(''),
  );
}

/** Faults per hour, by the hour's start in ms (UTC). */
export interface ArchiveFaults {
  /** Hours after this one (and hours in `missing`) answer 404: not published yet. */
  publishedUntilMs?: number;
  missing?: Set<number>;
  /** The first n requests of the hour answer 500. */
  failFirst?: Map<number, number>;
  /** The file itself is cut in half (a truncated gzip; Content-Length matches what is sent). */
  truncatedFile?: Set<number>;
  /** Content-Length says the whole file, the connection closes after half of it (first n requests; default every). */
  abortBody?: Map<number, number>;
  /** Sent in 1 KiB pieces with this many ms between them. */
  slowMs?: Map<number, number>;
  /** Answers with this status (401, 403 ...). */
  status?: Map<number, number>;
  /** Requests for these hours wait for `until` before they are answered (to make pulls overlap). */
  hold?: { readonly hours: Set<number>; readonly until: Promise<void> };
}

export interface ArchiveServer {
  readonly url: string;
  /** The URL template a source definition uses for this server. */
  readonly template: string;
  readonly faults: ArchiveFaults;
  /** GET requests per hour (start ms). */
  readonly requests: Map<number, number>;
  /** Headers of the last request. */
  lastHeaders?: IncomingMessage['headers'];
  close(): Promise<void>;
}

export interface ArchiveServerOptions {
  readonly port?: number;
  /** Events per hour. @default 50 */
  readonly eventsPerHour?: number;
  readonly faults?: ArchiveFaults;
}

const HOUR_PATH = /^\/(\d{4})-(\d{2})-(\d{2})-(\d{1,2})\.json\.gz$/;

/** Starts the server on 127.0.0.1 (a free port unless `port`). */
export async function startArchiveServer(options: ArchiveServerOptions = {}): Promise<ArchiveServer> {
  const faults = options.faults ?? {};
  const requests = new Map<number, number>();
  const count = options.eventsPerHour ?? 50;
  const sockets = new Set<import('node:net').Socket>();
  const state: { lastHeaders?: IncomingMessage['headers'] } = {};
  const server: Server = createServer((req, res) => {
    state.lastHeaders = req.headers;
    const m = HOUR_PATH.exec(new URL(req.url ?? '/', 'http://x').pathname);
    const hourMs = m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!) : NaN;
    if (!m || Number.isNaN(hourMs) || +m[4]! > 23) return end(res, 404, 'no such file');
    const n = (requests.get(hourMs) ?? 0) + 1;
    requests.set(hourMs, n);
    if (faults.hold?.hours.has(hourMs)) void faults.hold.until.then(() => answer(res, hourMs, n));
    else answer(res, hourMs, n);
  });
  function answer(res: ServerResponse, hourMs: number, n: number): void {
    if (faults.status?.has(hourMs)) return end(res, faults.status.get(hourMs)!, 'refused');
    if (
      (faults.publishedUntilMs !== undefined && hourMs > faults.publishedUntilMs) ||
      faults.missing?.has(hourMs)
    )
      return end(res, 404, 'not found');
    if (n <= (faults.failFirst?.get(hourMs) ?? 0)) return end(res, 500, 'internal error');
    let body = hourFile(hourMs, count);
    if (faults.truncatedFile?.has(hourMs)) body = body.subarray(0, Math.floor(body.length / 2));
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length });
    if (faults.abortBody?.has(hourMs) && n <= (faults.abortBody.get(hourMs) || Infinity)) {
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
      return;
    }
    const delay = faults.slowMs?.get(hourMs);
    if (delay === undefined) return void res.end(body);
    let offset = 0;
    const next = () => {
      if (res.destroyed) return;
      if (offset >= body.length) return void res.end();
      res.write(body.subarray(offset, offset + 1024));
      offset += 1024;
      setTimeout(next, delay);
    };
    next();
  }
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    template: `${url}/{yyyy}-{MM}-{dd}-{H}.json.gz`,
    faults,
    requests,
    get lastHeaders() {
      return state.lastHeaders;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function end(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(text);
}
