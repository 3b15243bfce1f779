/**
 * Dataset contracts on the command line: `etl contract check [NAME|FILE]` validates contracts
 * without a run, and {@link contractForRun} is how `run`, `watch` and `reconcile` refuse a missing
 * or broken contract as a usage error (exit 64, nothing started, no run record) — never a FAILED
 * run that suggests a redrive.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  contractFileOf,
  datasetOfContractFile,
  listContractFiles,
  listDatasets,
  loadContractFile,
  type DatasetContract,
} from '../../core/contract';
import { datasetNameProblem, suggestedDatasetName } from '../../core/dataset-name';
import { ContractError } from '../../core/errors';
import { EXIT, UsageError, type CliIo } from '../io';
import { shortPath } from '../render';
import { schemasDirOf, type ContractsDir, type SchemasFlag } from './shared';

/** A contract error as one line, with the file shown relative to the working directory. */
export function contractErrorText(e: ContractError, cwd: string): string {
  return e.message.replace(e.file, shortPath(e.file, cwd));
}

/** "in schemas (./schemas)": the folder and what chose it. */
function where(contracts: ContractsDir, cwd: string): string {
  return `${shortPath(contracts.dir, cwd)} (${contracts.origin})`;
}

function known(contracts: ContractsDir): string {
  let names: string[];
  try {
    names = listDatasets(contracts.dir);
  } catch {
    return `none: the folder does not exist`;
  }
  return names.length > 0 ? names.join(', ') : 'none yet';
}

/** ` --schemas DIR` when the folder came from that flag: repeated in the commands a message suggests. */
function schemasFlagOf(contracts: ContractsDir, cwd: string): string {
  return contracts.origin === '--schemas' ? ` --schemas ${shortPath(contracts.dir, cwd)}` : '';
}

/** Why `dataset` cannot be a dataset name, as a usage error; undefined when it can. */
export function datasetNameError(dataset: string): UsageError | undefined {
  const problem = datasetNameProblem(dataset);
  if (problem === undefined) return undefined;
  const suggested = suggestedDatasetName(dataset);
  return new UsageError(
    `dataset name "${dataset}" is not allowed: ${problem}. Fix: ${
      suggested
        ? `use --dataset ${suggested} (and name its contract ${suggested}.schema.json)`
        : 'choose a name that follows the rule'
    }`,
    EXIT.usage,
  );
}

/**
 * The contract of `dataset` for a run of `file`, or a usage error (exit 64) that says why not:
 * the name is not allowed, there is no contract (the known datasets, and `etl init` as the fix),
 * or the contract is broken (its file, JSON pointer, column and fix).
 */
export function contractForRun(
  dataset: string,
  contracts: ContractsDir,
  io: CliIo,
  file?: string,
): DatasetContract {
  const nameError = datasetNameError(dataset);
  if (nameError) throw nameError;
  const contractFile = contractFileOf(dataset, contracts.dir);
  if (!existsSync(contractFile)) {
    const init = `etl init ${file !== undefined ? shortPath(file, io.cwd) : '<file.csv>'} --dataset ${dataset}${schemasFlagOf(contracts, io.cwd)}`;
    throw new UsageError(
      `no contract for dataset "${dataset}": ${shortPath(contractFile, io.cwd)} does not exist (contracts from ${where(contracts, io.cwd)}; datasets with a contract there: ${known(contracts)}). Fix: write one with \`${init}\`, or pass --schemas <folder> (or set ETL_SCHEMAS) where ${dataset}.schema.json is`,
      EXIT.usage,
    );
  }
  try {
    return loadContractFile(contractFile);
  } catch (e) {
    if (e instanceof ContractError)
      throw new UsageError(
        `the contract of dataset "${dataset}" is broken, so nothing was run: ${contractErrorText(e, io.cwd)}. Check it with \`etl contract check ${dataset}${schemasFlagOf(contracts, io.cwd)}\``,
        EXIT.usage,
      );
    throw e;
  }
}

/** One checked contract. */
export interface CheckedContract {
  readonly dataset: string;
  readonly file: string;
  readonly ok: boolean;
  /** ok: what it declares; not ok: the error (file#pointer (column): problem. Fix: ...). */
  readonly summary: string;
}

function summaryOf(c: DatasetContract): string {
  const key = c.primaryKey.length > 0 ? `key ${c.primaryKey.join(', ')}` : 'no key';
  const part = c.partition
    ? `partition ${c.partition.column}${c.partition.granularity ? ` by ${c.partition.granularity}` : ''}`
    : 'no partition';
  return `v${c.version}, table ${c.table}, ${c.columns.length} columns, ${key}, ${part}`;
}

function checkFile(file: string, io: CliIo): CheckedContract {
  const dataset = datasetOfContractFile(file) ?? path.basename(file);
  try {
    const c = loadContractFile(file);
    return { dataset, file, ok: true, summary: summaryOf(c) };
  } catch (e) {
    if (e instanceof ContractError)
      return { dataset, file, ok: false, summary: contractErrorText(e, io.cwd) };
    throw e;
  }
}

/**
 * `etl contract check [NAME|FILE] [--schemas DIR] [--json]`: one line per contract (ok, or its
 * error); exit 0 when every one is valid, 64 otherwise.
 */
export async function contractCheckCommand(
  target: string | undefined,
  opts: SchemasFlag & { json?: boolean },
  io: CliIo,
): Promise<number> {
  const contracts = schemasDirOf(opts, io);
  let checked: CheckedContract[];
  if (target === undefined) {
    let files: string[];
    try {
      files = listContractFiles(contracts.dir);
    } catch {
      throw new UsageError(
        `no contracts folder ${where(contracts, io.cwd)}. Fix: pass --schemas <folder> (or set ETL_SCHEMAS), or write a contract with \`etl init <file.csv>\``,
        EXIT.usage,
      );
    }
    if (files.length === 0)
      throw new UsageError(
        `no *.schema.json in ${where(contracts, io.cwd)}. Fix: write one with \`etl init <file.csv>\`, or pass --schemas <folder>`,
        EXIT.usage,
      );
    checked = files.map((f) => checkFile(f, io));
  } else if (target.endsWith('.json') || target.includes('/') || target.includes(path.sep)) {
    const file = path.resolve(io.cwd, target);
    if (!existsSync(file))
      throw new UsageError(`${target}: no such file. Give a contract file or a dataset name.`, EXIT.usage);
    checked = [checkFile(file, io)];
  } else {
    const nameError = datasetNameError(target);
    const file = contractFileOf(target, contracts.dir);
    if (nameError) {
      checked = [{ dataset: target, file, ok: false, summary: nameError.message }];
    } else if (!existsSync(file)) {
      checked = [
        {
          dataset: target,
          file,
          ok: false,
          summary: `no ${target}.schema.json in ${where(contracts, io.cwd)} (datasets there: ${known(contracts)})`,
        },
      ];
    } else checked = [checkFile(file, io)];
  }

  if (opts.json) {
    io.out(`${JSON.stringify({ schemas: contracts.dir, contracts: checked })}\n`);
  } else {
    const width = Math.max(...checked.map((c) => c.dataset.length));
    for (const c of checked)
      io.out(`${(c.ok ? 'ok' : 'FAIL').padEnd(4)}  ${c.dataset.padEnd(width)}  ${c.summary}\n`);
    const bad = checked.filter((c) => !c.ok).length;
    io.out(
      bad === 0
        ? `${checked.length} contract(s) valid in ${where(contracts, io.cwd)}\n`
        : `${bad} of ${checked.length} contract(s) invalid in ${where(contracts, io.cwd)}\n`,
    );
  }
  return checked.every((c) => c.ok) ? EXIT.ok : EXIT.usage;
}

/**
 * The error of `dataset`'s contract when it exists and is broken; undefined when it loads, or when
 * there is none (a file landed for an unknown dataset is data: its run ends REJECTED
 * UNKNOWN_DATASET, as on AWS).
 */
export function brokenContract(dataset: string, contracts: ContractsDir, cwd: string): string | undefined {
  const file = contractFileOf(dataset, contracts.dir);
  if (!existsSync(file)) return undefined;
  try {
    loadContractFile(file);
    return undefined;
  } catch (e) {
    if (e instanceof ContractError) return contractErrorText(e, cwd);
    throw e;
  }
}
