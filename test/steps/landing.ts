/**
 * Test helper: a tmp-dir lake with a landing bucket, an object put there from a fixture file, and
 * the S3 event for exactly that version (as EventBridge would deliver it).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalObjectStore } from '../../adapters/local/object-store';
import { LocalLedger } from '../../adapters/local/ledger';
import { encodeEventKey, type S3ObjectCreatedEvent } from '../../core/events';
import type { ObjectInfo } from '../../core/ports';

export const LANDING = 'serverless-etl-landing';
export const LAKE = 'serverless-etl-lake';

const BASE = JSON.parse(
  readFileSync(path.join(__dirname, '../fixtures/steps/event-registrations.json'), 'utf8'),
) as S3ObjectCreatedEvent;

export function fixture(name: string): Buffer {
  return readFileSync(path.join(__dirname, '../fixtures/steps', name));
}

export function eventFor(
  key: string,
  info: ObjectInfo,
  sequencer = '00617F08299329D189',
): S3ObjectCreatedEvent {
  return {
    ...BASE,
    detail: {
      ...BASE.detail,
      bucket: { name: LANDING },
      object: {
        key: encodeEventKey(key),
        size: info.size,
        etag: info.etag,
        ...(info.versionId !== undefined && { 'version-id': info.versionId }),
        sequencer,
      },
    },
  };
}

export interface TmpLake {
  readonly dir: string;
  readonly store: LocalObjectStore;
  readonly ledger: LocalLedger;
  /** Puts `body` at `key` in the landing bucket and returns its event. */
  land(key: string, body: Buffer | string): Promise<{ event: S3ObjectCreatedEvent; info: ObjectInfo }>;
  remove(): void;
}

export function tmpLake(): TmpLake {
  const dir = mkdtempSync(path.join(tmpdir(), 'steps-'));
  const store = new LocalObjectStore(path.join(dir, 'lake'));
  return {
    dir,
    store,
    ledger: new LocalLedger(path.join(dir, 'ledger')),
    async land(key, body) {
      const info = await store.put(LANDING, key, body);
      return { event: eventFor(key, info), info };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export async function readText(
  store: LocalObjectStore,
  bucket: string,
  key: string,
  versionId?: string,
): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await store.get({ bucket, key, ...(versionId !== undefined && { versionId }) })) {
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
