/**
 * Fault injection for the local runtime: make a named Task state fail its first N attempts with
 * a given error name, so retries, catches and redrives are exercised through the real ASL.
 *
 * Programmatic: `runtime.start(event, { faults: { Transform: { error: 'Glue.ConcurrentRunsExceededException', times: 2 } } })`.
 * From the command line or another process: the same object in `<home>/faults.json`; it is read
 * when a run (or redrive) starts, so deleting the file "fixes" the fault for the next redrive.
 */
import { readFileSync } from 'node:fs';

export interface FaultSpec {
  /** The error name the state fails with (what ASL `ErrorEquals` matches). */
  readonly error: string;
  /** The Cause text. @default a message saying the fault was injected */
  readonly cause?: string;
  /** How many attempts fail; omitted = every attempt (the fault is permanent). */
  readonly times?: number;
}

/** State name → fault. */
export type FaultPlan = Readonly<Record<string, FaultSpec>>;

/** Thrown by a faulted state; its name is the injected error name. */
export class InjectedFault extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/** Reads `<home>/faults.json`; none = no faults. A malformed file is an error naming it. */
export function readFaultFile(file: string): FaultPlan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  let plan: unknown;
  try {
    plan = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message}). Fix or delete the file.`, {
      cause: e,
    });
  }
  if (typeof plan !== 'object' || plan === null || Array.isArray(plan))
    throw new Error(`${file}: expected an object of state name → { "error": ..., "times": N }`);
  for (const [state, spec] of Object.entries(plan as Record<string, unknown>)) {
    const s = spec as Partial<FaultSpec> | null;
    if (typeof s !== 'object' || s === null || typeof s.error !== 'string' || s.error === '')
      throw new Error(`${file}: fault for state "${state}" needs an "error" name, e.g. "States.TaskFailed"`);
    if (s.times !== undefined && (!Number.isInteger(s.times) || s.times < 0))
      throw new Error(`${file}: "times" for state "${state}" must be a whole number ≥ 0`);
  }
  return plan as FaultPlan;
}

/** Counts attempts per state for one execution and throws while a fault still applies. */
export class FaultInjector {
  private readonly attempts = new Map<string, number>();

  constructor(private readonly plan: FaultPlan) {}

  /** Call at the start of every attempt of a Task state. */
  check(stateName: string): void {
    const spec = this.plan[stateName];
    if (!spec) return;
    const n = (this.attempts.get(stateName) ?? 0) + 1;
    this.attempts.set(stateName, n);
    if (spec.times === undefined || n <= spec.times) {
      throw new InjectedFault(
        spec.error,
        spec.cause ??
          `Injected fault ${n}${spec.times === undefined ? '' : `/${spec.times}`} for state ${stateName}`,
      );
    }
  }
}
