/**
 * The JSON half of the reading engine: JSON Lines (`jsonl`) and one JSON array (`json`), read as a
 * stream of bytes (already gunzipped and checked as UTF-8 by the stages before it), each record
 * handed over with the 1-based physical line it starts on. Memory stays bounded by one record
 * (`maxRecordBytes`, 16 MiB by default): a 1 GB array is never held whole.
 *
 *  - **jsonl**: one value per line; lines end in LF (a CR before it is dropped, so CRLF files read
 *    the same). A blank or whitespace-only line is skipped. A UTF-8 BOM at the start is ignored. A
 *    line that does not parse is a NOT_JSON row error for that line; a line longer than the limit is
 *    RECORD_TOO_LONG and skipped without being held (the next line is read normally).
 *  - **json**: the file is one array. A small scanner finds where each element starts and ends
 *    (bracket depth, strings and escapes; it never decodes), and each element's text is parsed on
 *    its own with the native JSON.parse ({@link parseJsonExact}). Why not a streaming JSON
 *    library (stream-json, clarinet, jsonparse): they report no byte or line positions, so row
 *    errors could not name their line, and they build one JS object per token, several times
 *    slower than the native parser on the element text. An element that does not parse is a
 *    NOT_JSON row error at its line; a file that is not one array (a bare object, JSON Lines, an
 *    unclosed array, text after `]`, a missing comma) is {@link MalformedJsonError}.
 *
 * Both formats hand over any JSON value; the validator decides that a non-object is NOT_AN_OBJECT.
 * `etl init` reads with the same class (or {@link jsonRecords}), so it sees what Validate sees.
 */
import { parseJsonExact, type JsonValue } from './json-flatten';

export type JsonFormat = 'jsonl' | 'json';

/** The file as a whole is not what its format says: the MALFORMED_JSON rejection. */
export class MalformedJsonError extends Error {
  constructor(
    readonly problem: string,
    readonly fix: string,
    /** 1-based physical line where the problem is. */
    readonly line: number,
  ) {
    super(`MALFORMED_JSON: ${problem}`);
  }
}

/** Receives what the reader finds, in file order. */
export interface JsonRecordSink {
  /** One value (any JSON value) starting on `line`. */
  record(value: JsonValue, line: number): void;
  /** A record that could not be read: it does not parse, or it is longer than the limit. */
  bad(line: number, code: 'NOT_JSON' | 'RECORD_TOO_LONG', text: string, detail: string): void;
}

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
/** How much of a bad record is kept for the row error (rejects truncate values further). */
const SHOWN_BYTES = 1024;

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const isJsonSpace = (b: number) => b === SPACE || b === LF || b === CR || b === TAB;
const BLANK_LINE = /^[ \t\r]*$/;

/** Collects the bytes of one record across chunks, up to a limit. */
class RecordBytes {
  private parts: Buffer[] = [];
  length = 0;
  /** Past the limit: the bytes are no longer kept, only the first ones for the message. */
  tooLong = false;
  private shown: Buffer | undefined;

  constructor(private readonly max: number) {}

  add(chunk: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.length += end - start;
    if (this.tooLong) return;
    if (this.length > this.max) {
      this.shown = Buffer.concat([...this.parts, chunk.subarray(start, end)]).subarray(0, SHOWN_BYTES);
      this.parts = [];
      this.tooLong = true;
      return;
    }
    // A view into the chunk: the chunk stays alive only while its record is unfinished.
    this.parts.push(chunk.subarray(start, end));
  }

  text(): string {
    const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    return bytes.toString('utf8');
  }

  /** The first bytes, for a message (a cut UTF-8 sequence decodes to U+FFFD, harmless here). */
  head(): string {
    return (this.shown ?? Buffer.concat(this.parts).subarray(0, SHOWN_BYTES)).toString('utf8');
  }

  reset(): void {
    this.parts = [];
    this.length = 0;
    this.tooLong = false;
    this.shown = undefined;
  }
}

const enum ArrayState {
  /** Before the `[` (whitespace and a BOM allowed). */
  Before,
  /** After `[` or a `,`: an element (or, right after `[`, the `]`) comes next. */
  Element,
  /** Inside an element. */
  InElement,
  /** After an element: `,` or `]`. */
  After,
  /** After the closing `]`: only whitespace. */
  Done,
}

/**
 * Reads JSON records from chunks of UTF-8 bytes. Feed every chunk, then `undefined` for the end.
 * @throws MalformedJsonError (json format) when the file is not one array
 * @example
 *   const reader = new JsonRecordReader('jsonl', 16 * 1024 * 1024);
 *   for await (const chunk of stream) reader.feed(chunk, sink);
 *   reader.feed(undefined, sink);
 */
export class JsonRecordReader {
  /** Bytes fed so far. */
  bytes = 0;
  /** Records that parsed as JSON (any value). */
  parsed = 0;
  /** Records handed over or reported bad (parsed + bad ones). */
  seen = 0;
  /** 1-based line of the byte being read. */
  private line = 1;
  private readonly pending: RecordBytes;
  private recordLine = 1;
  private atStart = true;
  // json: scanner state
  private state = ArrayState.Before;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The element so far is a scalar (no bracket): it ends at whitespace, `,` or `]`. */
  private scalar = false;

  constructor(
    readonly format: JsonFormat,
    maxRecordBytes: number,
  ) {
    this.pending = new RecordBytes(maxRecordBytes);
  }

  feed(chunk: Buffer | undefined, sink: JsonRecordSink): void {
    if (chunk === undefined) {
      if (this.head) this.take(this.head, sink); // a file of 1-2 bytes that begin like a BOM
      this.head = undefined;
      return this.end(sink);
    }
    this.bytes += chunk.length;
    if (this.atStart) {
      // A UTF-8 BOM (EF BB BF) at the start is skipped, even when chunks cut through it.
      const head = this.head ? Buffer.concat([this.head, chunk]) : chunk;
      const n = Math.min(3, head.length);
      if (head.subarray(0, n).equals(BOM.subarray(0, n))) {
        if (n < 3) {
          this.head = Buffer.from(head);
          return;
        }
        this.atStart = false;
        this.head = undefined;
        return this.take(head.subarray(3), sink);
      }
      this.atStart = false;
      this.head = undefined;
      return this.take(head, sink);
    }
    this.take(chunk, sink);
  }

  /** Bytes of the file start held back while they may still be a BOM. */
  private head: Buffer | undefined;

  private take(chunk: Buffer, sink: JsonRecordSink): void {
    if (this.format === 'jsonl') this.feedLines(chunk, 0, sink);
    else this.feedArray(chunk, 0, sink);
  }

  // --- JSON Lines ---------------------------------------------------------------------------------

  private feedLines(chunk: Buffer, start: number, sink: JsonRecordSink): void {
    let from = start;
    for (let nl = chunk.indexOf(LF, from); nl !== -1; nl = chunk.indexOf(LF, from)) {
      this.pending.add(chunk, from, nl);
      this.lineDone(sink);
      this.line++;
      from = nl + 1;
    }
    this.pending.add(chunk, from, chunk.length);
  }

  private lineDone(sink: JsonRecordSink): void {
    const p = this.pending;
    if (p.length === 0) return;
    const line = this.line;
    if (p.tooLong) {
      this.seen++;
      sink.bad(line, 'RECORD_TOO_LONG', p.head(), `line ${line} is ${p.length} bytes long`);
    } else {
      let text = p.text();
      if (text.charCodeAt(text.length - 1) === CR) text = text.slice(0, -1);
      if (!BLANK_LINE.test(text)) this.parse(text, line, sink);
    }
    p.reset();
  }

  private parse(text: string, line: number, sink: JsonRecordSink): void {
    this.seen++;
    let value: JsonValue;
    try {
      value = parseJsonExact(text);
    } catch (e) {
      const detail =
        e instanceof RangeError ? `nested too deeply to be read: ${e.message}` : (e as Error).message;
      sink.bad(line, 'NOT_JSON', text.slice(0, SHOWN_BYTES), detail);
      return;
    }
    this.parsed++;
    sink.record(value, line);
  }

  // --- one JSON array ---------------------------------------------------------------------------

  private feedArray(chunk: Buffer, start: number, sink: JsonRecordSink): void {
    let from = start;
    for (let i = start; i < chunk.length; i++) {
      const b = chunk[i]!;
      switch (this.state) {
        case ArrayState.InElement:
          if (this.inString) {
            if (this.escaped) this.escaped = false;
            else if (b === BACKSLASH) this.escaped = true;
            else if (b === QUOTE) this.inString = false;
            else if (b === LF) this.line++; // a raw line break in a string: JSON.parse will refuse it
            continue;
          }
          if (b === QUOTE) {
            this.inString = true;
            continue;
          }
          if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
            if (this.scalar) break; // `12{`: let JSON.parse say what is wrong with it
            this.depth++;
            continue;
          }
          if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
            if (this.depth === 0) {
              // `]` right after a scalar ends the array; handled as the element's end below.
              this.pending.add(chunk, from, i);
              this.elementDone(sink);
              this.state = ArrayState.After;
              i--; // read the `]` again in state After
              continue;
            }
            this.depth--;
            if (this.depth === 0) {
              this.pending.add(chunk, from, i + 1);
              this.elementDone(sink);
              this.state = ArrayState.After;
            }
            continue;
          }
          if (this.depth === 0 && (b === COMMA || isJsonSpace(b))) {
            this.pending.add(chunk, from, i);
            this.elementDone(sink);
            this.state = ArrayState.After;
            i--; // read the separator again in state After
            continue;
          }
          if (b === LF) this.line++;
          continue;
        case ArrayState.Before:
          if (b === LF) this.line++;
          if (isJsonSpace(b)) continue;
          if (b === OPEN_ARRAY) {
            this.state = ArrayState.Element;
            this.afterComma = false;
            continue;
          }
          throw this.notAnArray(chunk, i);
        case ArrayState.Element:
          if (b === LF) this.line++;
          if (isJsonSpace(b)) continue;
          if (b === CLOSE_ARRAY && !this.afterComma) {
            this.state = ArrayState.Done;
            continue;
          }
          if (b === CLOSE_ARRAY || b === COMMA)
            throw new MalformedJsonError(
              `line ${this.line}: ${b === CLOSE_ARRAY ? 'a comma right before the closing "]"' : this.afterComma ? 'two commas in a row' : 'a comma before the first element'} in the array`,
              'remove the extra comma',
              this.line,
            );
          // An element starts.
          this.state = ArrayState.InElement;
          this.recordLine = this.line;
          this.depth = 0;
          this.scalar = b !== OPEN_OBJECT && b !== OPEN_ARRAY;
          from = i;
          i--; // read its first byte again in state InElement
          continue;
        case ArrayState.After:
          if (b === LF) this.line++;
          if (isJsonSpace(b)) continue;
          if (b === COMMA) {
            this.state = ArrayState.Element;
            this.afterComma = true;
            continue;
          }
          if (b === CLOSE_ARRAY) {
            this.state = ArrayState.Done;
            continue;
          }
          throw new MalformedJsonError(
            `line ${this.line}: expected "," or "]" after the array element that starts on line ${this.recordLine}, found ${JSON.stringify(String.fromCharCode(b))}`,
            'separate the elements of the array with commas (if the file holds one object per line, it is JSON Lines: set "format": "jsonl" in the contract and name it .jsonl)',
            this.line,
          );
        case ArrayState.Done:
          if (b === LF) this.line++;
          if (isJsonSpace(b)) continue;
          throw new MalformedJsonError(
            `line ${this.line}: there is more after the array's closing "]"`,
            'a json file holds exactly one array; remove what follows it (or, for one object per line, use format "jsonl")',
            this.line,
          );
      }
      // `break` from InElement (`12{`): the byte stays in the element, JSON.parse reports it.
    }
    if (this.state === ArrayState.InElement) this.pending.add(chunk, from, chunk.length);
  }

  /** In state Element: a comma came before (so a `]` now would be a trailing comma). */
  private afterComma = false;

  private elementDone(sink: JsonRecordSink): void {
    const p = this.pending;
    const line = this.recordLine;
    this.afterComma = false;
    if (p.tooLong) {
      this.seen++;
      sink.bad(
        line,
        'RECORD_TOO_LONG',
        p.head(),
        `the array element starting on line ${line} is ${p.length} bytes long`,
      );
    } else this.parse(p.text(), line, sink);
    p.reset();
  }

  private notAnArray(chunk: Buffer, i: number): MalformedJsonError {
    const b = chunk[i]!;
    const line = this.line;
    if (b === OPEN_OBJECT)
      return new MalformedJsonError(
        `the file starts with an object on line ${line}, not an array: format "json" reads one array of objects`,
        'write the objects inside [ ... ] separated by commas, or, for one object per line, set "format": "jsonl" in the contract and name the file .jsonl',
        line,
      );
    const shown = chunk.subarray(i, i + 40).toString('utf8');
    return new MalformedJsonError(
      `the file is not JSON: line ${line} starts with ${JSON.stringify(shown)} where "[" should open the array`,
      'upload the data as the contract\'s format (format "json": one array of objects)',
      line,
    );
  }

  private end(sink: JsonRecordSink): void {
    if (this.format === 'jsonl') {
      this.lineDone(sink);
      return;
    }
    switch (this.state) {
      case ArrayState.Before:
        return; // nothing but whitespace: the caller's EMPTY_FILE
      case ArrayState.Done:
        return;
      case ArrayState.InElement:
        if (this.depth === 0 && !this.inString) {
          this.elementDone(sink);
          break;
        }
        throw new MalformedJsonError(
          `the file ends inside the array element that starts on line ${this.recordLine} (${this.inString ? 'a string is never closed' : 'a bracket is never closed'})`,
          'upload the complete file; if it was cut short, export it again',
          this.recordLine,
        );
    }
    throw new MalformedJsonError(
      `the file ends before the array's closing "]" (line ${this.line})`,
      'upload the complete file; if it was cut short, export it again',
      this.line,
    );
  }
}

/** One record of {@link jsonRecords}. */
export type JsonRecordItem =
  | { readonly ok: true; readonly value: JsonValue; readonly line: number; readonly bytes: number }
  | {
      readonly ok: false;
      readonly code: 'NOT_JSON' | 'RECORD_TOO_LONG';
      readonly line: number;
      readonly text: string;
      readonly detail: string;
      readonly bytes: number;
    };

/**
 * The records of a byte stream (already gunzipped), in order; `bytes` is how many bytes were
 * consumed when the record was found (for a caller that stops after N bytes, like `etl init`).
 * @throws MalformedJsonError (json format) when the file is not one array
 * @example for await (const r of jsonRecords(createReadStream(f).pipe(createGunzip()), 'jsonl')) ...
 */
export async function* jsonRecords(
  source: AsyncIterable<Buffer | string>,
  format: JsonFormat,
  options: { maxRecordBytes?: number } = {},
): AsyncGenerator<JsonRecordItem> {
  const reader = new JsonRecordReader(format, options.maxRecordBytes ?? 16 * 1024 * 1024);
  let found: JsonRecordItem[] = [];
  const sink: JsonRecordSink = {
    record: (value, line) => found.push({ ok: true, value, line, bytes: reader.bytes }),
    bad: (line, code, text, detail) =>
      found.push({ ok: false, code, line, text, detail, bytes: reader.bytes }),
  };
  for await (const chunk of source) {
    reader.feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, sink);
    const batch = found;
    found = [];
    yield* batch;
  }
  reader.feed(undefined, sink);
  yield* found;
}
