/** Placeholder values that look like a real deployment, for rendering the definition in tests. */
import type { DefinitionSubstitutions } from '../../statemachines/definition';

const fn = (name: string) => `arn:aws:lambda:eu-west-1:123456789012:function:serverless-etl-${name}`;

export const SAMPLE_SUBSTITUTIONS: DefinitionSubstitutions = {
  ClaimFunctionArn: fn('claim'),
  ValidateFunctionArn: fn('validate'),
  CheckStillLatestFunctionArn: fn('check-still-latest'),
  TransformFunctionArn: fn('transform'),
  RegisterPartitionsFunctionArn: fn('register-partitions'),
  StartCrawlFunctionArn: fn('start-crawl'),
  PollCrawlFunctionArn: fn('poll-crawl'),
  QuarantineFunctionArn: fn('quarantine'),
  VerifyFunctionArn: fn('verify'),
  LoadDynamoDbSinkFunctionArn: fn('load-dynamodb-sink'),
  LoadRedshiftSinkFunctionArn: fn('load-redshift-sink'),
  ArchiveFunctionArn: fn('archive'),
  GlueJobName: 'serverless-etl-transform',
  CrawlerName: 'serverless-etl-curated',
  GlueDatabase: 'serverless_etl',
  LakeBucket: 'serverless-etl-lake-123456789012',
  TopicArn: 'arn:aws:sns:eu-west-1:123456789012:serverless-etl-notices',
};
