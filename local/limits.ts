/**
 * AWS's limits, simulated by the local runtime (issue 12, "bursts never fail"): what a burst of
 * uploads meets on AWS and the local runtime otherwise would not.
 *
 * - **Glue concurrent runs**: at most `glue.maxConcurrentRuns` transform runs at once (the job's
 *   MaxConcurrentRuns, `etl:glueMaxConcurrentRuns`). With job-run queuing (the stack's setting, and
 *   the Transform state passes `JobRunQueuingEnabled: true`) a run past the limit waits, first in
 *   first out, as a Glue run waits in WAITING; without it the start fails with
 *   `Glue.ConcurrentRunsExceededException`, as StartJobRun does on AWS, and the ASL's retrier runs.
 * - **Lambda concurrency**: a function with reserved concurrency runs at most that many
 *   invocations at once; the others share what the account limit leaves. An invocation past its
 *   limit fails with `Lambda.TooManyRequestsException` (the Lambda integration's error for a
 *   throttled invoke), which every Lambda state's retrier retries.
 * - **Throttling**: a fraction `throttle.rate` of the calls the steps make to S3 (the object
 *   store), DynamoDB (the ledger) and Glue (the catalog; and StartJobRun) fails as the AWS adapters
 *   surface a throttle once the SDK's own retries are spent: `TransientDependencyError` naming the
 *   service and `ThrottlingException` (or `Glue.ThrottlingException` for StartJobRun). A throttled
 *   call has no effect; the calls before it in the same step did — steps must be idempotent.
 *
 * Retry pauses: locally every Retry pause is 0 (local/runtime.ts), which would spend a retrier
 * meant to outwait a limit in milliseconds. With limits on, the retriers for
 * `Lambda.TooManyRequestsException` and `Glue.ConcurrentRunsExceededException` keep the ASL's
 * backoff (and jitter) scaled to `retryMsPerSecond` ms per second of AWS time (default 50).
 *
 * The limits hold within one process (one `etl watch`, `etl reconcile` or test); two `etl run`
 * processes at once do not see each other's runs.
 *
 * Programmatic: `createLocalPipeline({ ..., limits })`; from the command line: the same object in
 * `<home>/limits.json`, read when the pipeline is built (at `etl watch` / `etl reconcile` start).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { TransientDependencyError } from '../core/errors';
import { TaskFailure } from './integrations';

export interface GlueLimits {
  /** The job's MaxConcurrentRuns. */
  readonly maxConcurrentRuns: number;
  /**
   * Job-run queuing on the job and its runs (what the stack deploys). false: a run past the limit
   * fails with Glue.ConcurrentRunsExceededException, as before issue 12. @default true
   */
  readonly queuing?: boolean;
}

export interface LambdaLimits {
  /** The account's concurrent executions (shared by every function without a reservation). */
  readonly accountConcurrency?: number;
  /** Reserved concurrency per function (folder name under functions/, e.g. `transform`). */
  readonly reserved?: Readonly<Record<string, number>>;
}

/** Services whose calls can be throttled. */
export type ThrottledService = 's3' | 'dynamodb' | 'glue';
export const THROTTLED_SERVICES: readonly ThrottledService[] = ['s3', 'dynamodb', 'glue'];

export interface ThrottleLimits {
  /** Fraction of calls (0–1) that fail throttled. */
  readonly rate: number;
  /** @default every service in {@link THROTTLED_SERVICES} */
  readonly services?: readonly ThrottledService[];
  /** Seed of the pseudo-random draw, for a repeatable run. @default a random seed */
  readonly seed?: number;
}

export interface LimitsPlan {
  readonly glue?: GlueLimits;
  readonly lambda?: LambdaLimits;
  readonly throttle?: ThrottleLimits;
  /**
   * Milliseconds of local pause per second of a limit retrier's AWS backoff (0: no pause, the
   * retrier's attempts are spent at once). @default {@link DEFAULT_LIMIT_RETRY_MS_PER_SECOND}
   */
  readonly retryMsPerSecond?: number;
}

/**
 * 50 ms per AWS second, the ratio of a step's local time to its time on AWS (a small file's
 * transform: ≈ 150 ms locally, ≈ 3 s in the Lambda): a retrier then outwaits as many local steps
 * as it would outwait on AWS. Validate's throttle retrier (≈ 17 min at most on AWS) waits up to
 * ≈ 52 s locally. Smaller values are harsher than AWS: under a backlog of throttled invocations a
 * retry succeeds only if it finds a slot free, so the budget must outlast the backlog's drain.
 */
export const DEFAULT_LIMIT_RETRY_MS_PER_SECOND = 50;

/** Errors a limit retrier outwaits; their pauses follow `retryMsPerSecond` (local/runtime.ts). */
export const LIMIT_ERRORS: readonly string[] = [
  'Lambda.TooManyRequestsException',
  'Glue.ConcurrentRunsExceededException',
];

/** What the limits did, for tests and `<home>/limits-stats.json`. */
export interface LimitStats {
  glue: { peakRunning: number; queued: number; rejected: number; throttled: number };
  lambda: { peakTotal: number; peakByFunction: Record<string, number>; throttled: number };
  throttled: Record<ThrottledService, number>;
}

/** Checks a plan (from code or limits.json); the error names the field and what to write. */
export function checkLimitsPlan(plan: unknown, where = 'limits'): LimitsPlan {
  const fail = (what: string): never => {
    throw new Error(`${where}: ${what}`);
  };
  const positiveInt = (v: unknown, field: string) => {
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < 1))
      fail(`"${field}" must be a whole number ≥ 1, got ${JSON.stringify(v)}`);
  };
  if (typeof plan !== 'object' || plan === null || Array.isArray(plan))
    return fail('expected an object { "glue": {...}, "lambda": {...}, "throttle": {...} }');
  const p = plan as Record<string, unknown>;
  for (const k of Object.keys(p))
    if (!['glue', 'lambda', 'throttle', 'retryMsPerSecond'].includes(k))
      fail(`unknown field "${k}" (known: glue, lambda, throttle, retryMsPerSecond)`);
  const glue = p.glue as Record<string, unknown> | undefined;
  if (glue !== undefined) {
    if (typeof glue !== 'object' || glue === null) fail('"glue" must be an object');
    if (glue.maxConcurrentRuns === undefined) fail('"glue.maxConcurrentRuns" is required');
    positiveInt(glue.maxConcurrentRuns, 'glue.maxConcurrentRuns');
    if (glue.queuing !== undefined && typeof glue.queuing !== 'boolean')
      fail('"glue.queuing" must be true or false');
  }
  const lambda = p.lambda as Record<string, unknown> | undefined;
  if (lambda !== undefined) {
    if (typeof lambda !== 'object' || lambda === null) fail('"lambda" must be an object');
    positiveInt(lambda.accountConcurrency, 'lambda.accountConcurrency');
    const reserved = (lambda.reserved ?? {}) as Record<string, unknown>;
    for (const [fn, n] of Object.entries(reserved)) positiveInt(n, `lambda.reserved.${fn}`);
    const sum = Object.values(reserved).reduce<number>((a, n) => a + (n as number), 0);
    if (lambda.accountConcurrency !== undefined && sum >= (lambda.accountConcurrency as number))
      fail(
        `reserved concurrency (${sum} in all) must leave some of lambda.accountConcurrency (${String(lambda.accountConcurrency)}) to the other functions`,
      );
  }
  const throttle = p.throttle as Record<string, unknown> | undefined;
  if (throttle !== undefined) {
    if (typeof throttle !== 'object' || throttle === null) fail('"throttle" must be an object');
    if (typeof throttle.rate !== 'number' || !(throttle.rate >= 0 && throttle.rate < 1))
      fail(`"throttle.rate" must be a number from 0 to below 1, got ${JSON.stringify(throttle.rate)}`);
    if (throttle.services !== undefined) {
      if (!Array.isArray(throttle.services)) fail('"throttle.services" must be a list');
      for (const s of throttle.services as unknown[])
        if (!THROTTLED_SERVICES.includes(s as ThrottledService))
          fail(`"throttle.services" lists ${JSON.stringify(s)}; known: ${THROTTLED_SERVICES.join(', ')}`);
    }
    if (throttle.seed !== undefined && !Number.isInteger(throttle.seed))
      fail('"throttle.seed" must be a whole number');
  }
  const ms = p.retryMsPerSecond;
  if (ms !== undefined && (typeof ms !== 'number' || !(ms >= 0) || ms > 1000))
    fail(`"retryMsPerSecond" must be a number from 0 to 1000, got ${JSON.stringify(ms)}`);
  return plan as LimitsPlan;
}

/** Reads `<home>/limits.json`; none = no limits (undefined). A malformed file is an error naming it. */
export function readLimitsFile(file: string): LimitsPlan | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let plan: unknown;
  try {
    plan = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message}). Fix or delete the file.`, {
      cause: e,
    });
  }
  return checkLimitsPlan(plan, file);
}

/** mulberry32: a small seeded generator, so a throttled run can be repeated with its seed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Async methods of each port that reach the service (list() streams: not throttled). */
const THROTTLED_METHODS: Readonly<Record<ThrottledService, readonly string[]>> = {
  s3: ['get', 'head', 'put', 'copy', 'delete'],
  dynamodb: ['claim', 'settle', 'get', 'latest'],
  glue: ['getTable', 'registerPartitions', 'startCrawler', 'getCrawler'],
};

/** The limits of one local pipeline (one process): counters and queues shared by all its runs. */
export class LocalLimits {
  readonly stats: LimitStats = {
    glue: { peakRunning: 0, queued: 0, rejected: 0, throttled: 0 },
    lambda: { peakTotal: 0, peakByFunction: {}, throttled: 0 },
    throttled: { s3: 0, dynamodb: 0, glue: 0 },
  };
  private glueRunning = 0;
  private readonly glueWaiting: (() => void)[] = [];
  private readonly lambdaActive = new Map<string, number>();
  private lambdaUnreserved = 0;
  private readonly random: () => number;
  private statsTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly plan: LimitsPlan,
    /** Where the stats are written (at most every 200 ms, and when the process exits). */
    private readonly statsFile?: string,
  ) {
    checkLimitsPlan(plan);
    this.random = seededRandom(plan.throttle?.seed ?? Math.floor(Math.random() * 2 ** 32));
    if (statsFile) process.once('exit', () => this.writeStats());
  }

  /** Pause per AWS second for the limit retriers (local/runtime.ts). */
  get retryMsPerSecond(): number {
    return this.plan.retryMsPerSecond ?? DEFAULT_LIMIT_RETRY_MS_PER_SECOND;
  }

  /**
   * Runs one Lambda invocation of `fn` within its concurrency, or throws
   * Lambda.TooManyRequestsException at once when there is no room (as Lambda does).
   */
  async invokeLambda<T>(fn: string, invoke: () => Promise<T>): Promise<T> {
    const limits = this.plan.lambda;
    if (!limits) return invoke();
    const reserved = limits.reserved?.[fn];
    const active = this.lambdaActive.get(fn) ?? 0;
    const sumReserved = Object.values(limits.reserved ?? {}).reduce((a, n) => a + n, 0);
    const full =
      reserved !== undefined
        ? active >= reserved
        : limits.accountConcurrency !== undefined &&
          this.lambdaUnreserved >= limits.accountConcurrency - sumReserved;
    if (full) {
      this.stats.lambda.throttled += 1;
      this.statsChanged();
      throw new TaskFailure(
        'Lambda.TooManyRequestsException',
        `Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException) — ` +
          `functions/${fn}: ${reserved !== undefined ? `reserved concurrency ${reserved}` : `account concurrency ${String(limits.accountConcurrency)} (${sumReserved} reserved)`} in use (local limits)`,
      );
    }
    this.lambdaActive.set(fn, active + 1);
    if (reserved === undefined) this.lambdaUnreserved += 1;
    const total = [...this.lambdaActive.values()].reduce((a, n) => a + n, 0);
    this.stats.lambda.peakTotal = Math.max(this.stats.lambda.peakTotal, total);
    this.stats.lambda.peakByFunction[fn] = Math.max(this.stats.lambda.peakByFunction[fn] ?? 0, active + 1);
    this.statsChanged();
    try {
      return await invoke();
    } finally {
      this.lambdaActive.set(fn, (this.lambdaActive.get(fn) ?? 1) - 1);
      if (reserved === undefined) this.lambdaUnreserved -= 1;
    }
  }

  /**
   * Runs one Glue job run within the job's concurrency: StartJobRun may be throttled
   * (Glue.ThrottlingException); past MaxConcurrentRuns the run waits its turn (queuing) or the
   * start fails with Glue.ConcurrentRunsExceededException.
   * @param runQueuing the StartJobRun request's JobRunQueuingEnabled (it wins over the job's)
   */
  async runGlueJob<T>(run: () => Promise<T>, runQueuing?: boolean): Promise<T> {
    if (this.draw('glue')) {
      this.stats.glue.throttled += 1;
      this.statsChanged();
      throw new TaskFailure(
        'Glue.ThrottlingException',
        'Rate exceeded (Service: Glue; Status Code: 400; Error Code: ThrottlingException) — StartJobRun throttled (local limits)',
      );
    }
    const limits = this.plan.glue;
    if (!limits) return run();
    if (this.glueRunning >= limits.maxConcurrentRuns) {
      const queuing = runQueuing ?? limits.queuing ?? true;
      if (!(limits.queuing ?? true) || !queuing) {
        this.stats.glue.rejected += 1;
        this.statsChanged();
        throw new TaskFailure(
          'Glue.ConcurrentRunsExceededException',
          `Concurrent runs exceeded for the transform job: MaxConcurrentRuns ${limits.maxConcurrentRuns} and job-run queuing off (local limits)`,
        );
      }
      this.stats.glue.queued += 1;
      this.statsChanged();
      // WAITING: a finishing run hands its slot over (glueRunning stays counted for us).
      await new Promise<void>((resolve) => this.glueWaiting.push(resolve));
    } else {
      this.glueRunning += 1;
    }
    this.stats.glue.peakRunning = Math.max(this.stats.glue.peakRunning, this.glueRunning);
    this.statsChanged();
    try {
      return await run();
    } finally {
      const next = this.glueWaiting.shift();
      if (next) next();
      else this.glueRunning -= 1;
    }
  }

  /**
   * A port whose service calls are throttled at the plan's rate: the throttled call rejects with
   * TransientDependencyError (what adapters/aws surfaces) before it reaches the adapter.
   */
  throttled<T extends object>(port: T, service: ThrottledService): T {
    const throttle = this.plan.throttle;
    if (!throttle || throttle.rate === 0 || !(throttle.services ?? THROTTLED_SERVICES).includes(service))
      return port;
    const methods = THROTTLED_METHODS[service];
    return new Proxy(port, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        const bound = (value as (...a: unknown[]) => unknown).bind(target);
        if (typeof prop !== 'string' || !methods.includes(prop)) return bound;
        return (...args: unknown[]) => {
          if (this.draw(service)) {
            this.stats.throttled[service] += 1;
            this.statsChanged();
            return Promise.reject(
              new TransientDependencyError(
                `${SERVICE_NAMES[service]} ${prop}: ThrottlingException: Rate exceeded (local limits, throttle rate ${throttle.rate})`,
              ),
            );
          }
          return bound(...args);
        };
      },
    });
  }

  private draw(service: ThrottledService): boolean {
    const throttle = this.plan.throttle;
    if (!throttle || throttle.rate === 0) return false;
    if (!(throttle.services ?? THROTTLED_SERVICES).includes(service)) return false;
    return this.random() < throttle.rate;
  }

  private statsChanged(): void {
    if (!this.statsFile || this.statsTimer) return;
    this.statsTimer = setTimeout(() => {
      this.statsTimer = undefined;
      this.writeStats();
    }, 200);
    this.statsTimer.unref();
  }

  private writeStats(): void {
    if (!this.statsFile) return;
    try {
      writeFileSync(this.statsFile, `${JSON.stringify(this.stats, null, 2)}\n`);
    } catch {
      // the home was removed under us (a test's clean-up): nothing to record
    }
  }
}

const SERVICE_NAMES: Readonly<Record<ThrottledService, string>> = {
  s3: 's3',
  dynamodb: 'dynamodb ledger',
  glue: 'glue catalog',
};
