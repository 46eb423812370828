/**
 * Slack incoming webhook: one POST per alert (Block Kit blocks + a text fallback), with Node's
 * global fetch.
 *
 * - 2xx: delivered. 429: waits for Retry-After (seconds or an HTTP date) and tries again.
 *   5xx, network errors and timeouts (a webhook that hangs): retried with exponential backoff. Any
 *   other 4xx is permanent (invalid_payload, channel_not_found, no_service, …): logged with Slack's
 *   error string, not retried.
 * - Every wait and every request fits in the time the caller has left (`timeLeftMs`): a Retry-After
 *   longer than that is not waited for; the delivery fails as transient, so the invocation's retry
 *   (or the failed-events queue) carries it. Without a known time left, Retry-After is honoured up
 *   to `maxRetryAfterMs` (30 s).
 * - The webhook URL cannot be read (SSM GetParameter denied, parameter missing or not a URL): the
 *   channel fails (permanent, except throttling or an SSM outage), and the other channels still send.
 * - The webhook URL is a secret. It lives in an SSM SecureString (PITR_GUARD_SLACK_WEBHOOK_PARAM),
 *   is read once per cold start, and is never logged or put in an error message.
 *
 * IAM: ssm:GetParameter on that one parameter (+ kms:Decrypt if it is encrypted with a customer key).
 */
import type { Clients } from '../aws/clients';
import { AwsCallError, PitrGuardError, SlackError, errorMessage } from '../core/errors';
import type { Metrics } from '../runtime/metrics';
import { silentLogger, type Logger } from '../runtime/logger';
import { sleep as realSleep, type Sleep } from '../aws/pace';
import type { RenderedAlert } from './format';
import type { Notifier, SendOptions } from './channel';

export { SlackError } from '../core/errors';

export interface FetchResponseLike {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}
export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal?: AbortSignal }) => Promise<FetchResponseLike>;

export interface SlackOptions {
  /** Resolves the webhook URL (cached by the caller: see ssmWebhookUrl). */
  webhookUrl: () => Promise<string>;
  logger?: Logger;
  fetch?: FetchLike;
  sleep?: Sleep;
  /** Attempts in all, first included (default 4). */
  maxAttempts?: number;
  /**
   * Longest Retry-After honoured; a longer one fails the delivery (Lambda retries later). Default:
   * the time the caller has left, or 30 s when that is not known.
   */
  maxRetryAfterMs?: number;
  /** First backoff for 5xx / network errors; doubles each time. Default 1 s. */
  baseDelayMs?: number;
  /** Per-request timeout (a hanging webhook is abandoned after it). Default 10 s. */
  timeoutMs?: number;
  /** Where failures are counted when deliver is given no metrics. */
  metrics?: Metrics;
}

/** A request is not started with less time than this left. */
const MIN_ATTEMPT_MS = 1_000;
const DEFAULT_RETRY_AFTER_MAX_MS = 30_000;

export class SlackNotifier implements Notifier {
  readonly channel = 'slack' as const;
  readonly metrics?: Metrics;
  private readonly o: Required<Omit<SlackOptions, 'logger' | 'metrics' | 'maxRetryAfterMs'>> & { logger: Logger; maxRetryAfterMs?: number };

  constructor(options: SlackOptions) {
    const { metrics, ...rest } = options;
    if (metrics) this.metrics = metrics;
    this.o = {
      fetch: (url, init) => fetch(url, init),
      sleep: realSleep,
      maxAttempts: 4,
      baseDelayMs: 1_000,
      timeoutMs: 10_000,
      logger: silentLogger,
      ...stripUndefined(rest),
    } as SlackNotifier['o'];
  }

  async send(alert: RenderedAlert, options: SendOptions = {}): Promise<void> {
    const logger = this.o.logger === silentLogger && options.logger ? options.logger : this.o.logger;
    const timeLeft = options.timeLeftMs ?? (() => Number.POSITIVE_INFINITY);
    const url = await this.o.webhookUrl();
    const body = JSON.stringify({ text: alert.slack.text, blocks: alert.slack.blocks });
    let delay = this.o.baseDelayMs;
    let last: SlackError | undefined;
    let attempt = 0;
    while (attempt < this.o.maxAttempts) {
      const left = timeLeft();
      if (left < MIN_ATTEMPT_MS) {
        last = new SlackError(last?.status, last?.slackError ?? 'no attempt made', false, attempt, `stopped with ${Math.max(0, Math.round(left))} ms left in the invocation`);
        break;
      }
      attempt++;
      let status: number | undefined;
      let answer: string;
      let retryAfter: string | null = null;
      try {
        const res = await this.o.fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body,
          signal: AbortSignal.timeout(Math.min(this.o.timeoutMs, left)),
        });
        status = res.status;
        retryAfter = res.headers.get('retry-after');
        answer = (await res.text().catch(() => '')).trim().slice(0, 200);
      } catch (error) {
        answer = redact(errorMessage(error) + causeOf(error), url);
      }
      if (status !== undefined && status >= 200 && status < 300) {
        if (attempt > 1) logger.info('Slack accepted the alert after retrying', { event: 'slack-delivered', attempt });
        return;
      }
      const slackError = redact(answer || (status !== undefined ? `HTTP ${status}` : 'no answer'), url);
      if (status !== undefined && status < 500 && status !== 429) {
        logger.error('Slack rejected the alert (permanent, not retried)', { event: 'slack-rejected', status, slackError });
        throw new SlackError(status, slackError, true, attempt);
      }
      last = new SlackError(status, slackError, false, attempt);
      if (attempt >= this.o.maxAttempts) break;
      // The longest wait that still leaves room for one more request.
      const room = timeLeft() - MIN_ATTEMPT_MS;
      let wait = delay;
      if (status === 429) {
        const asked = retryAfterMs(retryAfter, Date.now());
        const limit = Math.min(this.o.maxRetryAfterMs ?? (Number.isFinite(room) ? room : DEFAULT_RETRY_AFTER_MAX_MS), room);
        if (asked !== undefined && asked > limit) {
          const note = `Retry-After ${Math.ceil(asked / 1000)} s is longer than pitr-guard can wait (${Math.max(0, Math.floor(limit / 1000))} s)`;
          logger.warn(`Slack rate limit: ${note}`, { event: 'slack-rate-limited', retryAfterMs: asked, limitMs: Math.max(0, Math.round(limit)) });
          last = new SlackError(status, slackError, false, attempt, note);
          break;
        }
        wait = asked ?? delay;
      } else {
        delay = Math.min(delay * 2, 30_000);
      }
      if (wait > room) {
        last = new SlackError(status, slackError, false, attempt, `no time left for another attempt (${Math.max(0, Math.round(room + MIN_ATTEMPT_MS))} ms left)`);
        break;
      }
      logger.warn('Slack did not take the alert; retrying', { event: 'slack-retry', status, slackError, attempt, waitMs: wait });
      await this.o.sleep(wait);
    }
    throw last ?? new SlackError(undefined, 'no attempt made', false, 0);
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. Undefined when absent or unreadable. */
export function retryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  return cause ? `: ${errorMessage(cause)}` : '';
}

/** Removes the webhook URL (and its secret path) from any text. */
function redact(text: string, url: string): string {
  let out = text.split(url).join('<webhook>');
  try {
    const path = new URL(url).pathname;
    if (path.length > 1) out = out.split(path).join('/<redacted>');
  } catch {
    // not a URL: nothing more to hide
  }
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// ---------------------------------------------------------------- the URL, from SSM

const cache = new Map<string, Promise<string>>();

/**
 * The webhook URL in SSM parameter `name` (SecureString, decrypted), read on first use and kept
 * for the life of the process (one read per cold start). A failed read is not cached.
 */
export function ssmWebhookUrl(clients: Clients, region: string, name: string): () => Promise<string> {
  return () => {
    const key = `${region}/${name}`;
    let pending = cache.get(key);
    if (!pending) {
      pending = readWebhookUrl(clients, region, name);
      cache.set(key, pending);
      pending.catch(() => cache.delete(key));
    }
    return pending;
  };
}

/** For tests: forget cached webhook URLs. */
export function resetWebhookCache(): void {
  cache.clear();
}

async function readWebhookUrl(clients: Clients, region: string, name: string): Promise<string> {
  let value: string | undefined;
  try {
    // Loaded on first use: only a deployment with Slack configured reads the parameter.
    const { GetParameterCommand, SSMClient } = await import('../aws/sdk/client-ssm');
    const out = await clients.get(SSMClient, region).send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    value = out.Parameter?.Value;
  } catch (error) {
    throw new AwsCallError('GetParameter', error, name);
  }
  if (!value) throw new PitrGuardError('SLACK_WEBHOOK_INVALID', `SSM parameter ${name} is empty`);
  const problem = checkWebhookUrl(value.trim());
  if (problem) throw new PitrGuardError('SLACK_WEBHOOK_INVALID', `SSM parameter ${name} does not hold a usable Slack webhook URL: ${problem}`);
  return value.trim();
}

/** Why a webhook URL is unusable (without repeating it), or undefined when it is fine. */
export function checkWebhookUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'not a URL';
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) return 'must be https:// (http:// only for a local test server)';
  return undefined;
}

/** IAM for the calls above (scripts/iam/derive.ts builds each function's role from these). */
export const permissions: readonly import('../core/iam').Permission[] = [
  { sid: 'SlackWebhookUrl', actions: ['ssm:GetParameter'], resource: 'slackWebhookParameter', why: 'reads the Slack webhook URL (only with slackWebhookParam)' },
  {
    sid: 'SlackWebhookKey',
    actions: ['kms:Decrypt'],
    resource: 'slackWebhookKey',
    why: 'decrypts that SecureString, through SSM only (only with slackWebhookKmsKeyArn)',
    implied: 'GetParameter WithDecryption decrypts with the parameter key; the aws/ssm key needs no grant',
  },
];
