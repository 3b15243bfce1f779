/**
 * State lines for a run followed from the outside (a deployed execution, or a local run record
 * written by another process): fed successive snapshots of the run's steps, it returns the lines
 * that are new since the last one, in the format `etl run` prints locally (cli/render.ts
 * progressLine): one line per finished state visit, one per retry.
 */
import type { StepView } from '../remote/run-view';
import { formatDuration, MARK, readableCause } from './render';

const pad = (name: string) => name.padEnd(18);
const oneLine = (text: string, max = 160) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** Remembers what was printed; {@link next} returns only new lines. */
export class StepLines {
  private readonly seen = new Map<string, { visits: number; retries: number; done: boolean }>();

  next(steps: readonly StepView[]): string[] {
    const lines: string[] = [];
    for (const s of steps) {
      const before = this.seen.get(s.name);
      const newVisit = !before || s.visits > before.visits;
      // Retries are summed over visits: any increase is a new retry.
      const retries = s.retries - (before?.retries ?? 0);
      if (retries > 0) {
        const error = s.retriedErrors.at(-1) ?? 'an error';
        lines.push(`  ${MARK.retry} ${pad(s.name)} retry ${s.retries} after ${error}`);
      }
      const done = s.status !== 'RUNNING';
      if (done && (newVisit || !before!.done)) lines.push(finishedLine(s));
      this.seen.set(s.name, { visits: s.visits, retries: s.retries, done });
    }
    return lines;
  }
}

function finishedLine(s: StepView): string {
  const duration = formatDuration(s.durationMs).padStart(8);
  const retries = s.retries > 0 ? `  (${s.retries} ${s.retries === 1 ? 'retry' : 'retries'})` : '';
  const why = s.error ? `  ${s.error}: ${oneLine(readableCause(s.cause))}` : '';
  switch (s.status) {
    case 'SUCCEEDED':
      return `  ${MARK.ok} ${pad(s.name)} SUCCEEDED  ${duration}${retries}`;
    case 'CAUGHT':
      return `  ${MARK.caught} ${pad(s.name)} CAUGHT     ${duration}${why}`;
    default:
      return `  ${MARK.failed} ${pad(s.name)} ${s.status.padEnd(10)} ${duration}${why}`;
  }
}
