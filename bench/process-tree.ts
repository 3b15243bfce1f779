/**
 * Peak memory of a process *tree*, sampled from /proc. A worker's own maxRSS misses the processes
 * it starts (Spark's Python driver and JVM), and GNU time's %M does not reach grandchildren, so
 * the harness samples the summed VmRSS of the worker and all its descendants a few times a second.
 * Shared pages are counted once per process, so this over- rather than under-states. Linux only:
 * elsewhere it reports nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';

function parentOf(pid: string): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 4 is the parent pid; field 2 (the name) may contain spaces, so skip past its ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
  } catch {
    return undefined; // the process ended while we looked
  }
}

function rssBytesOf(pid: string): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Summed RSS of `root` and every descendant right now. */
export function treeRssBytes(root: number): number {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return 0;
  }
  const children = new Map<string, string[]>();
  for (const pid of pids) {
    const parent = parentOf(pid);
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  let total = 0;
  const queue = [String(root)];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    total += rssBytesOf(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** Samples {@link treeRssBytes} every `intervalMs` until stopped; returns the highest sample. */
export function sampleTreePeak(root: number, intervalMs = 250): { stop(): number } {
  let peak = treeRssBytes(root);
  const timer = setInterval(() => {
    peak = Math.max(peak, treeRssBytes(root));
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}
