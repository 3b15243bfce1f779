/**
 * Turns a step's declared {@link IamNeeds} (core/steps.ts) into IAM statements on the deployed
 * resources — and nothing else. KMS use follows from the declared S3/DynamoDB/SNS actions on
 * key-encrypted resources, so a handler never has to know the stack encrypts with a CMK.
 */
import { ArnFormat, type Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { IamNeed, IamNeeds, IamResourceName } from '../core/steps';

/** How a resource name in an {@link IamNeed} maps to ARNs of this stack. */
export type IamResourceArns =
  | { readonly kind: 'bucket'; readonly bucketArn: string }
  /**
   * A bucket, only under these key prefixes (ending in `/`), which the stack knows and the code
   * does not (the pulled datasets' `incoming/<dataset>/`): a need on it names no prefixes.
   */
  | { readonly kind: 'bucketPrefixes'; readonly bucketArn: string; readonly prefixes: readonly string[] }
  | { readonly kind: 'arns'; readonly arns: readonly string[] }
  /** Nothing of this kind in the deployment (e.g. no contract has a dynamodb sink): grant nothing. */
  | { readonly kind: 'none' }
  | { readonly kind: 'stateMachine'; readonly stateMachineArn: string; readonly executionsArn: string };

export type IamResourceMap = Readonly<Partial<Record<IamResourceName, IamResourceArns>>>;

/** S3 actions that act on the bucket itself rather than on objects. */
const BUCKET_LEVEL_S3 = new Set([
  's3:ListBucket',
  's3:ListBucketVersions',
  's3:ListBucketMultipartUploads',
  's3:GetBucketLocation',
  's3:GetBucketVersioning',
]);
/** Step Functions actions whose resource is an execution, not the state machine. */
const EXECUTION_LEVEL_STATES = new Set([
  'states:DescribeExecution',
  'states:StopExecution',
  'states:GetExecutionHistory',
  'states:RedriveExecution',
]);

const S3_READS = /^s3:GetObject/;
const S3_WRITES = /^s3:(PutObject|AbortMultipartUpload|ListMultipartUploadParts)/;
const DDB_WRITES = /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)$/;

/**
 * KMS actions implied by a need on a resource encrypted with the stack's key: reading an SSE-KMS
 * object decrypts its data key; writing one generates a data key (and multipart uploads decrypt
 * it again to complete); DynamoDB and SNS do the same on the caller's behalf.
 */
export function kmsActionsFor(need: IamNeed): string[] {
  const out = new Set<string>();
  for (const action of need.actions) {
    if (S3_READS.test(action)) out.add('kms:Decrypt');
    if (S3_WRITES.test(action)) {
      out.add('kms:GenerateDataKey');
      out.add('kms:Decrypt');
    }
    if (action.startsWith('dynamodb:')) {
      out.add('kms:Decrypt');
      out.add('kms:DescribeKey');
      if (DDB_WRITES.test(action)) {
        out.add('kms:Encrypt');
        out.add('kms:GenerateDataKey');
      }
    }
    if (action === 'sns:Publish') {
      out.add('kms:GenerateDataKey');
      out.add('kms:Decrypt');
    }
  }
  return [...out].sort();
}

function checkNeed(owner: string, need: IamNeed): void {
  for (const action of need.actions) {
    if (!/^[a-z0-9-]+:[A-Za-z0-9]+$/.test(action)) {
      throw new Error(
        `${owner}: iamNeeds action "${action}" on ${need.on} is not an exact IAM action. Fix: name one action, e.g. "s3:GetObject" (no wildcards).`,
      );
    }
  }
  for (const prefix of need.prefixes ?? []) {
    if (!prefix.endsWith('/') || prefix.startsWith('/') || /[*?]/.test(prefix)) {
      throw new Error(
        `${owner}: iamNeeds prefix "${prefix}" on ${need.on} must be a key prefix ending in "/", without wildcards.`,
      );
    }
  }
}

/**
 * The statements that grant exactly `needs`. Unknown resource names are an error: a handler that
 * declares a need the stack cannot resolve would otherwise fail only when it runs.
 */
export function statementsFor(
  owner: string,
  needs: IamNeeds,
  resources: IamResourceMap,
  key: kms.IKey,
): iam.PolicyStatement[] {
  const statements: iam.PolicyStatement[] = [];
  const kmsActions = new Set<string>();
  for (const need of needs) {
    checkNeed(owner, need);
    const target = resources[need.on];
    if (!target) {
      throw new Error(
        `${owner}: iamNeeds names "${need.on}", which this stack does not give to that function. Known: ${Object.keys(resources).join(', ')}.`,
      );
    }
    if (target.kind === 'none') continue;
    const actions = [...need.actions];
    if (target.kind === 'bucketPrefixes' && need.prefixes !== undefined) {
      throw new Error(
        `${owner}: iamNeeds on ${need.on} names prefixes; the stack supplies them (${target.prefixes.join(', ')}). Fix: drop "prefixes" from that need.`,
      );
    }
    if (target.kind === 'bucketPrefixes' && target.prefixes.length === 0) continue;
    if (target.kind === 'bucket' || target.kind === 'bucketPrefixes') {
      const prefixes = target.kind === 'bucketPrefixes' ? target.prefixes : (need.prefixes ?? []);
      const objectActions = actions.filter((a) => !BUCKET_LEVEL_S3.has(a));
      const bucketActions = actions.filter((a) => BUCKET_LEVEL_S3.has(a));
      if (objectActions.length > 0) {
        statements.push(
          new iam.PolicyStatement({
            actions: objectActions,
            resources:
              prefixes.length > 0
                ? prefixes.map((p) => `${target.bucketArn}/${p}*`)
                : [`${target.bucketArn}/*`],
          }),
        );
      }
      if (bucketActions.length > 0) {
        const listing = bucketActions.filter((a) => a.startsWith('s3:List'));
        const other = bucketActions.filter((a) => !a.startsWith('s3:List'));
        if (listing.length > 0) {
          statements.push(
            new iam.PolicyStatement({
              actions: listing,
              resources: [target.bucketArn],
              ...(prefixes.length > 0 && {
                conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
              }),
            }),
          );
        }
        if (other.length > 0)
          statements.push(new iam.PolicyStatement({ actions: other, resources: [target.bucketArn] }));
      }
    } else if (target.kind === 'stateMachine') {
      const onExecutions = actions.filter((a) => EXECUTION_LEVEL_STATES.has(a));
      const onMachine = actions.filter((a) => !EXECUTION_LEVEL_STATES.has(a));
      if (onMachine.length > 0)
        statements.push(new iam.PolicyStatement({ actions: onMachine, resources: [target.stateMachineArn] }));
      if (onExecutions.length > 0)
        statements.push(
          new iam.PolicyStatement({ actions: onExecutions, resources: [target.executionsArn] }),
        );
    } else {
      statements.push(new iam.PolicyStatement({ actions, resources: [...target.arns] }));
    }
    if (
      [
        'landingBucket',
        'lakeBucket',
        'athenaResultsBucket',
        'ledgerTable',
        'notificationTopic',
        'sinkTables',
        'sourceLanding',
        'sourceLedgerTable',
      ].includes(need.on)
    ) {
      for (const a of kmsActionsFor(need)) kmsActions.add(a);
    }
  }
  if (kmsActions.size > 0) {
    statements.push(new iam.PolicyStatement({ actions: [...kmsActions].sort(), resources: [key.keyArn] }));
  }
  return statements;
}

/** ARN of every execution of the named state machine (`...:execution:<name>:*`). */
export function executionsArnOf(scope: Stack, stateMachineName: string): string {
  return scope.formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${stateMachineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
