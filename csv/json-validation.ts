/**
 * JSON records into the CSV engine's checks: each object's values at the contract's paths become
 * the cells the {@link RowChecker} checks (csv/json-flatten `cellOf`), so coercion, ajv, staging
 * (canonical JSON Lines, core/staging), rejects.jsonl and report.json are the CSV path's own. Rows
 * that are bad before any column is checked (not JSON, not an object, a wrong JSON type, too long)
 * are row errors in the same rejects.jsonl shape: `{line, column, value, reason, message}`.
 */
import { Writable } from 'node:stream';
import type { ColumnSpec, InputFormat } from '../core/contract';
import { rejectionOf, type FileRejectedError } from '../core/errors';
import { QUOTED_EMPTY, type Cell } from './csv-records';
import {
  cellOf,
  EMPTY_STRING,
  isJsonObject,
  jsonText,
  lookupPath,
  PathBlocked,
  WrongJsonType,
  type JsonValue,
} from './json-flatten';
import { JsonRecordReader, type JsonFormat, type JsonRecordSink } from './json-records';
import type { RecordSource, RecordValidator } from './record-validator';
import { truncateValue, type RowError } from './row-errors';

const MIB = 1024 * 1024;

/**
 * Receives the checked (and gunzipped) bytes of a jsonl / json file, reads records and hands each
 * to the {@link RecordValidator}; asks for more input only once the outputs are accepted.
 * Fails with MalformedJsonError (json-records.ts) when a json file is not one array.
 */
export class JsonValidationSink extends Writable implements RecordSource {
  readonly reader: JsonRecordReader;
  /** The first record that did not parse, for the "not JSON at all" rejection. */
  firstBad: { line: number; text: string } | undefined;
  private readonly columns: readonly ColumnSpec[];
  private readonly sink: JsonRecordSink;

  constructor(
    readonly format: JsonFormat,
    private readonly maxRecordBytes: number,
    private readonly validator: RecordValidator,
    columns: readonly ColumnSpec[],
  ) {
    super({ highWaterMark: 256 * 1024 });
    this.reader = new JsonRecordReader(format, maxRecordBytes);
    this.columns = columns;
    validator.useContractColumns(columns.map((c) => c.source));
    const unit = format === 'jsonl' ? 'line' : 'array element';
    this.sink = {
      record: (value, line) => this.onRecord(value, line),
      bad: (line, code, text, detail) => {
        this.firstBad ??= { line, text: truncateValue(text) };
        const where = format === 'jsonl' ? `line ${line}` : `the array element on line ${line}`;
        this.validator.onBadRow([
          {
            line,
            column: null,
            value: truncateValue(text),
            reason: code,
            message:
              code === 'NOT_JSON'
                ? `${where} is not JSON (${detail}); write each ${unit} as one JSON object, e.g. {"id": 1}`
                : `${where} is longer than the ${Math.round(this.maxRecordBytes / MIB)} MiB a record may have (${detail}); split it, or check for a missing line break`,
          },
        ]);
      },
    };
  }

  private onRecord(value: JsonValue, line: number): void {
    try {
      this.check(value, line);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      // Nested deeper than the stack allows (thousands of levels): that record only.
      this.validator.onBadRow([
        {
          line,
          column: null,
          value: null,
          reason: 'NOT_JSON',
          message: `line ${line}: the value is nested too deeply to be read (${e.message}); flatten it`,
        },
      ]);
    }
  }

  private check(value: JsonValue, line: number): void {
    const unit = this.format === 'jsonl' ? 'line' : 'array element';
    if (!isJsonObject(value)) {
      const kind = Array.isArray(value)
        ? 'an array'
        : value === null
          ? 'null'
          : `a ${typeof value === 'object' ? 'number' : typeof value}`;
      this.validator.onBadRow([
        {
          line,
          column: null,
          value: truncateValue(jsonText(value)),
          reason: 'NOT_AN_OBJECT',
          message: `line ${line}: the ${unit} is ${kind}, not a JSON object; each ${unit} must be one object, e.g. {"id": 1}`,
        },
      ]);
      return;
    }
    const cells: Cell[] = new Array<Cell>(this.columns.length);
    let wrong: RowError[] | undefined;
    for (let i = 0; i < this.columns.length; i++) {
      const column = this.columns[i]!;
      const found = lookupPath(value, column.path!);
      if (found instanceof PathBlocked) {
        (wrong ??= []).push({
          line,
          column: column.source,
          value: truncateValue(found.text),
          reason: 'WRONG_JSON_TYPE',
          message: `line ${line}, path ${JSON.stringify(column.source)}: "${found.at}" is ${found.found} where an object is expected; correct the record, or change the column's "path" to the record's shape`,
        });
        cells[i] = '';
        continue;
      }
      const cell = cellOf(found, column.json === true);
      if (cell instanceof WrongJsonType) {
        (wrong ??= []).push({
          line,
          column: column.source,
          value: truncateValue(cell.text),
          reason: 'WRONG_JSON_TYPE',
          message: `line ${line}, path ${JSON.stringify(column.source)}: ${cell.found} where a ${column.type} value is expected; point the column's "path" at a value inside it (e.g. "${column.source}.id"), or keep it as JSON text with "type": "string", "json": true`,
        });
        cells[i] = '';
      } else cells[i] = cell === EMPTY_STRING ? QUOTED_EMPTY : cell;
    }
    if (wrong) this.validator.onBadRow(wrong);
    else this.validator.onRecord(cells, line);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.feed(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.feed(undefined, callback);
  }

  async close(): Promise<void> {}

  private feed(chunk: Buffer | undefined, callback: (error?: Error | null) => void): void {
    try {
      this.reader.feed(chunk, this.sink);
    } catch (e) {
      return callback(e as Error);
    }
    const wait = this.validator.takeWait();
    if (wait) wait.then(() => callback(), callback);
    else callback();
  }
}

/**
 * File-level problems only visible at the end of a JSON file: records but none of them JSON (a CSV
 * or an HTML page named .jsonl) → MALFORMED_JSON; content but no record (`[]`) → EMPTY_FILE.
 */
export function jsonEndProblem(
  sink: JsonValidationSink,
  key: string,
  format: InputFormat,
): FileRejectedError | undefined {
  const { reader } = sink;
  if (reader.seen > 0 && reader.parsed === 0) {
    const bad = sink.firstBad!;
    return rejectionOf(
      'MALFORMED_JSON',
      key,
      `the file is not ${format === 'jsonl' ? 'JSON Lines' : 'JSON'}: none of its ${reader.seen} ${format === 'jsonl' ? 'lines' : 'array elements'} is JSON (line ${bad.line} reads ${JSON.stringify(bad.text.slice(0, 80))})`,
      `upload the data as the contract's format "${format}" (${format === 'jsonl' ? 'one JSON object per line' : 'one array of objects'})`,
      { line: bad.line },
    );
  }
  if (reader.seen === 0 && format === 'json')
    return rejectionOf(
      'EMPTY_FILE',
      key,
      'the JSON array holds no records',
      'upload the file again with its records',
    );
  return undefined;
}
