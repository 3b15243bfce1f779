/**
 * The parsing thread of the two-thread validate path (see parallel.ts): the fast splitter or
 * csv-parse with this step's dialect, quoted-empty and physical-line tracking (csv-records.ts), exactly as the single-thread
 * path runs it; every input chunk is answered by one {@link RecordBatch}, in order.
 *
 * This file is a worker entry point: bundles must ship it as its own file next to the handler
 * (`validate-parse-worker.js`, see the README's "Two threads" section).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CsvError } from 'csv-parse';
import type { CsvDialect } from '../core/contract';
import { CsvRecordReader, parseFailureOf, type Cell } from './csv-records';
import { csvReaderOf, LeaveToCsvParseError, type CsvReaderKind } from './csv-splitter';
import { RecordBatchBuilder, type ParseReply, type ParseRequest } from './record-batches';

/** What the main thread passes as `workerData`. */
export interface ParseWorkerData {
  readonly dialect: CsvDialect;
  readonly maxRecordBytes: number;
  readonly kind: CsvReaderKind;
}

const port = parentPort;
if (!port) throw new Error('parse-worker.ts is a worker_threads entry point, not a module to import');
const { dialect, maxRecordBytes, kind } = workerData as ParseWorkerData;
const reader = csvReaderOf(kind, dialect, maxRecordBytes);
const builder = new RecordBatchBuilder();
let quotedEmpties = 0;
let failed = false;

const onRecord = (cells: Cell[], line: number): void => {
  const hasQuotedEmpty = reader.quotedEmpties !== quotedEmpties;
  quotedEmpties = reader.quotedEmpties;
  builder.add(cells, line, hasQuotedEmpty);
};

port.on('message', (request: ParseRequest) => {
  const last = 'end' in request;
  if (failed) return; // the main thread stops at the failure; nothing after it is parsed
  let reply: ParseReply;
  try {
    reader.feed(
      last ? undefined : Buffer.from(request.chunk.buffer, request.chunk.byteOffset, request.chunk.length),
      onRecord,
    );
    const { batch, transfer } = builder.take(last);
    port.postMessage({ batch } satisfies ParseReply, transfer);
    return;
  } catch (e) {
    if (e instanceof LeaveToCsvParseError) {
      failed = true;
      const { batch, transfer } = builder.take(true, undefined, { why: e.why, line: e.line });
      port.postMessage({ batch } satisfies ParseReply, transfer);
      return;
    }
    if (e instanceof CsvError && reader instanceof CsvRecordReader) {
      failed = true;
      const { batch, transfer } = builder.take(true, parseFailureOf(e, reader.lines));
      port.postMessage({ batch } satisfies ParseReply, transfer);
      return;
    }
    reply = { crash: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  port.postMessage(reply);
});
