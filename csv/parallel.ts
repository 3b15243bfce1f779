/**
 * The two-thread validate path: csv-parse runs in a worker thread (parse-worker.ts) while this
 * thread inspects bytes, checks rows and writes staging and rejects. On 2 free cores that is about
 * the throughput of the slower of the two halves instead of their sum.
 *
 * - Order: each input chunk sent is answered by exactly one batch, and message order is kept, so
 *   records reach the {@link RecordValidator} in file order with the same cells, quoted-empty
 *   marks and physical lines as in the single-thread path (outputs are byte-identical).
 * - Memory stays flat: at most {@link MAX_IN_FLIGHT} chunks are between the threads; the write
 *   callback is held (so the byte stream above pauses) until a batch has been checked and its
 *   outputs accepted by the store.
 * - Transfer: input bytes are gathered into one fresh buffer of ≈256 KiB that is moved, not copied;
 *   records come back as one string per batch (record-batches.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { CsvDialect } from '../core/contract';
import { ParseFailureError } from './csv-records';
import type { ParseWorkerData } from './parse-worker';
import { forEachRecord, type ParseReply, type ParseRequest, type RecordBatch } from './record-batches';
import { LeaveToCsvParseError, type CsvReaderKind } from './csv-splitter';
import type { RecordValidator } from './record-validator';

/**
 * Below this size `'auto'` stays on one thread: with the fast splitter the parse thread has
 * little to take over, and at 10 MB starting it and passing batches cost more than it saved
 * (`npm run bench -- --sizes 10MB --only validate`: 13.8 MiB/s on one thread, 11.4 on two).
 */
export const PARALLEL_MIN_BYTES = 32 * 1024 * 1024;

/** The worker entry's file name in a bundle, next to the bundled handler. */
export const BUNDLED_PARSE_WORKER = 'validate-parse-worker.js';

/**
 * Input is gathered to this size before it is sent to the worker (S3 streams give ≈16–64 KiB).
 * Small enough that one batch's records die young in the checking thread's heap.
 */
const POST_BYTES = 256 * 1024;

/** Chunks sent to the worker and not yet checked here, at most. */
const MAX_IN_FLIGHT = 4;

/** How to start the parse worker here, or undefined when its file is not available. */
export function parseWorkerEntry(): { readonly file: string; readonly execArgv?: string[] } | undefined {
  // A bundle ships the worker as its own file beside the bundle that starts it (the Lambda
  // handler's index.js), or beside the program's main script (a bundled CLI or benchmark).
  const main = process.argv[1];
  for (const dir of [__dirname, ...(main ? [path.dirname(main)] : [])]) {
    const bundled = path.join(dir, BUNDLED_PARSE_WORKER);
    if (existsSync(bundled)) return { file: bundled };
  }
  // From source (tsx, jest, the bench's bundles): the TypeScript entry, through tsx's loader.
  const source = path.join(__dirname, 'parse-worker.ts');
  if (!existsSync(source)) return undefined;
  if (process.execArgv.some((a) => a.includes('tsx'))) return { file: source }; // inherited
  const loader = tsxLoader();
  return loader ? { file: source, execArgv: ['--import', loader] } : undefined;
}

/** tsx's loader as a file URL (wherever the process was started from), if it is installed. */
function tsxLoader(): string | undefined {
  try {
    return pathToFileURL(require.resolve('tsx')).href;
  } catch {
    return undefined;
  }
}

/** Lambda gives one vCPU-second per second at this memory size, proportionally more or less. */
export const LAMBDA_MB_PER_VCPU = 1769;

/**
 * How many CPUs this process can keep busy. `os.availableParallelism()` counts visible cores,
 * which overstates what a throttled process gets: Lambda shows 2 cores from 128 MB up to 3,008 MB
 * but gives CPU time in proportion to memory (1 vCPU at 1,769 MB, 2 at 3,538 MB), and a container
 * may have a CPU quota (cgroup v2 `cpu.max`).
 */
export function cpuBudget(env: NodeJS.ProcessEnv = process.env): number {
  let budget = availableParallelism();
  const lambdaMb = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  if (lambdaMb > 0) budget = Math.min(budget, lambdaMb / LAMBDA_MB_PER_VCPU);
  try {
    const [quota, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    if (quota !== 'max' && Number(quota) > 0 && Number(period) > 0)
      budget = Math.min(budget, Number(quota) / Number(period));
  } catch {
    // no cgroup v2 CPU controller here: the visible cores are the budget
  }
  return budget;
}

/**
 * Whether this run parses in a worker thread. `'auto'`: the object is at least
 * {@link PARALLEL_MIN_BYTES}, the process can keep 2 CPUs busy ({@link cpuBudget}) and the worker
 * file is there.
 * @throws Error when `true` is asked for and the worker file is missing
 */
export function useParallel(setting: boolean | 'auto', objectBytes: number | undefined): boolean {
  if (setting === false) return false;
  if (setting === 'auto') {
    return (objectBytes ?? 0) >= PARALLEL_MIN_BYTES && cpuBudget() >= 2 && parseWorkerEntry() !== undefined;
  }
  if (!parseWorkerEntry()) {
    throw new Error(
      `validate: parallel parsing needs ${BUNDLED_PARSE_WORKER} next to the handler (csv/README.md, "Two threads")`,
    );
  }
  return true;
}

/** Takes the checked bytes (a Writable like the single-thread sink) and parses them in a worker. */
export class ParallelRecordSource extends Writable {
  private readonly worker: Worker;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private inFlight = 0;
  /** The write callback held back while {@link MAX_IN_FLIGHT} chunks are out. */
  private resume: ((error?: Error | null) => void) | undefined;
  /** `_final`'s callback, answered when the last batch is checked. */
  private finished: ((error?: Error | null) => void) | undefined;
  private checking: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private closing = false;

  constructor(
    dialect: CsvDialect,
    maxRecordBytes: number,
    private readonly validator: Pick<RecordValidator, 'onRecord' | 'takeWait'>,
    kind: CsvReaderKind,
  ) {
    super({ highWaterMark: 256 * 1024 });
    const entry = parseWorkerEntry();
    if (!entry) throw new Error(`validate: ${BUNDLED_PARSE_WORKER} / parse-worker.ts not found`);
    const workerData: ParseWorkerData = { dialect, maxRecordBytes, kind };
    this.worker = new Worker(entry.file, {
      workerData,
      // The parser keeps little alive (csv-parse's state and one batch): a small young generation
      // keeps the second heap's RSS small (the 1 GB target is < 300 MB for the whole process).
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
      ...(entry.execArgv && { execArgv: entry.execArgv }),
    });
    this.worker.on('message', (reply: ParseReply) => this.onReply(reply));
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => {
      if (!this.closing) this.fail(new Error(`validate: the parse worker exited (code ${code})`));
    });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.failure) return callback(this.failure);
    // Large chunks (the local store reads 1 MiB) go out in POST_BYTES pieces.
    for (let at = 0; at < chunk.length; at += POST_BYTES) {
      const piece = at === 0 && chunk.length <= POST_BYTES ? chunk : chunk.subarray(at, at + POST_BYTES);
      this.pending.push(piece);
      this.pendingBytes += piece.length;
      if (this.pendingBytes >= POST_BYTES) this.post();
    }
    if (this.inFlight < MAX_IN_FLIGHT) callback();
    else this.resume = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.failure) return callback(this.failure);
    if (this.pendingBytes > 0) this.post();
    this.finished = callback;
    this.inFlight++;
    this.worker.postMessage({ end: true } satisfies ParseRequest);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Whatever stopped the pipeline (a byte problem, say), no batch is checked after it.
    this.failure ??= error ?? new Error('validate: record source destroyed');
    callback(error);
  }

  /** Stops the worker (always called by validateObject when the pipeline is over). */
  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }

  private post(): void {
    // One fresh buffer, moved to the worker: stream chunks may be views into shared pools.
    const bytes = new Uint8Array(this.pendingBytes);
    let at = 0;
    for (const c of this.pending) {
      bytes.set(c, at);
      at += c.length;
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.inFlight++;
    this.worker.postMessage({ chunk: bytes } satisfies ParseRequest, [bytes.buffer]);
  }

  private onReply(reply: ParseReply): void {
    if ('crash' in reply) return this.fail(new Error(`validate: the parse worker failed: ${reply.crash}`));
    this.checking = this.checking
      .then(() => this.check(reply.batch))
      .catch((e: unknown) => this.fail(e as Error));
  }

  private async check(batch: RecordBatch): Promise<void> {
    if (this.failure) return;
    forEachRecord(batch, this.validator.onRecord);
    const wait = this.validator.takeWait();
    if (wait) await wait;
    if (this.failure) return;
    if (batch.failure) throw new ParseFailureError(batch.failure);
    if (batch.left) throw new LeaveToCsvParseError(batch.left.why, batch.left.line);
    this.inFlight--;
    if (batch.last) {
      const finished = this.finished;
      this.finished = undefined;
      finished?.();
    } else if (this.resume && this.inFlight < MAX_IN_FLIGHT) {
      const resume = this.resume;
      this.resume = undefined;
      resume();
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    // A held callback carries the error into the pipeline; otherwise the stream is destroyed.
    const held = this.finished ?? this.resume;
    this.finished = this.resume = undefined;
    if (held) held(error);
    else this.destroy(error);
  }
}
