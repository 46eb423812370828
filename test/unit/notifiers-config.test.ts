import { ConfigError } from '../../lib/core/errors';
import { idempotencyTableFromEnv, parsePolicy, parseSsmParameterName, parseTopicArn } from '../../lib/core/config';

const env = { AWS_REGION: 'us-east-1' };

describe('alert settings in the policy', () => {
  it('are optional: unset or blank means no channel', () => {
    const p = parsePolicy({ ...env, PITR_GUARD_ALERT_TOPIC_ARN: ' ', PITR_GUARD_SLACK_WEBHOOK_PARAM: '' });
    expect(p.alertTopicArn).toBeUndefined();
    expect(p.slackWebhookParam).toBeUndefined();
    expect(idempotencyTableFromEnv({})).toBeUndefined();
  });

  it('are read and validated', () => {
    const p = parsePolicy({ ...env, PITR_GUARD_ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:pitr-guard-alerts', PITR_GUARD_SLACK_WEBHOOK_PARAM: '/pitr-guard/slack-webhook' });
    expect(p).toMatchObject({ alertTopicArn: 'arn:aws:sns:eu-west-1:123456789012:pitr-guard-alerts', slackWebhookParam: '/pitr-guard/slack-webhook' });
    expect(parseSsmParameterName('slack_webhook.prod')).toBe('slack_webhook.prod');
    expect(parseTopicArn('arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts')).toBeDefined();
    expect(idempotencyTableFromEnv({ PITR_GUARD_IDEMPOTENCY_TABLE: 'pitr-guard-prod-IdempotencyTable-1A2B3C' })).toBe('pitr-guard-prod-IdempotencyTable-1A2B3C');
  });

  it.each([
    ['PITR_GUARD_ALERT_TOPIC_ARN', 'pitr-guard-alerts', 'Invalid PITR_GUARD_ALERT_TOPIC_ARN="pitr-guard-alerts": must be the ARN of a standard SNS topic, e.g. arn:aws:sns:us-east-1:123456789012:pitr-guard-alerts.'],
    ['PITR_GUARD_ALERT_TOPIC_ARN', 'arn:aws:sns:us-east-1:123456789012:alerts.fifo', 'Invalid PITR_GUARD_ALERT_TOPIC_ARN="arn:aws:sns:us-east-1:123456789012:alerts.fifo": must be the ARN of a standard SNS topic, e.g. arn:aws:sns:us-east-1:123456789012:pitr-guard-alerts.'],
    ['PITR_GUARD_SLACK_WEBHOOK_PARAM', 'https://hooks.slack.com/services/T/B/x', 'Invalid PITR_GUARD_SLACK_WEBHOOK_PARAM="https://hooks.slack.com/services/T/B/x": must be an SSM parameter name such as /pitr-guard/slack-webhook (letters, digits, _ . - and / path separators; not starting with aws or ssm).'],
    ['PITR_GUARD_SLACK_WEBHOOK_PARAM', '/aws/reserved', 'Invalid PITR_GUARD_SLACK_WEBHOOK_PARAM="/aws/reserved": must be an SSM parameter name such as /pitr-guard/slack-webhook (letters, digits, _ . - and / path separators; not starting with aws or ssm).'],
    ['PITR_GUARD_SLACK_WEBHOOK_PARAM', 'a/b', 'Invalid PITR_GUARD_SLACK_WEBHOOK_PARAM="a/b": must be an SSM parameter name such as /pitr-guard/slack-webhook (letters, digits, _ . - and / path separators; not starting with aws or ssm).'],
  ])('%s=%s fails with one line naming it', (name, value, message) => {
    const error = (() => {
      try {
        parsePolicy({ ...env, [name]: value });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('PITR_GUARD_IDEMPOTENCY_TABLE must be a table name', () => {
    expect(() => idempotencyTableFromEnv({ PITR_GUARD_IDEMPOTENCY_TABLE: 'x' })).toThrow('Invalid PITR_GUARD_IDEMPOTENCY_TABLE="x": must be a DynamoDB table name of 3-255 letters, digits, _ . or -.');
  });
});
