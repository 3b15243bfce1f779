/**
 * The package's entry (`import { EtlPipeline } from 'serverless-etl'`; package.json `exports`,
 * built by scripts/build-package.ts): the pipeline construct, its parts, and the settings loader
 * for `cdk.json` context. The repository's own stack (infra/pipeline-stack.ts) is an example that
 * imports from here; it is not part of the package.
 */
export { EtlPipeline, REJECTED_FAIL_STATE, rejectionErrorOf, stateMachineSteps } from './etl-pipeline';
export { derivedNamePrefix, resolvePipelineConfig, type EtlPipelineProps } from './etl-pipeline-props';
export {
  InfraConfigError,
  loadConfig,
  type ConfigSources,
  type GlueSettings,
  type PipelineConfig,
} from './config';
export { GlueTransform, type GlueTransformProps } from './constructs/glue-transform';
export { LakeCatalog, type LakeCatalogProps } from './constructs/lake-catalog';
export {
  LakeStorage,
  LAKE_PREFIXES,
  keyPolicyStatements,
  type LakeStorageProps,
} from './constructs/lake-storage';
export {
  NotificationTopic,
  PipelineAlerts,
  PIPELINE_METRICS,
  type NotificationTopicProps,
  type PipelineAlertsProps,
} from './constructs/pipeline-alerts';
export { SinkResources, type SinkResourcesProps } from './constructs/sinks';
export {
  StepFunctions,
  type StepFunctionSettings,
  type StepFunctionsProps,
} from './constructs/step-functions';
export {
  SourcePulls,
  pullScheduleExpression,
  PULL_SCHEDULE_SLACK_MINUTES,
  PULL_TIMEOUT,
  type SourcePullsProps,
} from './constructs/source-pulls';
export { sourcesOfPipeline } from './sources';
