/**
 * One Logger and one Metrics for every step, created once and imported (never per handler).
 * Handlers add the run's persistent keys (dataset, runId, objectKey) with {@link bindRun}.
 * Settings come from the environment the way Powertools documents them (POWERTOOLS_LOG_LEVEL,
 * POWERTOOLS_METRICS_DISABLED, ...); locally the runtime sets them so output stays readable.
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

/** Sets the keys every log line of this invocation carries, and the dataset metric dimension. */
export function bindRun(keys: RunKeys): void {
  logger.resetKeys();
  logger.appendPersistentKeys({ ...keys });
  // Powertools warns on stderr ("Dimension ... has already been added") each time a default
  // dimension is set again, i.e. on every invocation after the first: set it only when it changes.
  if (keys.dataset && keys.dataset !== boundDataset) {
    metrics.setDefaultDimensions({ dataset: keys.dataset });
    boundDataset = keys.dataset;
  }
}
