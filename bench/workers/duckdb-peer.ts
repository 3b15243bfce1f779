/**
 * The peer of `etl run` (issue 13): ONE DuckDB statement doing the pipeline's job on the same CSV —
 * read it with the contract's dialect, cast every column, drop the rows the contract's rules refuse,
 * keep one row per key (the contract's dedupe order, ties by line), and write Snappy Parquet
 * partitioned like the plan (by month for registrations). It runs on every core (the fair peer: a
 * person with DuckDB would not limit it), with none of the pipeline's bookkeeping: no staging, no
 * rejects file or report, no ledger, catalog, checks or archive.
 *
 * The statement is derived from the contract and its plan, so it follows them: each JSON Schema
 * keyword of the row schema becomes a SQL predicate (a keyword it cannot express fails the peer
 * rather than silently checking less). Rows that do not split into exactly the header's fields
 * (short, long, broken quoting) are dropped, as validate rejects them — all of them only with
 * `exact` (see {@link peerStatement}), which the bench runs untimed to check rows out.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { DuckDBInstance } from '@duckdb/node-api';
import { fastFormats } from 'ajv-formats/dist/formats';
import { parse } from 'csv-parse/sync';
import { findContract, type ColumnSpec, type DatasetContract } from '../../core/contract';
import { compilePlan, LINE_COLUMN, type PlanType, type TransformPlan } from '../../core/plan';
import { runAsWorker } from './worker';

/** Paths and names here come from the bench and the shipped contract: plain quoting is enough. */
const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;
const id = (s: string) => `"${s.replaceAll('"', '""')}"`;

function sqlType(t: PlanType): string {
  switch (t.type) {
    case 'integer':
      return 'BIGINT';
    case 'decimal':
      return `DECIMAL(${t.precision}, ${t.scale})`;
    case 'date':
      return 'DATE';
    case 'timestamp':
      return 'TIMESTAMPTZ';
    case 'double':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'string':
      return 'VARCHAR';
  }
}

/** JSON Schema keywords that say nothing about a value, or that the cast already checks. */
const NO_PREDICATE = new Set(['type', 'description', 'title', '$comment', 'examples']);

/**
 * The predicates of one column: the cast succeeds where there is a value, a required column has
 * one, and every keyword of its row-schema property holds. `raw` is the text, `typed` the cast.
 */
function columnRules(column: ColumnSpec, property: Record<string, unknown>, required: boolean): string[] {
  const raw = `raw_${column.name}`;
  const typed = id(column.name);
  const rules = [`(${id(raw)} IS NULL OR ${typed} IS NOT NULL)`];
  if (required) rules.push(`${id(raw)} IS NOT NULL`);
  if (column.type === 'decimal') {
    // Validate refuses more fraction digits than the scale (never rounds); the cast would round.
    rules.push(`(${id(raw)} IS NULL OR NOT regexp_matches(${id(raw)}, '\\.[0-9]{${column.scale! + 1},}'))`);
  }
  for (const [keyword, value] of Object.entries(property)) {
    if (NO_PREDICATE.has(keyword)) continue;
    const nullOr = (predicate: string) => rules.push(`(${id(raw)} IS NULL OR ${predicate})`);
    switch (keyword) {
      case 'pattern':
        nullOr(`regexp_matches(${id(raw)}, ${lit(String(value))})`);
        break;
      case 'enum':
        nullOr(`${id(raw)} IN (${(value as unknown[]).map((v) => lit(String(v))).join(', ')})`);
        break;
      case 'maxLength':
        nullOr(`length(${id(raw)}) <= ${Number(value)}`);
        break;
      case 'minLength':
        nullOr(`length(${id(raw)}) >= ${Number(value)}`);
        break;
      case 'minimum':
        nullOr(`${typed} >= ${Number(value)}`);
        break;
      case 'maximum':
        nullOr(`${typed} <= ${Number(value)}`);
        break;
      case 'exclusiveMinimum':
        nullOr(`${typed} > ${Number(value)}`);
        break;
      case 'exclusiveMaximum':
        nullOr(`${typed} < ${Number(value)}`);
        break;
      case 'format': {
        // date / date-time: the cast to DATE / TIMESTAMPTZ is the check.
        if (
          (value === 'date' && column.type === 'date') ||
          (value === 'date-time' && column.type === 'timestamp')
        )
          break;
        // The same regular expression validate's ajv-formats ("fast" mode) uses, in RE2 syntax.
        const re = (fastFormats as Record<string, unknown>)[String(value)];
        if (!(re instanceof RegExp)) throw new Error(`peer: format ${String(value)} has no SQL form here`);
        nullOr(`regexp_matches(${id(raw)}, ${lit(`${re.flags.includes('i') ? '(?i)' : ''}${re.source}`)})`);
        break;
      }
      default:
        throw new Error(
          `peer: the row-schema keyword ${keyword} (column ${column.name}) has no SQL form here; add it to bench/workers/duckdb-peer.ts`,
        );
    }
  }
  return rules;
}

/** The one statement: read → cast → rules → dedupe → partitioned Parquet. */
/** A column name no header uses: the field past the header's last. */
const EXTRA_FIELD = '\u0001extra';

export function peerStatement(
  contract: DatasetContract,
  plan: TransformPlan,
  csv: string,
  header: readonly string[],
  outDir: string,
  exact = false,
): string {
  const schema = contract.rowSchema as {
    properties: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  const required = new Set(schema.required ?? []);
  const d = contract.csv;
  // The file's header names every field, in the file's order (the contract allows any order). No
  // text is NULL while reading (`nullstr` matches nothing); empty cells become NULL below, as
  // validate reads them. `ignore_errors` drops rows with too few or too many fields — except one
  // kind: DuckDB takes a row with one extra EMPTY field (`a,b,c,`) as a trailing delimiter and
  // keeps it, where validate rejects it (LONG_ROW). `exact` catches that row too, with one more
  // column than the header (a padded short row then shows as NULL) — but DuckDB's parallel reader
  // refuses `null_padding` on a file with quoted line breaks, so the exact statement reads the CSV
  // on one thread: the bench times the natural (parallel) statement and runs the exact one only
  // to check rows out.
  const fields = exact ? [...header, EXTRA_FIELD] : [...header];
  const read =
    `read_csv(${lit(csv)}, header = true, columns = {${fields.map((f) => `${lit(f)}: 'VARCHAR'`).join(', ')}}, ` +
    `delim = ${lit(d.delimiter)}, quote = ${lit(d.quote)}, escape = ${lit(d.escape)}, encoding = 'utf-8', ` +
    `${exact ? 'null_padding = true, parallel = false, ' : ''}nullstr = '\u0001', ignore_errors = true)`;
  const raws = contract.columns.map((c) => `NULLIF(${id(c.source)}, '') AS ${id(`raw_${c.name}`)}`);
  const wholeRow = exact
    ? [...header.map((f) => `${id(f)} IS NOT NULL`), `${id(EXTRA_FIELD)} IS NULL`]
    : ['true'];
  // Casts live in a CTE: QUALIFY row_number() directly over TRY_CAST expressions hits an internal
  // error in DuckDB 1.5.6.
  const casts = contract.columns.map(
    (c) => `TRY_CAST(${id(`raw_${c.name}`)} AS ${sqlType(plan.stagingTypes[c.name]!)}) AS ${id(c.name)}`,
  );
  const rules = contract.columns.flatMap((c) =>
    columnRules(c, schema.properties[c.name] ?? {}, required.has(c.name)),
  );
  const out = plan.columns.map((c) => id(c.name));
  const partition = plan.partition;
  if (partition?.keepColumn) {
    const source = plan.stagingTypes[partition.source]!;
    const format = { day: '%Y-%m-%d', month: '%Y-%m', year: '%Y' }[partition.granularity ?? 'day'];
    const value =
      source.type === 'timestamp'
        ? `strftime(timezone('UTC', ${id(partition.source)}), '${format}')`
        : `strftime(${id(partition.source)}, '${format}')`;
    out.push(`${value} AS ${id(partition.name)}`);
  }
  const dedupe = plan.dedupe
    ? `QUALIFY row_number() OVER (PARTITION BY ${plan.dedupe.key.map(id).join(', ')} ORDER BY ${plan.dedupe.orderBy
        .map((o) => `${id(o.column)} ${o.direction.toUpperCase()} NULLS LAST`)
        .join(', ')}) = 1`
    : '';
  return (
    `COPY (WITH src AS (SELECT ${raws.join(', ')}, row_number() OVER () AS ${id(LINE_COLUMN)} FROM ${read} ` +
    `WHERE ${wholeRow.join(' AND ')}), ` +
    `typed AS (SELECT *, ${casts.join(', ')} FROM src) ` +
    `SELECT ${out.join(', ')} FROM typed WHERE ${rules.join(' AND ')} ${dedupe}) ` +
    `TO ${lit(outDir)} (FORMAT parquet, COMPRESSION snappy${partition ? `, PARTITION_BY (${id(partition.name)})` : ''})`
  );
}

/** The header's field names, parsed with the contract's dialect from the file's first 64 KiB. */
function headerOf(file: string, contract: DatasetContract): string[] {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(64 * 1024);
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  const text = buf
    .subarray(0, n)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
  const [first] = parse(text.slice(0, text.search(/\r?\n/)), {
    delimiter: contract.csv.delimiter,
    quote: contract.csv.quote,
    escape: contract.csv.escape,
  }) as string[][];
  return first!;
}

runAsWorker<{ file: string; outDir: string; dataset: string; bytes: number; exact?: boolean }>(
  async ({ file, outDir, dataset, bytes, exact = false }) => {
    const contract = findContract(dataset)!;
    const plan = compilePlan(contract);
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    const db = await DuckDBInstance.create(':memory:', { threads: String(availableParallelism()) });
    const sql = await db.connect();
    await sql.run(`SET TimeZone = 'UTC'`);
    await sql.run(`SET partitioned_write_max_open_files = 100000`);
    const header = headerOf(file, contract);
    const result = await sql.runAndReadAll(peerStatement(contract, plan, file, header, outDir, exact));
    const rowsOut = Number(result.getRows()[0]![0]);
    sql.closeSync();
    db.closeSync();
    const files = readdirSync(outDir, { recursive: true }).filter((f) => String(f).endsWith('.parquet'));
    return {
      bytes,
      rows: rowsOut,
      details: { files: files.length, threads: availableParallelism(), exact },
    };
  },
);
