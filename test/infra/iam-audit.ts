/* eslint-disable @typescript-eslint/no-explicit-any -- synthesized CloudFormation is untyped JSON; these walk it freely */
/**
 * Least-privilege audit over a synthesized template: what a role is granted versus what its code
 * (a handler's iamNeeds) or its state machine definition (the ASL's Task states) uses. Pure
 * functions over template JSON, so the test can also prove the audit catches a doctored policy.
 */
import { kmsActionsFor } from '../../infra/iam-needs';
import { ACTIONS_WITHOUT_RESOURCE_LEVEL } from '../../infra/nag-suppressions';
import type { IamNeeds, IamResourceName } from '../../core/steps';

export type TemplateJson = { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };

/** One granted (action, resource) pair; the resource is the rendered CloudFormation JSON. */
export interface Grant {
  readonly action: string;
  readonly resource: string;
}

/** One used action and a marker the granting resource must contain (a logical id, a name, a prefix). */
export interface Use {
  readonly action: string;
  /** Every marker must appear in the granting resource's JSON. */
  readonly markers: readonly string[];
  readonly why: string;
}

/** Everything a role is granted by the inline policies attached to it. */
export function grantsOf(template: TemplateJson, roleLogicalId: string): Grant[] {
  const grants: Grant[] = [];
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const roles = (r.Properties.Roles as { Ref: string }[]).map((x) => x.Ref);
    if (!roles.includes(roleLogicalId)) continue;
    for (const st of r.Properties.PolicyDocument.Statement as Record<string, any>[]) {
      if (st.Effect !== 'Allow') continue;
      for (const action of ([] as string[]).concat(st.Action)) {
        for (const res of ([] as unknown[]).concat(st.Resource)) {
          grants.push({ action, resource: typeof res === 'string' ? res : JSON.stringify(res) });
        }
      }
    }
  }
  return grants;
}

export interface AuditFinding {
  readonly kind: 'missing' | 'unused' | 'wildcard';
  readonly action: string;
  readonly detail: string;
}

/**
 * Compares grants with uses: a used action with no grant on a resource carrying its markers is
 * `missing`; a granted action nobody uses is `unused`; `*` actions, or `*` resources for actions
 * that do support resource-level permissions, are `wildcard`.
 */
export function audit(grants: readonly Grant[], uses: readonly Use[]): AuditFinding[] {
  const findings: AuditFinding[] = [];
  for (const use of uses) {
    const ok = grants.some(
      (g) => g.action === use.action && use.markers.every((m) => g.resource.includes(m)),
    );
    if (!ok) {
      findings.push({
        kind: 'missing',
        action: use.action,
        detail: `on ${use.markers.join(' + ')} (${use.why})`,
      });
    }
  }
  const usedActions = new Set(uses.map((u) => u.action));
  for (const g of grants) {
    if (g.action.includes('*'))
      findings.push({ kind: 'wildcard', action: g.action, detail: `action wildcard on ${g.resource}` });
    else if (!usedActions.has(g.action))
      findings.push({ kind: 'unused', action: g.action, detail: `granted on ${g.resource}` });
    if (g.resource === '*' && !ACTIONS_WITHOUT_RESOURCE_LEVEL.has(g.action)) {
      findings.push({ kind: 'wildcard', action: g.action, detail: 'granted on Resource "*"' });
    }
  }
  return findings;
}

/** What marks each named resource in a rendered ARN: a logical id or a physical name. */
export type ResourceMarkers = Readonly<Record<IamResourceName | 'key', string>>;

/**
 * Needs on `sourceLanding` (functions/pull) as the needs on the landing bucket under the prefixes
 * the stack supplies for it (SourcePulls.landingPrefixes), which is what the stack grants.
 */
export function withSourceLandingPrefixes(needs: IamNeeds, prefixes: readonly string[]): IamNeeds {
  return needs.map((n) => (n.on === 'sourceLanding' ? { ...n, on: 'landingBucket', prefixes } : n));
}

/** The uses a step's declared needs imply, KMS included (as the stack derives it). */
export function usesOfNeeds(needs: IamNeeds, markers: ResourceMarkers): Use[] {
  const uses: Use[] = [];
  const encrypted = new Set<IamResourceName>([
    'landingBucket',
    'lakeBucket',
    'athenaResultsBucket',
    'ledgerTable',
    'notificationTopic',
    'sinkTables',
    'sourceLanding',
    'sourceLedgerTable',
  ]);
  for (const need of needs) {
    const prefixes = need.prefixes ?? [];
    for (const action of need.actions) {
      const bucketLevel = /^s3:(List|GetBucket)/.test(action);
      if (prefixes.length > 0 && !bucketLevel) {
        for (const p of prefixes) uses.push({ action, markers: [markers[need.on], `/${p}*`], why: need.why });
      } else {
        uses.push({ action, markers: [markers[need.on]], why: need.why });
      }
    }
    if (encrypted.has(need.on)) {
      for (const action of kmsActionsFor(need))
        uses.push({ action, markers: [markers.key], why: `${need.on} is encrypted with the key` });
    }
  }
  return uses;
}

/** Task states of an ASL document and the IAM actions their service integrations need. */
export function usesOfDefinition(
  asl: { States: Record<string, { Type: string; Resource?: string; Parameters?: Record<string, unknown> }> },
  markerOfSubstitution: (placeholder: string) => string,
  keyMarker: string,
): Use[] {
  const uses: Use[] = [];
  const placeholderIn = (value: unknown): string => {
    const m = /^\$\{(\w+)\}$/.exec(String(value));
    if (!m) throw new Error(`expected a \${Placeholder}, got ${String(value)}`);
    return markerOfSubstitution(m[1]!);
  };
  for (const [name, state] of Object.entries(asl.States)) {
    if (state.Type !== 'Task') continue;
    const resource = state.Resource ?? '';
    const why = `Task state ${name}`;
    if (/^\$\{\w+\}$/.test(resource)) {
      // A Lambda ARN as the resource: the direct (optimised-free) invoke.
      uses.push({ action: 'lambda:InvokeFunction', markers: [placeholderIn(resource)], why });
    } else if (resource === 'arn:aws:states:::lambda:invoke') {
      uses.push({
        action: 'lambda:InvokeFunction',
        markers: [placeholderIn(state.Parameters?.FunctionName)],
        why,
      });
    } else if (resource === 'arn:aws:states:::glue:startJobRun.sync') {
      const job = placeholderIn(state.Parameters?.JobName);
      for (const action of [
        'glue:StartJobRun',
        'glue:GetJobRun',
        'glue:GetJobRuns',
        'glue:BatchStopJobRun',
      ]) {
        uses.push({ action, markers: [job], why });
      }
    } else if (resource === 'arn:aws:states:::glue:startJobRun') {
      uses.push({ action: 'glue:StartJobRun', markers: [placeholderIn(state.Parameters?.JobName)], why });
    } else if (resource === 'arn:aws:states:::sns:publish') {
      uses.push({ action: 'sns:Publish', markers: [placeholderIn(state.Parameters?.TopicArn)], why });
      uses.push({
        action: 'kms:GenerateDataKey',
        markers: [keyMarker],
        why: `${why}: the topic is encrypted`,
      });
      uses.push({ action: 'kms:Decrypt', markers: [keyMarker], why: `${why}: the topic is encrypted` });
    } else {
      throw new Error(
        `${name}: no IAM mapping for Task resource ${resource}; add one to test/infra/iam-audit.ts`,
      );
    }
  }
  return uses;
}

/** What Step Functions needs for ALL-level logging to CloudWatch Logs and for X-Ray tracing. */
export const STATE_MACHINE_LOGGING_ACTIONS = [
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
];
export const STATE_MACHINE_TRACING_ACTIONS = [
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
];
export const LAMBDA_TRACING_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];
