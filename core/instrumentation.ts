/**
 * One Logger and one Metrics for every step (the Tracer is in core/tracer.ts), created once and imported (never per
 * handler), as Powertools' own examples do (`examples/app/commons/powertools`). Each
 * `functions/<step>/handler.ts` attaches them with Middy: `injectLambdaContext` (request id and
 * cold start on every log line), `logMetrics` (the flush, and the ColdStart metric) and
 * `captureLambdaHandler`, and passes every AWS SDK client through `tracer.captureAWSv3Client`.
 * The step factories only add log lines and metrics; they never flush.
 *
 * Settings come from the environment the way Powertools documents them (POWERTOOLS_LOG_LEVEL,
 * POWERTOOLS_METRICS_DISABLED, POWERTOOLS_TRACE_ENABLED, ...). The local runtime sets them before
 * it loads a step (local/pipeline.ts): logs silent, metrics and tracing off. Outside Lambda the
 * Tracer also switches itself off (no AWS_EXECUTION_ENV), so tests never reach for an X-Ray daemon.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

export const SERVICE_NAME = 'serverless-etl';
/** The one metric namespace for the whole pipeline (dashboards and alarms key on it). */
export const METRICS_NAMESPACE = 'ServerlessEtl';

export const logger = new Logger({ serviceName: SERVICE_NAME });
// Metrics' own warnings (e.g. "No application metrics to publish") go through the Logger: structured
// on AWS, and silenced with the log level locally instead of printed to the terminal.
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME, logger });

export interface RunKeys {
  readonly dataset?: string;
  readonly runId?: string;
  readonly objectKey?: string;
}

/** The dataset dimension last set, so a warm container (or the local runtime) sets it only on change. */
let boundDataset: string | undefined;

/**
 * Sets the keys every log line of this invocation carries (replacing the previous invocation's),
 * and the dataset metric dimension. They are temporary keys: on AWS
 * `injectLambdaContext(logger, { resetKeys: true })` also clears them after each invocation; the
 * local runtime has no middleware, hence the reset here.
 */
export function bindRun(keys: RunKeys): void {
  logger.resetKeys();
  logger.appendKeys({ ...keys });
  // Powertools warns on stderr ("Dimension ... has already been added") each time a default
  // dimension is set again, i.e. on every invocation after the first: set it only when it changes.
  if (keys.dataset && keys.dataset !== boundDataset) {
    metrics.setDefaultDimensions({ dataset: keys.dataset });
    boundDataset = keys.dataset;
  }
}
