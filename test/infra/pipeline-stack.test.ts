/* eslint-disable @typescript-eslint/no-explicit-any -- synthesized CloudFormation is untyped JSON; these walk it freely */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LANDING_PREFIX } from '../../core/layout';
import { LAKE_PREFIXES } from '../../infra/constructs/lake-storage';
import { rejectionErrorOf } from '../../infra/pipeline-stack';
import { STACK_OUTPUTS } from '../../remote/stack-outputs';
import {
  DEFINITION_PLACEHOLDERS,
  GLUE_JOB_TIMEOUT_MINUTES,
  readDefinitionText,
} from '../../statemachines/definition';
import { REPO_ROOT } from '../support/python';
import { synthPipeline, TEST_EMAIL, type Synthesized } from './synth';

const CFN_LINT = path.join(REPO_ROOT, '.venv', 'bin', 'cfn-lint');

type Resource = { Type: string; Properties: Record<string, any> };

const FIXTURE_SCHEMAS = path.resolve(__dirname, '../fixtures/infra/schemas');
const asl = JSON.parse(readDefinitionText()) as {
  States: Record<string, { Type: string; Resource?: string; TimeoutSeconds?: number }>;
};

let synth: Synthesized;
let template: Template;
let resources: Record<string, Resource>;

let synthError: Error | undefined;
let outdir: string;

beforeAll(() => {
  // One synth for every check in this file (synths are the slow part): two datasets
  // (registrations, payments) share the stack, and the AWS Solutions nag pack is registered.
  outdir = mkdtempSync(path.join(os.tmpdir(), 'etl-stack-'));
  synth = synthPipeline({
    settings: { schemasDir: FIXTURE_SCHEMAS, stagingExpirationDays: 5 },
    nag: true,
    outdir,
  });
  template = synth.template;
  resources = template.toJSON().Resources as Record<string, Resource>;
  try {
    // With the nag pack registered, any finding not acknowledged fails the synth.
    synth.app.synth();
  } catch (e) {
    synthError = e as Error;
  }
});

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const logicalIdOf = (construct: { node: { defaultChild?: unknown } }) =>
  synth.stack.getLogicalId(construct.node.defaultChild as never);

/**
 * EventBridge matching for the subset the stack's status-change patterns use, as AWS documents
 * it: a value list matches a present field equal to one of them; `anything-but` matches any
 * present value not listed (`null` included) and never a missing field; `exists: false` matches
 * only a missing field; `$or` matches when one branch does. Anything else is refused.
 */
function eventMatches(pattern: Record<string, any>, event: Record<string, any>): boolean {
  return Object.entries(pattern).every(([field, condition]) => {
    if (field === '$or') return (condition as Record<string, any>[]).some((p) => eventMatches(p, event));
    const present = Object.prototype.hasOwnProperty.call(event, field);
    const value = event[field];
    if (!Array.isArray(condition)) {
      return present && value !== null && typeof value === 'object' && eventMatches(condition, value);
    }
    return condition.some((c: unknown) => {
      if (c !== null && typeof c === 'object' && !('Ref' in c)) {
        if ('exists' in c) return (c as { exists: boolean }).exists === present;
        if ('anything-but' in c) {
          const excluded = ([] as unknown[]).concat((c as Record<string, unknown>)['anything-but']);
          return present && !excluded.includes(value);
        }
        throw new Error(`eventMatches: matcher not modelled: ${JSON.stringify(c)}`);
      }
      return present && JSON.stringify(c) === JSON.stringify(value);
    });
  });
}

describe('trigger: S3 Object Created under incoming/ starts the state machine', () => {
  test('the rule matches Object Created events of the landing bucket under incoming/', () => {
    const landing = logicalIdOf(synth.stack.storage.landingBucket);

    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: [{ Ref: landing }] },
          object: { key: [{ prefix: 'incoming/' }] },
        },
      },
    });
  });

  test('uploads of every format match and no output prefix ever can (no recursion)', () => {
    const [, rule] = ofType('AWS::Events::Rule').find(
      ([, r]) => r.Properties.EventPattern.source[0] === 'aws.s3',
    )!;
    const pattern = rule.Properties.EventPattern;
    // The modelled matcher refuses anything but the forms it knows; key matchers are prefix-only.
    const keyMatchers = pattern.detail.object.key as Record<string, unknown>[];
    for (const m of keyMatchers) expect(Object.keys(m)).toEqual(['prefix']);
    const event = (key: string) => ({
      source: 'aws.s3',
      'detail-type': 'Object Created',
      detail: { bucket: { name: pattern.detail.bucket.name[0] }, object: { key } },
    });
    const matches = (key: string) =>
      keyMatchers.some((m) => key.startsWith(m.prefix as string)) &&
      eventMatches({ ...pattern, detail: { bucket: pattern.detail.bucket } }, event(key));

    for (const name of [
      '2024/jan.csv',
      'JAN.CSV',
      'x.Csv',
      'x.csv.gz',
      'e.jsonl',
      'e.JSONL.GZ',
      'a.json',
      'a.Json.gz',
    ])
      expect(matches(`${LANDING_PREFIX}registrations/${name}`)).toBe(true);
    // Under incoming/, a name without a landing suffix also starts a run: Claim refuses it (KEY_NOT_ALLOWED).
    expect(matches(`${LANDING_PREFIX}registrations/notes.txt`)).toBe(true);
    expect(matches(`elsewhere/registrations/x.csv`)).toBe(false);
    for (const prefix of Object.values(LAKE_PREFIXES)) {
      expect(matches(`${prefix}registrations/x/part-00000.jsonl`)).toBe(false);
    }
    // And outputs are in another bucket, which the pattern does not name.
    expect(JSON.stringify(rule.Properties.EventPattern.detail.bucket)).not.toContain(
      logicalIdOf(synth.stack.storage.lakeBucket),
    );
  });

  test('the landing bucket sends its events to EventBridge natively (no custom resource)', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
    });
    expect(ofType('Custom::S3BucketNotifications')).toHaveLength(0);
  });

  test('the state machine target retries for a day and dead-letters into an encrypted queue', () => {
    const queue = logicalIdOf(synth.stack.deadLetterQueue);

    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        Match.objectLike({
          Arn: { Ref: logicalIdOf(synth.stack.stateMachine) },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queue, 'Arn'] } },
        }),
      ],
    });
    expect(resources[queue]!.Properties.KmsMasterKeyId).toEqual({
      'Fn::GetAtt': [logicalIdOf(synth.stack.storage.key as never), 'Arn'],
    });
  });
});

describe('storage: private, TLS-only, versioned, encrypted, logged, expiring', () => {
  test('all four buckets block every kind of public access and are versioned', () => {
    const buckets = ofType('AWS::S3::Bucket');

    expect(buckets).toHaveLength(4);
    for (const [, b] of buckets) {
      expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(b.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    }
  });

  test('every bucket policy denies requests without TLS', () => {
    const policies = ofType('AWS::S3::BucketPolicy');

    expect(policies).toHaveLength(4);
    for (const [, p] of policies) {
      expect(p.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      );
    }
  });

  test('data buckets use SSE-KMS with the rotating key; the log bucket SSE-S3; data buckets log access', () => {
    const key = logicalIdOf(synth.stack.storage.key as never);
    const logs = logicalIdOf(synth.stack.storage.accessLogsBucket);
    const { landingBucket, lakeBucket, athenaResultsBucket } = synth.stack.storage;

    for (const bucket of [landingBucket, lakeBucket, athenaResultsBucket]) {
      const props = resources[logicalIdOf(bucket)]!.Properties;
      expect(
        props.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault,
      ).toEqual({
        SSEAlgorithm: 'aws:kms',
        KMSMasterKeyID: { 'Fn::GetAtt': [key, 'Arn'] },
      });
      expect(props.LoggingConfiguration.DestinationBucketName).toEqual({ Ref: logs });
    }
    expect(
      resources[logs]!.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0]
        .ServerSideEncryptionByDefault,
    ).toEqual({ SSEAlgorithm: 'AES256' });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('staging expires after the configured days and old versions expire everywhere', () => {
    const lake = resources[logicalIdOf(synth.stack.storage.lakeBucket)]!.Properties;
    const rules = lake.LifecycleConfiguration.Rules as Record<string, any>[];

    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Prefix: 'staging/', ExpirationInDays: 5, Status: 'Enabled' }),
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 90 } }),
      ]),
    );
    for (const [, b] of ofType('AWS::S3::Bucket')) {
      const noncurrent = (b.Properties.LifecycleConfiguration.Rules as Record<string, any>[]).some(
        (r) => r.NoncurrentVersionExpiration,
      );
      expect(noncurrent).toBe(true);
    }
  });

  test('the key lets EventBridge and CloudWatch alarms publish to the encrypted topic and queue', () => {
    const [, key] = ofType('AWS::KMS::Key')[0]!;
    const statement = (key.Properties.KeyPolicy.Statement as Record<string, any>[]).find(
      (s) => s.Sid === 'EventBridgeAndAlarmsPublishToEncryptedTopicAndQueue',
    );

    expect([...(statement!.Principal.Service as string[])].sort()).toEqual([
      'cloudwatch.amazonaws.com',
      'events.amazonaws.com',
    ]);
    expect(statement?.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
  });
});

describe('state machine: the ASL file, Standard, logged, traced', () => {
  test('every placeholder of the definition is substituted', () => {
    const [, sm] = ofType('AWS::StepFunctions::StateMachine')[0]!;

    expect(Object.keys(sm.Properties.DefinitionSubstitutions).sort()).toEqual(
      Object.keys(DEFINITION_PLACEHOLDERS).sort(),
    );
    expect(sm.Properties.DefinitionString).toBe(readDefinitionText());
  });

  test('Standard type, ALL-level logging with execution data to an encrypted log group, X-Ray on', () => {
    const logGroup = logicalIdOf(synth.stack.pipeline.node.findChild('StateMachineLogs') as never);

    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logGroup, 'Arn'] } } }],
      },
      TracingConfiguration: { Enabled: true },
    });
    expect(resources[logGroup]!.Properties).toMatchObject({
      RetentionInDays: 30,
      KmsKeyId: expect.anything(),
    });
  });

  test('each step function times out before the Task state that calls it', () => {
    const substitutions = ofType('AWS::StepFunctions::StateMachine')[0]![1].Properties
      .DefinitionSubstitutions;
    for (const state of Object.values(asl.States)) {
      const placeholder = /^\$\{(\w+FunctionArn)\}$/.exec(state.Resource ?? '')?.[1];
      if (!placeholder) continue;
      const fnId = substitutions[placeholder]['Fn::GetAtt'][0] as string;

      expect(resources[fnId]!.Properties.Timeout).toBeLessThan(state.TimeoutSeconds!);
    }
  });
});

describe('transform: Glue 5.0 job, bounded, encrypted', () => {
  test("the job's timeout is shorter than the Transform task's", () => {
    const job = ofType('AWS::Glue::Job')[0]![1].Properties;

    expect(job.Timeout).toBe(GLUE_JOB_TIMEOUT_MINUTES);
    expect(job.Timeout * 60).toBeLessThan(asl.States.Transform!.TimeoutSeconds!);
  });

  test('Glue 5.0, autoscaling G.1X workers up to the configured maximum, a deliberate concurrency cap', () => {
    template.hasResourceProperties('AWS::Glue::Job', {
      GlueVersion: '5.0',
      WorkerType: 'G.1X',
      NumberOfWorkers: 10,
      ExecutionProperty: { MaxConcurrentRuns: 5 },
      MaxRetries: 0,
      Command: {
        Name: 'glueetl',
        PythonVersion: '3',
        ScriptLocation: { 'Fn::Sub': Match.stringLikeRegexp('^s3://.*\\.py$') },
      },
      DefaultArguments: Match.objectLike({
        '--enable-auto-scaling': 'true',
        '--job-bookmark-option': 'job-bookmark-disable',
      }),
      SecurityConfiguration: 'serverless-etl-glue',
    });
  });

  test('the security configuration encrypts S3 output, logs and bookmarks with the key', () => {
    const key = { 'Fn::GetAtt': [logicalIdOf(synth.stack.storage.key as never), 'Arn'] };

    template.hasResourceProperties('AWS::Glue::SecurityConfiguration', {
      EncryptionConfiguration: {
        S3Encryptions: [{ S3EncryptionMode: 'SSE-KMS', KmsKeyArn: key }],
        CloudWatchEncryption: { CloudWatchEncryptionMode: 'SSE-KMS', KmsKeyArn: key },
        JobBookmarksEncryption: { JobBookmarksEncryptionMode: 'CSE-KMS', KmsKeyArn: key },
      },
    });
  });

  test("the crawler looks only at the datasets' tables and never changes their schema or drops them", () => {
    const crawler = ofType('AWS::Glue::Crawler')[0]![1].Properties;

    expect(crawler.Targets).toEqual({
      CatalogTargets: [{ DatabaseName: 'serverless_etl_lake', Tables: ['payments', 'registrations'] }],
    });
    expect(crawler.SchemaChangePolicy).toEqual({ UpdateBehavior: 'LOG', DeleteBehavior: 'LOG' });
    expect(crawler.RecrawlPolicy).toEqual({ RecrawlBehavior: 'CRAWL_EVERYTHING' });
  });

  test("each dataset's table is typed from its contract, partitioned by its date folder", () => {
    const table = ofType('AWS::Glue::Table')
      .map(([, t]) => t.Properties.TableInput)
      .find((t) => t.Name === 'registrations');
    const columns = Object.fromEntries(
      (table.StorageDescriptor.Columns as { Name: string; Type: string }[]).map((c) => [c.Name, c.Type]),
    );

    expect(columns).toEqual({
      registration_id: 'string',
      event_id: 'string',
      attendee_email: 'string',
      ticket_type: 'string',
      amount: 'decimal(12,2)',
      currency: 'string',
      quantity: 'bigint',
      registered_at: 'timestamp',
      attendee_notes: 'string', // renamed by the contract
    });
    expect(table.PartitionKeys).toEqual([{ Name: 'event_date', Type: 'date' }]);
    expect(JSON.stringify(table.StorageDescriptor.Location)).toContain('/curated/registrations/');
    expect(table.StorageDescriptor.SerdeInfo.SerializationLibrary).toMatch(/ParquetHiveSerDe$/);
  });

  test('the Athena workgroup enforces encrypted results and a bytes-scanned cutoff', () => {
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        ResultConfiguration: Match.objectLike({
          EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: Match.anyValue() },
        }),
      }),
    });
  });
});

describe('step functions: Node 22 on arm64, Powertools by environment, no secrets', () => {
  test('every function is nodejs22.x arm64 (x86_64 only where the step ships a native x64 binary), traced, logging to its own encrypted log group', () => {
    const functions = ofType('AWS::Lambda::Function');

    expect(functions).toHaveLength(14); // twelve Task-state steps (transform, register-partitions since issue 12) + reconcile + record-failure
    for (const [, fn] of functions) {
      // DuckDB's Linux binding in node_modules is x64 (functions/steps.ts nativeModules).
      const x64 = fn.Properties.FunctionName === 'serverless-etl-load-dynamodb-sink';
      expect(fn.Properties).toMatchObject({
        Handler: 'functions/index.handler', // the bundle sits in functions/, contracts in schemas/
        Runtime: 'nodejs22.x',
        Architectures: [x64 ? 'x86_64' : 'arm64'],
        TracingConfig: { Mode: 'Active' },
      });
      const logGroup = resources[fn.Properties.LoggingConfig.LogGroup.Ref]!;
      expect(logGroup.Properties).toMatchObject({ RetentionInDays: 30, KmsKeyId: expect.anything() });
      expect(fn.Properties.Environment.Variables).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'serverless-etl',
        POWERTOOLS_METRICS_NAMESPACE: 'ServerlessEtl',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        SCHEMAS_DIR: '/var/task/schemas',
      });
    }
  });

  test('no environment variable carries a secret', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      for (const [name, value] of Object.entries(
        fn.Properties.Environment.Variables as Record<string, unknown>,
      )) {
        expect(name).not.toMatch(/SECRET|PASSWORD|TOKEN|ACCESS_KEY|CREDENTIAL/i);
        expect(JSON.stringify(value)).not.toMatch(/AKIA[0-9A-Z]{16}/);
      }
    }
  });
});

describe('ledger and reconcile', () => {
  test('the ledger is keyed pk/sk, on demand, encrypted with the key, recoverable to a point in time', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  test('a schedule invokes the reconcile function every hour', () => {
    const reconcile = logicalIdOf(synth.stack.reconcile.get('reconcile').fn);

    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [reconcile, 'Arn'] } }),
    });
  });
});

describe('alerts: an encrypted topic, readable failure mail, alarms that all notify', () => {
  test('the topic is encrypted with the key and mails the configured address', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: TEST_EMAIL });
  });

  test('a failed, timed-out or aborted execution sends the console link and both redrive commands', () => {
    const topic = logicalIdOf(synth.stack.notifications.topic);
    for (const r of [synth.stack.alerts.executionFailedRule, synth.stack.alerts.executionStoppedRule]) {
      const rule = resources[logicalIdOf(r)]!;
      expect(rule.Properties.Targets).toHaveLength(1);
      const target = rule.Properties.Targets[0];
      expect(target.Arn).toEqual({ Ref: topic });
      const text = target.InputTransformer.InputTemplate as string;
      expect(text).toContain('aws stepfunctions redrive-execution --execution-arn <detail-executionArn>');
      expect(text).toContain('etl redrive <detail-name> --stack EtlTest');
      expect(text).toContain(
        'console.aws.amazon.com/states/home?region=<region>#/v2/executions/details/<detail-executionArn>',
      );
    }
  });

  test('the failure e-mail leaves out rejected files (FAILED with FileRejectedError), not other failures', () => {
    const stateMachine = { Ref: logicalIdOf(synth.stack.stateMachine) };

    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [stateMachine],
          $or: [
            { status: ['FAILED'], error: [{ 'anything-but': ['FileRejectedError'] }] },
            { status: ['FAILED'], error: [{ exists: false }] },
          ],
        },
      },
      Targets: [Match.objectLike({ Arn: { Ref: logicalIdOf(synth.stack.notifications.topic) } })],
    });
    // The error skipped is the one the rejected-file Fail state ends with.
    expect((asl.States.FileRejected as { Type: string; Error?: string }).Error).toBe('FileRejectedError');
    expect(rejectionErrorOf()).toBe('FileRejectedError');
    expect(() => rejectionErrorOf('{"States":{}}')).toThrow(/no Fail state FileRejected/);

    const pattern = resources[logicalIdOf(synth.stack.alerts.executionFailedRule)]!.Properties.EventPattern;
    const event = (status: string, error?: string | null) => ({
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: { stateMachineArn: stateMachine, name: 'run-1', status, ...(error !== undefined && { error }) },
    });
    expect(eventMatches(pattern, event('FAILED', 'FileRejectedError'))).toBe(false);
    expect(eventMatches(pattern, event('FAILED', 'TransformFailedError'))).toBe(true);
    expect(eventMatches(pattern, event('FAILED', 'States.TaskFailed'))).toBe(true);
    expect(eventMatches(pattern, event('FAILED', null))).toBe(true); // a Fail state without Error
    expect(eventMatches(pattern, event('FAILED'))).toBe(true); // no error field at all
    // Timed-out and aborted runs have their own rule (same e-mail), so this rule counts failures only.
    expect(eventMatches(pattern, event('TIMED_OUT', 'States.Timeout'))).toBe(false);
    expect(eventMatches(pattern, event('ABORTED', null))).toBe(false);
    const stopped = resources[logicalIdOf(synth.stack.alerts.executionStoppedRule)]!.Properties.EventPattern;
    expect(eventMatches(stopped, event('TIMED_OUT', 'States.Timeout'))).toBe(true);
    expect(eventMatches(stopped, event('ABORTED', null))).toBe(true);
    expect(eventMatches(stopped, event('FAILED', 'TransformFailedError'))).toBe(false);
    expect(eventMatches(pattern, event('SUCCEEDED', null))).toBe(false);
    expect(eventMatches(pattern, event('RUNNING', null))).toBe(false);
    const otherMachine = event('FAILED', 'TransformFailedError');
    otherMachine.detail.stateMachineArn = { Ref: 'SomeOtherMachine' };
    expect(eventMatches(pattern, otherMachine)).toBe(false);
  });

  test('every failed, timed-out or aborted run (rejected ones too) invokes record-failure, with retries and a DLQ', () => {
    const fn = logicalIdOf(synth.stack.recordFailure.get('record-failure').fn);
    const queue = logicalIdOf(synth.stack.recordFailureDeadLetterQueue);

    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
          stateMachineArn: [{ Ref: logicalIdOf(synth.stack.stateMachine) }],
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [fn, 'Arn'] },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queue, 'Arn'] } },
        }),
      ],
    });
    // EventBridge may invoke it (resource policy), from this rule only.
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [logicalIdOf(synth.stack.recordFailureRule), 'Arn'] },
    });
    expect(resources[queue]!.Properties.KmsMasterKeyId).toEqual({
      'Fn::GetAtt': [logicalIdOf(synth.stack.storage.key as never), 'Arn'],
    });
    // Deployed like every step: its own role, log group, the ledger table in its environment.
    expect(resources[fn]!.Properties).toMatchObject({
      FunctionName: 'serverless-etl-record-failure',
      Role: { 'Fn::GetAtt': [logicalIdOf(synth.stack.recordFailure.get('record-failure').role), 'Arn'] },
      Environment: { Variables: { LEDGER_TABLE: { Ref: logicalIdOf(synth.stack.ledger) } } },
    });
  });

  test('every alarm notifies the topic, and the required ones exist', () => {
    const topic = logicalIdOf(synth.stack.notifications.topic);
    const alarms = ofType('AWS::CloudWatch::Alarm');

    for (const [, a] of alarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: topic }]);
    const names = alarms.map(([, a]) => a.Properties.AlarmName as string);
    expect(names).toEqual(
      expect.arrayContaining([
        'serverless-etl-ExecutionsFailed',
        'serverless-etl-ExecutionsTimedOut',
        'serverless-etl-ExecutionsAborted',
        'serverless-etl-GlueJobFailed',
        'serverless-etl-DeadLetterQueueNotEmpty',
        'serverless-etl-TriggerRuleFailedInvocations',
        'serverless-etl-RejectRate-registrations',
        'serverless-etl-RejectRate-payments',
        'serverless-etl-ReconcileErrors',
        'serverless-etl-RecordFailureErrors',
        'serverless-etl-RecordFailureDeadLettersNotEmpty',
      ]),
    );
  });

  test("each dataset's reject-rate alarm uses that contract's threshold over the validate metrics", () => {
    const alarm = (name: string) =>
      ofType('AWS::CloudWatch::Alarm').find(([, a]) => a.Properties.AlarmName === name)![1].Properties;

    for (const [dataset, threshold] of [
      ['registrations', 0.05],
      ['payments', 0.01],
    ] as const) {
      const a = alarm(`serverless-etl-RejectRate-${dataset}`);
      expect(a.Threshold).toBe(threshold);
      expect(a.ComparisonOperator).toBe('GreaterThanThreshold');
      const stats = (a.Metrics as Record<string, any>[]).filter((m) => m.MetricStat);
      expect(stats.map((m) => m.MetricStat.Metric.MetricName).sort()).toEqual(['RowsRead', 'RowsRejected']);
      for (const m of stats) {
        expect(m.MetricStat.Metric.Namespace).toBe('ServerlessEtl');
        expect(m.MetricStat.Metric.Dimensions).toEqual(
          expect.arrayContaining([{ Name: 'dataset', Value: dataset }]),
        );
      }
    }
  });

  test('the DLQ alarm fires on a single visible message', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'serverless-etl-DeadLetterQueueNotEmpty',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  test('one dashboard shows runs, durations, rows, rejects and DLQ depth', () => {
    const [, dashboard] = ofType('AWS::CloudWatch::Dashboard')[0]!;
    const body = JSON.stringify(dashboard.Properties.DashboardBody);

    for (const title of [
      'Runs by status',
      'Run duration',
      'Rows read / valid / rejected',
      'Reject ratio',
      'Dead-letter queue depth',
    ]) {
      expect(body).toContain(title);
    }
  });
});

test('the stack publishes every output the remote CLI reads', () => {
  const outputs = Object.keys(template.toJSON().Outputs as object);

  expect(outputs).toEqual(expect.arrayContaining(Object.keys(STACK_OUTPUTS)));
});

interface Acknowledged {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

/** Every acknowledgement recorded on any construct, with where it sits. */
function acknowledgements(): Acknowledged[] {
  const out: Acknowledged[] = [];
  for (const c of synth.app.node.findAll()) {
    for (const entry of c.node.metadata.filter(
      (m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY,
    )) {
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        out.push({ path: c.node.path, id, reason });
      }
    }
  }
  return out;
}

describe('cdk-nag AwsSolutions', () => {
  test('synth passes with no finding that is not acknowledged', () => {
    const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; conclusion: string; violations: { ruleName: string }[] }[];
    };

    expect(synthError?.message).toBeUndefined();
    const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions')!;
    expect(nag.violations.map((v) => v.ruleName)).toEqual([]);
    expect(nag.conclusion).toBe('success');
  });

  test('every acknowledgement is scoped to a resource below the stack and carries a real reason', () => {
    const acks = acknowledgements();

    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.path.split('/').length).toBeGreaterThan(1); // never the app or the whole stack
      expect(ack.id).toMatch(/^AwsSolutions::AwsSolutions-/);
      expect(ack.reason.length).toBeGreaterThan(40);
    }
  });

  test('wildcard-resource acknowledgements are only for actions without resource-level permissions', () => {
    const star = acknowledgements().filter((a) => a.id.endsWith('[Resource::*]'));

    for (const ack of star) expect(ack.reason).toMatch(/support no resource-level permissions/);
  });

  test('the check is live: an unacknowledged finding fails a synth', () => {
    const app = new App({ outdir: mkdtempSync(path.join(os.tmpdir(), 'etl-nag-live-')) });
    new s3.Bucket(new Stack(app, 'Careless'), 'NoLogsNoTls');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    expect(() => app.synth()).toThrow(/AwsSolutions-S1/);
  });
});

describe('cfn-lint', () => {
  test('the synthesized template has zero errors', () => {
    if (!existsSync(CFN_LINT)) {
      const msg = 'cfn-lint: NOT RUN — .venv/bin/cfn-lint missing. Run `npm run setup:python` to include it.';
      if (process.env.CI === 'true') throw new Error(msg);
      console.warn(msg);
      return;
    }
    const templateFile = path.join(outdir, `${synth.stack.artifactId}.template.json`);

    const result = spawnSync(CFN_LINT, ['--format', 'parseable', '--', templateFile], { encoding: 'utf8' });

    // cfn-lint's exit code is a bit field: 2 = errors, 4 = warnings, 8 = informational.
    const errors = result.stdout.split('\n').filter((l) => /:E\d{4}:/.test(l));
    expect(errors).toEqual([]);
    expect(result.status! & 2).toBe(0);
    expect(result.status! & 1).toBe(0); // 1 = cfn-lint itself failed
  });
});
