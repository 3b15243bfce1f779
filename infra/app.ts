/**
 * The CDK app: `cdk synth` / `cdk deploy` run this (cdk.json). It needs no AWS credentials to
 * synthesize: the stack is environment-agnostic unless CDK_DEFAULT_ACCOUNT/REGION are set by the
 * CLI from a profile.
 */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { InfraConfigError, loadConfig, type PipelineConfig } from './config';
import { EtlPipelineStack } from './pipeline-stack';

const app = new App();
let config: PipelineConfig;
try {
  config = loadConfig({ context: (key) => app.node.tryGetContext(key), env: process.env });
} catch (e) {
  if (e instanceof InfraConfigError) {
    console.error(`serverless-etl: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
const stackName = (app.node.tryGetContext('etl:stackName') as string | undefined) ?? 'ServerlessEtl';
new EtlPipelineStack(app, stackName, {
  config,
  description:
    'serverless-etl: event-driven CSV to Parquet pipeline (S3, EventBridge, Step Functions, Lambda, Glue, Athena)',
  ...(process.env.CDK_DEFAULT_ACCOUNT &&
    process.env.CDK_DEFAULT_REGION && {
      env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    }),
});
// Cost allocation and ownership: every taggable resource says which pipeline it belongs to.
Tags.of(app).add('Project', 'serverless-etl');
Tags.of(app).add('PipelinePrefix', config.namePrefix);
// Every synth is checked against the AWS Solutions rules; acknowledged findings carry reasons
// (infra/nag-suppressions.ts).
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
