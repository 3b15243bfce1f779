/**
 * The local SNS topic: every publish becomes a file in `<home>/outbox/` (what a subscriber would
 * have received) and a line on the terminal. The Notify tasks call it with the same parameters
 * the `arn:aws:states:::sns:publish` integration sends, and get the same `{ MessageId }` back.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The sns:publish integration's parameters (the subset the pipeline uses). */
export interface PublishInput {
  readonly TopicArn: string;
  readonly Subject?: string;
  readonly Message: string;
  readonly MessageAttributes?: Readonly<Record<string, { DataType: string; StringValue?: string }>>;
}

/** One message as stored in the outbox. */
export interface OutboxMessage extends PublishInput {
  readonly MessageId: string;
  readonly publishedAt: string;
  /** The execution that published it. */
  readonly runId: string;
}

export class Outbox {
  constructor(
    readonly dir: string,
    private readonly announce: (message: OutboxMessage) => void = () => {},
  ) {}

  /** Stores the message atomically and announces it; returns what SNS Publish returns. */
  publish(input: PublishInput, runId: string): { MessageId: string } {
    if (typeof input.Message !== 'string' || input.Message === '')
      throw Object.assign(new Error('Invalid parameter: Message must not be empty'), {
        name: 'Sns.InvalidParameterException',
      });
    const message: OutboxMessage = {
      ...input,
      MessageId: randomUUID(),
      publishedAt: new Date().toISOString(),
      runId,
    };
    mkdirSync(this.dir, { recursive: true });
    const stamp = message.publishedAt.replace(/[-:.]/g, '');
    const file = path.join(this.dir, `${stamp}-${message.MessageId}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(message, null, 2));
    renameSync(`${file}.tmp`, file);
    this.announce(message);
    return { MessageId: message.MessageId };
  }

  /** Every stored message, oldest first. */
  list(): OutboxMessage[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => n.endsWith('.json'))
      .sort()
      .map((n) => JSON.parse(readFileSync(path.join(this.dir, n), 'utf8')) as OutboxMessage);
  }
}
