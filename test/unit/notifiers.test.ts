import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/aws/clients';
import { createLogger } from '../../lib/runtime/logger';
import { AlertDeliveryError, buildNotifiers, deliver, type Notifier } from '../../lib/notify';
import type { RenderedAlert } from '../../lib/notify/format';
import { SnsNotifier, fitBytes } from '../../lib/notify/sns';
import { awsError } from '../helpers/aws-errors';

const alert: RenderedAlert = {
  kind: 'change',
  subject: '[pitr-guard] PITR disabled on orders (123456789012 us-east-1): re-enabled',
  text: 'PITR disabled on orders\n\nAccount:        123456789012\n',
  slack: { text: 'x', blocks: [] },
  attributes: { kind: 'change', accountId: '123456789012', result: 'ENABLED', empty: '' },
};

const fake = (channel: Notifier['channel'], fail?: Error): Notifier & { sent: RenderedAlert[] } => {
  const sent: RenderedAlert[] = [];
  return {
    channel,
    sent,
    send: async (a) => {
      if (fail) throw fail;
      sent.push(a);
    },
  };
};

describe('deliver (fan-out)', () => {
  it('sends to every channel; one failing does not stop the others', async () => {
    const lines: string[] = [];
    const sns = fake('sns', awsError('AuthorizationErrorException'));
    const slack = fake('slack');
    const report = await deliver([sns, slack], alert, createLogger({ write: (l) => lines.push(l) }));
    expect(report).toEqual({ delivered: ['slack'], failed: [{ channel: 'sns', errorName: 'AuthorizationErrorException', message: 'AuthorizationErrorException (test)' }] });
    expect(slack.sent).toEqual([alert]);
    expect(lines.map((l) => JSON.parse(l).event)).toEqual(['alert-failed', 'alert-sent']);
  });

  it('throws when every configured channel fails, so the invocation is retried', async () => {
    const error = await deliver([fake('sns', awsError('InternalErrorException', 500)), fake('slack', new Error('Slack webhook answered HTTP 500'))], alert).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AlertDeliveryError);
    expect((error as AlertDeliveryError).failures.map((f) => f.channel)).toEqual(['sns', 'slack']);
    expect((error as Error).message).toMatch(/^alert delivery failed on every channel: sns: InternalErrorException/);
  });

  it('with no channel configured, logs the alert and does not throw', async () => {
    const lines: string[] = [];
    expect(await deliver([], alert, createLogger({ write: (l) => lines.push(l) }))).toEqual({ delivered: [], failed: [] });
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', event: 'alert-not-sent', subject: alert.subject });
  });
});

describe('buildNotifiers', () => {
  const clients = new Clients();
  it('configures SNS from the topic ARN and Slack from the webhook parameter', () => {
    expect(buildNotifiers({ policy: {}, clients, homeRegion: 'us-east-1' })).toEqual([]);
    const both = buildNotifiers({ policy: { alertTopicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts', slackWebhookParam: '/x' }, clients, homeRegion: 'us-east-1' });
    expect(both.map((n) => n.channel)).toEqual(['sns', 'slack']);
    expect(buildNotifiers({ policy: {}, clients, homeRegion: 'us-east-1', slackWebhookUrl: 'http://127.0.0.1:1/x' }).map((n) => n.channel)).toEqual(['slack']);
  });
});

describe('SnsNotifier', () => {
  const sns = mockClient(SNSClient);
  beforeEach(() => sns.reset());

  it('publishes subject, plain-text message and string attributes to the topic, in the topic’s Region', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const clients = new Clients();
    const n = new SnsNotifier(clients, 'arn:aws:sns:eu-west-1:123456789012:pitr-guard-alerts');
    await n.send(alert);
    expect(sns.commandCalls(PublishCommand)[0]!.args[0].input).toEqual({
      TopicArn: 'arn:aws:sns:eu-west-1:123456789012:pitr-guard-alerts',
      Subject: alert.subject,
      Message: alert.text,
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'change' },
        accountId: { DataType: 'String', StringValue: '123456789012' },
        result: { DataType: 'String', StringValue: 'ENABLED' },
      },
    });
    expect(await (clients.get(SNSClient, 'eu-west-1').config.region as () => Promise<string>)()).toBe('eu-west-1');
  });

  it('wraps a failure with the operation and the topic', async () => {
    sns.on(PublishCommand).rejects(awsError('AuthorizationErrorException'));
    const error = (await new SnsNotifier(new Clients(), 'arn:aws:sns:eu-west-1:123456789012:t').send(alert).catch((e: Error) => e)) as Error;
    expect(error.message).toBe('Publish on arn:aws:sns:eu-west-1:123456789012:t failed: AuthorizationErrorException: AuthorizationErrorException (test)');
  });

  it('fitBytes cuts a message to the byte limit on a character boundary', () => {
    const text = 'é'.repeat(200_000); // 400,000 bytes
    const cut = fitBytes(text, 250_000);
    expect(Buffer.byteLength(cut, 'utf8')).toBeLessThanOrEqual(250_000);
    expect(cut.endsWith('…(truncated)\n')).toBe(true);
    expect(fitBytes('short', 10)).toBe('short');
  });
});
