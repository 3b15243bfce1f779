/**
 * `etl init FILE [--dataset NAME] [--schemas DIR] [--force] [--json]`: infers a contract v2 from a
 * real file (infer/) — a CSV, or JSON Lines / a JSON array of records (`.jsonl`, `.ndjson`,
 * `.json`, each also `.gz`) — prints what it chose and why, and writes `DIR/NAME.schema.json` —
 * never over an existing contract without `--force`.
 *
 * Exit codes: 0 written; 64 a usage problem (no such file, a dataset name the rule refuses, the
 * contract exists); 2 the file cannot be read as UTF-8 CSV or as JSON records (the message names
 * the byte offset or line and the fix).
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DATASET_NAME } from '../../core/dataset-name';
import { checkLandingKey } from '../../core/layout';
import { landingKeyFor } from '../../local/landing';
import { inferContract, InferError, type Inference } from '../../infer/infer';
import { inferJsonContract, isJsonFileName } from '../../infer/json-reader';
import type { JsonInference } from '../../infer/json-infer';
import { datasetNameOf } from '../../infer/names';
import { EXIT, type CliIo } from '../io';
import { shortPath, table } from '../render';

/** sysexits.h EX_USAGE: the command was used wrongly; nothing was written. */
const EX_USAGE = 64;

export interface InitFlags {
  readonly dataset?: string;
  readonly schemas?: string;
  readonly force?: boolean;
  readonly json?: boolean;
}

/** The contracts folder: `--schemas`, else $ETL_SCHEMAS, else ./schemas. */
export function schemasDirOf(flag: string | undefined, io: CliIo): string {
  const dir = flag ?? (io.env.ETL_SCHEMAS || undefined) ?? 'schemas';
  return path.resolve(io.cwd, dir);
}

export async function initCommand(file: string, opts: InitFlags, io: CliIo): Promise<number> {
  const usage = (message: string) => {
    io.err(`etl: ${message}\n`);
    return EX_USAGE;
  };
  const source = path.resolve(io.cwd, file);
  let isFile: boolean;
  try {
    isFile = statSync(source).isFile();
  } catch {
    return usage(`${file}: no such file. Give the path of a CSV or JSON Lines file.`);
  }
  if (!isFile) return usage(`${file} is not a file. Give the path of a CSV or JSON Lines file.`);

  const dataset = opts.dataset ?? datasetNameOf(source);
  if (dataset === undefined || !DATASET_NAME.test(dataset)) {
    const what =
      dataset === undefined
        ? `no dataset name can be made from the file name "${path.basename(source)}"`
        : `dataset name "${dataset}" is not allowed: it must match ${DATASET_NAME} (lower-case letter first, then lower-case letters, digits${DATASET_NAME.test('a-b') ? ', hyphens' : ''} or underscores, at most 63)`;
    return usage(`${what}. Pass --dataset <name>, for example --dataset my_data`);
  }
  const dir = schemasDirOf(opts.schemas, io);
  const target = path.join(dir, `${dataset}.schema.json`);
  const exists = () => {
    try {
      statSync(target);
      return true;
    } catch {
      return false;
    }
  };
  const refuse = () =>
    usage(
      `${shortPath(target, io.cwd)} already exists; nothing was written. Pass --force to replace it, or --dataset <other name> to write another contract`,
    );
  if (exists() && !opts.force) return refuse();

  let inference: Inference | JsonInference;
  try {
    inference = isJsonFileName(source) ? await inferJsonContract(source) : await inferContract(source);
  } catch (e) {
    if (e instanceof InferError) {
      io.err(`etl: ${shortPath(source, io.cwd)}: ${e.message}\n`);
      return EXIT.rejected;
    }
    throw e;
  }

  mkdirSync(dir, { recursive: true });
  try {
    // 'wx' fails if the file appeared meanwhile: never overwrite without --force.
    writeFileSync(target, `${JSON.stringify(inference.contract, null, 2)}\n`, {
      flag: opts.force ? 'w' : 'wx',
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return refuse();
    throw e;
  }

  const schemasFlag = opts.schemas !== undefined ? ` --schemas ${shortPath(dir, io.cwd)}` : '';
  const next = `etl run ${file} --dataset ${dataset}${schemasFlag}`;
  // The name `etl run` will land the file under, checked as the Claim step checks it: a name it
  // refuses (a .tsv, say) is said here, with the fix, not after the user runs it.
  const landing = checkLandingKey(landingKeyFor(dataset, source));
  const first = landing.ok
    ? undefined
    : `etl run will refuse this file's name (${landing.problem}); ${landing.fix}`;
  if (opts.json) {
    const view =
      'reading' in inference
        ? jsonInitView(inference, dataset, target, next)
        : initView(inference, dataset, target, next);
    io.out(`${JSON.stringify(first === undefined ? view : { ...view, first })}\n`);
  } else {
    const lines =
      'reading' in inference
        ? jsonInitLines(inference, dataset, target, io.cwd)
        : initLines(inference, dataset, target, io.cwd);
    io.out(`${lines.join('\n')}\n`);
    if (first !== undefined) io.out(`\nfirst: ${first}\n`);
    io.out(`\nnext: ${next}\n`);
  }
  return EXIT.ok;
}

/** `--json`: the contract and every decision. */
export function initView(inference: Inference, dataset: string, target: string, next: string) {
  const { contract, dialect, columns, key, partition, warnings } = inference;
  return {
    dataset,
    contractFile: target,
    file: inference.file,
    fileBytes: inference.fileBytes,
    bytesRead: inference.bytesRead,
    sampled: inference.sampled,
    rows: inference.rows,
    contract,
    decisions: {
      dialect: { ...dialect },
      columns: columns.map((c) => ({
        name: c.name,
        source: c.source,
        type: c.type,
        required: c.required,
        why: c.why,
      })),
      primaryKey: { columns: key.columns, why: key.why },
      partition: {
        column: partition.column,
        ...(partition.granularity && { granularity: partition.granularity, key: partition.key }),
        why: partition.why,
      },
    },
    warnings,
    next,
  };
}

function typeText(c: Inference['columns'][number] | JsonInference['columns'][number]): string {
  if (c.type === 'decimal') return `decimal(${c.precision},${c.scale})`;
  if (c.type === 'timestamp') return c.timezone ? 'timestamp (UTC)' : 'timestamp';
  return c.type;
}

/** The readable report: dialect, the column table, key, partition, warnings. */
export function initLines(inference: Inference, dataset: string, target: string, cwd: string): string[] {
  const { dialect, columns } = inference;
  const lines: string[] = [];
  const size = `${inference.fileBytes.toLocaleString('en-US')} bytes, ${inference.rows.toLocaleString('en-US')} rows`;
  lines.push(
    `${shortPath(inference.file, cwd)} (${size}${inference.sampled ? ', first part read' : ''}) → dataset ${dataset}`,
  );
  lines.push('');
  for (const why of dialect.why) lines.push(`  ${why}`);
  lines.push('');
  const rows = columns.map((c) => [
    c.name,
    c.source === c.name ? '' : JSON.stringify(c.source),
    typeText(c),
    c.required ? 'yes' : 'no',
    c.enum ? `enum (${c.enum.length})` : '',
    c.why,
  ]);
  lines.push(...table(['column', 'source', 'type', 'required', 'checks', 'why'], rows));
  lines.push('');
  lines.push(...decisionLines(inference, target, cwd));
  return lines;
}

/** Key, partition, warnings and the file written: the same for every format. */
function decisionLines(inference: Inference | JsonInference, target: string, cwd: string): string[] {
  const { key, partition } = inference;
  const lines: string[] = [];
  lines.push(`  primary key  ${key.columns.length > 0 ? key.columns.join(', ') : '(none)'} — ${key.why}`);
  const part =
    partition.column === null
      ? '(none)'
      : `${partition.column} by ${partition.granularity} (folder ${partition.key}=…)`;
  lines.push(`  partition    ${part} — ${partition.why}`);
  for (const w of inference.warnings) lines.push(`  warning      ${w}`);
  lines.push('');
  lines.push(`wrote ${shortPath(target, cwd)} (contract v2)`);
  return lines;
}

/** A JSON path as people write it: `actor.login`, a key with a dot or space in brackets. */
export function pathText(keys: readonly string[]): string {
  return keys
    .map((k, i) => (/^[A-Za-z_$][\w$]*$/.test(k) ? `${i === 0 ? '' : '.'}${k}` : `[${JSON.stringify(k)}]`))
    .join('');
}

/** The readable report for a JSON file: how it was read, the column table, key, partition, warnings. */
export function jsonInitLines(
  inference: JsonInference,
  dataset: string,
  target: string,
  cwd: string,
): string[] {
  const lines: string[] = [];
  const size = `${inference.fileBytes.toLocaleString('en-US')} bytes, ${inference.rows.toLocaleString('en-US')} records`;
  lines.push(
    `${shortPath(inference.file, cwd)} (${size}${inference.sampled ? ', first part read' : ''}) → dataset ${dataset}`,
  );
  lines.push('');
  for (const why of inference.reading) lines.push(`  ${why}`);
  lines.push('');
  const rows = inference.columns.map((c) => [
    c.name,
    pathText(c.path),
    c.json ? 'string (JSON text)' : typeText(c),
    c.required ? 'yes' : 'no',
    c.enum ? `enum (${c.enum.length})` : '',
    c.why,
  ]);
  lines.push(...table(['column', 'path', 'type', 'required', 'checks', 'why'], rows));
  lines.push('');
  lines.push(...decisionLines(inference, target, cwd));
  return lines;
}

/** `--json` for a JSON file: the contract and every decision. */
export function jsonInitView(inference: JsonInference, dataset: string, target: string, next: string) {
  const { contract, columns, key, partition, warnings } = inference;
  return {
    dataset,
    contractFile: target,
    file: inference.file,
    format: inference.format,
    gzip: inference.gzip,
    fileBytes: inference.fileBytes,
    bytesRead: inference.bytesRead,
    sampled: inference.sampled,
    rows: inference.rows,
    contract,
    decisions: {
      reading: inference.reading,
      columns: columns.map((c) => ({
        name: c.name,
        path: c.path,
        type: c.type,
        json: c.json,
        required: c.required,
        kinds: c.kinds,
        why: c.why,
      })),
      primaryKey: { columns: key.columns, why: key.why },
      partition: {
        column: partition.column,
        ...(partition.granularity && { granularity: partition.granularity, key: partition.key }),
        why: partition.why,
      },
    },
    warnings,
    next,
  };
}
