/**
 * Alert channels failing, on moto behind the fault-injecting proxy, with the notifiers as Lambda
 * builds them (SNS Publish with the real SDK, the Slack webhook URL read from an SSM SecureString,
 * a local webhook sink). For each fault: what was delivered per channel (the SQS queue subscribed
 * to the topic, the sink), what deliver returned or threw, and the AlertDeliveryFailed metric lines
 * the alarm watches.
 */
import { Clients } from '../../lib/aws/clients';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { startFaultProxy, type FaultProxy } from '../../dev/local/proxy';
import { AlertDeliveryError, buildNotifiers, deliver, type DeliveryReport } from '../../lib/notify';
import type { RenderedAlert } from '../../lib/notify/format';
import { resetWebhookCache } from '../../lib/notify/slack';
import { createLogger } from '../../lib/runtime/logger';
import { createMetrics } from '../../lib/runtime/metrics';
import { putWebhookParameter, topicWithInbox, type TopicInbox } from '../helpers/alerting';
import { startWebhookSink, type WebhookSink } from '../../dev/webhook-sink';

let moto: MotoServer;
let proxy: FaultProxy;
let sink: WebhookSink;
let inbox: TopicInbox;
const PARAM = '/pitr-guard/slack-webhook';
const MISSING_TOPIC = 'arn:aws:sns:us-east-1:123456789012:no-such-topic';

const alert: RenderedAlert = {
  kind: 'change',
  subject: '[pitr-guard] PITR disabled on orders (123456789012 us-east-1): re-enabled',
  text: 'PITR disabled on orders\n',
  slack: { text: 'PITR disabled on orders: re-enabled.', blocks: [] },
  attributes: { kind: 'change', result: 'ENABLED' },
};

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint);
  sink = await startWebhookSink();
  inbox = await topicWithInbox(moto.endpoint);
  await putWebhookParameter(moto.endpoint, PARAM, sink.url);
});

afterAll(async () => {
  await sink?.stop();
  await proxy?.stop();
  await moto?.stop();
});

let metricLines: Record<string, unknown>[];
let logLines: Record<string, unknown>[];
let slept: number[];
/** SNS notifications already in the inbox, and Publish calls already made, before this test. */
let seenMessages = 0;
let publishesBefore = 0;
/** How many notifications reached the subscribed queue during this test (waiting for at least `n`). */
const newMessages = async (n: number) => (await inbox.receive(seenMessages + n)).length - seenMessages;
const publishes = () => (proxy.calls.Publish ?? 0) - publishesBefore;
beforeEach(async () => {
  resetWebhookCache();
  proxy.setRules([]);
  sink.script([]);
  sink.requests.length = 0;
  seenMessages = (await inbox.receive(0, 0)).length;
  publishesBefore = proxy.calls.Publish ?? 0;
  metricLines = [];
  logLines = [];
  slept = [];
});

function notifiers(topicArn: string | undefined = inbox.topicArn) {
  return buildNotifiers({
    policy: { ...(topicArn ? { alertTopicArn: topicArn } : {}), slackWebhookParam: PARAM },
    clients: new Clients({ endpoint: proxy.endpoint, maxAttempts: 3 }),
    homeRegion: 'us-east-1',
    logger: createLogger({ write: (l) => logLines.push(JSON.parse(l) as Record<string, unknown>) }),
    metrics: createMetrics({ functionName: 'pitrChange', write: (l) => metricLines.push(JSON.parse(l) as Record<string, unknown>) }),
    slack: { sleep: async (ms) => void slept.push(ms), baseDelayMs: 50, timeoutMs: 400 },
  });
}

const failedMetrics = () => metricLines.map((m) => ({ channel: m.channel, errorName: m.errorName, permanent: m.permanent, count: m.AlertDeliveryFailed }));

describe('one channel down, the other delivers, and the failure is counted', () => {
  it('SNS topic missing (NotFound): Slack delivers; SNS fails at once as permanent', async () => {
    const report = await deliver(notifiers(MISSING_TOPIC), alert, { logger: createLogger({ write: (l) => logLines.push(JSON.parse(l) as Record<string, unknown>) }) });
    expect(report.delivered).toEqual(['slack']);
    expect(report.failed).toMatchObject([{ channel: 'sns', errorName: 'NotFoundException', permanent: true }]);
    expect(sink.requests).toHaveLength(1);
    expect(publishes()).toBe(1); // not retried: a retry cannot create the topic
    expect(failedMetrics()).toEqual([{ channel: 'sns', errorName: 'NotFoundException', permanent: 'true', count: 1 }]);
    expect(logLines.find((l) => l.event === 'alert-failed')).toMatchObject({ level: 'error', channel: 'sns', permanent: true });
  });

  it('SSM GetParameter denied: SNS delivers to the subscribed queue; Slack fails as permanent, nothing posted', async () => {
    proxy.setRules([{ operation: 'GetParameter', fail: { status: 400, type: 'AccessDeniedException', message: 'not authorized to perform ssm:GetParameter' } }]);
    const report = await deliver(notifiers(), alert, {});
    expect(report.delivered).toEqual(['sns']);
    expect(report.failed).toMatchObject([{ channel: 'slack', errorName: 'AccessDeniedException', permanent: true }]);
    expect(report.failed[0]?.message).toContain(`GetParameter on ${PARAM} failed`);
    expect(await newMessages(1)).toBe(1);
    expect(sink.requests).toHaveLength(0);
    expect(failedMetrics()).toEqual([{ channel: 'slack', errorName: 'AccessDeniedException', permanent: 'true', count: 1 }]);
  });

  it('SNS answering 500 twice: the SDK retries and delivers; nothing counted', async () => {
    proxy.setRules([{ operation: 'Publish', times: 2, fail: { status: 500, type: 'InternalErrorException' } }]);
    const report = await deliver(notifiers(), alert, {});
    expect(report).toEqual({ delivered: ['sns', 'slack'], failed: [] });
    expect(publishes()).toBe(3);
    expect(await newMessages(1)).toBe(1);
    expect(metricLines).toEqual([]);
  });

  it('Slack 429 with a Retry-After longer than the time left: SNS delivers, Slack fails as transient at once', async () => {
    sink.script([{ status: 429, body: 'rate_limited', headers: { 'Retry-After': '600' } }]);
    const started = Date.now();
    const report = await deliver(notifiers(), alert, { remainingMs: () => 60_000 - (Date.now() - started) });
    expect(report.delivered).toEqual(['sns']);
    expect(report.failed).toMatchObject([{ channel: 'slack', errorName: 'SlackError', permanent: false }]);
    expect(report.failed[0]?.message).toMatch(/Retry-After 600 s is longer than pitr-guard can wait \(5\d s\)/);
    expect(slept).toEqual([]);
    expect(sink.requests).toHaveLength(1);
    expect(failedMetrics()).toEqual([{ channel: 'slack', errorName: 'SlackError', permanent: 'false', count: 1 }]);
  });

  it('Slack 429 with a Retry-After that fits: waited for, then delivered', async () => {
    sink.script([{ status: 429, body: 'rate_limited', headers: { 'Retry-After': '40' } }]);
    const report = await deliver(notifiers(), alert, { remainingMs: () => 120_000 });
    expect(report).toEqual({ delivered: ['sns', 'slack'], failed: [] });
    expect(slept).toEqual([40_000]);
    expect(sink.requests).toHaveLength(2);
  });

  it('Slack 500 on every attempt, 400 invalid_payload, or hanging: each fails, SNS delivers every time', async () => {
    const cases: { script: Parameters<WebhookSink['script']>[0]; permanent: boolean; requests: number; message: RegExp }[] = [
      { script: [{ status: 500, body: 'rollup_error' }, { status: 500 }, { status: 500 }, { status: 500 }], permanent: false, requests: 4, message: /HTTP 500 .* after 4 attempts/ },
      { script: [{ status: 400, body: 'invalid_payload' }], permanent: true, requests: 1, message: /HTTP 400 \(invalid_payload\)$/ },
      { script: [0, 1, 2, 3].map(() => ({ status: 0, hang: true })), permanent: false, requests: 4, message: /could not be reached .* after 4 attempts/ },
    ];
    for (const c of cases) {
      resetWebhookCache();
      sink.script(c.script);
      sink.requests.length = 0;
      metricLines = [];
      const report: DeliveryReport = await deliver(notifiers(), alert, { remainingMs: () => 60_000 });
      expect(report.delivered).toEqual(['sns']);
      expect(report.failed).toHaveLength(1);
      expect(report.failed[0]).toMatchObject({ channel: 'slack', permanent: c.permanent });
      expect(report.failed[0]?.message).toMatch(c.message);
      expect(sink.requests).toHaveLength(c.requests);
      expect(failedMetrics()).toEqual([{ channel: 'slack', errorName: 'SlackError', permanent: String(c.permanent), count: 1 }]);
    }
    expect(await newMessages(3)).toBe(3);
  });
});

describe('every channel down', () => {
  it('throws AlertDeliveryError naming both channels, and counts each', async () => {
    proxy.setRules([{ operation: 'GetParameter', fail: { status: 400, type: 'AccessDeniedException' } }]);
    const error = await deliver(notifiers(MISSING_TOPIC), alert, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AlertDeliveryError);
    expect((error as AlertDeliveryError).failures.map((f) => [f.channel, f.errorName, f.permanent])).toEqual([
      ['sns', 'NotFoundException', true],
      ['slack', 'AccessDeniedException', true],
    ]);
    expect(failedMetrics().map((m) => m.channel)).toEqual(['sns', 'slack']);
    expect(await newMessages(0)).toBe(0);
  });
});
