/**
 * `etl reconcile`: the local twin of the scheduled reconcile sweep. Every landing file whose
 * current version has no finished run gets one: never run (a missed event, a file copied in
 * while nothing watched) → a new run; left RUNNING by a runner that was killed → marked ABORTED
 * and redriven from the state it was in. Files with a FAILED run are listed with the redrive
 * command, not re-run (a redrive resumes where it failed).
 */
import { checkLandingKey } from '../../core/layout';
import { landingFiles, landingObject } from '../../local/landing-files';
import { objectCreatedEvent } from '../../local/landing';
import { readFaultFile } from '../../local/faults';
import { isInterrupted, TERMINAL_STATUSES, type RunRecord } from '../../local/run-record';
import type { RunHandle } from '../../local/runtime';
import { WorkQueue } from '../../local/work-queue';
import { EXIT, type CliIo } from '../io';
import { runResultView, shortPath } from '../render';
import { markAborted } from './redrive';
import { brokenContract } from './contract';
import { openPipeline, schemasDirOf, type PipelineFlags } from './shared';
import { outcomeLine } from './watch';

export interface ReconcileFlags extends PipelineFlags {
  readonly concurrency?: number;
}

interface Decision {
  readonly file: string;
  readonly key?: string;
  readonly action: 'started' | 'redriven' | 'skipped' | 'unmappable';
  readonly why: string;
  runId?: string;
  status?: string;
}

export async function reconcileCommand(opts: ReconcileFlags, io: CliIo): Promise<number> {
  const pipeline = openPipeline({ ...opts, json: true }, io); // per-state lines of many runs help nobody
  const { home, store, runs, runtime } = pipeline;
  const queue = new WorkQueue(opts.concurrency ?? 4);
  const decisions: Decision[] = [];
  const records = runs.list();
  let failed = 0;
  const contracts = schemasDirOf(opts, io);
  let heldForContract = 0;

  for (const file of landingFiles(home)) {
    const object = await landingObject(store, home, file);
    if (!object) {
      decisions.push({
        file,
        action: 'unmappable',
        why: 'the name cannot be a landing key as is; rename the file',
      });
      continue;
    }
    const { key, info } = object;
    const mine = records.filter(
      (r) =>
        r.source?.bucket === home.landingBucket &&
        r.source.key === key &&
        r.source.versionId === info.versionId,
    );
    const finished = mine.find((r) => TERMINAL_STATUSES.includes(r.status));
    const interrupted = mine.find(isInterrupted);
    const running = mine.find((r) => r.status === 'RUNNING' && !isInterrupted(r));
    let start: (() => RunHandle) | undefined;
    let decision: Decision;
    if (finished) {
      decision = {
        file,
        key,
        action: 'skipped',
        why:
          finished.displayStatus === 'FAILED'
            ? `run ${finished.runId} FAILED at ${finished.endState}; fix the cause, then: etl redrive ${finished.runId}`
            : `run ${finished.runId} ended ${finished.displayStatus}`,
      };
    } else if (running) {
      decision = { file, key, action: 'skipped', why: `run ${running.runId} is in progress` };
    } else if (interrupted) {
      markAborted(interrupted);
      runs.save(interrupted);
      decision = {
        file,
        key,
        action: 'redriven',
        why: `run ${interrupted.runId} was interrupted at ${lastState(interrupted)}`,
      };
      start = () => runtime.redrive(interrupted.runId, { faults: readFaultFile(home.faultsFile) });
    } else {
      decision = { file, key, action: 'started', why: 'no run for this version' };
      start = () =>
        runtime.start(objectCreatedEvent(home.landingBucket, info), {
          faults: readFaultFile(home.faultsFile),
        });
    }
    const check = checkLandingKey(key);
    const broken = start && check.ok ? brokenContract(check.dataset, contracts, io.cwd) : undefined;
    if (broken !== undefined) {
      // A usage problem, not a run: nothing is started, no record, the file stays in landing.
      decision = {
        file,
        key,
        action: 'skipped',
        why: `not run: the contract of dataset "${check.ok ? check.dataset : ''}" is broken: ${broken}`,
      };
      start = undefined;
      heldForContract += 1;
      if (opts.json) io.err(`etl reconcile: ${key}: ${decision.why}\n`);
    }
    decisions.push(decision);
    if (!opts.json) io.out(`${decision.action.padEnd(10)} ${key}  ${decision.why}\n`);
    if (start) {
      const begin = start;
      queue.push(async () => {
        const handle = begin();
        decision.runId = handle.runId;
        const record = await handle.done;
        decision.status = record.displayStatus;
        if (record.displayStatus !== 'SUCCEEDED') failed += 1;
        if (!opts.json) io.out(`  ${outcomeLine(record)}\n`);
        else io.out(`${JSON.stringify(runResultView(record, runs.fileOf(record.runId)))}\n`);
      });
    }
  }
  await queue.idle();
  pipeline.close();
  if (!opts.json) {
    const n = (a: Decision['action']) => decisions.filter((d) => d.action === a).length;
    io.out(
      decisions.length === 0
        ? `nothing to reconcile in ${shortPath(home.incomingDir, io.cwd)}\n`
        : `reconciled: ${n('started')} started, ${n('redriven')} redriven, ${n('skipped')} skipped, ${n('unmappable')} unmappable\n`,
    );
  }
  // A broken contract is a usage problem (64), as for `etl run`; it wins over failed runs (1).
  return heldForContract > 0 ? EXIT.usage : failed > 0 ? EXIT.failed : EXIT.ok;
}

function lastState(record: RunRecord): string {
  const entered = record.events.findLast((e) => e.stateEnteredEventDetails);
  return entered?.stateEnteredEventDetails?.name ?? 'the start';
}
