/**
 * What the local commands share: opening the local pipeline with progress wired to the terminal,
 * and ending a run with its summary (or its `--json` object) and exit code.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_SCHEMAS_DIR } from '../../core/contract';
import { resolveHome, type EtlHome } from '../../local/home';
import { createLocalPipeline, type EngineName, type LocalPipeline } from '../../local/pipeline';
import type { RunRecord } from '../../local/run-record';
import { EXIT, type CliIo } from '../io';
import { progressLine, runResultView, shortPath, summaryLines } from '../render';

export interface HomeFlag {
  readonly home?: string;
}

export function homeOf(opts: HomeFlag, io: CliIo): EtlHome {
  return resolveHome({ ...(opts.home !== undefined && { home: opts.home }), env: io.env, cwd: io.cwd });
}

export interface SchemasFlag {
  /** `--schemas DIR`: the folder of `<dataset>.schema.json` contracts. */
  readonly schemas?: string;
}

/** Where the contracts are read from, and what chose it (for messages). */
export interface ContractsDir {
  readonly dir: string;
  readonly origin: '--schemas' | '$ETL_SCHEMAS' | './schemas' | 'the shipped contracts';
}

const isDir = (dir: string) => existsSync(dir) && statSync(dir).isDirectory();

/**
 * The contracts folder: `--schemas DIR`, else `$ETL_SCHEMAS`, else `./schemas` of the working
 * directory when it exists, else the contracts shipped with the CLI (the sample's registrations
 * ...), so `etl run samples/registrations.csv` works from any folder. From the repository root
 * `./schemas` is the shipped folder itself.
 */
export function schemasDirOf(opts: SchemasFlag, io: CliIo): ContractsDir {
  if (opts.schemas !== undefined) return { dir: path.resolve(io.cwd, opts.schemas), origin: '--schemas' };
  if (io.env.ETL_SCHEMAS) return { dir: path.resolve(io.cwd, io.env.ETL_SCHEMAS), origin: '$ETL_SCHEMAS' };
  const local = path.resolve(io.cwd, 'schemas');
  if (isDir(local)) return { dir: local, origin: './schemas' };
  return { dir: DEFAULT_SCHEMAS_DIR, origin: 'the shipped contracts' };
}

export interface PipelineFlags extends HomeFlag, SchemasFlag {
  readonly engine?: EngineName;
  readonly json?: boolean;
}

/**
 * The local pipeline; unless `--json`, each state's line is printed as it finishes and every
 * notification as it is published. `label` prefixes progress lines (watch runs several at once).
 */
export function openPipeline(
  opts: PipelineFlags,
  io: CliIo,
  label?: (record: RunRecord) => string,
): LocalPipeline {
  const home = homeOf(opts, io);
  const quiet = opts.json === true;
  // A notice is published while its Notify state runs, before that state's progress line is
  // printed (lines follow the event stream): hold it and print it under that line.
  const notices = new Map<string, string[]>();
  return createLocalPipeline({
    home,
    schemasDir: schemasDirOf(opts, io).dir,
    validateDefinition: io.env.ETL_VALIDATE_ASL === '1',
    ...(opts.engine && { engine: opts.engine }),
    ...(!quiet && {
      onEvent: (event, record) => {
        const line = progressLine(event, record);
        if (!line) return;
        const prefix = label ? label(record) : '';
        io.out(`${prefix}${line}\n`);
        const exited = event.stateExitedEventDetails?.name;
        const held = notices.get(record.runId);
        if (held && (exited === undefined || /^Notify/.test(exited) || event.type.startsWith('Execution'))) {
          for (const n of held.splice(0)) io.out(`${prefix}${n}\n`);
        }
      },
      onNotify: (notice) => {
        const line = `    ✉ ${notice.subject || '(no subject)'}  → ${shortPath(home.outboxFile, io.cwd)}`;
        // A failure notice follows the run's last event: nothing left to hold it for.
        if (notice.afterEnd) {
          for (const n of [...(notices.get(notice.runId) ?? []), line]) io.out(`${n}\n`);
          notices.delete(notice.runId);
          return;
        }
        const list = notices.get(notice.runId) ?? [];
        list.push(line);
        notices.set(notice.runId, list);
      },
    }),
  });
}

/** Exit code of a finished run: 0 succeeded (also a duplicate delivery), 2 rejected, 1 otherwise. */
export function exitCodeOf(record: RunRecord): number {
  if (record.displayStatus === 'SUCCEEDED') return EXIT.ok;
  if (record.displayStatus === 'REJECTED') return EXIT.rejected;
  return EXIT.failed;
}

/** Prints the outcome of a run (summary, or only the JSON object) and returns the exit code. */
export function reportRun(
  record: RunRecord,
  pipeline: LocalPipeline,
  opts: PipelineFlags,
  io: CliIo,
): number {
  const view = runResultView(record, pipeline.runs.fileOf(record.runId));
  if (opts.json) io.out(`${JSON.stringify(view)}\n`);
  else io.out(`${summaryLines(view, io.cwd).join('\n')}\n`);
  return exitCodeOf(record);
}
