/**
 * Issue 12 item 5, "bursts never fail" (AWS side): the transform job queues runs past its
 * concurrency limit (JobRunQueuingEnabled) instead of failing them, with the limit from the
 * configuration (etl:glueMaxConcurrentRuns).
 */
import { synthPipeline } from './synth';

test('the Glue job queues runs past maxConcurrentRuns, which comes from the configuration', () => {
  const { template } = synthPipeline({ settings: { glueMaxConcurrentRuns: 7 } });

  template.hasResourceProperties('AWS::Glue::Job', {
    JobRunQueuingEnabled: true,
    ExecutionProperty: { MaxConcurrentRuns: 7 },
  });
});

test('the Transform state asks for queuing on every run it starts (the run-level value is the one Glue uses)', () => {
  const { template } = synthPipeline();
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as {
    Properties: { DefinitionString: string };
  }[];
  const transform = (
    JSON.parse(machine!.Properties.DefinitionString) as {
      States: Record<string, { Resource?: string; Parameters?: Record<string, unknown> }>;
    }
  ).States.Transform!;

  expect(transform.Resource).toBe('arn:aws:states:::glue:startJobRun.sync');
  expect(transform.Parameters).toMatchObject({ JobName: '${GlueJobName}', JobRunQueuingEnabled: true });
});
