/**
 * The partition `etl init` proposes: a date column, or the UTC date of a timestamp column, at the
 * finest granularity (day, then month, then year) whose MEDIAN partition holds at least
 * {@link MIN_ROWS_PER_PARTITION} rows of the file; when even years are thinner than that, no
 * partition. The curated layout writes one Parquet object per source file per partition value, so
 * this keeps objects from being tiny (a thousand rows is a few tens of KB of Parquet: smaller ones
 * cost Athena more in opening files than in reading them). The median, not the mean, so a few
 * crowded days do not hide many near-empty ones.
 *
 * Only columns that are never empty qualify (a row without a partition value has no folder);
 * date columns before timestamps, then in file order.
 */
import type { ColumnDecision } from './column-profile';

export const MIN_ROWS_PER_PARTITION = 1000;

export type Granularity = 'day' | 'month' | 'year';

export interface PartitionDecision {
  /** The column (its SQL name), or null for no partition. */
  readonly column: string | null;
  readonly granularity?: Granularity;
  /** The partition key (Hive folder name) when the default would clash with a column. */
  readonly name?: string;
  /** The default or custom partition key. */
  readonly key?: string;
  readonly partitions?: number;
  readonly medianRows?: number;
  readonly why: string;
}

const GRAINS: readonly { grain: Granularity; chars: number }[] = [
  { grain: 'day', chars: 10 },
  { grain: 'month', chars: 7 },
  { grain: 'year', chars: 4 },
];

function median(values: number[]): number {
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}

/** Rows per partition value at each granularity, from the rows per day. */
export function partitionSizes(days: ReadonlyMap<string, number>): Record<Granularity, number[]> {
  const out = {} as Record<Granularity, number[]>;
  for (const { grain, chars } of GRAINS) {
    const counts = new Map<string, number>();
    for (const [day, n] of days) counts.set(day.slice(0, chars), (counts.get(day.slice(0, chars)) ?? 0) + n);
    out[grain] = [...counts.values()];
  }
  return out;
}

/** The partition key the contract derives (contract v2 partition table). */
function defaultKey(column: string, type: 'date' | 'timestamp', grain: Granularity): string {
  return type === 'date' && grain === 'day' ? column : `${column}_${grain}`;
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** Chooses the partition from the columns' decisions (names in file order). */
export function choosePartition(
  names: readonly string[],
  decisions: readonly ColumnDecision[],
  minRows = MIN_ROWS_PER_PARTITION,
): PartitionDecision {
  const candidates = decisions
    .map((d, i) => ({ d, name: names[i]! }))
    .filter(({ d }) => d.type === 'date' || d.type === 'timestamp')
    .sort((a, b) => Number(a.d.type === 'timestamp') - Number(b.d.type === 'timestamp'));
  if (candidates.length === 0) return { column: null, why: 'none: the file has no date or timestamp column' };
  const notes: string[] = [];
  for (const { d, name } of candidates) {
    if (!d.required) {
      notes.push(`"${name}" is empty on line ${d.firstEmptyLine}`);
      continue;
    }
    if (!d.days) {
      notes.push(`"${name}" spans too many days to count`);
      continue;
    }
    const sizes = partitionSizes(d.days);
    const medians = GRAINS.map(({ grain }) => ({
      grain,
      n: sizes[grain].length,
      median: median(sizes[grain]),
    }));
    const fit = medians.find((m) => m.median >= minRows);
    const byGrain = medians.map((m) => `${m.grain}: ${m.n} × median ${count(m.median)} rows`).join(', ');
    if (!fit) {
      notes.push(`"${name}" would give ${byGrain} — all under ${count(minRows)} rows per partition`);
      continue;
    }
    const type = d.type as 'date' | 'timestamp';
    const key = defaultKey(name, type, fit.grain);
    const clash = names.some((n) => n === key && !(n === name && type === 'date' && fit.grain === 'day'));
    let custom: string | undefined;
    if (clash) {
      custom = `${key}_part`;
      for (let i = 2; names.includes(custom); i++) custom = `${key}_part${i}`;
    }
    const derived = type === 'timestamp' ? `the UTC date of "${name}"` : `"${name}"`;
    return {
      column: name,
      granularity: fit.grain,
      key: custom ?? key,
      ...(custom !== undefined && { name: custom }),
      partitions: fit.n,
      medianRows: fit.median,
      why:
        `${derived} by ${fit.grain}: ${fit.n} partition(s), median ${count(fit.median)} rows (≥ ${count(minRows)}; ${byGrain})` +
        (custom !== undefined ? `; key named "${custom}" because a column is called "${key}"` : '') +
        (notes.length > 0 ? ` (not: ${notes.join('; ')})` : ''),
    };
  }
  return {
    column: null,
    why: `none: ${notes.join('; ')}. Objects go directly under curated/<dataset>/, one per file`,
  };
}
