/**
 * Notifiers: one interface, one module per channel (sns.ts, slack.ts), formatting in format.ts.
 *
 * `deliver` sends one rendered alert to every configured channel independently and in parallel:
 * one channel failing does not stop the others. Each channel retries its own transient failures
 * (SNS: the SDK's adaptive retries; Slack: 429 after Retry-After, 5xx, network errors and
 * timeouts, with backoff), always within the time the invocation has left (`remainingMs`, less
 * DELIVERY_RESERVE_MS kept for the caller's bookkeeping). A channel that still fails is logged
 * (`alert-failed`, permanent or not) and counted in the AlertDeliveryFailed metric with its channel
 * named, which a CloudWatch alarm watches: no alert is lost without an alarm. If every channel
 * fails, `deliver` throws AlertDeliveryError, so the invocation fails, is retried, and finally
 * lands in the on-failure queue. docs/alerts.md describes all of it for users.
 */
import type { Clients } from '../aws/clients';
import { AlertDeliveryError, awsErrorName, errorMessage, isCredentialError, PitrGuardError, type DeliveryFailure } from '../core/errors';
import { silentLogger, type Logger } from '../runtime/logger';
import type { Sleep } from '../aws/pace';
import { silentMetrics, type Metrics } from '../runtime/metrics';
import type { Policy } from '../core/types';
import type { RenderedAlert } from './format';
import { SlackNotifier, ssmWebhookUrl, type FetchLike } from './slack';
import { SnsNotifier } from './sns';

export { AlertDeliveryError, type DeliveryFailure } from '../core/errors';

export type { Channel, Notifier, SendOptions } from './channel';
import type { Channel, Notifier, SendOptions } from './channel';

export interface DeliveryReport {
  delivered: Channel[];
  failed: DeliveryFailure[];
}

export interface DeliverOptions {
  logger?: Logger;
  /** Where AlertDeliveryFailed is counted (default: each notifier's own, else nowhere). */
  metrics?: Metrics;
  /** Send only on these channels (a retry re-sends only where the alert was not delivered yet). */
  only?: readonly Channel[];
  /** Milliseconds left in this invocation: channel retries (e.g. Slack's Retry-After) must fit in them. */
  remainingMs?: () => number;
}

/** Time `deliver` leaves to its caller after the channels are done (recording the outcome, failing cleanly). */
export const DELIVERY_RESERVE_MS = 5_000;

/** AWS errors a retry cannot fix: the topic, key, parameter or permission has to be fixed first. */
const PERMANENT = new Set([
  'NotFound',
  'NotFoundException',
  'AuthorizationError',
  'AuthorizationErrorException',
  'AccessDenied',
  'AccessDeniedException',
  'InvalidParameter',
  'InvalidParameterException',
  'InvalidParameterValue',
  'InvalidParameterValueException',
  'ValidationException',
  'InvalidSecurity',
  'InvalidSecurityException',
  'KMSDisabled',
  'KMSDisabledException',
  'KMSInvalidState',
  'KMSInvalidStateException',
  'KMSNotFound',
  'KMSNotFoundException',
  'KMSOptInRequired',
  'KMSAccessDenied',
  'KMSAccessDeniedException',
  'EndpointDisabled',
  'EndpointDisabledException',
  'ParameterNotFound',
  'ParameterVersionNotFound',
  'InvalidKeyId',
]);

/**
 * Whether a channel's failure is permanent: Slack's own verdict (4xx other than 429), an unusable
 * webhook parameter, or an AWS error a retry cannot fix. Throttling, 5xx, timeouts, network errors
 * and expired credentials are transient.
 */
export function isPermanentFailure(error: unknown): boolean {
  const flagged = (error as { permanent?: unknown } | null)?.permanent;
  if (typeof flagged === 'boolean') return flagged;
  if (error instanceof PitrGuardError && error.code === 'SLACK_WEBHOOK_INVALID') return true;
  if (isCredentialError(error)) return false;
  return PERMANENT.has(awsErrorName(error));
}

export async function deliver(allNotifiers: readonly Notifier[], alert: RenderedAlert, options: Logger | DeliverOptions = {}): Promise<DeliveryReport> {
  const opts: DeliverOptions = 'info' in options ? { logger: options as Logger } : (options as DeliverOptions);
  const logger = opts.logger ?? silentLogger;
  const notifiers = opts.only ? allNotifiers.filter((n) => opts.only?.includes(n.channel)) : allNotifiers;
  if (allNotifiers.length === 0) {
    logger.warn('no alert channel is configured (PITR_GUARD_ALERT_TOPIC_ARN, PITR_GUARD_SLACK_WEBHOOK_PARAM): alert only logged', {
      event: 'alert-not-sent',
      subject: alert.subject,
    });
    return { delivered: [], failed: [] };
  }
  if (notifiers.length === 0) return { delivered: [], failed: [] }; // every channel delivered on an earlier try
  const remaining = opts.remainingMs;
  const send: SendOptions = { logger, ...(remaining ? { timeLeftMs: () => remaining() - DELIVERY_RESERVE_MS } : {}) };
  const settled = await Promise.allSettled(notifiers.map((n) => n.send(alert, send)));
  const report: DeliveryReport = { delivered: [], failed: [] };
  settled.forEach((s, i) => {
    const notifier = notifiers[i] as Notifier;
    const channel = notifier.channel;
    if (s.status === 'fulfilled') {
      report.delivered.push(channel);
    } else {
      const failure: DeliveryFailure = { channel, errorName: awsErrorName(s.reason), message: errorMessage(s.reason), permanent: isPermanentFailure(s.reason) };
      report.failed.push(failure);
      // (The failure's message goes in errorMessage: a `message` field would replace the line's own.)
      logger.error(`alert not delivered on ${channel}${failure.permanent ? ' (permanent: fix the channel)' : ' (after retries)'}`, {
        event: 'alert-failed',
        channel,
        errorName: failure.errorName,
        errorMessage: failure.message,
        permanent: failure.permanent,
        subject: alert.subject,
      });
      (opts.metrics ?? notifier.metrics ?? silentMetrics).count('AlertDeliveryFailed', 1, { channel, errorName: failure.errorName, permanent: String(failure.permanent) }, ['channel']);
    }
  });
  if (report.delivered.length === 0) throw new AlertDeliveryError(report.failed);
  logger.info('alert sent', { event: 'alert-sent', kind: alert.kind, subject: alert.subject, delivered: report.delivered, failed: report.failed.map((f) => f.channel) });
  return report;
}

export interface NotifierSettings {
  policy: Pick<Policy, 'alertTopicArn' | 'slackWebhookParam'>;
  clients: Clients;
  logger?: Logger;
  /** Region for the SSM GetParameter call (default: the function's Region). */
  homeRegion: string;
  /** A webhook URL to use instead of reading PITR_GUARD_SLACK_WEBHOOK_PARAM from SSM (demo, tests). */
  slackWebhookUrl?: string;
  /** Where channel failures are counted (AlertDeliveryFailed) when `deliver` is not given metrics. */
  metrics?: Metrics;
  /** Slack transport overrides (tests). */
  slack?: { fetch?: FetchLike; sleep?: Sleep; maxAttempts?: number; maxRetryAfterMs?: number; baseDelayMs?: number; timeoutMs?: number };
}

/** The notifiers the policy configures: SNS when a topic is set, Slack when a webhook parameter (or URL) is. */
export function buildNotifiers(settings: NotifierSettings): Notifier[] {
  const logger = settings.logger ?? silentLogger;
  const notifiers: Notifier[] = [];
  const metrics = settings.metrics;
  if (settings.policy.alertTopicArn) notifiers.push(new SnsNotifier(settings.clients, settings.policy.alertTopicArn, metrics));
  const url = settings.slackWebhookUrl;
  if (url || settings.policy.slackWebhookParam) {
    const webhookUrl = url ? async () => url : ssmWebhookUrl(settings.clients, settings.homeRegion, settings.policy.slackWebhookParam as string);
    notifiers.push(new SlackNotifier({ webhookUrl, logger, ...(metrics ? { metrics } : {}), ...settings.slack }));
  }
  return notifiers;
}

export type { RenderedAlert } from './format';
