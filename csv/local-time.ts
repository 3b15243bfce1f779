/**
 * Calendar arithmetic and time-zone resolution for the validate step, without `Date` quirks
 * (`Date.UTC(50, 0)` is 1950; `new Date('2024-02-30')` rolls over to March).
 *
 * Times are plain integers: seconds since 1970-01-01T00:00:00Z (the fraction travels separately
 * as text, so microseconds are never rounded through a float).
 */

/** Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Inverse of {@link daysFromCivil}. */
export function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [era * 400 + yoe + (m <= 2 ? 1 : 0), m, d];
}

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeapYear(y) ? 29 : MONTH_DAYS[m - 1]!;
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));
const pad4 = (n: number) => String(n).padStart(4, '0');

/** `YYYY-MM-DDTHH:MM:SS` of an epoch second, in UTC. */
export function formatUtcSeconds(epochSeconds: number): { text: string; year: number } {
  const days = Math.floor(epochSeconds / 86400);
  const secOfDay = epochSeconds - days * 86400;
  const [y, m, d] = civilFromDays(days);
  const hh = Math.floor(secOfDay / 3600);
  const mi = Math.floor((secOfDay % 3600) / 60);
  const ss = secOfDay % 60;
  return { text: `${pad4(y)}-${pad2(m)}-${pad2(d)}T${pad2(hh)}:${pad2(mi)}:${pad2(ss)}`, year: y };
}

/** Result of placing a wall-clock time in a zone. */
export type LocalTimeResolution =
  { readonly kind: 'unique' | 'ambiguous'; readonly epochSeconds: number } | { readonly kind: 'nonexistent' };

/**
 * Resolves wall-clock times in one IANA zone to UTC. Offsets come from `Intl` (the ICU time-zone
 * database Node ships) and are cached per quarter hour, because a file's timestamps cluster.
 *
 * Ambiguous times (the repeated hour when clocks go back) resolve to the EARLIER instant, i.e.
 * the first occurrence, with the summer offset — what java.time and Python's fold=0 do. Times in
 * the gap when clocks go forward do not exist and are reported as such, never shifted.
 */
export class ZoneResolver {
  private readonly format: Intl.DateTimeFormat;
  private readonly offsets = new Map<number, number>();

  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** Offset (seconds east of UTC) in force at a UTC instant. */
  offsetAt(epochSeconds: number): number {
    const bucket = Math.floor(epochSeconds / 900);
    const cached = this.offsets.get(bucket);
    if (cached !== undefined && Number.isInteger(cached / 900)) return cached;
    const offset = this.computeOffset(epochSeconds);
    // Quarter-hour caching is only exact for offsets that are whole quarter hours (all modern
    // zones); historic local-mean-time offsets (e.g. +00:53:28) are computed every time.
    if (this.offsets.size > 100_000) this.offsets.clear();
    this.offsets.set(bucket, offset);
    return offset;
  }

  private computeOffset(epochSeconds: number): number {
    const parts = this.format.formatToParts(new Date(epochSeconds * 1000));
    let y = 0,
      m = 0,
      d = 0,
      h = 0,
      mi = 0,
      s = 0,
      bc = false;
    for (const p of parts) {
      switch (p.type) {
        case 'year':
          y = Number(p.value);
          break;
        case 'month':
          m = Number(p.value);
          break;
        case 'day':
          d = Number(p.value);
          break;
        case 'hour':
          h = Number(p.value);
          break;
        case 'minute':
          mi = Number(p.value);
          break;
        case 'second':
          s = Number(p.value);
          break;
        case 'era':
          bc = p.value.startsWith('B');
          break;
      }
    }
    if (bc) y = 1 - y;
    const wall = daysFromCivil(y, m, d) * 86400 + h * 3600 + mi * 60 + s;
    return wall - epochSeconds;
  }

  /** Places a wall-clock time (given as if it were UTC seconds) in this zone. */
  resolve(wallSeconds: number): LocalTimeResolution {
    // Offsets a day either side bracket any single transition near this time.
    const before = this.offsetAt(wallSeconds - 86400);
    const after = this.offsetAt(wallSeconds + 86400);
    const candidates: number[] = [];
    for (const offset of before === after ? [before] : [before, after]) {
      const t = wallSeconds - offset;
      if (this.offsetAt(t) === offset) candidates.push(t);
    }
    if (candidates.length === 0) {
      // Rare: a transition not bracketed above (or more than one in two days); check directly.
      const guess = wallSeconds - this.offsetAt(wallSeconds);
      if (guess + this.offsetAt(guess) === wallSeconds) return { kind: 'unique', epochSeconds: guess };
      return { kind: 'nonexistent' };
    }
    if (candidates.length === 2 && candidates[0] !== candidates[1]) {
      return { kind: 'ambiguous', epochSeconds: Math.min(candidates[0]!, candidates[1]!) };
    }
    return { kind: 'unique', epochSeconds: candidates[0]! };
  }
}
