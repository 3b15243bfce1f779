import { STACK_OUTPUTS, stackInfoFromOutputs } from '../../remote';
import { synthPipeline } from '../infra/synth';

describe('the stack outputs the CLI reads', () => {
  test('the repository stack (EtlPipeline.addStackOutputs) publishes every one of them as a top-level output', () => {
    // A top-level CfnOutput's id is its OutputKey, so the ids are the contract between the two.
    const published = Object.keys(synthPipeline().template.toJSON().Outputs ?? {});

    expect(published).toEqual(expect.arrayContaining(Object.keys(STACK_OUTPUTS)));
  });

  test('outputs map onto StackInfo by name; extra outputs are ignored', () => {
    const info = stackInfoFromOutputs('etl-prod', 'eu-west-1', [
      { OutputKey: 'DashboardName', OutputValue: 'etl' },
      { OutputKey: 'LandingBucketName', OutputValue: 'landing-b' },
      { OutputKey: 'LakeBucketName', OutputValue: 'lake-b' },
      { OutputKey: 'StateMachineArn', OutputValue: 'arn:aws:states:eu-west-1:123456789012:stateMachine:p' },
      { OutputKey: 'AthenaWorkGroupName', OutputValue: 'wg' },
      { OutputKey: 'GlueDatabaseName', OutputValue: 'db' },
      { OutputKey: 'AthenaResultsBucketName', OutputValue: 'results-b' },
    ]);

    expect(info).toEqual({
      stackName: 'etl-prod',
      region: 'eu-west-1',
      landingBucket: 'landing-b',
      lakeBucket: 'lake-b',
      stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:p',
      athenaWorkGroup: 'wg',
      glueDatabase: 'db',
      athenaResultsBucket: 'results-b',
    });
  });

  test('a stack still being created says its status along with the missing outputs', () => {
    expect(() => stackInfoFromOutputs('etl-prod', 'eu-west-1', [], 'CREATE_IN_PROGRESS')).toThrow(
      /stack "etl-prod" \(CREATE_IN_PROGRESS\) has no outputs LandingBucketName, LakeBucketName/,
    );
  });
});
