/**
 * cdk-nag AwsSolutions acknowledgements for the pipeline stack. Each is scoped to the construct
 * it is about and carries the reason the finding does not apply. Wildcard resources are not
 * acknowledged wholesale: every IAM policy is walked, and a wildcard is acknowledged only when it
 * matches a known, narrow shape (an object prefix of one bucket, this database's tables, this
 * machine's executions, ...). Any other finding fails test/infra/nag.test.ts and must be fixed.
 */
import { Stack, Validations, type IResolvable } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

/** Actions whose only valid resource is `*` (no resource-level permissions in IAM). */
export const ACTIONS_WITHOUT_RESOURCE_LEVEL = new Set([
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
  'cloudwatch:PutMetricData',
  // The Redshift Data API's statement calls: IAM limits them to the caller's own statements.
  'redshift-data:DescribeStatement',
  'redshift-data:CancelStatement',
]);

/** Renders a resolved CloudFormation value the way cdk-nag names it in finding ids. */
export function nagName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('Ref' in o) return `<${String(o.Ref)}>`;
    if ('Fn::GetAtt' in o) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(nagName).join(sep);
    }
  }
  return JSON.stringify(value);
}

interface ResolvedStatement {
  readonly Action: string | string[];
  readonly Resource: unknown;
}

/** Why a wildcard resource is as narrow as it can be, or undefined when it is not acknowledged. */
function wildcardReason(resource: string, actions: readonly string[]): string | undefined {
  if (resource === '*') {
    const others = actions.filter((a) => !ACTIONS_WITHOUT_RESOURCE_LEVEL.has(a));
    if (others.length > 0) return undefined;
    return `${actions.join(', ')} support no resource-level permissions (X-Ray tracing, Step Functions log delivery, Glue metrics under a cloudwatch:namespace condition, Redshift Data API statements, which are owner-scoped); nothing else in this policy uses "*"`;
  }
  // Prefixes are key folders: incoming/, curated/<dataset>/ (a dataset name may hold `_`).
  let m = /^<([A-Za-z0-9]+)\.Arn>\/([a-z0-9_-]+\/)*\*$/.exec(resource);
  if (m) {
    const prefix = resource.slice(resource.indexOf('>/') + 2, -1);
    return prefix === ''
      ? 'object actions on every object of one pipeline bucket: object keys are data (one per uploaded file), not enumerable at deploy time'
      : `object actions limited to the ${prefix} prefix of one pipeline bucket; object keys below it are per file and not known at deploy time`;
  }
  m = /:table\/([a-z0-9_]+)\/\*$/.exec(resource);
  if (m && resource.includes(':glue:')) {
    return `every table of the pipeline's own Glue database ${m[1]}: the crawler creates one table per dataset contract`;
  }
  if (/:log-group:\/aws-glue\/(crawlers)?\*$/.test(resource)) {
    return 'Glue names its log groups per run and security configuration (/aws-glue/jobs/<config>-role/...); limited to /aws-glue/';
  }
  if (/:execution:[a-z0-9-]+:\*$/.test(resource)) {
    return 'executions of this pipeline state machine only (execution names are per file run)';
  }
  if (/:redshift-serverless:.*:workgroup\/\*$/.test(resource)) {
    return "Redshift Serverless workgroups of this account and region: a workgroup's ARN holds its generated id, and the sink contracts name the workgroup (the stack creates no warehouse)";
  }
  if (/^<[A-Za-z0-9]+\.Arn>:\*$/.test(resource)) {
    return "versions and aliases of this one function (the scheduler target's invoke grant)";
  }
  return undefined;
}

function acknowledgeWildcards(scope: IConstruct): void {
  const stack = Stack.of(scope);
  for (const policy of scope.node.findAll().filter((c): c is iam.Policy => c instanceof iam.Policy)) {
    const doc = stack.resolve(policy.document) as { Statement?: ResolvedStatement[] } | undefined;
    const done = new Set<string>();
    for (const st of doc?.Statement ?? []) {
      const actions = ([] as string[]).concat(st.Action);
      for (const r of ([] as unknown[]).concat(st.Resource as IResolvable)) {
        const name = nagName(r);
        if (!name.includes('*') || done.has(name)) continue;
        const reason = wildcardReason(name, actions);
        if (reason === undefined) continue;
        done.add(name);
        Validations.of(policy).acknowledge({
          id: `AwsSolutions::AwsSolutions-IAM5[Resource::${name}]`,
          reason,
        });
      }
    }
  }
}

function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::${id}`, reason });
}

/**
 * Adds the pipeline's acknowledgements. Called at the end of the stack's constructor, when every
 * policy statement exists.
 */
export function addPipelineNagSuppressions(
  scope: IConstruct,
  parts: { readonly deadLetterQueues: readonly IConstruct[] },
): void {
  // Wildcards: the whole stack, since the scheduler's target role is a stack-level singleton; only
  // the narrow shapes wildcardReason knows are acknowledged. Functions: the pipeline's own only, so
  // a team's other functions in the same stack keep their findings.
  acknowledgeWildcards(Stack.of(scope));
  for (const fn of scope.node.findAll().filter((c): c is lambda.Function => c instanceof lambda.Function)) {
    acknowledge(
      fn,
      'AwsSolutions-L1',
      'nodejs22.x is the runtime the project requires and tests (package.json engines; the local runtime runs the same handlers on Node 22); a newer runtime is a deliberate upgrade',
    );
  }
  for (const queue of parts.deadLetterQueues) {
    acknowledge(
      queue,
      'AwsSolutions-SQS3',
      "this queue is itself the dead-letter queue of an EventBridge rule's or schedule's target (the trigger's, record-failure's, or the pull schedules'); its depth alarms and it is drained by reconcile/redrive or by hand (a pull's next run catches its periods up)",
    );
  }
}
