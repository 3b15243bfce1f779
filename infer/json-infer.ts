/**
 * `etl init` on JSON: reads a JSON Lines file or a JSON array of records (gzip or not) as a stream
 * and proposes a contract v2 for it — per flattened path a column (SQL name, the path it is read
 * from, type, nullability, enum), a primary key and a partition — with the reason for every choice.
 *
 * Records come from the validate step's own JSON reader and columns are named by its flatten rule
 * (csv/json-*.ts), so `etl run` reads the same records and paths. Which paths become columns is
 * json-shape.ts; leaf values are judged by the same ColumnProfile as CSV cells, the key by the same
 * KeyCandidates (only when unique and never missing over the whole file), the partition by the same
 * choosePartition (a date or a timestamp's UTC date at day / month / year).
 *
 * Size: as for CSV, up to {@link WHOLE_FILE_BYTES} of JSON text (decompressed) are read in full,
 * beyond that the first part only (then no key and no enum). Memory stays bounded: the shape keeps
 * counters per path (at most MAX_PATHS), the key candidates their values up to KEY_MEMORY_BUDGET.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { QUOTED_EMPTY, type Cell } from '../csv/csv-records';
import {
  cellOf,
  columnNameOfPath,
  EMPTY_STRING,
  isJsonObject,
  joinPath,
  valueAtPath,
  type JsonObject,
  type JsonValue,
} from '../csv/json-flatten';
import type { ColumnDecision } from './column-profile';
import { InferError, WHOLE_FILE_BYTES, type InferOptions } from './infer';
import { JsonShape, MAX_FLATTEN_DEPTH, type ShapeColumn } from './json-shape';
import { KeyCandidates, KEY_MEMORY_BUDGET, type KeyDecision } from './key';
import { uniqueColumnNames } from './names';
import { choosePartition, MIN_ROWS_PER_PARTITION, type PartitionDecision } from './partition';

export type JsonFormat = 'jsonl' | 'json';

/** One record the reader hands over: the parsed value and the line it starts on. */
export interface JsonRecordIn {
  readonly value: JsonValue;
  readonly line: number;
}

/** What `etl init` needs from the JSON reader (bound to csv/json-*.ts in json-reader-binding.ts). */
export interface JsonSource {
  readonly format: JsonFormat;
  readonly gzip: boolean;
  /** The records, in file order; stops after about `maxBytes` of JSON text (complete records only). */
  records(maxBytes: number): AsyncIterable<JsonRecordIn>;
  /** JSON text bytes read so far (decompressed). */
  bytesRead(): number;
  /** The whole text was read. */
  complete(): boolean;
  /** The reader's problem as an InferError (file, line, fix), or undefined when it is not one. */
  problem(e: unknown): InferError | undefined;
}

export interface JsonInferredColumn extends ColumnDecision {
  readonly name: string;
  /** Keys from the record down to the value. */
  readonly path: readonly string[];
  /** The value is stored as its JSON text (an array, a free-form object). */
  readonly json: boolean;
  /** JSON kinds seen, e.g. "number 3,000, absent 12". */
  readonly kinds: string;
}

export interface JsonInference {
  readonly file: string;
  readonly format: JsonFormat;
  readonly gzip: boolean;
  readonly fileBytes: number;
  /** JSON text read (decompressed). */
  readonly bytesRead: number;
  readonly sampled: boolean;
  /** Records read. */
  readonly rows: number;
  /** One line per reading decision (format, compression, flattening). */
  readonly reading: readonly string[];
  readonly columns: readonly JsonInferredColumn[];
  readonly key: KeyDecision;
  readonly partition: PartitionDecision;
  readonly warnings: readonly string[];
  readonly contract: Record<string, unknown>;
}

const count = (n: number) => n.toLocaleString('en-US');
const mib = (n: number) => `${(n / 2 ** 20).toFixed(n < 10 * 2 ** 20 ? 1 : 0)} MiB`;

/** Column names for paths, in order: csv/json-flatten's rule made unique and valid as for CSV headers. */
export function jsonColumnNames(paths: readonly (readonly string[])[]): string[] {
  return uniqueColumnNames(paths.map((p) => columnNameOfPath(joinPath(p))));
}

/** Paths of the scalar leaves of one record, depth first (the key candidates). */
function leafPaths(value: JsonObject, prefix: string[] = [], out: string[][] = []): string[][] {
  for (const k of Object.keys(value)) {
    const v = value[k]!;
    if (isJsonObject(v)) {
      if (prefix.length < MAX_FLATTEN_DEPTH - 1) leafPaths(v, [...prefix, k], out);
    } else if (!Array.isArray(v)) out.push([...prefix, k]);
  }
  return out;
}

/** A key value's cell, as validate sees it; missing, null, an object or an array is empty (never a key). */
function keyCell(v: JsonValue | undefined): Cell {
  const cell = cellOf(v, false);
  return cell === EMPTY_STRING ? QUOTED_EMPTY : typeof cell === 'string' ? cell : '';
}

/**
 * Infers a contract v2 for one JSON Lines / JSON file read through `source`.
 * @throws InferError when the file cannot be read as JSON records (names the line and the fix)
 */
export async function inferJsonFromSource(
  file: string,
  source: JsonSource,
  options: InferOptions = {},
): Promise<JsonInference> {
  const maxBytes = options.maxBytes ?? WHOLE_FILE_BYTES;
  const shape = new JsonShape();
  let keyPaths: string[][] | undefined;
  let keys: KeyCandidates | undefined;
  let notObjects: { count: number; line: number; what: string } | undefined;
  try {
    for await (const { value, line } of source.records(maxBytes)) {
      if (!isJsonObject(value)) {
        const what =
          value === null
            ? 'null'
            : Array.isArray(value)
              ? 'an array'
              : typeof value === 'string'
                ? 'a string'
                : typeof value === 'boolean'
                  ? 'a boolean'
                  : 'a number';
        if (notObjects) notObjects.count++;
        else notObjects = { count: 1, line, what };
        continue;
      }
      if (!keys) {
        keyPaths = leafPaths(value);
        keys = new KeyCandidates(jsonColumnNames(keyPaths), options.keyMemoryBytes ?? KEY_MEMORY_BUDGET);
      }
      shape.observe(value, line);
      keys.observe(
        keyPaths!.map((p) => keyCell(valueAtPath(value, p))),
        line,
      );
    }
  } catch (e) {
    throw source.problem(e) ?? e;
  }
  const wholeFile = source.complete();
  const name = path.basename(file);
  if (shape.records === 0) {
    throw new InferError(
      notObjects
        ? `${name} has no JSON object records (line ${notObjects.line} is ${notObjects.what})`
        : `${name} has no records (the file is empty, or an empty array)`,
      source.format === 'json'
        ? 'give it an array of objects, one per row: [{"id": 1, ...}, ...]'
        : 'give it one JSON object per line: {"id": 1, ...}',
    );
  }

  const shaped: ShapeColumn[] = shape.columns(wholeFile);
  const names = jsonColumnNames(shaped.map((c) => c.path));
  const columns: JsonInferredColumn[] = shaped.map((c, i) => ({
    ...c.decision,
    name: names[i]!,
    path: c.path,
    json: c.kind === 'json',
    kinds: c.kinds,
  }));

  // The key candidates were named from the first record's leaves; map them onto the final columns.
  const pathKey = (p: readonly string[]) => JSON.stringify(p);
  const byPath = new Map(columns.map((c) => [pathKey(c.path), c]));
  const keyDecisions = keyPaths!.map((p): ColumnDecision | string => {
    const c = byPath.get(pathKey(p));
    if (c === undefined) return 'inside a JSON-text column';
    if (c.json) return 'a JSON-text column';
    return c;
  });
  const provisional = jsonColumnNames(keyPaths!);
  let key = keys!.decide(keyDecisions, wholeFile);
  if (key.columns.length > 0) {
    const c = byPath.get(pathKey(keyPaths![provisional.indexOf(key.columns[0]!)]!))!;
    key = { ...key, columns: [c.name] };
  }
  const partition = choosePartition(
    columns.map((c) => c.name),
    columns.map((c) => (c.json ? { ...c, type: 'string' as const } : c)),
    options.minRowsPerPartition ?? MIN_ROWS_PER_PARTITION,
  );

  const warnings: string[] = [];
  if (!wholeFile) {
    warnings.push(
      `only the first ${mib(source.bytesRead())} of JSON text (${count(shape.records)} records) were read. Types and missing values are judged on that part (a later record that differs is rejected by etl run), no enum is proposed and no key (uniqueness needs the whole file)`,
    );
  }
  if (notObjects) {
    warnings.push(
      `${count(notObjects.count)} record(s) are not JSON objects (first: line ${notObjects.line} is ${notObjects.what}); etl run rejects them — their values were not used here`,
    );
  }
  const jsonColumns = columns.filter((c) => c.json).length;
  const reading = [
    source.format === 'jsonl'
      ? 'format jsonl: one JSON object per line'
      : 'format json: one JSON array of objects, one per row',
    source.gzip ? 'compression gzip (the name ends in .gz), decompressed as it streams' : 'compression none',
    `flattening: nested objects become <parent>_<key> columns (at most ${MAX_FLATTEN_DEPTH} keys deep); ${jsonColumns === 0 ? 'no path needs' : `${jsonColumns} path(s) need`} a JSON-text column (arrays, free-form objects)`,
  ];
  const contract = contractDocument(
    name,
    source.format,
    columns,
    key,
    partition,
    shape.records,
    wholeFile,
    source,
    options.description,
  );
  return {
    file,
    format: source.format,
    gzip: source.gzip,
    fileBytes: statSync(file).size,
    bytesRead: source.bytesRead(),
    sampled: !wholeFile,
    rows: shape.records,
    reading,
    columns,
    key,
    partition,
    warnings,
    contract,
  };
}

function contractDocument(
  fileName: string,
  format: JsonFormat,
  columns: readonly JsonInferredColumn[],
  key: KeyDecision,
  partition: PartitionDecision,
  rows: number,
  wholeFile: boolean,
  source: JsonSource,
  description: string | undefined,
): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    version: 2,
    description:
      description ??
      `Inferred by etl init from ${fileName} (${count(rows)} records${wholeFile ? '' : `, first ${mib(source.bytesRead())} read`}). Review it: types, missing values and enums reflect that file only.`,
    format,
    columns: columns.map((c) => columnDocument(c)),
  };
  if (key.columns.length > 0) doc.primaryKey = [...key.columns];
  if (partition.column !== null)
    doc.partition = {
      column: partition.column,
      granularity: partition.granularity!,
      ...(partition.name !== undefined && { name: partition.name }),
    };
  return doc;
}

/** One contract column: `path` is the dot path (`.` and `\` inside a key escaped). */
function columnDocument(c: JsonInferredColumn): Record<string, unknown> {
  return {
    name: c.name,
    path: joinPath(c.path),
    type: c.type,
    ...(c.json && { json: true }),
    ...(c.type === 'decimal' && { precision: c.precision, scale: c.scale }),
    ...(c.timezone !== undefined && { timezone: c.timezone }),
    required: c.required,
    ...(c.enum !== undefined && { enum: [...c.enum] }),
  };
}
