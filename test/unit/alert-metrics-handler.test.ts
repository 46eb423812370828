/**
 * The deployed handlers count undelivered alerts: the AlertDeliveryFailed EMF line (the metric
 * AlertDeliveryFailedAlarm watches) reaches stdout from the reactor's and the scheduled scan's
 * Lambda handlers, named for the function and the channel, when the SNS topic is gone.
 */
import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTagsOfResourceCommand,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { handler } from '../../functions/pitr-change';
import { handler as scanHandler } from '../../functions/scheduled-scan';
import { resetPolicyCache } from '../../lib/core/config';
import { AlertDeliveryError, AlertNotDeliveredError } from '../../lib/core/errors';
import { awsError } from '../helpers/aws-errors';
import { loadEvent } from '../helpers/builders';
import { captureLogs, lambdaContext } from '../helpers/lambda';

const ddb = mockClient(DynamoDBClient);
const sns = mockClient(SNSClient);
const ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/orders';
const saved = { ...process.env };

beforeEach(() => {
  ddb.reset();
  sns.reset();
});
afterEach(() => {
  process.env = { ...saved };
  resetPolicyCache();
});

it('pitrChange: SNS topic missing → PITR still re-enabled, one AlertDeliveryFailed line (function pitrChange, channel sns), the invocation fails for its retry', async () => {
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    PITR_GUARD_MODE: 'remediate',
    PITR_GUARD_REGIONS: 'us-east-1',
    PITR_GUARD_ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:deleted-topic',
  });
  delete process.env.PITR_GUARD_IDEMPOTENCY_TABLE;
  delete process.env.PITR_GUARD_SLACK_WEBHOOK_PARAM;
  resetPolicyCache();
  ddb.on(DescribeTableCommand).resolves({ Table: { TableName: 'orders', TableArn: ARN, TableStatus: 'ACTIVE' } });
  ddb.on(ListTagsOfResourceCommand).resolves({ Tags: [] });
  ddb
    .on(DescribeContinuousBackupsCommand)
    .resolvesOnce({ ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'DISABLED' } } })
    .resolves({ ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'ENABLED', RecoveryPeriodInDays: 35 } } });
  ddb.on(UpdateContinuousBackupsCommand).resolves({});
  sns.on(PublishCommand).rejects(awsError('NotFoundException', 404, 'Topic does not exist'));

  let error: unknown;
  const { lines } = await captureLogs(() => handler(loadEvent('cloudtrail-pitr-disabled.json'), lambdaContext('pitr-guard-dev-pitrChange')).catch((e: unknown) => void (error = e)));

  // The reactor fails the invocation naming the channel: Lambda retries it, then the failed-events queue holds it.
  expect(error).toBeInstanceOf(AlertNotDeliveredError);
  expect((error as AlertNotDeliveredError).channels).toEqual(['sns']);
  expect(ddb.commandCalls(UpdateContinuousBackupsCommand)).toHaveLength(1);
  // (No de-duplication table is configured here, so DeduplicationUnavailable is counted at cold start too.)
  expect(lines.filter((l) => '_aws' in l && 'DeduplicationUnavailable' in l)).toHaveLength(1);
  const metric = lines.filter((l) => '_aws' in l && 'AlertDeliveryFailed' in l);
  expect(metric).toEqual([
    {
      _aws: { Timestamp: expect.any(Number), CloudWatchMetrics: [{ Namespace: 'pitr-guard', Dimensions: [['function'], ['function', 'channel']], Metrics: [{ Name: 'AlertDeliveryFailed', Unit: 'Count' }] }] },
      channel: 'sns',
      errorName: 'NotFoundException',
      permanent: 'true',
      function: 'pitrChange',
      AlertDeliveryFailed: 1,
    },
  ]);
  expect(lines.find((l) => l.event === 'alert-failed')).toMatchObject({ level: 'error', function: 'pitrChange', channel: 'sns', permanent: true });
});

it('scheduledScan: the digest cannot be published → one AlertDeliveryFailed line (function scheduledScan, channel sns), the run fails', async () => {
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    PITR_GUARD_MODE: 'alert',
    PITR_GUARD_REGIONS: 'us-east-1',
    PITR_GUARD_LOG_LEVEL: 'error',
    PITR_GUARD_ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:deleted-topic',
  });
  resetPolicyCache();
  ddb.on(ListTablesCommand).resolves({ TableNames: ['orders'] });
  ddb.on(DescribeTableCommand).resolves({ Table: { TableName: 'orders', TableArn: ARN, TableStatus: 'ACTIVE' } });
  ddb.on(ListTagsOfResourceCommand).resolves({ Tags: [] });
  ddb.on(DescribeContinuousBackupsCommand).resolves({ ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'DISABLED' } } });
  sns.on(PublishCommand).rejects(awsError('NotFoundException', 404, 'Topic does not exist'));

  let error: unknown;
  const { lines } = await captureLogs(() => scanHandler(loadEvent('scheduled.json'), lambdaContext()).catch((e: unknown) => void (error = e)));

  expect(error).toBeInstanceOf(AlertDeliveryError);
  expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  expect(lines.filter((l) => '_aws' in l)).toMatchObject([{ function: 'scheduledScan', channel: 'sns', errorName: 'NotFoundException', AlertDeliveryFailed: 1 }]);
});
