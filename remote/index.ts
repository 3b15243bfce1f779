/**
 * The remote backend of the `etl` CLI: the same verbs as the local runtime, against a deployed
 * stack (`--stack NAME`, `--profile`, `--region`). See remote/README.md.
 */
export { createRemoteClients, destroyRemoteClients, regionOf, RegionMissingError } from './clients';
export type { RemoteClients, RemoteOptions } from './clients';
export { connectStack, resolveStack, StackNotFoundError } from './stack';
export type { ConnectOptions, RemoteStack } from './stack';
export { STACK_OUTPUTS, StackOutputsMissingError, stackInfoFromOutputs } from './stack-outputs';
export type { StackInfo, StackOutputName } from './stack-outputs';
export { uploadFile, UploadRefusedError } from './upload';
export type { UploadOptions, UploadResult } from './upload';
export {
  executionArnOf,
  findRunOfUpload,
  listRuns,
  redriveRun,
  RedriveRefusedError,
  RunNotFoundError,
  showRun,
} from './runs';
export type { FindRunOptions, RedriveResult, RunFilter, RunListing } from './runs';
export { followRun, isFinished } from './follow';
export type { FollowOptions } from './follow';
export { athenaLiteral, queryLake, QueryFailedError, QueryTimeoutError } from './query';
export type { QueryColumn, QueryOptions, QueryParameter, QueryResult } from './query';
export {
  displayStatusOf,
  REDRIVABLE_STATUSES,
  REJECTED_ERROR,
  RUN_STATUSES,
  runSourceOfInput,
  runStepsFromHistory,
} from './run-view';
export type {
  DisplayStatus,
  HistoryEventLike,
  RunSource,
  RunStatus,
  RunSummary,
  RunView,
  StepStatus,
  StepView,
} from './run-view';
