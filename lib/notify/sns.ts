/**
 * SNS: one Publish per alert to the topic PITR_GUARD_ALERT_TOPIC_ARN. The subject (the email
 * subject) is already under 100 printable ASCII characters; the message is the plain-text body.
 *
 * Retries: the SDK's own (adaptive mode, 5 attempts: throttling, 5xx, network errors), bounded by
 * the time the caller has left (or PUBLISH_TIMEOUT_MS when that is not known): a Publish that hangs
 * is abandoned (AbortError, transient) before the invocation would time out. A missing topic (NotFound), denied access or an unusable KMS key
 * fail at once and are classified permanent by `deliver`.
 *
 * IAM: sns:Publish on the topic.
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sns';
import type { Clients } from '../aws/clients';
import { AwsCallError } from '../core/errors';
import { arnRegion } from '../core/ids';
import type { Metrics } from '../runtime/metrics';
import { snsSubject, type RenderedAlert } from './format';
import type { Notifier, SendOptions } from './channel';

/** The longest one alert's Publish (retries included) may take when the caller's time left is not known. */
export const PUBLISH_TIMEOUT_MS = 60_000;

/** SNS counts the message and its attributes against 262,144 bytes; keep a margin. */
const MESSAGE_MAX_BYTES = 250_000;

export class SnsNotifier implements Notifier {
  readonly channel = 'sns' as const;
  private readonly region: string;

  constructor(
    private readonly clients: Clients,
    readonly topicArn: string,
    readonly metrics?: Metrics,
    private readonly timeoutMs: number = PUBLISH_TIMEOUT_MS,
  ) {
    this.region = arnRegion(topicArn);
  }

  async send(alert: RenderedAlert, options: SendOptions = {}): Promise<void> {
    const left = Math.min(options.timeLeftMs?.() ?? this.timeoutMs, this.timeoutMs);
    const attributes: Record<string, MessageAttributeValue> = {};
    for (const [k, v] of Object.entries(alert.attributes)) {
      if (v) attributes[k] = { DataType: 'String', StringValue: v.slice(0, 256) };
    }
    try {
      // Loaded on the first alert (after the table was fixed), not at module init.
      const { PublishCommand, SNSClient } = await import('../aws/sdk/client-sns');
      await this.clients.get(SNSClient, this.region).send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Subject: snsSubject(alert.subject),
          Message: fitBytes(alert.text, MESSAGE_MAX_BYTES),
          MessageAttributes: attributes,
        }),
        { abortSignal: AbortSignal.timeout(Math.max(0, left)) },
      );
    } catch (error) {
      throw new AwsCallError('Publish', error, this.topicArn);
    }
  }
}

/** Cuts text to at most `max` UTF-8 bytes (on a character boundary), marking the cut. */
export function fitBytes(text: string, max: number): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  const marker = '\n…(truncated)\n';
  let cut = text.slice(0, max - Buffer.byteLength(marker, 'utf8'));
  while (Buffer.byteLength(cut, 'utf8') > max - Buffer.byteLength(marker, 'utf8')) cut = cut.slice(0, -100);
  return cut + marker;
}

/** IAM for the calls above (scripts/iam/derive.ts builds each function's role from these). */
export const permissions: readonly import('../core/iam').Permission[] = [
  { sid: 'Alert', actions: ['sns:Publish'], resource: 'alertTopic', why: 'publishes alerts to the alert topic' },
];
