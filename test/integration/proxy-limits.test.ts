/**
 * The fault proxy's rate-limit emulation (dev/local/proxy.ts `limits`), which the Organization
 * benchmark relies on: one token bucket per (access key, Region, operation), ThrottlingException
 * when a call finds it empty, refilled at the rate. Real SDK clients against moto.
 */
import { CreateTableCommand, DescribeContinuousBackupsCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { startFaultProxy, type FaultProxy } from '../../dev/local/proxy';

let moto: MotoServer;
let proxy: FaultProxy;
let clock = 0;

const client = (endpoint: string, region: string, accessKeyId: string) =>
  new DynamoDBClient({ endpoint, region, maxAttempts: 1, credentials: { accessKeyId, secretAccessKey: 'testing' } });

async function outcomes(c: DynamoDBClient, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await c.send(new DescribeContinuousBackupsCommand({ TableName: 'orders' }));
      out.push('ok');
    } catch (error) {
      out.push((error as Error).name);
    }
  }
  return out;
}

beforeAll(async () => {
  moto = await startMoto();
  for (const region of ['us-east-1', 'eu-west-1']) {
    await client(moto.endpoint, region, 'testing').send(
      new CreateTableCommand({ TableName: 'orders', BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] }),
    );
  }
  proxy = await startFaultProxy(moto.endpoint, [], { limits: [{ operation: 'DescribeContinuousBackups', ratePerSecond: 10, burst: 2 }], now: () => clock });
});

afterAll(async () => {
  await proxy.stop();
  await moto.stop();
});

test('a bucket per (access key, Region): the burst passes, the next call is throttled, the refill lets one more through', async () => {
  const a = client(proxy.endpoint, 'us-east-1', 'AKIDACCOUNTA');
  expect(await outcomes(a, 3)).toEqual(['ok', 'ok', 'ThrottlingException']);
  // another Region of the same credentials, and other credentials in the same Region, have their own budgets
  expect(await outcomes(client(proxy.endpoint, 'eu-west-1', 'AKIDACCOUNTA'), 2)).toEqual(['ok', 'ok']);
  expect(await outcomes(client(proxy.endpoint, 'us-east-1', 'AKIDACCOUNTB'), 3)).toEqual(['ok', 'ok', 'ThrottlingException']);
  clock += 100; // 10/s: one token back after 100 ms
  expect(await outcomes(a, 2)).toEqual(['ok', 'ThrottlingException']);
  expect(proxy.throttled).toEqual({ DescribeContinuousBackups: 3 });
  expect(proxy.seen.filter((s) => s.accessKey === 'AKIDACCOUNTB').length).toBe(3);
});
