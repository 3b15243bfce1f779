/**
 * Periods of a pulled source, in UTC. A period is named by its start, always written
 * `YYYY-MM-DDTHH:00:00Z` ({@link SourcePeriod}), so string order is time order and the ledger can
 * compare them as text. UTC has no daylight-saving jumps: an hour is always 3,600 s and a day
 * 86,400 s, so period arithmetic is plain integer arithmetic on milliseconds.
 */
import type { SourcePeriod } from '../core/ports';

export type Cadence = 'hourly' | 'daily';
export const CADENCES: readonly Cadence[] = ['hourly', 'daily'];

const HOUR_MS = 3_600_000;
/** Length of one period of `cadence`, in ms. */
export function periodMs(cadence: Cadence): number {
  return cadence === 'hourly' ? HOUR_MS : 24 * HOUR_MS;
}

const PERIOD_TEXT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):00:00Z$/;

/** The period's name for a start time in ms. */
export function periodOf(ms: number): SourcePeriod {
  return `${new Date(ms).toISOString().slice(0, 13)}:00:00Z`;
}

/** Start of a period in ms; throws on text that is not a period name. */
export function periodStartMs(period: SourcePeriod): number {
  const m = PERIOD_TEXT.exec(period);
  const ms = m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!) : NaN;
  if (!m || Number.isNaN(ms) || periodOf(ms) !== period)
    throw new RangeError(`"${period}" is not a period (YYYY-MM-DDTHH:00:00Z)`);
  return ms;
}

/** Whether `ms` is the start of a period of `cadence` (a whole hour; a whole UTC day). */
export function isAligned(ms: number, cadence: Cadence): boolean {
  return ms % periodMs(cadence) === 0;
}

/** The period of `cadence` that contains `ms`. */
export function periodContaining(ms: number, cadence: Cadence): SourcePeriod {
  const len = periodMs(cadence);
  return periodOf(Math.floor(ms / len) * len);
}

export function nextPeriod(period: SourcePeriod, cadence: Cadence): SourcePeriod {
  return periodOf(periodStartMs(period) + periodMs(cadence));
}

export function previousPeriod(period: SourcePeriod, cadence: Cadence): SourcePeriod {
  return periodOf(periodStartMs(period) - periodMs(cadence));
}

/**
 * The newest period that is due at `nowMs`: its end plus `publishDelayMs` has passed. Undefined
 * when even `start`'s is not due yet.
 */
export function newestDuePeriod(
  start: SourcePeriod,
  cadence: Cadence,
  publishDelayMs: number,
  nowMs: number,
): SourcePeriod | undefined {
  const len = periodMs(cadence);
  const startMs = periodStartMs(start);
  const n = Math.floor((nowMs - publishDelayMs - len - startMs) / len);
  return n < 0 ? undefined : periodOf(startMs + n * len);
}

/** Periods from `from` to `to`, both included (none when `to` is before `from`). */
export function* periodsBetween(
  from: SourcePeriod,
  to: SourcePeriod,
  cadence: Cadence,
): Generator<SourcePeriod> {
  const len = periodMs(cadence);
  const end = periodStartMs(to);
  for (let ms = periodStartMs(from); ms <= end; ms += len) yield periodOf(ms);
}

/** How many periods `from`…`to` (both included) spans; 0 when `to` is before `from`. */
export function countPeriods(from: SourcePeriod, to: SourcePeriod, cadence: Cadence): number {
  const n = Math.floor((periodStartMs(to) - periodStartMs(from)) / periodMs(cadence)) + 1;
  return Math.max(0, n);
}

/**
 * A short label for names (landing keys): `2024-01-01-05` hourly, `2024-01-01` daily.
 */
export function periodLabel(period: SourcePeriod, cadence: Cadence): string {
  const day = period.slice(0, 10);
  return cadence === 'daily' ? day : `${day}-${period.slice(11, 13)}`;
}

/**
 * Reads a time a user typed (`--from`, `--to`, a definition's `start`): an ISO date
 * (`2024-01-01`), date and hour (`2024-01-01T05`, `2024-01-01T05:00`, `…:00:00Z`, `…+02:00`), or a
 * period label (`2024-01-01-05`). Times without a zone are UTC. Returns ms, or undefined when
 * the text is none of these.
 */
export function parseTime(text: string): number | undefined {
  const t = text.trim();
  let m = /^(\d{4})-(\d{2})-(\d{2})(?:[T -](\d{2}))?$/.exec(t);
  if (m) {
    const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, m[4] === undefined ? 0 : +m[4]);
    return sameFields(ms, m) ? ms : undefined;
  }
  m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/.exec(t);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}${m[7] ?? 'Z'}`);
  return Number.isNaN(ms) ? undefined : ms;
}

function sameFields(ms: number, m: RegExpExecArray): boolean {
  const d = new Date(ms);
  return (
    d.getUTCFullYear() === +m[1]! &&
    d.getUTCMonth() + 1 === +m[2]! &&
    d.getUTCDate() === +m[3]! &&
    (m[4] === undefined || d.getUTCHours() === +m[4])
  );
}
