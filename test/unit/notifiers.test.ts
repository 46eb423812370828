import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/aws/clients';
import { createLogger, silentLogger } from '../../lib/runtime/logger';
import { AlertDeliveryError, DELIVERY_RESERVE_MS, buildNotifiers, deliver, isPermanentFailure, type Notifier } from '../../lib/notify';
import { AwsCallError, PitrGuardError, SlackError } from '../../lib/core/errors';
import { createMetrics } from '../../lib/runtime/metrics';
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
    expect(report).toEqual({
      delivered: ['slack'],
      failed: [{ channel: 'sns', errorName: 'AuthorizationErrorException', message: 'AuthorizationErrorException (test)', permanent: true }],
    });
    expect(slack.sent).toEqual([alert]);
    expect(lines.map((l) => JSON.parse(l).event)).toEqual(['alert-failed', 'alert-sent']);
    // The line keeps its own message; the channel's error is in errorMessage.
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'error',
      message: 'alert not delivered on sns (permanent: fix the channel)',
      channel: 'sns',
      errorName: 'AuthorizationErrorException',
      errorMessage: 'AuthorizationErrorException (test)',
      permanent: true,
    });
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

describe('deliver: failures are counted (AlertDeliveryFailed) and classified', () => {
  const emf = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } });

  it('emits one AlertDeliveryFailed metric per failed channel, naming the channel, while the other channel delivers', async () => {
    const written: string[] = [];
    const metrics = createMetrics({ functionName: 'pitrChange', write: (l) => written.push(l), now: () => new Date(0) });
    const report = await deliver([fake('sns', awsError('NotFoundException', 404, 'Topic does not exist')), fake('slack')], alert, { metrics });
    expect(report.delivered).toEqual(['slack']);
    expect(report.failed).toEqual([{ channel: 'sns', errorName: 'NotFoundException', message: 'Topic does not exist', permanent: true }]);
    expect(emf(written)).toEqual([
      {
        _aws: { Timestamp: 0, CloudWatchMetrics: [{ Namespace: 'pitr-guard', Dimensions: [['function'], ['function', 'channel']], Metrics: [{ Name: 'AlertDeliveryFailed', Unit: 'Count' }] }] },
        channel: 'sns',
        errorName: 'NotFoundException',
        permanent: 'true',
        function: 'pitrChange',
        AlertDeliveryFailed: 1,
      },
    ]);
  });

  it('counts every channel when all fail, then throws; nothing is counted when all deliver', async () => {
    const written: string[] = [];
    const metrics = createMetrics({ functionName: 'scheduledScan', write: (l) => written.push(l) });
    await expect(deliver([fake('sns', awsError('InternalErrorException', 500)), fake('slack', new SlackError(503, 'HTTP 503', false, 4))], alert, { metrics })).rejects.toBeInstanceOf(
      AlertDeliveryError,
    );
    expect(emf(written).map((m) => [m.channel, m.errorName, m.permanent, m.AlertDeliveryFailed])).toEqual([
      ['sns', 'InternalErrorException', 'false', 1],
      ['slack', 'SlackError', 'false', 1],
    ]);
    written.length = 0;
    await deliver([fake('sns'), fake('slack')], alert, { metrics });
    expect(written).toEqual([]);
  });

  it('uses the metrics buildNotifiers gave the notifier when deliver is given none; deliver’s own win', async () => {
    const own: string[] = [];
    const given: string[] = [];
    const failing = { ...fake('slack', new SlackError(404, 'no_service', true, 1)), metrics: createMetrics({ functionName: 'scheduledScan', write: (l) => own.push(l) }) };
    await deliver([failing, fake('sns')], alert, { logger: silentLogger });
    expect(emf(own).map((m) => [m.function, m.channel, m.permanent])).toEqual([['scheduledScan', 'slack', 'true']]);
    await deliver([failing, fake('sns')], alert, { metrics: createMetrics({ functionName: 'pitrChange', write: (l) => given.push(l) }) });
    expect(own).toHaveLength(1);
    expect(emf(given).map((m) => m.function)).toEqual(['pitrChange']);
  });

  it('hands each channel the invocation’s remaining time less the reserve', async () => {
    const seen: (number | undefined)[] = [];
    const probe: Notifier = { channel: 'slack', send: async (_a, o) => void seen.push(o?.timeLeftMs?.()) };
    await deliver([probe], alert, { remainingMs: () => 60_000 });
    await deliver([probe], alert, {});
    expect(seen).toEqual([60_000 - DELIVERY_RESERVE_MS, undefined]);
  });

  it('classifies failures: setup errors are permanent, throttling, 5xx, timeouts and network errors transient', () => {
    for (const name of ['NotFoundException', 'AuthorizationErrorException', 'AccessDeniedException', 'KMSDisabledException', 'InvalidParameterException', 'ParameterNotFound']) {
      expect([name, isPermanentFailure(new AwsCallError('Publish', awsError(name)))]).toEqual([name, true]);
    }
    for (const name of ['InternalErrorException', 'ThrottlingException', 'Throttled', 'KMSThrottlingException', 'AbortError', 'TimeoutError', 'ECONNRESET', 'ExpiredTokenException', 'InternalServerError']) {
      expect([name, isPermanentFailure(new AwsCallError('Publish', awsError(name, 500)))]).toEqual([name, false]);
    }
    expect(isPermanentFailure(new SlackError(404, 'channel_not_found', true, 1))).toBe(true);
    expect(isPermanentFailure(new SlackError(429, 'rate_limited', false, 1))).toBe(false);
    expect(isPermanentFailure(new PitrGuardError('SLACK_WEBHOOK_INVALID', 'not a URL'))).toBe(true);
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

  it('a topic that does not exist fails at once, permanent, and names the topic', async () => {
    sns.on(PublishCommand).rejects(awsError('NotFoundException', 404, 'Topic does not exist'));
    const report = await deliver([new SnsNotifier(new Clients(), 'arn:aws:sns:eu-west-1:123456789012:gone'), fake('slack')], alert);
    expect(report.failed).toEqual([
      { channel: 'sns', errorName: 'NotFoundException', message: 'Publish on arn:aws:sns:eu-west-1:123456789012:gone failed: NotFoundException: Topic does not exist', permanent: true },
    ]);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });

  it('fitBytes cuts a message to the byte limit on a character boundary', () => {
    const text = 'é'.repeat(200_000); // 400,000 bytes
    const cut = fitBytes(text, 250_000);
    expect(Buffer.byteLength(cut, 'utf8')).toBeLessThanOrEqual(250_000);
    expect(cut.endsWith('…(truncated)\n')).toBe(true);
    expect(fitBytes('short', 10)).toBe('short');
  });
});
