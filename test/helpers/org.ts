/**
 * What every Organization-scan integration test needs in the central account before a run: the
 * report bucket and the findings ledger table (its key as serverless.yml declares it).
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { Clients } from '../../lib/aws/clients';

export async function createRunStores(direct: Clients, bucket: string, ledger: string, region = 'us-east-1'): Promise<void> {
  await direct.get(S3Client, region).send(new CreateBucketCommand({ Bucket: bucket }));
  await direct.get(DynamoDBClient, region).send(
    new CreateTableCommand({ TableName: ledger, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'tableArn', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'tableArn', KeyType: 'HASH' }] }),
  );
}
