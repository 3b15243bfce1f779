/**
 * SNS behind the Notifier port (the state machine publishes with the sns:publish integration;
 * this is for code outside it: the local runtime's remote mode, alarms, the CLI).
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Notice, Notifier } from '../../core/ports';
import { rethrowTransient } from './transient';

/** @example new SnsNotifier(new SNSClient({}), process.env.NOTIFICATION_TOPIC_ARN!) */
export class SnsNotifier implements Notifier {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(notice: Notice): Promise<{ messageId: string }> {
    if (!/^[\x20-\x7e]{1,100}$/.test(notice.subject)) {
      throw new Error(
        `SNS subject must be 1-100 printable ASCII characters: ${JSON.stringify(notice.subject)}`,
      );
    }
    try {
      const out = await this.client.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Subject: notice.subject,
          Message: notice.message,
          ...(notice.attributes && {
            MessageAttributes: Object.fromEntries(
              Object.entries(notice.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
            ),
          }),
        }),
      );
      return { messageId: out.MessageId! };
    } catch (e) {
      return rethrowTransient(e, 'sns: publish');
    }
  }
}
