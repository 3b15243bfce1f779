/**
 * A throw-away local lake for validate scenarios: upload bytes to the landing bucket, run the
 * step, read what it wrote, and check the landing object survived byte for byte.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalObjectStore, readObjectText } from '../../adapters/local/object-store';
import { findContract } from '../../core/contract';
import { FileRejectedError } from '../../core/errors';
import type { SourceObject } from '../../core/events';
import type { ObjectInfo } from '../../core/ports';
import type { ValidateResult } from '../../core/steps';
import { validateObject, type ValidateLimits } from '../../functions/validate/validate';
import { stagedRowsIn, type StagedRow } from '../support/staging-rows';

export const FIXTURES = path.resolve(__dirname, '../fixtures/validate');
export const TEST_SCHEMAS = path.join(FIXTURES, 'schemas');
export const LANDING = 'landing';
export const LAKE = 'lake';

export function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, name));
}

export class TestLake {
  readonly root = mkdtempSync(path.join(tmpdir(), 'etl-validate-'));
  readonly store = new LocalObjectStore(this.root);
  private readonly uploaded = new Map<string, { bytes: Buffer; versionId: string }>();

  /**
   * @param defaults `fastPath` for every {@link validate} that does not set its own: `false` for a
   * suite about the streaming path's outputs (its JSON Lines staging, its reader).
   */
  constructor(private readonly defaults: { fastPath?: boolean | 'auto' } = {}) {}

  async upload(key: string, bytes: Buffer | string): Promise<SourceObject> {
    const body = Buffer.from(bytes);
    const info = await this.store.put(LANDING, key, body);
    this.uploaded.set(key, { bytes: body, versionId: info.versionId! });
    return { bucket: LANDING, key, versionId: info.versionId, size: info.size, etag: info.etag };
  }

  validate(
    source: SourceObject,
    opts: { schemasDir?: string; limits?: Partial<ValidateLimits>; fastPath?: boolean | 'auto' } = {},
  ): Promise<ValidateResult> {
    // ETL_TEST_FAST_PATH=1: every validate scenario through the DuckDB fast path (where it applies).
    const fastPath = opts.fastPath ?? (process.env.ETL_TEST_FAST_PATH ? true : this.defaults.fastPath);
    return validateObject(
      {
        store: this.store,
        lakeBucket: LAKE,
        schemasDir: opts.schemasDir ?? TEST_SCHEMAS,
        ...(opts.limits && { limits: opts.limits }),
        ...(fastPath !== undefined && { fastPath }),
      },
      { runId: 'run-test', source },
    );
  }

  /** Uploads, validates, and returns the FileRejectedError it must throw. */
  async rejection(
    key: string,
    bytes: Buffer | string,
    opts: { schemasDir?: string; limits?: Partial<ValidateLimits> } = {},
  ): Promise<FileRejectedError> {
    const source = await this.upload(key, bytes);
    try {
      await this.validate(source, opts);
    } catch (e) {
      if (e instanceof FileRejectedError) return e;
      throw e;
    }
    throw new Error(`expected ${key} to be rejected`);
  }

  async text(key: string, bucket = LAKE): Promise<string> {
    return readObjectText(this.store, { bucket, key });
  }

  async json<T = Record<string, unknown>>(key: string): Promise<T> {
    return JSON.parse(await this.text(key)) as T;
  }

  async jsonLines<T = Record<string, unknown>>(key: string): Promise<T[]> {
    return (await this.text(key))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as T);
  }

  /**
   * The rows `result` staged, whichever staging its path wrote (JSON Lines, or the checked fast
   * path's CSV staging made canonical: test/support/staging-rows.ts), in line order; its
   * `_SUCCESS` must be there.
   */
  async stagedRows(result: ValidateResult, schemasDir: string = TEST_SCHEMAS): Promise<StagedRow[]> {
    expect(await this.keys(result.staging.key)).toContain(`${result.staging.key}_SUCCESS`);
    const contract = findContract(result.dataset, schemasDir);
    if (!contract) throw new Error(`no contract for ${result.dataset} in ${schemasDir}`);
    // The folder of its marker (pathOf encodes a key that ends in "/").
    const marker = this.store.pathOf(result.staging.bucket, `${result.staging.key}_SUCCESS`);
    return stagedRowsIn(path.dirname(marker), contract);
  }

  async keys(prefix: string, bucket = LAKE): Promise<string[]> {
    const out: string[] = [];
    for await (const o of this.store.list(bucket, prefix) as AsyncIterable<ObjectInfo>) out.push(o.key);
    return out;
  }

  /** Every uploaded object is still in landing, current and byte-identical. */
  async expectLandingIntact(): Promise<void> {
    for (const [key, { bytes, versionId }] of this.uploaded) {
      const head = await this.store.head({ bucket: LANDING, key });
      expect(head?.versionId).toBe(versionId);
      const chunks: Buffer[] = [];
      for await (const c of await this.store.get({ bucket: LANDING, key })) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    }
  }

  /** No staging prefix in the lake has `_SUCCESS`, and no staging part was left behind. */
  async expectNoStaging(): Promise<void> {
    expect(await this.keys('staging/')).toEqual([]);
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
