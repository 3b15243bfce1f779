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
