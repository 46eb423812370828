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

  it('checkWebhookUrl accepts https and loopback http only', () => {
    expect(checkWebhookUrl('https://hooks.slack.com/services/T/B/x')).toBeUndefined();
    expect(checkWebhookUrl('http://127.0.0.1:4000/services/T/B/x')).toBeUndefined();
    expect(checkWebhookUrl('http://hooks.slack.com/services/T/B/x')).toBeDefined();
    expect(checkWebhookUrl('not a url')).toBe('not a URL');
  });
});
