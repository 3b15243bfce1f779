/**
 * The repository's stack, written the way a team's app uses the package (`import { EtlPipeline }
 * from 'serverless-etl'`; here the package's entry, ./index): one {@link EtlPipeline} configured
 * from `cdk.json` context (infra/config.ts) and the outputs the CLI reads (`etl ... --stack <name>`).
 * The part fields are the pipeline's, kept on the stack for the tests.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { EtlPipeline, type PipelineConfig } from './index';

export {
  REJECTED_FAIL_STATE,
  placeholderOf,
  rejectionErrorOf,
  stateMachineSteps,
  stepTimeouts,
} from './etl-pipeline';

export interface EtlPipelineStackProps extends StackProps {
  /**
   * The pipeline's settings (infra/config.ts `loadConfig`): name prefix, datasets and their
   * contracts folder, notification e-mail, Glue sizing, retention, reconcile cadence.
   */
  readonly config: PipelineConfig;
  /**
   * Folder with one sub-folder per step function (`<step>/handler.ts`, bundled as the entry); each
   * step's IAM needs come from the registry functions/steps.ts.
   * @default <repo>/functions
   */
  readonly functionsDir?: string;
}

export class EtlPipelineStack extends Stack {
  readonly pipeline: EtlPipeline;
  readonly storage: EtlPipeline['storage'];
  readonly ledger: EtlPipeline['ledger'];
  readonly sinks: EtlPipeline['sinks'];
  readonly catalog: EtlPipeline['catalog'];
  readonly transform: EtlPipeline['transform'];
  readonly steps: EtlPipeline['steps'];
  readonly stateMachine: EtlPipeline['stateMachine'];
  readonly stateMachineName: string;
  readonly stateMachineRole: EtlPipeline['stateMachineRole'];
  readonly triggerRule: EtlPipeline['triggerRule'];
  readonly deadLetterQueue: EtlPipeline['deadLetterQueue'];
  readonly notifications: EtlPipeline['notifications'];
  readonly alerts: EtlPipeline['alerts'];
  readonly reconcile: EtlPipeline['reconcile'];
  readonly reconcileSchedule: EtlPipeline['reconcileSchedule'];
  readonly recordFailure: EtlPipeline['recordFailure'];
  readonly recordFailureRule: EtlPipeline['recordFailureRule'];
  readonly recordFailureDeadLetterQueue: EtlPipeline['recordFailureDeadLetterQueue'];

  constructor(scope: Construct, id: string, props: EtlPipelineStackProps) {
    super(scope, id, props);
    const p = new EtlPipeline(this, 'Pipeline', {
      config: props.config,
      ...(props.functionsDir !== undefined && { functionsDir: props.functionsDir }),
    });
    p.addStackOutputs();

    this.pipeline = p;
    this.storage = p.storage;
    this.ledger = p.ledger;
    this.sinks = p.sinks;
    this.catalog = p.catalog;
    this.transform = p.transform;
    this.steps = p.steps;
    this.stateMachine = p.stateMachine;
    this.stateMachineName = p.stateMachineName;
    this.stateMachineRole = p.stateMachineRole;
    this.triggerRule = p.triggerRule;
    this.deadLetterQueue = p.deadLetterQueue;
    this.notifications = p.notifications;
    this.alerts = p.alerts;
    this.reconcile = p.reconcile;
    this.reconcileSchedule = p.reconcileSchedule;
    this.recordFailure = p.recordFailure;
    this.recordFailureRule = p.recordFailureRule;
    this.recordFailureDeadLetterQueue = p.recordFailureDeadLetterQueue;
  }
}
