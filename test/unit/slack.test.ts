/**
 * The Slack notifier against a local HTTP server standing in for hooks.slack.com (real fetch,
 * real HTTP; only the sleeps between attempts are recorded instead of waited).
 */
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/aws/clients';
import { createLogger } from '../../lib/runtime/logger';
import type { RenderedAlert } from '../../lib/notify/format';
import { SlackError, SlackNotifier, checkWebhookUrl, resetWebhookCache, retryAfterMs, ssmWebhookUrl } from '../../lib/notify/slack';
import { deliver, type Notifier } from '../../lib/notify';
import { createMetrics } from '../../lib/runtime/metrics';
import { awsError } from '../helpers/aws-errors';
import { startWebhookSink, type WebhookSink } from '../../dev/webhook-sink';

const alert: RenderedAlert = {
  kind: 'change',
  subject: '[pitr-guard] PITR disabled on orders (123456789012 us-east-1): re-enabled',
  text: 'PITR disabled on orders\n',
  slack: { text: 'PITR disabled on orders: re-enabled.', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'PITR disabled on orders' } }] },
  attributes: {},
};

let sink: WebhookSink;
let lines: string[];
let slept: number[];
beforeEach(async () => {
  sink = await startWebhookSink();
  lines = [];
  slept = [];
});
afterEach(() => sink.stop());

function notifier(extra: Partial<ConstructorParameters<typeof SlackNotifier>[0]> = {}) {
  return new SlackNotifier({
    webhookUrl: async () => sink.url,
    logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }),
    sleep: async (ms) => {
      slept.push(ms);
    },
    baseDelayMs: 100,
    ...extra,
  });
}
const secret = () => new URL(sink.url).pathname;

describe('SlackNotifier', () => {
  it('posts Block Kit blocks with the text fallback as JSON', async () => {
    await notifier().send(alert);
    expect(sink.requests).toHaveLength(1);
    const req = sink.requests[0]!;
    expect(req.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(req.json).toEqual({ text: alert.slack.text, blocks: alert.slack.blocks });
  });

  it('429: waits for Retry-After, then delivers', async () => {
    sink.script([{ status: 429, body: 'rate_limited', headers: { 'Retry-After': '2' } }]);
    await notifier().send(alert);
    expect(sink.requests).toHaveLength(2);
    expect(slept).toEqual([2000]);
  });

  it('429 with a Retry-After longer than it waits: fails as retryable without sleeping', async () => {
    sink.script([{ status: 429, body: 'rate_limited', headers: { 'Retry-After': '600' } }]);
    const error = await notifier().send(alert).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlackError);
    expect(error).toMatchObject({ status: 429, permanent: false, slackError: 'rate_limited' });
    expect(slept).toEqual([]);
  });

  it('500 then success: retried with backoff', async () => {
    sink.script([{ status: 500, body: 'rollup_error' }, { status: 503, body: '' }]);
    await notifier().send(alert);
    expect(sink.requests).toHaveLength(3);
    expect(slept).toEqual([100, 200]);
    expect(lines.some((l) => l.includes('"slackError":"rollup_error"'))).toBe(true);
  });

  it('404: permanent, not retried, logged with Slack’s error string (never the URL)', async () => {
    sink.script([{ status: 404, body: 'channel_not_found' }]);
    const error = await notifier().send(alert).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 404, permanent: true, slackError: 'channel_not_found', message: 'Slack webhook answered HTTP 404 (channel_not_found)' });
    expect(sink.requests).toHaveLength(1);
    expect(slept).toEqual([]);
    const rejected = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'slack-rejected');
    expect(rejected).toMatchObject({ level: 'error', status: 404, slackError: 'channel_not_found' });
    expect(lines.join('\n')).not.toContain(secret());
  });

  it('every attempt failing: gives up after maxAttempts with a retryable error', async () => {
    sink.script([{ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }]);
    const error = await notifier({ maxAttempts: 3 }).send(alert).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 500, permanent: false, message: 'Slack webhook answered HTTP 500 (HTTP 500) after 3 attempts' });
    expect(sink.requests).toHaveLength(3);
  });

  it('an unreachable webhook is retried and reported without the secret path', async () => {
    const url = sink.url;
    await sink.stop();
    const error = (await new SlackNotifier({ webhookUrl: async () => url, sleep: async () => undefined, maxAttempts: 2 }).send(alert).catch((e: unknown) => e)) as SlackError;
    expect(error).toMatchObject({ status: undefined, permanent: false });
    expect(error.message).toMatch(/^Slack webhook could not be reached/);
    expect(error.message).not.toContain(new URL(url).pathname);
    sink = await startWebhookSink(); // for afterEach
  });
});

describe('SlackNotifier within the time the invocation has left', () => {
  it('429 with a long Retry-After that fits in the time left: waits for it (beyond the 30 s default), then delivers', async () => {
    sink.script([{ status: 429, body: 'rate_limited', headers: { 'Retry-After': '45' } }]);
    await notifier().send(alert, { timeLeftMs: () => 120_000 });
    expect(slept).toEqual([45_000]);
    expect(sink.requests).toHaveLength(2);
  });

  it('429 with a Retry-After longer than the time left: fails at once as transient, saying why, without waiting', async () => {
    sink.script([{ status: 429, body: 'rate_limited', headers: { 'Retry-After': '600' } }]);
    const error = (await notifier()
      .send(alert, { timeLeftMs: () => 60_000 })
      .catch((e: unknown) => e)) as SlackError;
    expect(error).toBeInstanceOf(SlackError);
    expect(error).toMatchObject({ status: 429, permanent: false });
    expect(error.message).toBe('Slack webhook answered HTTP 429 (rate_limited) after 1 attempt: Retry-After 600 s is longer than pitr-guard can wait (59 s)');
    expect(slept).toEqual([]);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'slack-rate-limited')).toMatchObject({ level: 'warn', retryAfterMs: 600_000 });
  });

  it('5xx: no backoff longer than the time left; no request started with less than a second left', async () => {
    sink.script([{ status: 500 }, { status: 500 }, { status: 500 }]);
    const error = (await notifier({ baseDelayMs: 2_000 })
      .send(alert, { timeLeftMs: () => 2_500 })
      .catch((e: unknown) => e)) as SlackError;
    expect(error.message).toBe('Slack webhook answered HTTP 500 (HTTP 500) after 1 attempt: no time left for another attempt (2500 ms left)');
    expect(sink.requests).toHaveLength(1);
    expect(slept).toEqual([]);
    const none = (await notifier()
      .send(alert, { timeLeftMs: () => 400 })
      .catch((e: unknown) => e)) as SlackError;
    expect(none).toMatchObject({ permanent: false, message: 'Slack webhook could not be reached (no attempt made) after 0 attempts: stopped with 400 ms left in the invocation' });
    expect(sink.requests).toHaveLength(1);
  });

  it('a hanging webhook: each request is abandoned at the timeout, retried, then fails as transient', async () => {
    sink.script([{ status: 0, hang: true }, { status: 0, hang: true }]);
    const started = Date.now();
    const error = (await notifier({ timeoutMs: 300, maxAttempts: 2 })
      .send(alert)
      .catch((e: unknown) => e)) as SlackError;
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error).toMatchObject({ status: undefined, permanent: false });
    expect(error.message).toMatch(/^Slack webhook could not be reached \(.*(timeout|aborted).*\) after 2 attempts$/i);
    expect(sink.requests).toHaveLength(2);
    expect(slept).toEqual([100]);
  });

  it('a hanging webhook never outlasts the time left, even with a longer per-request timeout', async () => {
    sink.script([{ status: 0, hang: true }]);
    const started = Date.now();
    const error = (await notifier({ timeoutMs: 10_000 })
      .send(alert, { timeLeftMs: () => 1_200 - (Date.now() - started) })
      .catch((e: unknown) => e)) as SlackError;
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(error).toMatchObject({ status: undefined, permanent: false });
  });
});

describe('retryAfterMs', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(retryAfterMs('3', 0)).toBe(3000);
    expect(retryAfterMs('0.5', 0)).toBe(500);
    expect(retryAfterMs('Sat, 21 Nov 2026 12:00:10 GMT', Date.parse('2026-11-21T12:00:00Z'))).toBe(10_000);
    expect(retryAfterMs(null, 0)).toBeUndefined();
    expect(retryAfterMs('soon', 0)).toBeUndefined();
  });
});

describe('the webhook URL from SSM', () => {
  const ssm = mockClient(SSMClient);
  beforeEach(() => {
    ssm.reset();
    resetWebhookCache();
  });

  it('is read once per cold start (decrypted), then cached', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: '/pitr-guard/slack-webhook', Type: 'SecureString', Value: 'https://hooks.slack.com/services/T1/B1/abc' } });
    const clients = new Clients();
    const read = ssmWebhookUrl(clients, 'us-east-1', '/pitr-guard/slack-webhook');
    expect(await read()).toBe('https://hooks.slack.com/services/T1/B1/abc');
    expect(await ssmWebhookUrl(clients, 'us-east-1', '/pitr-guard/slack-webhook')()).toBe('https://hooks.slack.com/services/T1/B1/abc');
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
    expect(ssm.commandCalls(GetParameterCommand)[0]!.args[0].input).toEqual({ Name: '/pitr-guard/slack-webhook', WithDecryption: true });
  });

  it('a failed read is not cached, and the error names the parameter, not its value', async () => {
    ssm.on(GetParameterCommand).rejectsOnce(awsError('ParameterNotFound')).resolves({ Parameter: { Value: 'http://example.com/services/T/B/secret' } });
    const read = ssmWebhookUrl(new Clients(), 'us-east-1', 'slack-webhook');
    await expect(read()).rejects.toMatchObject({ errorName: 'ParameterNotFound', operation: 'GetParameter' });
    const second = await read().catch((e: Error) => e);
    expect((second as Error).message).toBe('SSM parameter slack-webhook does not hold a usable Slack webhook URL: must be https:// (http:// only for a local test server)');
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
  });

  it('GetParameter denied: the Slack channel fails (permanent, named), SNS still delivers, the failure is counted', async () => {
    ssm.on(GetParameterCommand).rejects(awsError('AccessDeniedException', 400, 'User is not authorized to perform ssm:GetParameter'));
    const written: string[] = [];
    const slack = new SlackNotifier({ webhookUrl: ssmWebhookUrl(new Clients(), 'us-east-1', '/pitr-guard/slack-webhook') });
    const sent: RenderedAlert[] = [];
    const sns: Notifier = { channel: 'sns', send: async (a) => void sent.push(a) };
    const report = await deliver([sns, slack], alert, { metrics: createMetrics({ functionName: 'pitrChange', write: (l) => written.push(l) }) });
    expect(report).toEqual({
      delivered: ['sns'],
      failed: [
        {
          channel: 'slack',
          errorName: 'AccessDeniedException',
          message: 'GetParameter on /pitr-guard/slack-webhook failed: AccessDeniedException: User is not authorized to perform ssm:GetParameter',
          permanent: true,
        },
      ],
    });
    expect(sent).toEqual([alert]);
    expect(written.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([{ channel: 'slack', errorName: 'AccessDeniedException', AlertDeliveryFailed: 1 }]);
  });

  it('checkWebhookUrl accepts https and loopback http only', () => {
    expect(checkWebhookUrl('https://hooks.slack.com/services/T/B/x')).toBeUndefined();
    expect(checkWebhookUrl('http://127.0.0.1:4000/services/T/B/x')).toBeUndefined();
    expect(checkWebhookUrl('http://hooks.slack.com/services/T/B/x')).toBeDefined();
    expect(checkWebhookUrl('not a url')).toBe('not a URL');
  });
});
