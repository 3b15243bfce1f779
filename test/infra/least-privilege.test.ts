import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readDefinitionText } from '../../statemachines/definition';
import {
  LAMBDA_TRACING_ACTIONS,
  STATE_MACHINE_LOGGING_ACTIONS,
  STATE_MACHINE_TRACING_ACTIONS,
  audit,
  grantsOf,
  usesOfDefinition,
  usesOfNeeds,
  withSourceLandingPrefixes,
  type ResourceMarkers,
  type TemplateJson,
  type Use,
} from './iam-audit';
import type { StepFunctions } from '../../infra/constructs/step-functions';
import { synthPipeline, type Synthesized } from './synth';

let synth: Synthesized;
let template: TemplateJson;
let markers: ResourceMarkers;

const logicalIdOf = (construct: { node: { defaultChild?: unknown } }) =>
  synth.stack.getLogicalId(construct.node.defaultChild as never);

beforeAll(() => {
  synth = synthPipeline();
  template = synth.template.toJSON() as TemplateJson;
  const s = synth.stack;
  markers = {
    landingBucket: logicalIdOf(s.storage.landingBucket),
    lakeBucket: logicalIdOf(s.storage.lakeBucket),
    athenaResultsBucket: logicalIdOf(s.storage.athenaResultsBucket),
    ledgerTable: logicalIdOf(s.ledger),
    glueDatabase: `database/${s.catalog.databaseName}`,
    glueCrawler: `crawler/${s.catalog.crawlerName}`,
    glueJob: `job/${s.transform.jobName}`,
    athenaWorkGroup: `workgroup/${s.catalog.workGroupName}`,
    notificationTopic: logicalIdOf(s.notifications.topic),
    stateMachine: `stateMachine:${s.stateMachineName}`,
    // No contract of the repository's schemas/ has a sink: nothing of these exists here.
    sinkTables: 'no sink table',
    redshiftWarehouses: 'no warehouse',
    redshiftStatements: 'no statements',
    redshiftWorkgroups: 'no workgroup',
    redshiftClusterDatabases: 'no cluster database',
    redshiftClusterUsers: 'no cluster user',
    redshiftSecrets: 'no secret',
    redshiftCopyRole: 'no copy role',
    // The repository's schemas/ has one pulled source (github-events): no secret headers.
    sourceLanding: 'mapped to landingBucket (withSourceLandingPrefixes)',
    sourceLedgerTable: logicalIdOf(s.pipeline.pulls!.table),
    sourceSecrets: 'no source secret',
    key: logicalIdOf(s.storage.key as never),
  };
});

/** The secret test/fixtures/sinks/schemas/settlements.schema.json signs in with. */
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:etl/analytics-AbCdEf';

const SINK_RESOURCES: readonly string[] = [
  'sinkTables',
  'redshiftWarehouses',
  'redshiftStatements',
  'redshiftWorkgroups',
  'redshiftClusterDatabases',
  'redshiftClusterUsers',
  'redshiftSecrets',
  // The repository's pulled source names no secret: nothing is granted.
  'sourceSecrets',
];

/** A rendered substitution value → what a granting resource must contain to be about it. */
function markerOfSubstitution(placeholder: string): string {
  const [, sm] = Object.entries(template.Resources).find(
    ([, r]) => r.Type === 'AWS::StepFunctions::StateMachine',
  )!;
  const value = sm.Properties.DefinitionSubstitutions[placeholder];
  if (value === undefined) throw new Error(`no substitution for ${placeholder}`);
  if (typeof value === 'object' && 'Fn::GetAtt' in value) return value['Fn::GetAtt'][0];
  if (typeof value === 'object' && 'Ref' in value) return value.Ref;
  if (placeholder === 'GlueJobName') return `job/${value}`;
  return String(value);
}

function roleOf(functionLogicalId: string): string {
  return template.Resources[functionLogicalId]!.Properties.Role['Fn::GetAtt'][0];
}

describe('least privilege: every role grants exactly what its code or definition uses', () => {
  test('the state machine role grants what the ASL Task states use, plus logging and tracing', () => {
    const asl = JSON.parse(readDefinitionText());
    const uses: Use[] = [
      ...usesOfDefinition(asl, markerOfSubstitution, markers.key),
      ...STATE_MACHINE_LOGGING_ACTIONS.map((action) => ({
        action,
        markers: ['*'],
        why: 'LoggingConfiguration',
      })),
      ...STATE_MACHINE_TRACING_ACTIONS.map((action) => ({
        action,
        markers: ['*'],
        why: 'TracingConfiguration',
      })),
    ];

    const findings = audit(grantsOf(template, logicalIdOf(synth.stack.stateMachineRole)), uses);

    expect(findings).toEqual([]);
  });

  // Every Lambda of the stack: the state machine's steps, and the two outside it.
  const stepsOf = (): StepFunctions => synth.stack.steps;
  test.each<[string, () => StepFunctions]>([
    ...[
      'claim',
      'validate',
      'check-still-latest',
      'start-crawl',
      'poll-crawl',
      'quarantine',
      'verify',
      'archive',
    ].map((step): [string, () => StepFunctions] => [step, stepsOf]),
    ['reconcile', () => synth.stack.reconcile],
    ['record-failure', () => synth.stack.recordFailure],
    // Outside the state machine: the pulled sources' schedules invoke it (issue 14).
    ['pull', () => synth.stack.pipeline.pulls!.functions],
    // Without a sink in any contract they get their lake reads only (the Choice skips them).
    ['load-dynamodb-sink', stepsOf],
    ['load-redshift-sink', stepsOf],
  ])('the %s function role grants exactly its declared iamNeeds', (step, group) => {
    const built = group().get(step);
    const uses: Use[] = [
      ...usesOfNeeds(
        withSourceLandingPrefixes(
          built.iamNeeds.filter((n) => !SINK_RESOURCES.includes(n.on)),
          synth.stack.pipeline.pulls!.landingPrefixes,
        ),
        markers,
      ),
      ...['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) => ({
        action,
        markers: [logicalIdOf(built.logGroup)],
        why: 'its own log group',
      })),
      ...LAMBDA_TRACING_ACTIONS.map((action) => ({ action, markers: ['*'], why: 'active tracing' })),
    ];

    expect(audit(grantsOf(template, roleOf(logicalIdOf(built.fn))), uses)).toEqual([]);
  });

  test('the audit catches a granted action no code uses, and a used action that is not granted', () => {
    const built = synth.stack.steps.get('claim');
    const role = roleOf(logicalIdOf(built.fn));
    const doctored = structuredClone(template);
    const policy = Object.values(doctored.Resources).find(
      (r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: { Ref: string }) => x.Ref === role),
    )!;
    policy.Properties.PolicyDocument.Statement.push({
      Effect: 'Allow',
      Action: 's3:DeleteObject',
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [markers.landingBucket, 'Arn'] }, '/*']] },
    });
    const needsWithExtra = [
      ...built.iamNeeds,
      { on: 'ledgerTable' as const, actions: ['dynamodb:Scan'], why: 'a use the stack never heard of' },
    ];

    const findings = audit(grantsOf(doctored, role), [
      ...usesOfNeeds(needsWithExtra, markers),
      ...['logs:CreateLogStream', 'logs:PutLogEvents', ...LAMBDA_TRACING_ACTIONS].map((action) => ({
        action,
        markers: [],
        why: 'baseline',
      })),
    ]);

    expect(findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'unused', action: 's3:DeleteObject' }),
        expect.objectContaining({ kind: 'missing', action: 'dynamodb:Scan' }),
      ]),
    );
  });

  test('no policy anywhere grants an action wildcard such as "*" or "s3:*"', () => {
    for (const [id, r] of Object.entries(template.Resources)) {
      if (r.Type !== 'AWS::IAM::Policy') continue;
      for (const st of r.Properties.PolicyDocument.Statement) {
        for (const action of ([] as string[]).concat(st.Action)) {
          expect(`${id}: ${action}`).not.toMatch(/\*/);
        }
      }
    }
  });

  test('no role carries a managed policy (each one is written for its job)', () => {
    for (const r of Object.values(template.Resources)) {
      if (r.Type === 'AWS::IAM::Role') expect(r.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  test('the Glue job deletes only under tmp/ and curated/, and writes only there and to manifests/', () => {
    const grants = grantsOf(template, logicalIdOf(synth.stack.transform.role));
    const lake = markers.lakeBucket;
    const under = (action: string) =>
      grants
        .filter((g) => g.action === action)
        .map((g) => (g.resource.includes(lake) ? /"(\/[a-z-]+\/)\*"/.exec(g.resource)?.[1] : g.resource));

    expect(under('s3:DeleteObject').sort()).toEqual(['/curated/', '/tmp/']);
    expect(under('s3:PutObject').sort()).toEqual(['/curated/', '/manifests/', '/tmp/']);
    // manifests/: the manifest in place is read before publishing (never over a newer version).
    expect(
      under('s3:GetObject')
        .filter((p) => p?.startsWith('/'))
        .sort(),
    ).toEqual(['/manifests/', '/staging/', '/tmp/']);
    expect(grants.map((g) => g.action).filter((a) => /Delete/.test(a))).toEqual([
      's3:DeleteObject',
      's3:DeleteObject',
    ]);
  });

  test("the crawler reads only curated/ and changes only the pipeline database's tables", () => {
    const grants = grantsOf(template, logicalIdOf(synth.stack.catalog.crawlerRole));
    const database = synth.stack.catalog.databaseName;

    for (const g of grants.filter((x) => x.action.startsWith('s3:GetObject')))
      expect(g.resource).toContain('/curated/*');
    for (const g of grants.filter((x) => x.action.startsWith('glue:'))) {
      expect(g.resource).toMatch(new RegExp(`:catalog"|database/${database}"|table/${database}/\\*"`));
    }
  });
});

describe('least privilege with sinks (test/fixtures/sinks/schemas: a created and a named table, a workgroup and a cluster, signed in as the IAM identity, a dbUser or a secret)', () => {
  let sinkSynth: Synthesized;
  let t: TemplateJson;
  let m: ResourceMarkers;
  const idOf = (construct: { node: { defaultChild?: unknown } }) =>
    sinkSynth.stack.getLogicalId(construct.node.defaultChild as never);

  let nagOutdir: string;
  let nagError: Error | undefined;

  beforeAll(() => {
    nagOutdir = mkdtempSync(path.join(os.tmpdir(), 'etl-sinks-nag-'));
    sinkSynth = synthPipeline({
      settings: { schemasDir: 'test/fixtures/sinks/schemas' },
      nag: true,
      outdir: nagOutdir,
    });
    try {
      // With the nag pack registered, any finding not acknowledged fails the synth.
      sinkSynth.app.synth();
    } catch (e) {
      nagError = e as Error;
    }
    t = sinkSynth.template.toJSON() as TemplateJson;
    const s = sinkSynth.stack;
    m = {
      ...markers,
      landingBucket: idOf(s.storage.landingBucket),
      lakeBucket: idOf(s.storage.lakeBucket),
      key: idOf(s.storage.key as never),
      sinkTables: idOf(s.sinks.createdTables.get('payments')!),
      redshiftWarehouses: ':redshift',
      redshiftStatements: '*',
      redshiftWorkgroups: 'workgroup/*',
      redshiftClusterDatabases: ':dbname:warehouse/dev"',
      redshiftClusterUsers: ':dbuser:warehouse/etl_loader"',
      redshiftSecrets: SECRET_ARN,
      redshiftCopyRole: idOf(s.sinks.copyRole!),
    };
  });

  test("cdk-nag: no finding that is not acknowledged, with the sinks' tables, workgroup wildcard and Data API grants", () => {
    const report = JSON.parse(readFileSync(path.join(nagOutdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; conclusion: string; violations: { ruleName: string }[] }[];
    };
    const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions')!;

    expect(nagError?.message).toBeUndefined();
    expect(nag.violations.map((v) => v.ruleName)).toEqual([]);
    expect(nag.conclusion).toBe('success');
  });

  test.each(['load-dynamodb-sink', 'load-redshift-sink'])(
    'the %s function role grants exactly its declared iamNeeds',
    (step) => {
      const built = sinkSynth.stack.steps.get(step);
      const uses: Use[] = [
        ...usesOfNeeds(built.iamNeeds, m),
        ...['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) => ({
          action,
          markers: [idOf(built.logGroup)],
          why: 'its own log group',
        })),
        ...LAMBDA_TRACING_ACTIONS.map((action) => ({ action, markers: ['*'], why: 'active tracing' })),
      ];
      const role = t.Resources[idOf(built.fn)]!.Properties.Role['Fn::GetAtt'][0];

      expect(audit(grantsOf(t, role), uses)).toEqual([]);
    },
  );

  test('the dynamodb sink writes the created table and the named one, and nothing else', () => {
    const built = sinkSynth.stack.steps.get('load-dynamodb-sink');
    const role = t.Resources[idOf(built.fn)]!.Properties.Role['Fn::GetAtt'][0];
    const puts = grantsOf(t, role).filter((g) => g.action === 'dynamodb:PutItem');

    expect(
      puts.map((g) => g.resource.includes(m.sinkTables) || g.resource.includes('table/existing-refunds')),
    ).toEqual([true, true]);
  });

  test('the redshift sink runs statements on the named workgroups and cluster only', () => {
    const built = sinkSynth.stack.steps.get('load-redshift-sink');
    const role = t.Resources[idOf(built.fn)]!.Properties.Role['Fn::GetAtt'][0];
    const execute = grantsOf(t, role).filter((g) => g.action === 'redshift-data:ExecuteStatement');

    expect(execute.map((g) => /workgroup\/\*"|cluster:warehouse"/.test(g.resource))).toEqual([true, true]);
  });

  /** The rendered resources the redshift sink's role gets `action` on, as `<resource type>:<name>`. */
  const redshiftSinkResources = (action: string) => {
    const built = sinkSynth.stack.steps.get('load-redshift-sink');
    const role = t.Resources[idOf(built.fn)]!.Properties.Role['Fn::GetAtt'][0];
    return grantsOf(t, role)
      .filter((g) => g.action === action)
      .map((g) =>
        g.resource.startsWith('arn:')
          ? g.resource
          : (/:((?:cluster|dbname|dbuser|workgroup)[:/][^"]+)"\]\]\}$/.exec(g.resource)?.[1] ?? g.resource),
      )
      .sort();
  };

  test('the cluster sink signed in as the IAM identity gets GetClusterCredentialsWithIAM on exactly its dbname ARN', () => {
    expect(redshiftSinkResources('redshift:GetClusterCredentialsWithIAM')).toEqual(['dbname:warehouse/dev']);
  });

  test('the dbUser cluster sink gets GetClusterCredentials on exactly its dbuser and dbname ARNs', () => {
    expect(redshiftSinkResources('redshift:GetClusterCredentials')).toEqual([
      'dbname:warehouse/finance',
      'dbuser:warehouse/etl_loader',
    ]);
  });

  test('the secretArn sink gets GetSecretValue on exactly that secret', () => {
    expect(redshiftSinkResources('secretsmanager:GetSecretValue')).toEqual([SECRET_ARN]);
  });

  test('GetCredentials (Redshift Serverless) is granted on workgroups only, never on a cluster', () => {
    expect(redshiftSinkResources('redshift-serverless:GetCredentials')).toEqual(['workgroup/*']);
  });

  test('the created table is on demand, recoverable, encrypted with the key, keyed by the primary key', () => {
    const table = t.Resources[m.sinkTables]!.Properties;

    expect(table).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    });
    expect(JSON.stringify(table.SSESpecification.KMSMasterKeyId)).toContain(m.key);
  });

  test("the COPY role reads only the sink datasets' curated objects and COPY manifests, and decrypts with the key", () => {
    const grants = grantsOf(t, m.redshiftCopyRole);

    expect(grants.map((g) => g.action).sort()).toEqual([
      'kms:Decrypt',
      ...Array<string>(4).fill('s3:GetObject'),
    ]);
    expect(
      grants
        .filter((g) => g.action === 's3:GetObject')
        .map((g) => /"(\/[a-z]+\/[a-z]+\/)\*"/.exec(g.resource)?.[1])
        .sort(),
    ).toEqual(['/curated/payments/', '/curated/refunds/', '/manifests/payments/', '/manifests/refunds/']);
    expect(grants.find((g) => g.action === 'kms:Decrypt')!.resource).toContain(m.key);
    expect(JSON.stringify(t.Resources[m.redshiftCopyRole]!.Properties.AssumeRolePolicyDocument)).toContain(
      'redshift.amazonaws.com',
    );
  });
});
