/**
 * The rendered definition is valid ASL and keeps the pipeline's failure rules: retries only on
 * transient errors (with backoff, a cap and full jitter), rejections caught into Quarantine,
 * pipeline faults never caught, every task bounded in time.
 */
import { createHash } from 'node:crypto';
import {
  DEFINITION_PLACEHOLDERS,
  FUNCTION_TIMEOUT_SECONDS,
  GLUE_JOB_TIMEOUT_MINUTES,
  TASK_STATES,
  TRANSFORM_JOB_ARGUMENTS,
  TRANSFORM_TASK_TIMEOUT_SECONDS,
  WAIT_STATES,
  loadDefinition,
  readDefinitionText,
} from '../../statemachines/definition';
import { ERROR_NAMES } from '../../core/errors';
import { SAMPLE_SUBSTITUTIONS } from './sample-substitutions';

// asl-validator ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  BackoffRate?: number;
  MaxAttempts?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: string;
}
interface Catcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string;
}
interface State {
  Type: string;
  Resource?: string;
  Next?: string;
  Default?: string;
  Choices?: { Next: string }[];
  TimeoutSeconds?: number;
  Retry?: Retrier[];
  Catch?: Catcher[];
  Parameters?: Record<string, unknown>;
  ResultPath?: string;
}
interface Definition {
  StartAt: string;
  States: Record<string, State>;
}

const definition = loadDefinition(SAMPLE_SUBSTITUTIONS) as unknown as Definition;
const states = Object.entries(definition.States);
const tasks = states.filter(([, s]) => s.Type === 'Task');

const DETERMINISTIC = [
  'FileRejectedError',
  'ContractError',
  'VerificationFailedError',
  'CrawlFailedError',
  'TransformFailedError',
  'DuplicateDeliveryError',
  'StaleVersionError',
  'SinkLoadFailedError',
];
/** What a Lambda task that ran too long fails with: the task's TimeoutSeconds, Lambda's own timeout. */
const TIMEOUTS = ['States.Timeout', 'Sandbox.Timedout', 'Lambda.ClientExecutionTimeoutException'];

describe('pipeline.asl.json', () => {
  test('renders with sample substitutions into a definition asl-validator accepts', () => {
    const result = aslValidator(definition);
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  test('every placeholder in the file is documented, and every documented one is used', () => {
    const used = new Set([...readDefinitionText().matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual(Object.keys(DEFINITION_PLACEHOLDERS).sort());
    expect(JSON.stringify(definition)).not.toMatch(/\$\{/);
  });

  test('a missing or misspelled substitution is refused by name', () => {
    const { TopicArn: _dropped, ...missing } = SAMPLE_SUBSTITUTIONS;
    expect(() => loadDefinition(missing as typeof SAMPLE_SUBSTITUTIONS)).toThrow(/TopicArn/);
    expect(() =>
      loadDefinition({ ...SAMPLE_SUBSTITUTIONS, TopicARN: 'x' } as typeof SAMPLE_SUBSTITUTIONS),
    ).toThrow(/TopicARN.*not used/);
  });

  test('substituted values are JSON-escaped, so a quote in a local path cannot break the document', () => {
    const rendered = loadDefinition({ ...SAMPLE_SUBSTITUTIONS, LakeBucket: '/tmp/it\'s "a" lake\\' });
    expect(JSON.stringify(rendered)).toContain(JSON.stringify('/tmp/it\'s "a" lake\\').slice(1, -1));
  });

  test('every ErrorEquals name is in the error catalogue', () => {
    const names = states.flatMap(([, s]) =>
      [...(s.Retry ?? []), ...(s.Catch ?? [])].flatMap((r) => r.ErrorEquals),
    );
    expect(names.length).toBeGreaterThan(20);
    expect(names.filter((n) => !ERROR_NAMES.includes(n))).toEqual([]);
  });

  test('every Task has TimeoutSeconds, and the local runtime knows every Task by name', () => {
    for (const [name, state] of tasks) {
      expect({ name, timeout: state.TimeoutSeconds }).toEqual({ name, timeout: expect.any(Number) });
    }
    expect(tasks.map(([name]) => name).sort()).toEqual(Object.keys(TASK_STATES).sort());
    expect(states.filter(([, s]) => s.Type === 'Wait').map(([n]) => n)).toEqual([...WAIT_STATES]);
  });

  test('every Retry backs off with MaxDelaySeconds and full jitter, and never retries a deterministic error', () => {
    const retriers = states.flatMap(([name, s]) => (s.Retry ?? []).map((r) => ({ name, ...r })));
    expect(retriers.length).toBeGreaterThan(10);
    for (const r of retriers) {
      expect(r).toMatchObject({ MaxDelaySeconds: expect.any(Number), JitterStrategy: 'FULL' });
      expect(r.MaxAttempts).toBeGreaterThan(0);
      // States.Timeout is the one runtime name retried (Lambda tasks only, next test); never
      // States.ALL / States.TaskFailed, which would retry deterministic failures too.
      expect(
        r.ErrorEquals.filter(
          (e) => DETERMINISTIC.includes(e) || (e.startsWith('States.') && e !== 'States.Timeout'),
        ),
      ).toEqual([]);
    }
  });

  test('a timed-out Lambda task is retried a little (every step is idempotent); a timed-out Transform is not', () => {
    for (const [name, task] of Object.entries(TASK_STATES)) {
      const retriers = definition.States[name]!.Retry ?? [];
      const forTimeout = (e: string) => retriers.filter((r) => r.ErrorEquals.includes(e));
      if (task.kind === 'lambda') {
        for (const e of TIMEOUTS) {
          // One retrier, small and backed off: a slow step is re-run, not hammered.
          expect({ name, e, n: forTimeout(e).length }).toEqual({ name, e, n: 1 });
          expect(forTimeout(e)[0]).toMatchObject({
            MaxAttempts: expect.any(Number),
            IntervalSeconds: expect.any(Number),
            BackoffRate: expect.any(Number),
          });
          expect(forTimeout(e)[0]!.MaxAttempts).toBeLessThanOrEqual(2);
          expect(forTimeout(e)[0]!.BackoffRate).toBeGreaterThan(1);
        }
      } else {
        // Transform outlives the Glue job's own timeout: a task timeout there is a stuck run for
        // a person to look at, not a blip (statemachines/README.md).
        expect({ name, retried: TIMEOUTS.flatMap(forTimeout) }).toEqual({ name, retried: [] });
      }
    }
  });

  test('throttling and service errors of each dependency are retried', () => {
    const retried = (state: string) => definition.States[state]!.Retry!.flatMap((r) => r.ErrorEquals);
    for (const [name, task] of Object.entries(TASK_STATES)) {
      if (task.kind === 'lambda') {
        expect(retried(name)).toEqual(
          expect.arrayContaining([
            'Lambda.TooManyRequestsException',
            'Lambda.ServiceException',
            'TransientDependencyError',
          ]),
        );
      }
    }
    expect(retried('Transform')).toEqual(expect.arrayContaining(['Glue.ConcurrentRunsExceededException']));
    expect(retried('StartCrawl')).toContain('CrawlerRunningError');
    expect(retried('PollCrawl')).toContain('CrawlerNotReadyError');
  });

  test('no Catch on States.ALL or TaskFailed; only FileRejectedError is caught, and it leads to Quarantine', () => {
    const catchers = states.flatMap(([name, s]) => (s.Catch ?? []).map((c) => ({ name, ...c })));
    expect(catchers.map((c) => c.name).sort()).toEqual(['Claim', 'Validate']);
    for (const c of catchers) {
      expect(c.ErrorEquals).toEqual(['FileRejectedError']);
      expect(c.Next).toBe('Quarantine');
    }
    expect(definition.States.Quarantine!.Next).toBe('NotifyRejected');
    expect(definition.States.NotifyRejected!.Next).toBe('FileRejected');
    expect(definition.States.FileRejected!.Type).toBe('Fail');
  });

  test('the sinks load after a verified run and before Archive, each only when Verify says its dataset has it', () => {
    interface Choice {
      Variable: string;
      BooleanEquals?: boolean;
      StringEquals?: string;
      Next: string;
    }
    const choice = (name: string) =>
      definition.States[name] as unknown as { Choices: Choice[]; Default: string };
    expect(choice('VerifyOutcome').Default).toBe('DynamoDbSinkConfigured');
    expect(choice('DynamoDbSinkConfigured')).toMatchObject({
      Choices: [{ Variable: '$.verify.sinks.dynamodb', BooleanEquals: true, Next: 'LoadDynamoDbSink' }],
      Default: 'RedshiftSinkConfigured',
    });
    expect(definition.States.LoadDynamoDbSink!.Next).toBe('RedshiftSinkConfigured');
    expect(choice('RedshiftSinkConfigured')).toMatchObject({
      Choices: [{ Variable: '$.verify.sinks.redshift', BooleanEquals: true, Next: 'LoadRedshiftSink' }],
      Default: 'Archive',
    });
    expect(definition.States.LoadRedshiftSink!.Next).toBe('Archive');
    for (const name of ['LoadDynamoDbSink', 'LoadRedshiftSink']) {
      const state = definition.States[name]!;
      // A sink that keeps failing fails the execution here (a redrive resumes here).
      expect({ name, catch: state.Catch }).toEqual({ name, catch: undefined });
      const retried = state.Retry!.flatMap((r) => r.ErrorEquals);
      expect(retried).toEqual(expect.arrayContaining(['TransientDependencyError', ...TIMEOUTS]));
      expect(retried).not.toContain('SinkLoadFailedError');
      expect(state.Parameters).toMatchObject({
        'runId.$': '$.claim.runId',
        'dataset.$': '$.validate.dataset',
        'sourceId.$': '$.validate.sourceId',
        'versionTag.$': '$.validate.versionTag',
      });
    }
  });

  test('every Lambda function times out before its Task does', () => {
    for (const [name, task] of Object.entries(TASK_STATES)) {
      if (task.kind !== 'lambda') continue;
      expect({
        name,
        shorter: FUNCTION_TIMEOUT_SECONDS[task.function] < definition.States[name]!.TimeoutSeconds!,
      }).toEqual({
        name,
        shorter: true,
      });
    }
  });

  test('the Glue task outlives the Glue job and passes every job argument', () => {
    const transform = definition.States.Transform!;
    expect(transform.Resource).toBe('arn:aws:states:::glue:startJobRun.sync');
    expect(transform.TimeoutSeconds).toBe(TRANSFORM_TASK_TIMEOUT_SECONDS);
    expect(transform.TimeoutSeconds!).toBeGreaterThan(GLUE_JOB_TIMEOUT_MINUTES * 60);
    const args = Object.keys((transform.Parameters as { Arguments: Record<string, string> }).Arguments);
    expect(args.map((a) => a.replace(/\.\$$/, '')).sort()).toEqual([...TRANSFORM_JOB_ARGUMENTS].sort());
  });

  test('each step keeps its result under its own ResultPath', () => {
    const resultPaths = Object.fromEntries(tasks.map(([name, s]) => [name, s.ResultPath]));
    expect(resultPaths).toMatchObject({
      Claim: '$.claim',
      Validate: '$.validate',
      CheckStillLatest: '$.recheck',
      Transform: '$.transform',
      TransformInLambda: '$.transform',
      RegisterPartitions: '$.partitions',
      StartCrawl: '$.catalog',
      PollCrawl: '$.catalog',
      Verify: '$.verify',
      LoadDynamoDbSink: '$.sinks.dynamodb',
      LoadRedshiftSink: '$.sinks.redshift',
      Archive: '$.archive',
      Quarantine: '$.quarantine',
    });
  });

  test('the transform goes to RegisterPartitions; only a changed schema reaches the crawler (issue 12)', () => {
    const transforms = Object.entries(definition.States).filter(
      ([name, s]) =>
        name === 'Transform' ||
        name === 'TransformInLambda' ||
        s.Resource === 'arn:aws:states:::glue:startJobRun.sync',
    );
    expect(transforms.length).toBeGreaterThan(0);
    for (const [name, s] of transforms) expect([name, s.Next]).toEqual([name, 'RegisterPartitions']);
    const register = definition.States.RegisterPartitions!;
    expect(register.Resource).toBe(SAMPLE_SUBSTITUTIONS.RegisterPartitionsFunctionArn);
    expect(register.Next).toBe('SchemaChanged');
    expect(register.Parameters).toEqual({
      'runId.$': '$.claim.runId',
      'dataset.$': '$.validate.dataset',
      'sourceId.$': '$.validate.sourceId',
      lakeBucket: SAMPLE_SUBSTITUTIONS.LakeBucket,
      database: SAMPLE_SUBSTITUTIONS.GlueDatabase,
    });
    // PartitionRegistrationError is deterministic: never retried, never caught.
    const retried = (register.Retry ?? []).flatMap((r) => r.ErrorEquals);
    expect(retried).toContain('TransientDependencyError');
    expect(retried).not.toContain('PartitionRegistrationError');
    expect(register.Catch).toBeUndefined();
    const choice = definition.States.SchemaChanged!;
    expect(choice.Type).toBe('Choice');
    expect(choice.Choices).toEqual([
      { Variable: '$.partitions.schemaChanged', BooleanEquals: true, Next: 'StartCrawl' },
    ]);
    expect(choice.Default).toBe('Verify');
    // Only SchemaChanged leads to the crawler.
    const intoCrawl = Object.entries(definition.States)
      .filter(
        ([, s]) =>
          s.Next === 'StartCrawl' ||
          s.Default === 'StartCrawl' ||
          (s.Choices ?? []).some((c) => c.Next === 'StartCrawl'),
      )
      .map(([n]) => n);
    expect(intoCrawl).toEqual(['SchemaChanged']);
  });

  test('every state is reachable from StartAt', () => {
    const seen = new Set<string>();
    const visit = (name: string) => {
      if (seen.has(name)) return;
      seen.add(name);
      const s = definition.States[name]!;
      [s.Next, s.Default, ...(s.Choices ?? []).map((c) => c.Next), ...(s.Catch ?? []).map((c) => c.Next)]
        .filter((n): n is string => n !== undefined)
        .forEach(visit);
    };
    visit(definition.StartAt);
    expect([...seen].sort()).toEqual(Object.keys(definition.States).sort());
  });

  test('the definition is the reviewed one: a change to statemachines/pipeline.asl.json needs a review, then this hash', () => {
    expect(createHash('sha256').update(readDefinitionText()).digest('hex')).toBe(
      '008f5eec9ee815a8a686af4f042431f17b9e35c983dedc83eecd3e5aa415d2c2',
    );
  });
});
