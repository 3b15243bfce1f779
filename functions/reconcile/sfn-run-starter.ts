/**
 * {@link RunStarter} on Step Functions: StartExecution with a deterministic name. A Standard
 * workflow refuses a second execution with the same name (for 90 days), which is exactly the
 * "start once" the sweep needs.
 */
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { S3ObjectCreatedEvent } from '../../core/events';
import { TransientDependencyError } from '../../core/errors';
import type { RunStarter } from './reconcile';

export class SfnRunStarter implements RunStarter {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(name: string, event: S3ObjectCreatedEvent): Promise<'STARTED' | 'ALREADY_STARTED'> {
    try {
      await this.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name,
          input: JSON.stringify(event),
        }),
      );
      return 'STARTED';
    } catch (e) {
      const name_ = (e as Error).name;
      if (name_ === 'ExecutionAlreadyExists') return 'ALREADY_STARTED';
      if (
        name_ === 'ThrottlingException' ||
        name_ === 'ServiceUnavailable' ||
        name_ === 'InternalServerError'
      ) {
        throw new TransientDependencyError(`StartExecution ${name}: ${(e as Error).message}`);
      }
      throw e;
    }
  }
}

/** `arn:aws:states:<region>:<account>:stateMachine:<name>` → its region and account. */
export function regionAndAccountOf(stateMachineArn: string): { region: string; account: string } {
  const parts = stateMachineArn.split(':');
  if (parts.length < 7 || parts[2] !== 'states') {
    throw new Error(
      `"${stateMachineArn}" is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)`,
    );
  }
  return { region: parts[3]!, account: parts[4]! };
}
