/**
 * The pull Lambda's step, free of AWS: `createPullStep(ports)`. An EventBridge Scheduler schedule
 * per source invokes it with `{"source": "<name>"}`; it loads `<name>.source.json` from the bundled
 * contracts folder and pulls every due period once (sources/pull.ts), bounded per invocation.
 *
 * Failures of single periods are not thrown (the next invocation retries them): they are counted
 * in the `PullFailures` metric the stack alarms on. Only a setup problem throws (an unknown source,
 * a broken definition, a secret that cannot be read, the ledger unreachable): Lambda's Errors.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { bindRun, logger, metrics } from '../../core/instrumentation';
import type { ObjectStore, SecretResolver, SourceLedger, SourcePeriod } from '../../core/ports';
import { findSourceDefinition, type SourceDefinition } from '../../sources/definition';
import { parseTime, periodContaining } from '../../sources/periods';
import { pullSource, type PullResult } from '../../sources/pull';

/** What the schedule sends (`{source}`); an operator may add a range to pull again. */
export interface PullInput {
  readonly source: string;
  /**
   * Pull exactly these periods (UTC, both included; `2026-12-01`, `2026-12-01T05`, ...), like
   * `etl pull --from/--to`: not bounded by maxPeriodsPerRun, and periods given up as MISSING are
   * tried again. @default from the bookmark to the newest period due
   */
  readonly from?: string;
  readonly to?: string;
}

/** The Lambda context fields the step uses. */
export interface PullContext {
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

export interface PullPorts {
  readonly ledger: SourceLedger;
  /** The landing bucket's store. */
  readonly store: ObjectStore;
  readonly landingBucket: string;
  readonly secrets: SecretResolver;
  /** Folder holding `<name>.source.json` (the bundled contracts folder). */
  readonly sourcesDir: string;
  /** Options passed through to pullSource (tests: fetch, sleep, clock). */
  readonly pull?: Partial<
    Pick<Parameters<typeof pullSource>[0], 'fetch' | 'sleep' | 'now' | 'retryBaseMs' | 'retryMaxMs'>
  >;
}

/** No new period is claimed when less than this is left of the invocation. */
export const DEADLINE_MARGIN_MS = 90_000;
/** A claim outlives the invocation by this much, so a live pull is never taken over. */
export const LEASE_MARGIN_MS = 60_000;

/** What the invocation returns (kept small: the periods' outcomes without their URLs). */
export interface PullStepResult extends Omit<PullResult, 'periods'> {
  readonly pulled: number;
  readonly notYet: number;
  readonly periods: readonly { period: string; status: string; reason?: string; key: string }[];
}

/** The explicit range of the input, as periods of the source's cadence. */
function rangeOf(
  input: PullInput,
  def: SourceDefinition,
): { from?: SourcePeriod; to?: SourcePeriod } | undefined {
  if (input.from === undefined && input.to === undefined) return undefined;
  const at = (field: 'from' | 'to'): SourcePeriod | undefined => {
    const text = input[field];
    if (text === undefined) return undefined;
    const ms = typeof text === 'string' ? parseTime(text) : undefined;
    if (ms === undefined)
      throw new Error(
        `pull ${def.name}: "${field}": ${JSON.stringify(text)} is not a time. Fix: write e.g. 2026-12-01, 2026-12-01T05 or 2026-12-01T05:00Z (UTC)`,
      );
    return periodContaining(ms, def.cadence);
  };
  const from = at('from');
  const to = at('to');
  if (from !== undefined && from < def.start)
    throw new Error(
      `pull ${def.name}: "from" ${input.from} is before the source's start ${def.start} (${def.file}). Fix: pull from ${def.start} on, or move "start"`,
    );
  if (from !== undefined && to !== undefined && to < from)
    throw new Error(`pull ${def.name}: "to" ${input.to} is before "from" ${input.from}`);
  return { ...(from !== undefined && { from }), ...(to !== undefined && { to }) };
}

function sourceOf(input: unknown): string {
  const source = (input as { source?: unknown } | null)?.source;
  if (typeof source !== 'string' || source === '')
    throw new Error(
      `pull: the event ${JSON.stringify(input)?.slice(0, 200)} has no "source". Fix: invoke it with {"source": "<name of a <name>.source.json beside the contracts>"} (the stack's schedules do)`,
    );
  return source;
}

export function createPullStep(
  ports: PullPorts,
): (input: PullInput, context: PullContext) => Promise<PullStepResult> {
  return async (input, context) => {
    const name = sourceOf(input);
    const definition: SourceDefinition = findSourceDefinition(ports.sourcesDir, name);
    bindRun({ dataset: definition.dataset });
    logger.appendKeys({ source: definition.name });
    const range = rangeOf(input, definition);
    const remaining = context.getRemainingTimeInMillis();
    const started = Date.now();
    const result = await pullSource({
      definition,
      ledger: ports.ledger,
      store: ports.store,
      landingBucket: ports.landingBucket,
      secrets: ports.secrets,
      owner: context.awsRequestId,
      ...(range && { range }),
      deadlineMs: started + remaining - Math.min(DEADLINE_MARGIN_MS, remaining / 2),
      leaseMs: remaining + LEASE_MARGIN_MS,
      ...ports.pull,
      onPeriod: (o) => {
        const fields = {
          period: o.period,
          status: o.status,
          key: o.key,
          requests: o.requests,
          ms: o.durationMs,
        };
        if (o.status === 'failed' || o.status === 'missing')
          logger.error('period not pulled', { ...fields, reason: o.reason, attempts: o.attempts });
        else
          logger.info('period', {
            ...fields,
            ...(o.reason && { reason: o.reason }),
            ...(o.landed && { bytes: o.landed.bytes }),
          });
      },
    });
    const count = (status: string) => result.periods.filter((p) => p.status === status).length;
    const pulled = count('pulled');
    metrics.addDimension('source', definition.name);
    metrics.addMetric('PeriodsPulled', MetricUnit.Count, pulled);
    metrics.addMetric('PullFailures', MetricUnit.Count, result.failures);
    metrics.addMetric('PeriodsPending', MetricUnit.Count, result.pending);
    metrics.addMetric(
      'BytesPulled',
      MetricUnit.Bytes,
      result.periods.reduce((s, p) => s + (p.status === 'pulled' ? (p.landed?.bytes ?? 0) : 0), 0),
    );
    logger.info('pull finished', {
      pulled,
      failures: result.failures,
      pending: result.pending,
      bookmarkBefore: result.bookmarkBefore,
      bookmarkAfter: result.bookmarkAfter,
      newestDue: result.newestDue,
    });
    const { periods, ...rest } = result;
    return {
      ...rest,
      pulled,
      notYet: count('not-yet'),
      periods: periods.map((p) => ({
        period: p.period,
        status: p.status,
        key: p.key,
        ...(p.reason && { reason: p.reason }),
      })),
    };
  };
}
