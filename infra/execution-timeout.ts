/**
 * The state machine's execution-level TimeoutSeconds (statemachines/pipeline.asl.json, top level)
 * must outlast the slowest run the definition allows, or a healthy run would be cut short; and it
 * should not be much longer, since it is what ends a stuck run (record-failure then marks it
 * FAILED and the stopped-run e-mail goes out). This computes that slowest run from the file.
 */

interface AslRetrier {
  readonly ErrorEquals: readonly string[];
  readonly IntervalSeconds?: number;
  readonly MaxAttempts?: number;
  readonly BackoffRate?: number;
  readonly MaxDelaySeconds?: number;
}

interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly Default?: string;
  readonly Seconds?: number;
  readonly TimeoutSeconds?: number;
  readonly Retry?: readonly AslRetrier[];
  readonly Choices?: readonly { readonly Next: string }[];
  readonly Catch?: readonly { readonly Next: string }[];
}

export interface AslDefinition {
  readonly StartAt: string;
  readonly TimeoutSeconds?: number;
  readonly States: Readonly<Record<string, AslState>>;
}

/**
 * The longest one state can take: every attempt that may end in its own timeout (the first, and
 * each retry of `States.Timeout` / `States.ALL`) runs to TimeoutSeconds, and every retrier waits
 * its whole backoff (capped by MaxDelaySeconds; jitter only shortens it). Other errors are taken to
 * fail fast, as Lambda's and Glue's service errors do. Wait states count their Seconds.
 */
export function stateWorstCaseSeconds(state: AslState): number {
  if (state.Type === 'Wait') return state.Seconds ?? 0;
  if (state.Type !== 'Task') return 0;
  // Step Functions' own default when a Task has none: 99999999 s; every task here sets one.
  const timeout = state.TimeoutSeconds ?? 99_999_999;
  let attempts = 1;
  let delays = 0;
  for (const r of state.Retry ?? []) {
    const max = r.MaxAttempts ?? 3;
    const interval = r.IntervalSeconds ?? 1;
    const rate = r.BackoffRate ?? 2;
    const cap = r.MaxDelaySeconds ?? Number.POSITIVE_INFINITY;
    for (let i = 0; i < max; i++) delays += Math.min(interval * rate ** i, cap);
    if (r.ErrorEquals.some((e) => e === 'States.Timeout' || e === 'States.ALL')) attempts += max;
  }
  return attempts * timeout + delays;
}

/** The slowest path from StartAt to an end (the definition has no loops), in seconds. */
export function worstCaseExecutionSeconds(asl: AslDefinition): number {
  const memo = new Map<string, number>();
  const visiting = new Set<string>();
  const longest = (name: string): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const state = asl.States[name];
    if (!state) throw new Error(`statemachines/pipeline.asl.json: no state "${name}"`);
    if (visiting.has(name))
      throw new Error(
        `statemachines/pipeline.asl.json: a loop through "${name}"; the worst case is unbounded`,
      );
    visiting.add(name);
    const next = [
      state.Next,
      state.Default,
      ...(state.Choices ?? []).map((c) => c.Next),
      ...(state.Catch ?? []).map((c) => c.Next),
    ].filter((n): n is string => n !== undefined);
    const total = stateWorstCaseSeconds(state) + Math.max(0, ...next.map(longest));
    visiting.delete(name);
    memo.set(name, total);
    return total;
  };
  return longest(asl.StartAt);
}
