/**
 * A JSON Lines / JSON file as records for `etl init`, read the way the validate step reads it: the
 * file's bytes → gunzip when the name ends in `.gz` (csv/gzip.ts) → the byte inspector (UTF-8,
 * binary, NUL) → csv/json-records.ts. Streamed: memory holds one chunk and one record, whatever the
 * file's size. Reading stops after `maxBytes` of JSON text (complete records only).
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { PassThrough, pipeline } from 'node:stream';
import { landingFileOf } from '../core/layout';
import { gunzipStages, gzipProblem, NotGzipError, type CompressedBytes } from '../csv/gzip';
import { ByteInspector, UnreadableBytesError } from '../csv/inspect-bytes';
import { JsonRecordReader, MalformedJsonError, type JsonRecordSink } from '../csv/json-records';
import { InferError, type InferOptions } from './infer';
import {
  inferJsonFromSource,
  type JsonFormat,
  type JsonInference,
  type JsonRecordIn,
  type JsonSource,
} from './json-infer';

/** The validate step's record limit (csv/json-records: 16 MiB by default). */
const MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** Whether `etl init` reads this file as JSON: named `.jsonl` or `.json`, each also `.gz`. */
export function isJsonFileName(file: string): boolean {
  const f = landingFileOf(path.basename(file));
  return f !== undefined && f.format !== 'csv';
}

/** Row problems the reader reports (a line that does not parse, one over 16 MiB). */
export interface BadJsonRecords {
  count: number;
  first?: { line: number; code: string; detail: string };
}

/** The records of `file` as a {@link JsonSource}. */
export function jsonFileSource(file: string, bad: BadJsonRecords): JsonSource {
  const landing = landingFileOf(path.basename(file));
  if (landing === undefined || landing.format === 'csv')
    throw new InferError(
      `${path.basename(file)} is not named .jsonl or .json`,
      'name it .jsonl (JSON Lines) or .json (one array)',
    );
  const format = landing.format as JsonFormat;
  let bytes = 0;
  let complete = false;
  let counter: CompressedBytes | undefined;
  return {
    format,
    gzip: landing.gzip,
    bytesRead: () => bytes,
    complete: () => complete,
    problem(e: unknown): InferError | undefined {
      // The reader's problem names the line; for a .json file of JSON Lines (a common naming
      // slip) its fix says to name it .jsonl.
      if (e instanceof MalformedJsonError) return new InferError(e.problem, e.fix);
      if (e instanceof NotGzipError) return new InferError(e.problem, e.fix);
      const gz = counter && gzipProblem(e, counter);
      if (gz) return new InferError(gz.problem, gz.fix);
      if (e instanceof UnreadableBytesError) return new InferError(e.problem, e.fix);
      return undefined;
    },
    async *records(maxBytes: number): AsyncIterable<JsonRecordIn> {
      const gz = landing.gzip ? gunzipStages() : undefined;
      counter = gz?.counter;
      const inspector = new ByteInspector();
      const text = new PassThrough({ readableHighWaterMark: 1024 * 1024 });
      let streamError: unknown;
      const source = createReadStream(file, { highWaterMark: 1024 * 1024 });
      pipeline([source, ...(gz?.stages ?? []), inspector, text], (err) => {
        if (
          err &&
          err.name !== 'AbortError' &&
          !(err as NodeJS.ErrnoException).code?.startsWith('ERR_STREAM_PREMATURE')
        )
          streamError = err;
      });
      // The reader is fed at most maxBytes: a record cut there is never ended (never handed over),
      // as the CSV pass does; the end is fed only when the whole text was read.
      const reader = new JsonRecordReader(format, MAX_RECORD_BYTES);
      let found: JsonRecordIn[] = [];
      const sink: JsonRecordSink = {
        record: (value, line) => void found.push({ value, line }),
        bad: (line, code, _text, detail) => {
          bad.count++;
          bad.first ??= { line, code, detail };
        },
      };
      try {
        let cut = false;
        for await (const chunk of text) {
          const buf = chunk as Buffer;
          const room = maxBytes - bytes;
          if (buf.length > room) {
            reader.feed(buf.subarray(0, room), sink);
            bytes += room;
            cut = true;
          } else {
            reader.feed(buf, sink);
            bytes += buf.length;
          }
          const batch = found;
          found = [];
          yield* batch;
          if (cut) return;
        }
        if (streamError) throw streamError;
        reader.feed(undefined, sink);
        yield* found;
        complete = true;
      } finally {
        source.destroy();
        text.destroy();
      }
    },
  };
}

/**
 * Infers a contract v2 for one JSON Lines or JSON file (`.jsonl`, `.json`, each also `.gz`).
 * @throws InferError when the file cannot be read as JSON records (names the line and the fix)
 * @example const inference = await inferJsonContract('data/events.jsonl.gz');
 */
export async function inferJsonContract(file: string, options: InferOptions = {}): Promise<JsonInference> {
  const bad: BadJsonRecords = { count: 0 };
  const inference = await inferJsonFromSource(file, jsonFileSource(file, bad), options);
  if (bad.count === 0) return inference;
  const b = bad.first!;
  const warning = `${bad.count.toLocaleString('en-US')} record(s) could not be read (first: line ${b.line}, ${b.code}: ${b.detail}); etl run rejects them as row errors — fix them or expect rejects`;
  return { ...inference, warnings: [...inference.warnings, warning] };
}
