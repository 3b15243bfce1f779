/**
 * The local {@link SourceLedger}: one JSON file per pulled source, `<dir>/<source>.json`
 * (`{ "bookmark": ..., "periods": { "<period>": record } }`), readable by a person.
 *
 * Every call is read-modify-write under `<source>.lock` (created with O_EXCL, so of two
 * processes exactly one holds it), and the file is replaced atomically (temp file + rename), so
 * two overlapping `etl pull` processes see each other's claims and never pull one period twice;
 * a killed process leaves either the old file or the new one. A lock left by a killed process is
 * taken over once its process is gone (same host) or it is older than {@link STALE_LOCK_MS}.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DATASET_NAME } from '../../core/dataset-name';
import { SourceLeaseLostError } from '../../core/errors';
import type { PulledObject, SourceLedger, SourcePeriod, SourcePeriodRecord } from '../../core/ports';

/** Held for a few file operations at most; older than this, its holder is gone. */
const STALE_LOCK_MS = 30_000;
const PERIOD = /^\d{4}-\d{2}-\d{2}T\d{2}:00:00Z$/;

interface LedgerFile {
  bookmark?: SourcePeriod;
  periods: Record<SourcePeriod, SourcePeriodRecord>;
}

/** Folder-backed {@link SourceLedger}. @example new LocalSourceLedger('.etl/sources') */
export class LocalSourceLedger implements SourceLedger {
  readonly rootDir: string;

  constructor(
    rootDir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.rootDir = path.resolve(rootDir);
  }

  /** The file of one source (what `etl pull` shows). */
  fileOf(source: string): string {
    if (!DATASET_NAME.test(source)) throw new Error(`source ledger: "${source}" is not a source name`);
    return path.join(this.rootDir, `${source}.json`);
  }

  async bookmark(source: string): Promise<SourcePeriod | undefined> {
    return (await this.read(source)).bookmark;
  }

  async advance(source: string, from: SourcePeriod | undefined, to: SourcePeriod): Promise<boolean> {
    checkPeriod(to);
    return this.update(source, (state) => {
      if (state.bookmark !== from) return false;
      state.bookmark = to;
      return true;
    });
  }

  async get(source: string, period: SourcePeriod): Promise<SourcePeriodRecord | undefined> {
    return (await this.read(source)).periods[checkPeriod(period)];
  }

  async claim(source: string, period: SourcePeriod, owner: string, leaseUntilMs: number): Promise<boolean> {
    checkPeriod(period);
    return this.update(source, (state) => {
      const record = state.periods[period];
      if (record?.status === 'DONE') return false;
      if (record?.status === 'CLAIMED' && record.owner !== owner && (record.leaseUntilMs ?? 0) > this.now())
        return false;
      state.periods[period] = {
        source,
        period,
        status: 'CLAIMED',
        owner,
        leaseUntilMs,
        attempts: record?.attempts ?? 0,
        ...(record?.lastError !== undefined && { lastError: record.lastError }),
        updatedAt: new Date(this.now()).toISOString(),
      };
      return true;
    });
  }

  async complete(source: string, period: SourcePeriod, owner: string, landed: PulledObject): Promise<void> {
    checkPeriod(period);
    await this.update(source, (state) => {
      const record = this.owned(state, source, period, owner);
      state.periods[period] = {
        source,
        period,
        status: 'DONE',
        owner,
        attempts: record.attempts,
        landed: { ...landed },
        updatedAt: new Date(this.now()).toISOString(),
      };
      return undefined;
    });
  }

  async release(source: string, period: SourcePeriod, owner: string, error?: string): Promise<void> {
    checkPeriod(period);
    await this.update(source, (state) => {
      const record = state.periods[period];
      if (record?.status !== 'CLAIMED' || record.owner !== owner) return undefined; // lost: nothing to give back
      state.periods[period] = {
        source,
        period,
        status: 'RELEASED',
        owner,
        attempts: record.attempts + (error === undefined ? 0 : 1),
        ...((error ?? record.lastError) !== undefined && { lastError: error ?? record.lastError }),
        updatedAt: new Date(this.now()).toISOString(),
      };
      return undefined;
    });
  }

  async markMissing(source: string, period: SourcePeriod, owner: string, reason: string): Promise<void> {
    checkPeriod(period);
    await this.update(source, (state) => {
      const record = this.owned(state, source, period, owner);
      state.periods[period] = {
        source,
        period,
        status: 'MISSING',
        owner,
        attempts: record.attempts + 1,
        lastError: reason,
        updatedAt: new Date(this.now()).toISOString(),
      };
      return undefined;
    });
  }

  private owned(state: LedgerFile, source: string, period: SourcePeriod, owner: string): SourcePeriodRecord {
    const record = state.periods[period];
    if (record?.status !== 'CLAIMED' || record.owner !== owner)
      throw new SourceLeaseLostError(
        `${source} ${period} is no longer claimed by ${owner} (${record ? `${record.status} by ${record.owner ?? 'nobody'}` : 'no claim'})`,
      );
    return record;
  }

  private async read(source: string): Promise<LedgerFile> {
    try {
      const parsed = JSON.parse(await fs.readFile(this.fileOf(source), 'utf8')) as LedgerFile;
      return { ...parsed, periods: parsed.periods ?? {} };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { periods: {} };
      throw new Error(`source ledger ${this.fileOf(source)} cannot be read: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  /** Read-modify-write under the source's lock; `change` mutates the state, the file is written when it did. */
  private async update<T>(source: string, change: (state: LedgerFile) => T): Promise<T> {
    const file = this.fileOf(source);
    await fs.mkdir(this.rootDir, { recursive: true });
    const release = await lock(`${file.slice(0, -'.json'.length)}.lock`);
    try {
      const state = await this.read(source);
      const before = JSON.stringify(state);
      const result = change(state);
      if (JSON.stringify(state) !== before) {
        const tmp = path.join(this.rootDir, `.tmp-${randomUUID()}`);
        await fs.writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
        await fs.rename(tmp, file);
      }
      return result;
    } finally {
      await release();
    }
  }
}

function checkPeriod(period: SourcePeriod): SourcePeriod {
  if (!PERIOD.test(period))
    throw new Error(`source ledger: "${period}" is not a period (YYYY-MM-DDTHH:00:00Z)`);
  return period;
}

/** Takes `lockFile` (O_EXCL); returns its release. */
async function lock(lockFile: string): Promise<() => Promise<void>> {
  const token = `${process.pid} ${randomUUID()}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.writeFile(lockFile, token, { flag: 'wx' });
      return async () => {
        // Only our own lock: a taken-over stale lock is someone else's now.
        const held = await fs.readFile(lockFile, 'utf8').catch(() => '');
        if (held === token) await fs.rm(lockFile, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (await isStale(lockFile)) {
        // Rename first: of two processes taking over the same stale lock, only one rename succeeds.
        const aside = `${lockFile}.stale-${randomUUID()}`;
        if (
          await fs.rename(lockFile, aside).then(
            () => true,
            () => false,
          )
        )
          await fs.rm(aside, { force: true });
        continue;
      }
      if (attempt > 3000)
        throw new Error(`source ledger: ${lockFile} is held by another process for too long`, { cause: e });
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 10));
    }
  }
}

async function isStale(lockFile: string): Promise<boolean> {
  const [stat, text] = await Promise.all([
    fs.stat(lockFile).catch(() => undefined),
    fs.readFile(lockFile, 'utf8').catch(() => undefined),
  ]);
  if (!stat || text === undefined) return false; // gone (or being replaced): just try again
  if (Date.now() - stat.mtimeMs > STALE_LOCK_MS) return true;
  const pid = Number(text.split(' ')[0]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || text === '') return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
