/**
 * `npm run archive:serve [-- --port 8787 --events 200]`: serves a generated GH-Archive-style
 * archive on 127.0.0.1 (test/support/archive-server.ts: gzip JSON Lines of nested events per
 * hour, the same bytes every time) so `etl pull github-events --url ...` can be tried without
 * the internet. Ctrl-C stops it.
 */
import { startArchiveServer } from '../test/support/archive-server';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} must be a whole number`);
  return value;
}

async function serve(): Promise<void> {
  const server = await startArchiveServer({ port: flag('port', 8787), eventsPerHour: flag('events', 200) });
  process.stdout.write(
    `test archive on ${server.url} (every hour, ${flag('events', 200)} events each)\n` +
      `  npm run etl -- --home .etl-demo pull github-events --url '${server.template}' --from 2026-12-01T00 --to 2026-12-01T03\n`,
  );
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void serve();
