/**
 * The local landing bucket: putting a file there and building the EventBridge "Object Created"
 * event S3 would send for it, byte for byte the shape the deployed state machine receives.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { objectCreatedEventFor, type S3ObjectCreatedEvent } from '../core/events';
import { LANDING_PREFIX, landingContentType } from '../core/layout';
import type { ObjectInfo, ObjectStore } from '../core/ports';
import { LocalObjectStore } from '../adapters/local/object-store';

const LOCAL_REGION = 'local';
const LOCAL_ACCOUNT = '000000000000';
let lastSequencer = 0n;

/**
 * S3's sequencer: a hex string that orders events for the same key. Monotonic in this process,
 * and time-based so it also orders runs started by different processes.
 */
export function nextSequencer(now = Date.now()): string {
  let seq = BigInt(now) * 1000n;
  if (seq <= lastSequencer) seq = lastSequencer + 1n;
  lastSequencer = seq;
  return seq.toString(16).toUpperCase().padStart(18, '0');
}

/** The event EventBridge delivers for an object put into the landing bucket. */
export function objectCreatedEvent(bucket: string, info: ObjectInfo, now = new Date()): S3ObjectCreatedEvent {
  return objectCreatedEventFor(bucket, info, {
    id: randomUUID(),
    account: LOCAL_ACCOUNT,
    region: LOCAL_REGION,
    time: now,
    sequencer: nextSequencer(now.getTime()),
    requestId: randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase(),
    requester: LOCAL_ACCOUNT,
  });
}

/** `incoming/<dataset>/<file name>`: where `etl run` puts a file. */
export function landingKeyFor(dataset: string, file: string): string {
  return `${LANDING_PREFIX}${dataset}/${path.basename(file)}`;
}

/** Uploads a local file into the landing bucket (streamed) and returns its new version's info. */
export async function putInLanding(
  store: ObjectStore,
  bucket: string,
  key: string,
  file: string,
): Promise<ObjectInfo> {
  const options = { contentType: landingContentType(key) };
  // The local lake copies the file in the kernel (not through this thread): measurably faster.
  if (store instanceof LocalObjectStore) return store.putFile(bucket, key, file, options);
  return store.put(bucket, key, createReadStream(file), options);
}
