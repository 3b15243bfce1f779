/**
 * `etl` — the pipeline's command line. Locally it runs the same state machine as AWS on a folder
 * (`.etl/`, or `--home` / ETL_HOME).
 *
 * ```
 * etl init <file.csv|.jsonl|.json[.gz]> [--dataset NAME] [--schemas DIR] [--force] [--json]
 * etl contract check [NAME|FILE] [--schemas DIR] [--json]
 * etl run <file.csv> [--dataset NAME] [--schemas DIR] [--engine duckdb|spark] [--json]
 *         [--stack S [--no-wait] [--start-timeout SECONDS]]
 * etl watch [--concurrency N]
 * etl runs [--status S] [--dataset D]      etl runs show <id> [--follow]
 * etl redrive <id>
 * etl query "<SQL>" [--param V]...
 * etl reconcile
 * etl pull NAME [--from T] [--to T] [--url TEMPLATE] [--max N] [--no-run]
 * ```
 * Exit codes: 0 succeeded, 2 the file was rejected, 64 a usage problem that started nothing (a
 * missing or broken contract, a dataset name the rule refuses), 1 anything else failed.
 * Contracts come from `--schemas DIR`, else $ETL_SCHEMAS, else ./schemas, else the shipped ones
 * (cli/commands/shared.ts schemasDirOf).
 *
 * Tests call {@link main} in-process with their own {@link CliIo}; `bin/etl` runs this file.
 */
import { Command, CommanderError, Option } from 'commander';
import { EXIT, processIo, UsageError, type CliIo } from './io';

/** Transform engines `--engine` accepts (local/pipeline.ts EngineName). */
const ENGINES = ['duckdb', 'spark'] as const;

/*
 * Commands are loaded when chosen (require: synchronous, and visible to a bundler), so `etl runs`
 * does not pay for the contract compiler or DuckDB.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const commands = {
  run: () => require('./commands/run') as typeof import('./commands/run'),
  init: () => require('./commands/init') as typeof import('./commands/init'),
  contract: () => require('./commands/contract') as typeof import('./commands/contract'),
  runs: () => require('./commands/runs') as typeof import('./commands/runs'),
  redrive: () => require('./commands/redrive') as typeof import('./commands/redrive'),
  query: () => require('./commands/query') as typeof import('./commands/query'),
  watch: () => require('./commands/watch') as typeof import('./commands/watch'),
  reconcile: () => require('./commands/reconcile') as typeof import('./commands/reconcile'),
  pull: () => require('./commands/pull') as typeof import('./commands/pull'),
  remote: () => require('./commands/remote') as typeof import('./commands/remote'),
  followLocal: () => require('./commands/follow-local') as typeof import('./commands/follow-local'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Runs the CLI with `argv` (arguments only, without node and the script) and returns the exit code.
 *
 * @example
 * const code = await main(['run', 'samples/registrations.csv', '--json'], io);
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('etl')
    .description(
      'Event-driven CSV → Parquet ETL: run the pipeline locally on a folder, inspect and redrive runs.',
    )
    .option('--home <dir>', 'local home folder (default: $ETL_HOME or ./.etl)')
    .option(
      '--stack <name>',
      'act on a deployed stack instead of the local folder (run, runs, redrive, query)',
    )
    .option('--profile <name>', 'AWS profile for --stack')
    .option('--region <region>', 'AWS region for --stack')
    .addOption(new Option('--endpoint <url>', 'one endpoint for every AWS service (an emulator)').hideHelp())
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError('(etl --help for usage)');
  const globals = () => program.opts<{ home?: string }>();
  const remote = () => {
    const g = program.opts<{ stack?: string; profile?: string; region?: string; endpoint?: string }>();
    return g.stack === undefined ? undefined : { ...g, stack: g.stack };
  };
  /** Refuses local-only verbs with --stack. */
  const localOnly = (verb: string) => {
    if (remote())
      throw new UsageError(`etl ${verb} works on the local folder only; on AWS the stack does this itself`);
  };
  const engineOption = () =>
    new Option('--engine <engine>', 'transform engine for the Glue step').choices(ENGINES).default('duckdb');
  /** How often a followed run is looked at (hidden: tests shorten it). */
  const pollOption = () =>
    new Option('--poll-ms <ms>', 'wait between looks at a followed run')
      .argParser((v) => positiveInt(v, '--poll-ms'))
      .hideHelp();
  const schemasOption = () =>
    new Option(
      '--schemas <dir>',
      'contracts folder (default: $ETL_SCHEMAS, else ./schemas, else the shipped ones)',
    );

  program
    .command('init')
    .description(
      'infer a contract from a CSV or JSON file (.csv, .jsonl, .json, .jsonl.gz, .json.gz): print what was chosen and why, write <schemas>/<dataset>.schema.json',
    )
    .argument('<file>', 'the CSV, JSON Lines or JSON array file')
    .option('--dataset <name>', "dataset name (default: from the file's name)")
    .option('--schemas <dir>', 'contracts folder (default: $ETL_SCHEMAS or ./schemas)')
    .option('--force', 'replace an existing contract')
    .option('--json', 'print the contract and the decisions as one JSON object')
    .action(
      async (file: string, opts: { dataset?: string; schemas?: string; force?: boolean; json?: boolean }) => {
        code = await commands.init().initCommand(file, opts, io);
      },
    );

  program
    .command('contract')
    .description('dataset contracts (<schemas>/<dataset>.schema.json)')
    .command('check')
    .description(
      'validate one contract (a dataset name or a file) or every one in the folder, without a run; exit 64 when one is invalid',
    )
    .argument('[target]', 'a dataset name or a contract file (default: every contract in the folder)')
    .addOption(schemasOption())
    .option('--json', 'print JSON')
    .action(async (target: string | undefined, opts: { schemas?: string; json?: boolean }) => {
      code = await commands.contract().contractCheckCommand(target, opts, io);
    });

  program
    .command('run')
    .description('put a CSV into the local landing area and run the pipeline on it')
    .argument('<file>', 'the CSV file')
    .option('--dataset <name>', "dataset (default: the file's folder name, when it has a contract)")
    .addOption(schemasOption())
    .addOption(engineOption())
    .option('--json', 'print only one JSON object with the outcome')
    .option('--no-wait', 'with --stack: return once the file is uploaded, without following the run')
    .option(
      '--start-timeout <seconds>',
      'with --stack: how long to look for the run the trigger starts',
      (v) => positiveInt(v, '--start-timeout'),
      60,
    )
    .addOption(pollOption())
    .action(
      async (
        file: string,
        opts: {
          dataset?: string;
          schemas?: string;
          engine: 'duckdb' | 'spark';
          json?: boolean;
          wait: boolean;
          startTimeout: number;
          pollMs?: number;
        },
      ) => {
        const r = remote();
        if (!r && !opts.wait)
          throw new UsageError('--no-wait applies to --stack runs; a local run always runs to its end');
        code = r
          ? await commands.remote().remoteRun(file, { ...r, ...opts }, io)
          : await commands.run().runCommand(file, { ...opts, ...globals() }, io);
      },
    );

  program
    .command('watch')
    .description(
      'run the pipeline on every CSV dropped into <home>/landing/incoming/<dataset>/ (Ctrl-C stops)',
    )
    .option('--concurrency <n>', 'runs at the same time', (v) => positiveInt(v, '--concurrency'), 4)
    .option(
      '--settle-ms <ms>',
      'a file must be unchanged this long before it runs',
      (v) => positiveInt(v, '--settle-ms'),
      1000,
    )
    .addOption(schemasOption())
    .addOption(engineOption())
    .option('--json', 'print one JSON line per finished run')
    .action(
      async (opts: {
        concurrency: number;
        settleMs: number;
        schemas?: string;
        engine: 'duckdb' | 'spark';
        json?: boolean;
      }) => {
        localOnly('watch');
        code = await commands.watch().watchCommand({ ...opts, ...globals() }, io);
      },
    );

  const runs = program
    .command('runs')
    .description('list runs, newest first')
    .option(
      '--status <status>',
      'only runs with this status (RUNNING, SUCCEEDED, FAILED, REJECTED, TIMED_OUT, ABORTED)',
    )
    .option('--dataset <name>', 'only runs of this dataset')
    .option('--json', 'print JSON')
    .action(async (opts: { status?: string; dataset?: string; json?: boolean }) => {
      const r = remote();
      code = r
        ? await commands.remote().remoteRuns({ ...r, ...opts }, io)
        : await commands.runs().runsCommand({ ...opts, ...globals() }, io);
    });
  runs
    .command('show')
    .description("draw a run's state path with each state's status, duration, retries and error")
    .argument('<id>', 'run id (from etl runs)')
    .option(
      '--follow',
      "print each state as it finishes until the run ends, then the path; exit with the run's code",
    )
    .addOption(pollOption())
    .option('--json', 'print JSON')
    .action(async (id: string, own: { json?: boolean; follow?: boolean; pollMs?: number }) => {
      // `runs` declares --json too, and commander gives a flag to the first command that knows it.
      const opts = { ...own, json: own.json === true || runs.opts<{ json?: boolean }>().json === true };
      const r = remote();
      code = r
        ? await commands.remote().remoteShow(id, { ...r, ...opts }, io)
        : opts.follow
          ? await commands.followLocal().followLocalCommand(id, { ...opts, ...globals() }, io)
          : await commands.runs().showCommand(id, { ...opts, ...globals() }, io);
    });

  program
    .command('redrive')
    .description('resume a FAILED, TIMED_OUT or ABORTED run at the state that failed')
    .argument('<id>', 'run id')
    .addOption(schemasOption())
    .addOption(engineOption())
    .option('--json', 'print only one JSON object with the outcome')
    .action(async (id: string, opts: { schemas?: string; engine: 'duckdb' | 'spark'; json?: boolean }) => {
      const r = remote();
      code = r
        ? await commands.remote().remoteRedrive(id, { ...r, ...opts }, io)
        : await commands.redrive().redriveCommand(id, { ...opts, ...globals() }, io);
    });

  program
    .command('query')
    .description('run SQL over the local lake (tables named as in the Glue catalog, e.g. registrations)')
    .argument('<sql>', 'one read-only SQL statement (SELECT, WITH … SELECT, DESCRIBE, SHOW, SUMMARIZE)')
    .option(
      '--param <value>',
      "bind the next ? placeholder (repeat, in order): 5 and 1.5 are numbers, true/false booleans, '5' the text 5",
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .addOption(schemasOption())
    .option('--json', 'print JSON')
    .action(async (sql: string, opts: { schemas?: string; json?: boolean; param: string[] }) => {
      const r = remote();
      code = r
        ? await commands.remote().remoteQuery(sql, { ...r, ...opts }, io)
        : await commands.query().queryCommand(sql, { ...opts, ...globals() }, io);
    });

  program
    .command('reconcile')
    .description('start runs for landing files that have no finished run (missed events, killed runner)')
    .option('--concurrency <n>', 'runs at the same time', (v) => positiveInt(v, '--concurrency'), 4)
    .addOption(schemasOption())
    .addOption(engineOption())
    .option('--json', 'print one JSON line per finished run')
    .action(
      async (opts: { concurrency: number; schemas?: string; engine: 'duckdb' | 'spark'; json?: boolean }) => {
        localOnly('reconcile');
        code = await commands.reconcile().reconcileCommand({ ...opts, ...globals() }, io);
      },
    );

  program
    .command('pull')
    .description(
      'pull the due periods of a source (<schemas>/<name>.source.json) into landing, once each, then run the pipeline on them',
    )
    .argument('<name>', 'the source')
    .option(
      '--from <time>',
      'first period to pull (UTC: 2024-01-01, 2024-01-01T05); with --to: an explicit range',
    )
    .option('--to <time>', 'last period to pull (included; default: the newest due)')
    .option('--url <template>', 'another URL template for this pull (a test server, a mirror)')
    .option('--max <n>', "periods to try at most (default: the definition's maxPeriodsPerRun)", (v) =>
      positiveInt(v, '--max'),
    )
    .option('--no-run', 'land the files only (etl reconcile runs them later)')
    .addOption(schemasOption())
    .addOption(engineOption())
    .addOption(
      new Option('--retry-base-ms <ms>', 'first retry pause')
        .argParser((v) => positiveInt(v, '--retry-base-ms'))
        .hideHelp(),
    )
    .option('--json', 'print one JSON object: the periods, the bookmark and the runs')
    .action(
      async (
        name: string,
        opts: {
          from?: string;
          to?: string;
          url?: string;
          max?: number;
          run: boolean;
          schemas?: string;
          engine: 'duckdb' | 'spark';
          retryBaseMs?: number;
          json?: boolean;
        },
      ) => {
        localOnly('pull');
        code = await commands.pull().pullCommand(name, { ...opts, ...globals() }, io);
      },
    );

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.failed;
    if (e instanceof UsageError) {
      io.err(`etl: ${e.message}\n`);
      return e.exitCode;
    }
    io.err(`etl: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT.failed;
  }
}

function positiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${name} must be a whole number ≥ 1, got "${value}"`);
  return n;
}

/**
 * Runs the CLI as this process: argv from the command line, Ctrl-C stops `watch` (and aborts a
 * running `run`) cleanly, a second Ctrl-C exits at once, the exit code is the command's.
 */
export function runCli(): void {
  const stop = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    stop.abort();
  });
  void main(process.argv.slice(2), processIo(stop.signal)).then((code) => process.exit(code));
}

if (require.main === module) runCli();
