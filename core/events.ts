/**
 * The input every execution starts from: the S3 "Object Created" event as EventBridge delivers
 * it. The local runtime builds exactly this shape, so the ASL sees the same input in both worlds.
 */
export interface S3ObjectCreatedEvent {
  readonly version: string;
  readonly id: string;
  readonly 'detail-type': 'Object Created';
  readonly source: 'aws.s3';
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: {
    readonly version: string;
    readonly bucket: { readonly name: string };
    readonly object: {
      readonly key: string;
      readonly size: number;
      readonly etag: string;
      readonly 'version-id'?: string;
      readonly sequencer: string;
    };
    readonly 'request-id': string;
    readonly requester: string;
    readonly reason: string;
  };
}

/** The object one execution is about, as the steps pass it along. */
export interface SourceObject {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  readonly size: number;
  readonly etag: string;
  readonly sequencer?: string;
}

/** Who sent an event, and when: the parts of an Object Created event that are not the object. */
export interface EventOrigin {
  readonly id: string;
  readonly account: string;
  readonly region: string;
  readonly time: Date;
  /** S3's ordering token for the key; '' when unknown (claim then skips the out-of-order check). */
  readonly sequencer: string;
  readonly requestId: string;
  readonly requester: string;
}

/** The EventBridge "Object Created" event S3 sends for one version of an object. */
export function objectCreatedEventFor(
  bucket: string,
  object: { readonly key: string; readonly size: number; readonly etag: string; readonly versionId?: string },
  origin: EventOrigin,
): S3ObjectCreatedEvent {
  return {
    version: '0',
    id: origin.id,
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: origin.account,
    time: origin.time.toISOString().replace(/\.\d+Z$/, 'Z'),
    region: origin.region,
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: '0',
      bucket: { name: bucket },
      object: {
        key: encodeEventKey(object.key),
        size: object.size,
        etag: object.etag,
        ...(object.versionId !== undefined && { 'version-id': object.versionId }),
        sequencer: origin.sequencer,
      },
      'request-id': origin.requestId,
      requester: origin.requester,
      reason: 'PutObject',
    },
  };
}

/** S3 URL-encodes keys in its event payloads ("red flower.csv" → "red+flower.csv"). */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
}

/**
 * The real key of an event's object: decoded once, here, and nowhere else. S3 form-encodes keys
 * in event payloads (space → `+`, `+` → `%2B`, `%` → `%25`, UTF-8 bytes → `%XX`). A `%` that
 * does not start a valid UTF-8 escape sequence is kept as it is rather than failing the run, so
 * such a key still reaches the allowlist and is quarantined with a reason.
 */
export function decodeEventKey(encoded: string): string {
  return encoded.replace(/\+/g, ' ').replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

export function sourceObjectOf(event: S3ObjectCreatedEvent): SourceObject {
  const o = event.detail.object;
  return {
    bucket: event.detail.bucket.name,
    key: decodeEventKey(o.key),
    ...(o['version-id'] !== undefined && { versionId: o['version-id'] }),
    size: o.size,
    etag: o.etag,
    sequencer: o.sequencer,
  };
}

/** Width sequencers are padded to; S3 sequencers are far shorter. */
const SEQUENCER_WIDTH = 64;

/**
 * A key whose string order is the order of S3 events on one object key. S3 documents sequencers
 * as hexadecimal strings of varying length, compared by right-padding the shorter with zeros and
 * comparing lexicographically (the current "Event message structure" page; older copies said
 * "left pad" — the AWS Go/Rust event types quote the right-pad wording). Padding every sequencer
 * to one fixed width does that, and lets a database compare them with a plain string condition.
 */
export function sequencerOrderKey(sequencer: string): string {
  const hex = sequencer.trim().toUpperCase();
  if (!/^[0-9A-F]{1,64}$/.test(hex)) throw new Error(`S3 sequencer "${sequencer}" is not 1-64 hex digits`);
  return hex.padEnd(SEQUENCER_WIDTH, '0');
}

/**
 * `--source_order` (and ClaimResult `sourceOrder`) when the event carried no usable sequencer:
 * the transform then publishes without comparing versions, as Claim then skips its staleness check.
 * Not empty, because a Glue job argument must have a value.
 */
export const UNORDERED_SOURCE = 'unordered';

/** A fixed-width order key as {@link sequencerOrderKey} makes it. */
export const SOURCE_ORDER_KEY = /^[0-9A-F]{64}$/;

/**
 * The order key of an event's sequencer, or undefined when there is none or it is unusable: an
 * unusable sequencer disables the version-order checks for this event rather than failing it.
 */
export function sourceOrderKeyOf(sequencer: string | undefined): string | undefined {
  if (sequencer === undefined || sequencer === '') return undefined;
  try {
    return sequencerOrderKey(sequencer);
  } catch {
    return undefined;
  }
}
