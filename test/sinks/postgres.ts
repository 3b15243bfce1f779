/**
 * A throw-away PostgreSQL 15 for the warehouse SQL tests: `initdb` in a temp folder, `postgres` on
 * a free loopback port, stopped and removed afterwards. PostgreSQL refuses to run as root, so as
 * root the server runs as the `postgres` user the Debian package creates (the folder is given to
 * it); as anyone else it runs as that user. Statements go through `psql`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The server binaries: PG_BIN, else `pg_config --bindir` if it is 15, else Debian's place for 15. */
export function postgresBin(): string | undefined {
  const candidates = [process.env.PG_BIN, '/usr/lib/postgresql/15/bin'];
  return candidates.find(
    (dir) =>
      dir !== undefined && existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'postgres')),
  );
}

/** True when PostgreSQL 15 is there; otherwise NOT RUN outside CI, a failure in CI. */
export function requirePostgres(suite: string): boolean {
  if (postgresBin()) return true;
  const msg = `${suite}: NOT RUN — PostgreSQL not installed. Run \`npm run setup:postgres\` (Debian: apt-get install -y postgresql-15).`;
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(msg);
  return false;
}

export interface Postgres {
  /** Runs SQL (several statements allowed) with psql, stopping at the first error; returns stdout rows. */
  sql(text: string): string[][];
  /** Runs statements as ONE transaction, as the Data API's BatchExecuteStatement does. */
  transaction(statements: readonly string[]): void;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<Postgres> {
  const bin = postgresBin()!;
  const dir = mkdtempSync(path.join(tmpdir(), 'pg-sink-'));
  const data = path.join(dir, 'data');
  let as: { uid: number; gid: number } | undefined;
  if (process.getuid?.() === 0) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    if (!Number.isInteger(uid) || uid === 0)
      throw new Error('running as root and there is no postgres user to run PostgreSQL as');
    chownSync(dir, uid, gid);
    as = { uid, gid };
  }
  const init = spawnSync(
    path.join(bin, 'initdb'),
    ['-D', data, '-U', 'sinktest', '--auth=trust', '--locale=C', '--encoding=UTF8', '--no-sync'],
    { encoding: 'utf8', ...as },
  );
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const server: ChildProcess = spawn(
    path.join(bin, 'postgres'),
    ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-F'],
    { stdio: ['ignore', 'ignore', 'pipe'], ...as },
  );
  let log = '';
  server.stderr?.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
  const psqlArgs = [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    'sinktest',
    '-d',
    'postgres',
    '-X',
    '-q',
    '-A',
    '-t',
    '-F',
    '\t',
    '-v',
    'ON_ERROR_STOP=1',
  ];
  const deadline = Date.now() + 30_000;
  while (spawnSync(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)]).status !== 0) {
    if (server.exitCode !== null || Date.now() > deadline) throw new Error(`postgres did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const sql = (text: string) => {
    const out = spawnSync(path.join(bin, 'psql'), psqlArgs, { input: text, encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`psql: ${out.stderr.trim()}`);
    return out.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t'));
  };
  return {
    sql,
    transaction: (statements) =>
      void sql(['BEGIN;', ...statements.map((s) => `${s};`), 'COMMIT;'].join('\n')),
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (server.exitCode !== null) return done();
        server.once('exit', done);
        server.kill('SIGINT'); // fast shutdown
      }),
  };
}
