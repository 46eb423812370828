/**
 * Fixtures for the reactor / remediation integration tests on moto: a table in a given PITR state,
 * an SNS topic with an SQS queue subscribed (to read what SNS delivered), the Slack webhook URL in
 * an SSM SecureString, and the de-duplication table serverless.yml creates.
 */
import {
  CreateTableCommand,
  DescribeContinuousBackupsCommand,
  DynamoDBClient,
  UpdateContinuousBackupsCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

const creds = { accessKeyId: 'testing', secretAccessKey: 'testing' };
export const ACCOUNT = '123456789012';

export const ddbClient = (endpoint: string, region = 'us-east-1') => new DynamoDBClient({ endpoint, region, credentials: creds });
const sns = (endpoint: string, region: string) => new SNSClient({ endpoint, region, credentials: creds });
const sqs = (endpoint: string, region: string) => new SQSClient({ endpoint, region, credentials: creds });

/** A table with PITR off, on with `days`, or as created (never touched). */
export async function createTable(endpoint: string, tableName: string, pitr: 'off' | number | 'never' = 'never', region = 'us-east-1'): Promise<void> {
  const ddb = ddbClient(endpoint, region);
  await ddb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
  await waitUntilTableExists({ client: ddb, maxWaitTime: 30 }, { TableName: tableName });
  if (typeof pitr === 'number') await setPitr(endpoint, tableName, pitr, region);
  if (pitr === 'off') {
    await setPitr(endpoint, tableName, 35, region);
    await setPitr(endpoint, tableName, 'off', region);
  }
}

/** What a person does in the console: switch PITR off, or on with a period (the test's "someone"). */
export async function setPitr(endpoint: string, tableName: string, state: 'off' | number, region = 'us-east-1'): Promise<void> {
  await ddbClient(endpoint, region).send(
    new UpdateContinuousBackupsCommand({
      TableName: tableName,
      PointInTimeRecoverySpecification: state === 'off' ? { PointInTimeRecoveryEnabled: false } : { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: state },
    }),
  );
}

export async function pitrOf(endpoint: string, tableName: string, region = 'us-east-1'): Promise<{ status?: string; days?: number }> {
  const out = await ddbClient(endpoint, region).send(new DescribeContinuousBackupsCommand({ TableName: tableName }));
  const d = out.ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
  return { status: d?.PointInTimeRecoveryStatus, days: d?.RecoveryPeriodInDays };
}

export async function createIdempotencyTable(endpoint: string, tableName: string, region = 'us-east-1'): Promise<void> {
  const ddb = ddbClient(endpoint, region);
  await ddb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'eventId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'eventId', KeyType: 'HASH' }],
    }),
  );
  await waitUntilTableExists({ client: ddb, maxWaitTime: 30 }, { TableName: tableName });
  await ddb.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } }));
}

export interface TopicInbox {
  topicArn: string;
  queueUrl: string;
  /** SNS notifications delivered to the queue so far (waits up to `timeoutMs` for at least `min`). */
  receive(min?: number, timeoutMs?: number): Promise<{ Subject?: string; Message: string; MessageAttributes?: Record<string, { Type: string; Value: string }> }[]>;
  /** Messages waiting in the queue right now (approximate, as SQS reports it). */
  depth(): Promise<number>;
}

/** An SNS topic with an SQS queue subscribed: the queue shows what SNS delivered. */
export async function topicWithInbox(endpoint: string, name = 'pitr-guard-alerts', region = 'us-east-1'): Promise<TopicInbox> {
  const { TopicArn } = await sns(endpoint, region).send(new CreateTopicCommand({ Name: name }));
  const q = sqs(endpoint, region);
  const { QueueUrl } = await q.send(new CreateQueueCommand({ QueueName: `${name}-inbox` }));
  const attrs = await q.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await sns(endpoint, region).send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: attrs.Attributes?.QueueArn }));
  const received: Awaited<ReturnType<TopicInbox['receive']>> = [];
  return {
    topicArn: TopicArn as string,
    queueUrl: QueueUrl as string,
    async receive(min = 1, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      do {
        const out = await q.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: received.length >= min ? 0 : 1 }));
        for (const m of out.Messages ?? []) {
          received.push(JSON.parse(m.Body ?? '{}'));
          await q.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
        }
        if (received.length >= min && (out.Messages ?? []).length === 0) break;
      } while (Date.now() < deadline);
      return received;
    },
    async depth() {
      const a = await q.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
      return Number(a.Attributes?.ApproximateNumberOfMessages ?? '0');
    },
  };
}

export async function putWebhookParameter(endpoint: string, name: string, url: string, region = 'us-east-1'): Promise<void> {
  await new SSMClient({ endpoint, region, credentials: creds }).send(new PutParameterCommand({ Name: name, Value: url, Type: 'SecureString', Overwrite: true }));
}
