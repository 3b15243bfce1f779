/**
 * `etl pull NAME [--from T] [--to T]`: the pull Lambda's code (sources/pull.ts) with the local
 * ports — the source ledger at `<home>/sources/<name>.json`, the landing folder, secrets from the
 * environment or `<home>/secrets.json` — then the pipeline on every file it landed, as the
 * landing bucket's trigger does on AWS.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { LocalObjectStore } from '../../adapters/local/object-store';
import { LocalSecretResolver } from '../../adapters/local/secrets';
import { LocalSourceLedger } from '../../adapters/local/source-ledger';
import { contractFileOf, loadContractFile } from '../../core/contract';
import { landingFileOf } from '../../core/layout';
import { SecretNotFoundError } from '../../core/errors';
import type { SourcePeriod } from '../../core/ports';
import { objectCreatedEvent } from '../../local/landing';
import { readFaultFile } from '../../local/faults';
import { TERMINAL_STATUSES, type RunRecord } from '../../local/run-record';
import { findSourceDefinition, SourceDefinitionError, type SourceDefinition } from '../../sources/definition';
import { parseTime, periodContaining } from '../../sources/periods';
import { pullSource, type PeriodOutcome, type PullResult } from '../../sources/pull';
import { templateProblem } from '../../sources/url-template';
import { EXIT, UsageError, type CliIo } from '../io';
import { runResultView, shortPath } from '../render';
import { brokenContract } from './contract';
import { homeOf, openPipeline, schemasDirOf, type PipelineFlags } from './shared';
import { outcomeLine } from './watch';

export interface PullFlags extends PipelineFlags {
  readonly from?: string;
  readonly to?: string;
  /** Another URL template for this pull (a test server, a mirror); the ledger is the source's. */
  readonly url?: string;
  /** Periods to try at most (default: the definition's maxPeriodsPerRun; a range: all of it). */
  readonly max?: number;
  /** Land only; no pipeline runs (`etl reconcile` runs them later). */
  readonly run?: boolean;
  /** Hidden, for tests: first retry pause in ms. */
  readonly retryBaseMs?: number;
}

const MARKS: Record<PeriodOutcome['status'], string> = {
  pulled: '✓',
  skipped: '·',
  'not-yet': '…',
  failed: '✗',
  missing: '✗',
};

export async function pullCommand(name: string, opts: PullFlags, io: CliIo): Promise<number> {
  const contracts = schemasDirOf(opts, io);
  let def: SourceDefinition;
  try {
    def = findSourceDefinition(contracts.dir, name);
  } catch (e) {
    if (e instanceof SourceDefinitionError)
      throw new UsageError(
        `${e.message} (sources are read from ${shortPath(contracts.dir, io.cwd)}, ${contracts.origin})`,
        EXIT.usage,
      );
    throw e;
  }
  if (opts.url !== undefined) {
    const problem = templateProblem(opts.url, def.cadence);
    if (problem) throw new UsageError(`--url ${opts.url}: ${problem}`, EXIT.usage);
    def = { ...def, url: opts.url };
  }
  if (!existsSync(contractFileOf(def.dataset, contracts.dir)))
    throw new UsageError(
      `source ${def.name} feeds dataset "${def.dataset}", which has no contract in ${shortPath(contracts.dir, io.cwd)}: write ${def.dataset}.schema.json (etl init on a sample file)`,
      EXIT.usage,
    );
  const broken = brokenContract(def.dataset, contracts, io.cwd);
  if (broken !== undefined)
    throw new UsageError(`the contract of dataset "${def.dataset}" is broken: ${broken}`, EXIT.usage);
  const format = landingFileOf(def.extension)?.format;
  const contract = loadContractFile(contractFileOf(def.dataset, contracts.dir));
  if (format !== contract.format)
    throw new UsageError(
      `${def.file}: its files land as ${def.extension} (${format ?? 'no format'}), but the contract of "${def.dataset}" reads ${contract.format}: set "extension" to the contract's format (e.g. ".${contract.format}.gz") or change the contract's "format"`,
      EXIT.usage,
    );
  const range = rangeOf(opts, def);

  const home = homeOf(opts, io);
  const store = new LocalObjectStore(home.root);
  const ledger = new LocalSourceLedger(path.join(home.root, 'sources'));
  const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  if (!opts.json) io.out(`pull ${def.name} → dataset ${def.dataset} (${def.cadence}, ${def.url})\n`);
  let result: PullResult;
  try {
    result = await pullSource({
      definition: def,
      ledger,
      store,
      landingBucket: home.landingBucket,
      secrets: new LocalSecretResolver(io.env, path.join(home.root, 'secrets.json')),
      owner,
      ...(range && { range }),
      ...(opts.max !== undefined && { maxPeriods: opts.max }),
      ...(opts.retryBaseMs !== undefined && { retryBaseMs: opts.retryBaseMs }),
      onPeriod: (o) => {
        if (!opts.json) io.out(`${periodLine(o)}\n`);
      },
    });
  } catch (e) {
    if (e instanceof SecretNotFoundError) throw new UsageError(e.message, EXIT.usage);
    throw e;
  }

  const pulled = result.periods.filter((p) => p.status === 'pulled');
  if (!opts.json) io.out(`${totalsLine(result)}\n`);

  // Then the pipeline, once per landed file, as the trigger rule starts it on AWS.
  const runs: RunRecord[] = [];
  if (opts.run !== false && pulled.length > 0) {
    const pipeline = openPipeline({ ...opts, json: true }, io);
    try {
      if (!opts.json) io.out(`pipeline on ${pulled.length} pulled file${pulled.length === 1 ? '' : 's'}\n`);
      const earlier = pipeline.runs.list();
      for (const o of pulled) {
        const info = await pipeline.store.head({ bucket: home.landingBucket, key: o.key });
        if (!info) continue; // already archived by a run another process started
        const done = earlier.find(
          (r) =>
            r.source?.key === o.key &&
            r.source.versionId === info.versionId &&
            TERMINAL_STATUSES.includes(r.status),
        );
        if (done) {
          if (!opts.json) io.out(`  · ${o.key}: run ${done.runId} ended ${done.displayStatus}\n`);
          continue;
        }
        const record = await pipeline.runtime.start(objectCreatedEvent(home.landingBucket, info), {
          faults: readFaultFile(home.faultsFile),
        }).done;
        runs.push(record);
        if (!opts.json) io.out(`  ${outcomeLine(record)}\n`);
      }
    } finally {
      pipeline.close();
    }
  }

  if (opts.json) {
    io.out(
      `${JSON.stringify({
        ...result,
        ledger: ledger.fileOf(def.name),
        runs: runs.map((r) => runResultView(r, path.join(home.runsDir, `${r.runId}.json`))),
      })}\n`,
    );
  } else if (result.pending > 0) {
    io.out(
      `${result.pending} more due period(s) left for the next pull (maxPeriodsPerRun ${def.maxPeriodsPerRun}; --max N to take more)\n`,
    );
  }
  // A failed period (the AWS side alarms on it) or a failed run: 1; a rejected file: 2.
  if (
    result.failures > 0 ||
    runs.some((r) => r.displayStatus !== 'SUCCEEDED' && r.displayStatus !== 'REJECTED')
  )
    return EXIT.failed;
  if (runs.some((r) => r.displayStatus === 'REJECTED')) return EXIT.rejected;
  return EXIT.ok;
}

function rangeOf(
  opts: PullFlags,
  def: SourceDefinition,
): { from?: SourcePeriod; to?: SourcePeriod } | undefined {
  if (opts.from === undefined && opts.to === undefined) return undefined;
  const at = (flag: string, text: string): SourcePeriod => {
    const ms = parseTime(text);
    if (ms === undefined)
      throw new UsageError(
        `${flag} "${text}" is not a time: write e.g. 2024-01-01, 2024-01-01T05 or 2024-01-01T05:00Z (UTC)`,
        EXIT.usage,
      );
    return periodContaining(ms, def.cadence);
  };
  const from = opts.from !== undefined ? at('--from', opts.from) : undefined;
  const to = opts.to !== undefined ? at('--to', opts.to) : undefined;
  if (from !== undefined && from < def.start)
    throw new UsageError(
      `--from ${opts.from} is before the source's start ${def.start} (${def.file}): pull from ${def.start} on, or move "start"`,
      EXIT.usage,
    );
  if (from !== undefined && to !== undefined && to < from)
    throw new UsageError(`--to ${opts.to} is before --from ${opts.from}`, EXIT.usage);
  return { ...(from !== undefined && { from }), ...(to !== undefined && { to }) };
}

function periodLine(o: PeriodOutcome): string {
  const when = `${o.period.slice(0, 10)} ${o.period.slice(11, 16)}`;
  const status = o.status.replace('-', ' ').padEnd(8);
  const detail =
    o.status === 'pulled'
      ? `${formatBytes(o.landed?.bytes ?? 0).padStart(10)}  ${o.key}${o.recovered ? ' (already in landing)' : ''}${o.requests > 1 ? ` after ${o.requests} requests` : ''}`
      : (o.reason ?? '');
  return `  ${MARKS[o.status]} ${when}  ${status} ${detail}`;
}

function totalsLine(r: PullResult): string {
  const n = (s: PeriodOutcome['status']) => r.periods.filter((p) => p.status === s).length;
  const bookmark = `bookmark ${r.bookmarkAfter ?? 'none'}${r.bookmarkAfter !== r.bookmarkBefore ? ` (was ${r.bookmarkBefore ?? 'none'})` : ''}`;
  if (r.periods.length === 0 && r.pending === 0)
    return r.newestDue === undefined
      ? `nothing due yet (the source starts later) · ${bookmark}`
      : `nothing due: up to date to ${r.newestDue} · ${bookmark}`;
  return `${bookmark} · ${n('pulled')} pulled · ${n('skipped')} skipped · ${n('not-yet')} not yet · ${n('failed') + n('missing')} failed · ${r.pending} pending`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
