/**
 * Notifiers: one interface, one module per channel (sns.ts, slack.ts), formatting in format.ts.
 *
 * `deliver` sends one rendered alert to every configured channel independently: one channel
 * failing does not stop the others. If every configured channel fails it throws
 * AlertDeliveryError, so the Lambda invocation fails, is retried, and finally lands in the
 * on-failure queue: no alert is silently lost.
 */
import type { Clients } from '../aws/clients';
import { PitrGuardError, awsErrorName, errorMessage } from '../core/errors';
import { silentLogger, type Logger } from '../runtime/logger';
import type { Sleep } from '../aws/pace';
import type { Metrics } from '../runtime/metrics';
import type { Policy } from '../core/types';
import type { RenderedAlert } from './format';
import { SlackNotifier, ssmWebhookUrl, type FetchLike } from './slack';
import { SnsNotifier } from './sns';

export type Channel = 'sns' | 'slack';

export interface Notifier {
  readonly channel: Channel;
  send(alert: RenderedAlert): Promise<void>;
}

export interface DeliveryFailure {
  channel: Channel;
  errorName: string;
  message: string;
}

export interface DeliveryReport {
  delivered: Channel[];
  failed: DeliveryFailure[];
}

/** Every configured alert channel failed: the alert was not delivered anywhere. */
export class AlertDeliveryError extends PitrGuardError {
  constructor(readonly failures: DeliveryFailure[]) {
    super('ALERT_DELIVERY_FAILED', `alert delivery failed on every channel: ${failures.map((f) => `${f.channel}: ${f.errorName}: ${f.message}`).join('; ')}`);
  }
}

export interface DeliverOptions {
  logger?: Logger;
  metrics?: Metrics;
  /** Send only on these channels (a retry re-sends only where the alert was not delivered yet). */
  only?: readonly Channel[];
  /** Milliseconds left in this invocation: channel retries (e.g. Slack's Retry-After) must fit in them. */
  remainingMs?: () => number;
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
  const settled = await Promise.allSettled(notifiers.map((n) => n.send(alert)));
  const report: DeliveryReport = { delivered: [], failed: [] };
  settled.forEach((s, i) => {
    const channel = (notifiers[i] as Notifier).channel;
    if (s.status === 'fulfilled') {
      report.delivered.push(channel);
    } else {
      const failure = { channel, errorName: awsErrorName(s.reason), message: errorMessage(s.reason) };
      report.failed.push(failure);
      logger.error(`alert not delivered on ${channel}`, { event: 'alert-failed', ...failure, subject: alert.subject });
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
  /** Slack transport overrides (tests). */
  slack?: { fetch?: FetchLike; sleep?: Sleep; maxAttempts?: number; maxRetryAfterMs?: number; baseDelayMs?: number; timeoutMs?: number };
}

/** The notifiers the policy configures: SNS when a topic is set, Slack when a webhook parameter (or URL) is. */
export function buildNotifiers(settings: NotifierSettings): Notifier[] {
  const logger = settings.logger ?? silentLogger;
  const notifiers: Notifier[] = [];
  if (settings.policy.alertTopicArn) notifiers.push(new SnsNotifier(settings.clients, settings.policy.alertTopicArn));
  const url = settings.slackWebhookUrl;
  if (url || settings.policy.slackWebhookParam) {
    const webhookUrl = url ? async () => url : ssmWebhookUrl(settings.clients, settings.homeRegion, settings.policy.slackWebhookParam as string);
    notifiers.push(new SlackNotifier({ webhookUrl, logger, ...settings.slack }));
  }
  return notifiers;
}

export type { RenderedAlert } from './format';
