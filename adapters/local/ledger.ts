/**
 * The local ledger: one JSON file per claimed version under a folder, so a person can read it.
 *
 * Layout under `rootDir` (key text never reaches a path; the folder is a hash of bucket/key):
 * ```
 * <sha256(bucket/key)>/v-<versionTag>.json   one record per claimed version (first write wins)
 * <sha256(bucket/key)>/latest.json           the newest claimed version of the key (by sequencer)
 * <sha256(bucket/key)>/latest.lock           held while latest.json is compared and replaced
 * ```
 * First write wins by `link(tmp, record)`: atomic, fails with EEXIST when the record exists, and
 * never leaves a half-written record (a `wx` open would, if the process died mid-write).
 */
import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type {
  ClaimOutcome,
  LatestClaim,
  Ledger,
  LedgerClaim,
  LedgerRecord,
  LedgerRef,
} from '../../core/ports';

type Latest = LatestClaim;

const VERSION_TAG = /^[A-Za-z0-9_-]{1,64}$/;
/** A lock older than this was left by a killed process; taking it over is safe. */
const STALE_LOCK_MS = 30_000;

/** Folder-backed {@link Ledger}. @example new LocalLedger('.etl/ledger') */
export class LocalLedger implements Ledger {
  readonly rootDir: string;

  constructor(rootDir: string) {
    this.rootDir = path.resolve(rootDir);
  }

  async claim(claim: LedgerClaim): Promise<ClaimOutcome> {
    const record: LedgerRecord = { ...claim, status: 'CLAIMED', updatedAt: claim.claimedAt };
    const file = this.recordFile(claim);
    await fs.mkdir(path.dirname(file), { recursive: true });
    if (!(await createExclusive(file, record))) {
      const existing = (await this.get(claim))!;
      // The same run claiming again is a retried task: carry on where it stopped.
      if (existing.runId !== claim.runId) return { outcome: 'DUPLICATE', record: existing };
    }
    if (claim.sequencerKey === undefined) return { outcome: 'CLAIMED', record };
    const sequencerKey = claim.sequencerKey;
    return this.withLock(claim, async () => {
      const latestFile = path.join(this.keyDir(claim), 'latest.json');
      const latest = await readJson<Latest>(latestFile);
      if (latest && latest.sequencerKey > sequencerKey) {
        await writeAtomic(file, { ...record, status: 'STALE', updatedAt: new Date().toISOString() });
        return {
          outcome: 'STALE',
          latest: { versionTag: latest.versionTag, sequencerKey: latest.sequencerKey },
        };
      }
      await writeAtomic(latestFile, { versionTag: claim.versionTag, sequencerKey, runId: claim.runId });
      return { outcome: 'CLAIMED', record };
    });
  }

  async settle(
    ref: LedgerRef,
    status: 'SUCCEEDED' | 'REJECTED' | 'FAILED' | 'STALE',
    runId: string,
    detail?: string,
  ): Promise<LedgerRecord> {
    const file = this.recordFile(ref);
    const now = new Date().toISOString();
    const existing = await this.get(ref);
    if (!existing) {
      // Never claimed (rejected by Claim itself): record the outcome so a repeat is visible.
      const record: LedgerRecord = {
        bucket: ref.bucket,
        key: ref.key,
        versionTag: ref.versionTag,
        runId,
        claimedAt: now,
        status,
        updatedAt: now,
        ...(detail !== undefined && { detail }),
      };
      await fs.mkdir(path.dirname(file), { recursive: true });
      if (await createExclusive(file, record)) return record;
      return this.settle(ref, status, runId, detail);
    }
    // Only a run in progress (or a FAILED one being redriven) moves; a final status stays.
    if (existing.status !== 'CLAIMED' && existing.status !== 'FAILED') return existing;
    const settled: LedgerRecord = {
      ...existing,
      status,
      updatedAt: now,
      ...(detail !== undefined && { detail }),
    };
    await writeAtomic(file, settled);
    return settled;
  }

  async get(ref: LedgerRef): Promise<LedgerRecord | undefined> {
    return readJson<LedgerRecord>(this.recordFile(ref));
  }

  async latest(ref: { bucket: string; key: string }): Promise<LatestClaim | undefined> {
    return readJson<Latest>(path.join(this.keyDir(ref), 'latest.json'));
  }

  private keyDir(ref: { bucket: string; key: string }): string {
    return path.join(this.rootDir, createHash('sha256').update(`${ref.bucket}/${ref.key}`).digest('hex'));
  }

  private recordFile(ref: LedgerRef): string {
    if (!VERSION_TAG.test(ref.versionTag))
      throw new Error(`ledger: version tag "${ref.versionTag}" is not a versionTagOf() tag`);
    return path.join(this.keyDir(ref), `v-${ref.versionTag}.json`);
  }

  /** Serialises compare-and-replace of latest.json across runs (and processes) of one key. */
  private async withLock<T>(ref: LedgerRef, work: () => Promise<T>): Promise<T> {
    const lock = path.join(this.keyDir(ref), 'latest.lock');
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.writeFile(lock, String(process.pid), { flag: 'wx' });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const age = await fs.stat(lock).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        if (age > STALE_LOCK_MS) await fs.rm(lock, { force: true });
        else if (attempt > 500)
          throw new Error(`ledger: ${lock} is held by another run for too long`, { cause: e });
        else await new Promise((r) => setTimeout(r, 10));
      }
    }
    try {
      return await work();
    } finally {
      await fs.rm(lock, { force: true });
    }
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function writeTemp(file: string, value: unknown): Promise<string> {
  const tmp = path.join(path.dirname(file), `.tmp-${randomUUID()}`);
  await fs.writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  return tmp;
}

async function writeAtomic(file: string, value: unknown): Promise<void> {
  await fs.rename(await writeTemp(file, value), file);
}

/** Creates `file` with `value` unless it exists; true when this call created it. */
async function createExclusive(file: string, value: unknown): Promise<boolean> {
  const tmp = await writeTemp(file, value);
  try {
    await fs.link(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
