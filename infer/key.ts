/**
 * The primary key `etl init` proposes: ONE column, and only when it is never empty and unique over
 * the whole file — a key that is not unique would make `etl run` drop rows as duplicates. Only
 * columns whose name says they identify a row (`id`, `*_id`, `*_uuid`, `key`, `*_key`, `code`,
 * `*_code`) or the first column are tracked; another column that happens to be unique in one file
 * (a name, an amount) is not a key. Composite keys are not guessed: proving one unique costs a
 * pass per combination, and a wrong one loses rows.
 *
 * Memory: every value of a tracked column is kept until the column is ruled out (an empty cell, a
 * repeated value). Past {@link KEY_MEMORY_BUDGET} the least preferred column still tracked is
 * dropped (and the decision says so).
 */
import { QUOTED_EMPTY, type Cell } from '../csv/csv-records';
import type { ColumnDecision } from './column-profile';

/** Estimated bytes the tracked key values may take. */
export const KEY_MEMORY_BUDGET = 256 * 1024 * 1024;
/** A longer value is text, not an identifier. */
const MAX_KEY_LENGTH = 200;
/** Estimated bytes per kept value beyond its characters (Map entry, string header). */
const ENTRY_OVERHEAD = 64;

/** How much a name says "I identify a row": lower is better; undefined: not a key by name. */
export function keyPreference(name: string, index: number): number | undefined {
  if (name === 'id') return 0;
  if (/_id$|^uuid$|_uuid$|^guid$/.test(name)) return 1;
  if (/^key$|_key$|^code$|_code$/.test(name)) return 2;
  if (index === 0) return 3;
  return undefined;
}

interface Tracked {
  readonly index: number;
  readonly preference: number;
  /** Value → line it was first seen on; undefined once ruled out. */
  seen: Map<string, number> | undefined;
  why?: string;
}

export interface KeyDecision {
  /** [] = no key. */
  readonly columns: readonly string[];
  readonly why: string;
}

const show = (text: string) => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);

/** Tracks the key candidates of one file. */
export class KeyCandidates {
  private readonly tracked: Tracked[];
  private bytes = 0;

  constructor(
    private readonly names: readonly string[],
    private readonly budget = KEY_MEMORY_BUDGET,
  ) {
    this.tracked = [];
    names.forEach((name, index) => {
      const preference = keyPreference(name, index);
      if (preference !== undefined) this.tracked.push({ index, preference, seen: new Map() });
    });
    this.tracked.sort((a, b) => a.preference - b.preference || a.index - b.index);
  }

  /** Sees one row's cells (a row of the header's width). */
  observe(cells: readonly Cell[], line: number): void {
    for (const t of this.tracked) {
      const seen = t.seen;
      if (seen === undefined) continue;
      const cell = cells[t.index]!;
      if (cell === '' || cell === QUOTED_EMPTY) {
        this.drop(t, `empty on line ${line}`);
        continue;
      }
      if (cell.length > MAX_KEY_LENGTH) {
        this.drop(t, `a ${cell.length}-character value on line ${line} is text, not an identifier`);
        continue;
      }
      // "+5" and "5" are one integer: compare as the integer coercer would (errs towards "repeated").
      const value = /^\+\d+$/.test(cell) ? cell.slice(1) : cell === '-0' ? '0' : cell;
      const first = seen.get(value);
      if (first !== undefined) {
        this.drop(t, `${show(cell)} appears on line ${first} and again on line ${line}`);
        continue;
      }
      seen.set(value, line);
      this.bytes += 2 * value.length + ENTRY_OVERHEAD;
    }
    if (this.bytes > this.budget) this.shed();
  }

  private drop(t: Tracked, why: string): void {
    if (t.seen) for (const v of t.seen.keys()) this.bytes -= 2 * v.length + ENTRY_OVERHEAD;
    t.seen = undefined;
    t.why = why;
  }

  /** Over budget: stop tracking the least preferred column still tracked. */
  private shed(): void {
    for (let i = this.tracked.length - 1; i >= 0 && this.bytes > this.budget; i--) {
      const t = this.tracked[i]!;
      if (t.seen)
        this.drop(t, `too many distinct values to keep in memory (${Math.round(this.budget / 2 ** 20)} MiB)`);
    }
  }

  /**
   * The key: the most preferred tracked column still unique whose type makes a key (integer,
   * text, date, or a decimal without fraction digits); a text instead of a decision says why the
   * column is out (JSON: the value ended up inside a JSON-text column). `wholeFile` false: no key (uniqueness is
   * not proven), naming the column unique in the part read.
   */
  decide(decisions: readonly (ColumnDecision | string)[], wholeFile: boolean): KeyDecision {
    const reasons: string[] = [];
    for (const t of this.tracked) {
      const name = this.names[t.index]!;
      const d = decisions[t.index]!;
      if (!t.seen) {
        reasons.push(`${name}: ${t.why}`);
        continue;
      }
      if (typeof d === 'string') {
        reasons.push(`${name}: ${d}`);
        continue;
      }
      const keyType =
        d.type === 'integer' ||
        d.type === 'string' ||
        d.type === 'date' ||
        (d.type === 'decimal' && d.scale === 0);
      if (!keyType) {
        reasons.push(`${name}: a ${d.type} column is not an identifier`);
        continue;
      }
      if (!wholeFile) {
        return {
          columns: [],
          why: `none: "${name}" is unique in the part of the file read, but uniqueness over the whole file cannot be proven from a sample; if it identifies a row, add "primaryKey": ["${name}"]`,
        };
      }
      const unique = `"${name}" is never empty and unique over all ${d.values.toLocaleString('en-US')} rows`;
      const named = t.preference < 3 ? 'its name says it identifies a row' : 'it is the first column';
      return {
        columns: [name],
        why: `${unique}; ${named}${reasons.length > 0 ? ` (not: ${reasons.join('; ')})` : ''}`,
      };
    }
    const considered =
      this.tracked.length === 0
        ? 'no column is named like an identifier'
        : `no candidate is unique and never empty: ${reasons.join('; ')}`;
    return {
      columns: [],
      why: `none: ${considered}. Without a key every valid row is kept (no dedupe), exact duplicate lines included`,
    };
  }
}
