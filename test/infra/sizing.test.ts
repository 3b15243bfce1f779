/**
 * The cost model (core/cost.ts) prices each Lambda at the memory functions/sizing.ts says and the
 * Glue job at its worker type and ceiling: those figures must be the ones the stack deploys.
 */
import { DEFAULT_MEMORY_MIB, GLUE_JOB_SIZING, STEP_MEMORY_MIB, functionSizing } from '../../functions/sizing';
import { synthPipeline } from './synth';

describe('functions/sizing.ts matches the synthesized stack', () => {
  const { template, config } = synthPipeline();
  const functions = Object.values(template.findResources('AWS::Lambda::Function')) as {
    Properties: { FunctionName?: unknown; MemorySize?: number; Architectures?: string[] };
  }[];
  const steps = functions.flatMap((f) => {
    const name = f.Properties.FunctionName;
    const prefix = `${config.namePrefix}-`;
    return typeof name === 'string' && name.startsWith(prefix)
      ? [{ step: name.slice(prefix.length), props: f.Properties }]
      : [];
  });

  it('finds the step functions', () => {
    expect(steps.map((s) => s.step)).toEqual(
      expect.arrayContaining(['claim', 'validate', 'verify', 'archive']),
    );
  });

  it.each(steps.map((s) => [s.step, s] as const))(
    'step %s: memory and architecture are the modeled ones',
    (step, { props }) => {
      // A step missing from the table would be priced at the fallback without anyone noticing.
      expect(STEP_MEMORY_MIB[step]).toBeDefined();
      expect(props.MemorySize).toBe(functionSizing(step).memoryMiB);
      expect(props.Architectures ?? ['x86_64']).toEqual([functionSizing(step).architecture]);
    },
  );

  it('the fallback memory is the one the stack uses for an unsized step', () => {
    expect(DEFAULT_MEMORY_MIB).toBe(512);
  });

  it('the Glue job runs G.1X workers up to the configured ceiling', () => {
    const jobs = Object.values(template.findResources('AWS::Glue::Job')) as {
      Properties: { WorkerType: string; NumberOfWorkers: number };
    }[];
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.Properties.WorkerType).toBe(GLUE_JOB_SIZING.workerType);
    expect(jobs[0]!.Properties.NumberOfWorkers).toBe(config.glue.maxWorkers);
    expect(config.glue.maxWorkers).toBe(GLUE_JOB_SIZING.defaultMaxWorkers);
  });
});
