/**
 * The pull: every due period of one source, downloaded once, streamed into the landing bucket.
 * The same code runs in the pull Lambda (functions/pull, ports from adapters/aws) and in
 * `etl pull` (adapters/local); it knows only ports and Node's fetch.
 *
 * Which periods: from the bookmark's next (or the source's start) to the newest period whose end
 * plus the publish delay has passed, at most `maxPeriodsPerRun` tried per invocation (a missed
 * schedule is caught up over several), periods already DONE skipped. Per period:
 *
 *   claim (conditional, leased) → GET → stream into a create-only put → complete (conditional)
 *
 * - 404 for the newest due period: not published yet. Released without counting, nothing reported.
 * - 404 for an older period: counted (released with the error); the `missingAfterAttempts`-th 404
 *   gives it up as MISSING (reported as a failure) so the bookmark can move past it. An explicit
 *   range (`--from/--to`) tries MISSING periods again.
 * - 5xx, 408, 429, a network error, no byte for `timeoutSeconds`, a body shorter than its
 *   Content-Length or a `.gz` body that is not a whole gzip stream: retried in this invocation with
 *   exponential backoff and full jitter (`retries` times), then released with the error and
 *   reported as failed (the AWS side alarms on it); the next invocation tries again.
 * - Any other 4xx (401, 403 ...): not retried in this invocation; released and reported failed.
 *
 * Nothing partial ever lands: the body streams through the checks into the object store's put,
 * which publishes only a complete stream (locally temp file + rename; S3: the multipart upload
 * completes only at the end and is aborted on error). The put is create-only on the period's
 * landing key, so two invocations that both got past the ledger still land one object.
 */
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { createGunzip, createGzip, type Gunzip } from 'node:zlib';
import { SourceLeaseLostError } from '../core/errors';
import {
  ObjectExistsError,
  type ObjectInfo,
  type ObjectStore,
  type PulledObject,
  type SecretResolver,
  type SourceLedger,
  type SourcePeriod,
} from '../core/ports';
import { landingKeyOf, type SecretHeader, type SourceDefinition } from './definition';
import { countPeriods, newestDuePeriod, nextPeriod, periodsBetween, previousPeriod } from './periods';
import { expandTemplate } from './url-template';

export type PeriodStatus = 'pulled' | 'skipped' | 'not-yet' | 'failed' | 'missing';

export interface PeriodOutcome {
  readonly period: SourcePeriod;
  /**
   * pulled: landed now. skipped: DONE before, given up before (MISSING), or held by another
   * invocation. not-yet: 404, to be tried again. failed: retries spent (or a 4xx), tried again
   * next time. missing: given up now after `missingAfterAttempts` 404s.
   */
  readonly status: PeriodStatus;
  readonly url: string;
  readonly key: string;
  /** Why, for every status but pulled: `DONE`, `claimed by <owner>`, `HTTP 503 …`, … */
  readonly reason?: string;
  /** What landed (pulled). */
  readonly landed?: PulledObject;
  /** The object was already in landing (an earlier pull died before recording it). */
  readonly recovered?: boolean;
  /** HTTP requests made for it in this invocation. */
  readonly requests: number;
  /** Failed attempts recorded in the ledger, this one included. */
  readonly attempts?: number;
  readonly durationMs: number;
}

export interface PullResult {
  readonly source: string;
  readonly dataset: string;
  readonly owner: string;
  /** The newest period due now; undefined when not even the start is due. */
  readonly newestDue?: SourcePeriod;
  readonly bookmarkBefore?: SourcePeriod;
  readonly bookmarkAfter?: SourcePeriod;
  readonly periods: readonly PeriodOutcome[];
  /** Due periods left for a later invocation (the per-run bound, the deadline, repeated failures). */
  readonly pending: number;
  /** failed + missing: what the AWS side alarms on. */
  readonly failures: number;
}

export interface PullOptions {
  readonly definition: SourceDefinition;
  readonly ledger: SourceLedger;
  /** The landing bucket's store. */
  readonly store: ObjectStore;
  readonly landingBucket: string;
  readonly secrets: SecretResolver;
  /** This invocation's id (the Lambda request id; locally host/pid/random). */
  readonly owner: string;
  /**
   * Explicit periods (`--from/--to`, UTC period starts, both included). Omitted ends: the bookmark's
   * next (or start) and the newest due. An explicit range is not bounded by `maxPeriodsPerRun`
   * and tries MISSING periods again.
   */
  readonly range?: { readonly from?: SourcePeriod; readonly to?: SourcePeriod };
  /** Periods to try at most. @default definition.maxPeriodsPerRun (unbounded for a range) */
  readonly maxPeriods?: number;
  /** Stop before claiming another period after this time (epoch ms): the Lambda's deadline less a margin. */
  readonly deadlineMs?: number;
  /** A claimed period's lease; longer than a download may take (≥ the Lambda timeout). @default 15 min */
  readonly leaseMs?: number;
  /** First retry pause; doubles per retry up to `retryMaxMs`, full jitter. @default 1000 */
  readonly retryBaseMs?: number;
  /** @default 20000 */
  readonly retryMaxMs?: number;
  /** Failed periods in a row after which the invocation stops (the origin is down). @default 3 */
  readonly maxConsecutiveFailures?: number;
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Called as each period ends (progress lines). */
  readonly onPeriod?: (outcome: PeriodOutcome) => void;
}

/** Pulls every due period of one source once. Throws only for setup problems (an unresolvable secret). */
export async function pullSource(options: PullOptions): Promise<PullResult> {
  const def = options.definition;
  const { ledger, owner } = options;
  const now = options.now ?? Date.now;
  const headers = await resolveHeaders(def.headers, options.secrets);
  const explicit = options.range !== undefined;

  const bookmarkBefore = await ledger.bookmark(def.name);
  let bookmark = bookmarkBefore;
  const newestDue = newestDuePeriod(def.start, def.cadence, def.publishDelayMs, now());
  const from =
    options.range?.from ?? (bookmark === undefined ? def.start : nextPeriod(bookmark, def.cadence));
  let to = options.range?.to ?? newestDue;
  if (to !== undefined && newestDue !== undefined && to > newestDue) to = newestDue;
  if (newestDue === undefined) to = undefined;
  const budget = options.maxPeriods ?? (explicit ? Infinity : def.maxPeriodsPerRun);

  const periods: PeriodOutcome[] = [];
  const report = (o: PeriodOutcome) => {
    periods.push(o);
    options.onPeriod?.(o);
  };
  let contiguous = true;
  /** Moves the bookmark onto `p` when it is the bookmark's next period, and never backwards. */
  const settleContiguous = async (p: SourcePeriod) => {
    if (!contiguous || p < def.start) return;
    const expected = p === def.start ? undefined : previousPeriod(p, def.cadence);
    if (bookmark !== expected) {
      if (bookmark === undefined || bookmark < p) contiguous = false;
      return;
    }
    if (await ledger.advance(def.name, expected, p)) bookmark = p;
    else {
      bookmark = await ledger.bookmark(def.name);
      if (bookmark === undefined || bookmark < p) contiguous = false;
    }
  };
  const breakContiguity = () => {
    contiguous = false;
  };

  let tried = 0;
  let failedInRow = 0;
  let pending = 0;
  if (to !== undefined && from <= to) {
    for (const period of periodsBetween(from, to, def.cadence)) {
      const url = expandTemplate(def.url, period);
      const key = landingKeyOf(def, period);
      const started = now();
      const record = await ledger.get(def.name, period);
      if (record?.status === 'DONE' || (record?.status === 'MISSING' && !explicit)) {
        report({
          period,
          status: 'skipped',
          url,
          key,
          reason: record.status,
          requests: 0,
          durationMs: 0,
          ...(record.landed && { landed: record.landed }),
        });
        await settleContiguous(period);
        continue;
      }
      if (record?.status === 'CLAIMED' && record.owner !== owner && (record.leaseUntilMs ?? 0) > now()) {
        report({
          period,
          status: 'skipped',
          url,
          key,
          reason: `claimed by ${record.owner}`,
          requests: 0,
          durationMs: 0,
        });
        breakContiguity();
        continue;
      }
      if (
        tried >= budget ||
        failedInRow >= (options.maxConsecutiveFailures ?? 3) ||
        (options.deadlineMs !== undefined && now() >= options.deadlineMs)
      ) {
        pending = countPeriods(period, to, def.cadence);
        break;
      }
      tried += 1;
      const outcome = await pullPeriod(options, {
        period,
        url,
        key,
        headers,
        isNewest: period === newestDue,
        started,
        now,
      });
      report(outcome);
      // A claim lost to an invocation that has just finished the period counts as done here too.
      const done =
        outcome.status === 'pulled' ||
        outcome.status === 'missing' ||
        (outcome.status === 'skipped' && outcome.reason === 'DONE');
      if (done) await settleContiguous(period);
      else breakContiguity();
      failedInRow = outcome.status === 'failed' ? failedInRow + 1 : 0;
    }
  }
  return {
    source: def.name,
    dataset: def.dataset,
    owner,
    ...(newestDue !== undefined && { newestDue }),
    ...(bookmarkBefore !== undefined && { bookmarkBefore }),
    ...(bookmark !== undefined && { bookmarkAfter: bookmark }),
    periods,
    pending,
    failures: periods.filter((p) => p.status === 'failed' || p.status === 'missing').length,
  };
}

interface PeriodJob {
  readonly period: SourcePeriod;
  readonly url: string;
  readonly key: string;
  readonly headers: Record<string, string>;
  readonly isNewest: boolean;
  readonly started: number;
  readonly now: () => number;
}

async function pullPeriod(options: PullOptions, job: PeriodJob): Promise<PeriodOutcome> {
  const def = options.definition;
  const { ledger, owner, store, landingBucket } = options;
  const { period, url, key, now } = job;
  const base = { period, url, key };
  const leaseMs = options.leaseMs ?? 15 * 60_000;
  const elapsed = () => now() - job.started;

  if (!(await ledger.claim(def.name, period, owner, now() + leaseMs))) {
    const record = await ledger.get(def.name, period);
    const reason = record?.status === 'DONE' ? 'DONE' : `claimed by ${record?.owner ?? 'another invocation'}`;
    return { ...base, status: 'skipped', reason, requests: 0, durationMs: elapsed() };
  }
  const previous = (await ledger.get(def.name, period))?.attempts ?? 0;

  // An earlier pull landed the object and died before recording it: record it, fetch nothing.
  const existing = await store.head({ bucket: landingBucket, key });
  if (existing) return complete(options, job, existing, 0, true);

  let requests = 0;
  let lastError = '';
  for (let attempt = 0; attempt <= def.retries; attempt++) {
    if (attempt > 0) {
      if (options.deadlineMs !== undefined && now() >= options.deadlineMs) break;
      await (options.sleep ?? sleep)(backoffMs(attempt, options));
    }
    requests += 1;
    const result = await download(options, job);
    switch (result.kind) {
      case 'landed':
        return complete(options, job, result.info, requests, false);
      case 'exists': {
        const info = await store.head({ bucket: landingBucket, key });
        if (info) return complete(options, job, info, requests, true);
        lastError = 'the landing key was taken and then removed';
        continue;
      }
      case 'not-found': {
        if (job.isNewest) {
          await ledger.release(def.name, period, owner);
          return {
            ...base,
            status: 'not-yet',
            reason: `HTTP ${result.status}: not published yet`,
            requests,
            durationMs: elapsed(),
          };
        }
        const attempts = previous + 1;
        const error = `HTTP ${result.status} for a period older than the newest due (${attempts} of ${def.missingAfterAttempts} before it is given up)`;
        if (attempts >= def.missingAfterAttempts) {
          const reason = `HTTP ${result.status} ${attempts} times while later periods were due: given up as MISSING (pull it again with --from ${period} --to ${period})`;
          try {
            await ledger.markMissing(def.name, period, owner, reason);
          } catch (e) {
            if (!(e instanceof SourceLeaseLostError)) throw e;
            return {
              ...base,
              status: 'failed',
              reason: e.message,
              requests,
              attempts,
              durationMs: elapsed(),
            };
          }
          return { ...base, status: 'missing', reason, requests, attempts, durationMs: elapsed() };
        }
        await ledger.release(def.name, period, owner, error);
        return { ...base, status: 'not-yet', reason: error, requests, attempts, durationMs: elapsed() };
      }
      case 'permanent':
        lastError = result.error;
        attempt = def.retries; // a 401/403 will not change within seconds
        continue;
      case 'transient':
        lastError = result.error;
        continue;
    }
  }
  await ledger.release(def.name, period, owner, lastError);
  return {
    ...base,
    status: 'failed',
    reason: lastError,
    requests,
    attempts: previous + 1,
    durationMs: elapsed(),
  };
}

async function complete(
  options: PullOptions,
  job: PeriodJob,
  info: ObjectInfo,
  requests: number,
  recovered: boolean,
): Promise<PeriodOutcome> {
  const def = options.definition;
  const landed: PulledObject = {
    key: job.key,
    bytes: info.size,
    etag: info.etag,
    ...(info.versionId !== undefined && { versionId: info.versionId }),
  };
  const base = {
    period: job.period,
    url: job.url,
    key: job.key,
    requests,
    durationMs: job.now() - job.started,
  };
  try {
    await options.ledger.complete(def.name, job.period, options.owner, landed);
  } catch (e) {
    if (!(e instanceof SourceLeaseLostError)) throw e;
    // Landed, but our lease expired and another invocation holds the period: it finds the object
    // in landing (create-only put, head) and records it; nothing lands twice.
    return { ...base, status: 'failed', reason: `landed, but ${e.message}` };
  }
  return { ...base, status: 'pulled', landed, ...(recovered && { recovered }) };
}

type Download =
  | { readonly kind: 'landed'; readonly info: ObjectInfo }
  | { readonly kind: 'exists' }
  | { readonly kind: 'not-found'; readonly status: number }
  | { readonly kind: 'transient'; readonly error: string }
  | { readonly kind: 'permanent'; readonly error: string };

/** A stream check failed: the body is not the whole object. */
class IncompleteBodyError extends Error {
  override readonly name = 'IncompleteBodyError';
}

async function download(options: PullOptions, job: PeriodJob): Promise<Download> {
  const def = options.definition;
  const seconds = def.timeoutMs / 1000;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = (what: string) => {
    clearTimeout(timer);
    timer = setTimeout(
      () => controller.abort(new IncompleteBodyError(`${what} for ${seconds} s`)),
      def.timeoutMs,
    );
  };
  arm('no response');
  try {
    let res: Response;
    try {
      res = await (options.fetch ?? fetch)(job.url, {
        // identity: the bytes stored are the bytes the origin serves (fetch would decode a gzip
        // transfer encoding, and a .gz file must stay gzip).
        headers: { 'user-agent': 'serverless-etl-pull', ...job.headers, 'accept-encoding': 'identity' },
        redirect: 'follow',
        signal: controller.signal,
      });
    } catch (e) {
      return { kind: 'transient', error: `request failed: ${errorText(e, controller)}` };
    }
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel().catch(() => undefined);
      return { kind: 'not-found', status: res.status };
    }
    if (res.status < 200 || res.status > 299 || res.body === null) {
      await res.body?.cancel().catch(() => undefined);
      const error = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
      return res.status >= 500 || res.status === 408 || res.status === 429 || res.status < 200
        ? { kind: 'transient', error }
        : { kind: 'permanent', error: `${error} (not retried until the next invocation)` };
    }
    const gzipTarget = def.extension.endsWith('.gz');
    // The origin ignored "identity": fetch decoded the transfer encoding, so Content-Length is the
    // encoded size, and a .gz file must be compressed again to be what its name says.
    const encoded = (res.headers.get('content-encoding') ?? 'identity').toLowerCase() !== 'identity';
    const declared = encoded ? undefined : lengthOf(res.headers.get('content-length'));
    arm('no data');
    // A generator runs only as the put reads it, so nothing flows (or fails) before the put's
    // stream handling is attached, and a put that stops reading cancels the body.
    let stream: Readable = Readable.from(
      checkedBody(res.body as AsyncIterable<Uint8Array>, declared, gzipTarget && !encoded, () =>
        arm('no data'),
      ),
      { objectMode: false },
    );
    if (encoded && gzipTarget) {
      const gzip = createGzip();
      stream.on('error', (e) => gzip.destroy(e));
      gzip.on('error', () => undefined); // the put sees it through its own stream handling
      stream = stream.pipe(gzip);
    }
    try {
      const info = await options.store.put(options.landingBucket, job.key, stream, {
        ifNoneMatch: '*',
        contentType: res.headers.get('content-type')?.split(';')[0]?.trim() || 'application/octet-stream',
        metadata: { 'etl-source': def.name, 'etl-period': job.period },
      });
      return { kind: 'landed', info };
    } catch (e) {
      stream.destroy();
      if (e instanceof ObjectExistsError) return { kind: 'exists' };
      return { kind: 'transient', error: errorText(e, controller) };
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The body, chunk by chunk, re-arming the idle timer; at its end it throws when it is shorter than
 * its Content-Length or (for a `.gz` landing file) not a whole gzip stream, so the put fails
 * before it publishes anything.
 */
async function* checkedBody(
  body: AsyncIterable<Uint8Array>,
  declared: number | undefined,
  checkGzip: boolean,
  onData: () => void,
): AsyncGenerator<Buffer> {
  let bytes = 0;
  let gunzip: Gunzip | undefined;
  let gunzipDone: Promise<void> | undefined;
  if (checkGzip) {
    const g = createGunzip();
    g.resume(); // only whether it decompresses to the end matters, not the bytes
    gunzipDone = new Promise<void>((resolve, reject) => {
      g.on('end', resolve);
      g.on('error', reject);
    });
    gunzipDone.catch(() => undefined);
    gunzip = g;
  }
  try {
    for await (const piece of body) {
      const chunk = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
      bytes += chunk.length;
      onData();
      if (declared !== undefined && bytes > declared)
        throw new IncompleteBodyError(`the body is longer than its Content-Length ${declared}`);
      if (gunzip && !gunzip.write(chunk))
        await Promise.race([once(gunzip, 'drain'), gunzipDone]).catch((e: Error) => {
          throw gzipError(e);
        });
      yield chunk;
    }
    if (declared !== undefined && bytes !== declared)
      throw new IncompleteBodyError(`the body ended after ${bytes} of ${declared} bytes (Content-Length)`);
    if (gunzip) {
      gunzip.end();
      await gunzipDone!.catch((e: Error) => {
        throw gzipError(e);
      });
    }
  } finally {
    gunzip?.destroy();
  }
}

function gzipError(e: Error): IncompleteBodyError {
  return new IncompleteBodyError(`the body is not a whole gzip stream (${e.message}): truncated or corrupt`);
}

function lengthOf(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim());
}

function errorText(e: unknown, controller: AbortController): string {
  if (controller.signal.aborted && controller.signal.reason instanceof Error)
    return controller.signal.reason.message;
  const err = e as Error & { cause?: Error & { code?: string } };
  const cause = err.cause ? `: ${err.cause.code ?? err.cause.message}` : '';
  return `${err.message}${cause}`;
}

function backoffMs(attempt: number, options: PullOptions): number {
  const base = options.retryBaseMs ?? 1000;
  const cap = Math.min(options.retryMaxMs ?? 20_000, base * 2 ** (attempt - 1));
  return Math.round(cap * (options.random ?? Math.random)());
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Header values with their secrets resolved (once per invocation). */
async function resolveHeaders(
  headers: Readonly<Record<string, string | SecretHeader>>,
  secrets: SecretResolver,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string') out[name] = value;
    else {
      const secret = await secrets.resolve({
        secret: value.secret,
        ...(value.field !== undefined && { field: value.field }),
      });
      if (/[\r\n]/.test(secret))
        throw new Error(`the secret "${value.secret}" for header ${name} contains a line break`);
      out[name] = `${value.prefix ?? ''}${secret}`;
    }
  }
  return out;
}
