/**
 * Tables for the terminal and for bench/RESULTS.md: one renderer, so what the lead pastes into the
 * README is exactly what the run printed.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

export const MIB = 1024 * 1024;

/** A Markdown table whose columns are padded, so it reads well in a terminal too. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function mib(bytes: number): string {
  return (bytes / MIB).toFixed(bytes < 10 * MIB ? 2 : 0);
}

export function mibPerSecond(bytes: number, seconds: number): string {
  return seconds > 0 ? (bytes / MIB / seconds).toFixed(1) : '—';
}

export function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(0)}%`;
}

export function verdict(pass: boolean): string {
  return pass ? 'PASS' : 'FAIL';
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** What the numbers were measured on, for the top of RESULTS.md. */
export function machineInfo(): string[] {
  const cpus = os.cpus();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout: the commit line just says so
  }
  const [load1, load5] = os.loadavg();
  return [
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}`,
    `- Load average at start: ${load1!.toFixed(2)} (1 min), ${load5!.toFixed(2)} (5 min) — the machine is shared, so compare the ratios, not the absolute numbers`,
    `- Node ${process.version}, commit ${commit}`,
  ];
}
