/**
 * Issue 12 items 4 and 5 in the stack: the register-partitions function may do exactly what
 * partition registration needs (GetTable and BatchCreatePartition on the lake database and its
 * tables, this run's manifest read), and the heavy Lambdas have reserved concurrency — configurable
 * — while every Task state that invokes a reserved function outwaits a throttle instead of failing.
 */
import { grantsOf, type TemplateJson } from './iam-audit';
import { synthPipeline, type Synthesized } from './synth';

let synth: Synthesized;
beforeAll(() => {
  synth = synthPipeline();
});

const idOf = (s: Synthesized, c: { node: { defaultChild?: unknown } }) =>
  s.stack.getLogicalId(c.node.defaultChild as never);
const fnProps = (s: Synthesized, step: string) =>
  (s.template.toJSON() as TemplateJson).Resources[idOf(s, s.stack.steps.get(step).fn)]!.Properties;

describe('register-partitions (issue 12 item 4)', () => {
  test('its role: glue:GetTable + glue:BatchCreatePartition on the lake catalog, database and tables only; the manifests read; nothing else', () => {
    const t = synth.template.toJSON() as TemplateJson;
    const built = synth.stack.steps.get('register-partitions');
    const role = t.Resources[idOf(synth, built.fn)]!.Properties.Role['Fn::GetAtt'][0] as string;
    const grants = grantsOf(t, role);
    const db = synth.stack.catalog.databaseName;
    const arnTail = (r: string) =>
      /:glue:",\{"Ref":"AWS::Region"\},":",\{"Ref":"AWS::AccountId"\},":([^"]+)"/.exec(r)?.[1];

    const glue = grants.filter((g) => g.action.startsWith('glue:'));
    expect([...new Set(glue.map((g) => g.action))].sort()).toEqual([
      'glue:BatchCreatePartition',
      'glue:GetTable',
    ]);
    for (const action of ['glue:GetTable', 'glue:BatchCreatePartition'])
      expect(
        glue
          .filter((g) => g.action === action)
          .map((g) => arnTail(g.resource))
          .sort(),
      ).toEqual(['catalog', `database/${db}`, `table/${db}/*`]);

    const lake = idOf(synth, synth.stack.storage.lakeBucket);
    const s3 = grants.filter((g) => g.action.startsWith('s3:'));
    expect(s3.map((g) => [g.action, g.resource])).toEqual(
      expect.arrayContaining([
        [
          's3:GetObject',
          JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [lake, 'Arn'] }, '/manifests/*']] }),
        ],
        ['s3:ListBucket', JSON.stringify({ 'Fn::GetAtt': [lake, 'Arn'] })],
      ]),
    );
    expect(s3).toHaveLength(2);
    // ListBucket only under manifests/ (a HEAD of a missing manifest answers 404, not 403).
    const listStatements = Object.values(t.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .filter((r) => (r.Properties.Roles as { Ref: string }[]).some((x) => x.Ref === role))
      .flatMap((r) => r.Properties.PolicyDocument.Statement as { Action: unknown; Condition?: unknown }[])
      .filter((st) => st.Action === 's3:ListBucket');
    expect(listStatements).toEqual([
      expect.objectContaining({ Condition: { StringLike: { 's3:prefix': ['manifests/*'] } } }),
    ]);
    // Beside them only its log group, tracing and decrypting the manifest (the lake's key).
    expect(
      [...new Set(grants.map((g) => g.action))]
        .filter((a) => !a.startsWith('glue:') && !a.startsWith('s3:'))
        .sort(),
    ).toEqual([
      'kms:Decrypt',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });
});

describe('reserved concurrency where a Lambda could starve the others (issue 12 item 5)', () => {
  test('validate and transform are reserved by default (10 each); the light steps share the pool', () => {
    expect(fnProps(synth, 'validate').ReservedConcurrentExecutions).toBe(10);
    expect(fnProps(synth, 'transform').ReservedConcurrentExecutions).toBe(10);
    for (const step of [
      'claim',
      'check-still-latest',
      'register-partitions',
      'verify',
      'archive',
      'quarantine',
    ])
      expect({ step, reserved: fnProps(synth, step).ReservedConcurrentExecutions }).toEqual({
        step,
        reserved: undefined,
      });
  });

  test("validate's reservation is configurable, and 0 means none", () => {
    expect(
      fnProps(synthPipeline({ settings: { validateReservedConcurrency: 25 } }), 'validate')
        .ReservedConcurrentExecutions,
    ).toBe(25);
    expect(
      fnProps(synthPipeline({ settings: { validateReservedConcurrency: 0 } }), 'validate')
        .ReservedConcurrentExecutions,
    ).toBeUndefined();
    expect(() => synthPipeline({ settings: { validateReservedConcurrency: -1 } })).toThrow(
      /validateReservedConcurrency.*0 \(no reservation\) to 1000/,
    );
  });

  test('every Task state invoking a reserved function outwaits a throttle: its own TooManyRequests retrier, ≥ 15 min at most, jittered', () => {
    const t = synth.template.toJSON() as TemplateJson;
    const sm = Object.values(t.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine')!;
    const substitutions = sm.Properties.DefinitionSubstitutions as Record<string, unknown>;
    const states = (
      JSON.parse(sm.Properties.DefinitionString as string) as {
        States: Record<string, { Resource?: string; Retry?: Record<string, unknown>[] }>;
      }
    ).States;
    const reserved = Object.entries(t.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.ReservedConcurrentExecutions)
      .map(([id]) => id);
    expect(reserved.length).toBeGreaterThanOrEqual(2);

    const checked: string[] = [];
    for (const fnId of reserved) {
      const placeholders = Object.entries(substitutions)
        .filter(([, v]) => JSON.stringify(v) === JSON.stringify({ 'Fn::GetAtt': [fnId, 'Arn'] }))
        .map(([k]) => k);
      const invoking = Object.entries(states).filter(([, s]) =>
        placeholders.some((p) => s.Resource === `\${${p}}`),
      );
      expect({ fnId, invoking: invoking.length > 0 }).toEqual({ fnId, invoking: true });
      for (const [name, state] of invoking) {
        const retrier = (state.Retry ?? []).find((r) =>
          (r.ErrorEquals as string[]).includes('Lambda.TooManyRequestsException'),
        )!;
        expect({ name, errors: retrier.ErrorEquals }).toEqual({
          name,
          errors: ['Lambda.TooManyRequestsException'],
        });
        const max = retrier.MaxAttempts as number;
        let budget = 0;
        for (let i = 0; i < max; i++)
          budget += Math.min(
            (retrier.IntervalSeconds as number) * (retrier.BackoffRate as number) ** i,
            retrier.MaxDelaySeconds as number,
          );
        expect({ name, atLeast15Minutes: budget >= 15 * 60, jitter: retrier.JitterStrategy }).toEqual({
          name,
          atLeast15Minutes: true,
          jitter: 'FULL',
        });
        checked.push(name);
      }
    }
    expect(checked.sort()).toEqual(['TransformInLambda', 'Validate']);
  });
});
