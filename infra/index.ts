/**
 * The package's entry (`import { EtlPipeline } from 'serverless-etl'`): the pipeline construct, its
 * parts, the settings loader for `cdk.json` context, and the example stack.
 */
export { EtlPipeline, REJECTED_FAIL_STATE, rejectionErrorOf, stateMachineSteps } from './etl-pipeline';
export { derivedNamePrefix, resolvePipelineConfig, type EtlPipelineProps } from './etl-pipeline-props';
export { EtlPipelineStack, type EtlPipelineStackProps } from './pipeline-stack';
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
