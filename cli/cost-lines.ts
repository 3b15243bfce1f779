/**
 * The modeled cost and latency block of `etl runs show` (core/cost.ts): one line per cost item,
 * the total, then upload→queryable by part. "modeled" marks every figure an assumption went into.
 */
import { formatUsd, type RunCostModel } from '../core/cost';
import { formatDuration, table } from './render';

export function costLines(cost: RunCostModel): string[] {
  const engine =
    cost.transformEngine === 'lambda'
      ? 'Transform in Lambda'
      : cost.transformEngine === 'glue'
        ? 'Transform on Glue'
        : 'no transform';
  const lines = [
    `  modeled AWS cost (us-east-1 list prices read ${cost.pricesReadOn}; ${engine}, crawler ${cost.crawlerRan ? 'ran' : 'not run'}):`,
    ...table(
      ['ITEM', 'QUANTITY', 'USD', 'BASIS'],
      [
        ...cost.lines.map((l) => [l.item, l.quantity, formatUsd(l.usd), l.basis]),
        ['total', '', formatUsd(cost.totalUsd), ''],
      ],
    ).map((l) => `    ${l}`),
    `  modeled upload → queryable: ${formatDuration(cost.latency.totalMs)}`,
    ...table(
      ['PART', 'TIME', 'BASIS'],
      cost.latency.parts.map((p) => [p.part, formatDuration(p.ms), p.basis]),
    ).map((l) => `    ${l}`),
  ];
  return lines;
}
