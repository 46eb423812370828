/**
 * `scan --fix` at the API's documented rate (issue 15): 30 tables without PITR, scanned and fixed
 * through the fault proxy, which throttles DescribeContinuousBackups and ListTagsOfResource above
 * 10 calls/s per (account, Region) as DynamoDB does. The fix acts on what the scan read (no
 * re-read), draws on the scan's pacers for its verifying reads, and never meets a throttle:
 * exactly 30 scan reads + 30 verifying reads, 30 updates, 0 throttled, PITR on in moto for all 30.
 * The scheduled scan's remediate mode takes the same path (lib/act/remediate actOnFindings).
 */
import { CreateTableCommand, DescribeContinuousBackupsCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { main } from '../../lib/cli/main';
import type { CliIo } from '../../lib/cli/io';
import { Clients } from '../../lib/aws/clients';
import { actOnScan } from '../../lib/act/scan-actions';
import { PacerPool } from '../../lib/aws/inventory';
import { scan } from '../../lib/aws/scan';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { startFaultProxy, type FaultProxy } from '../../dev/local/proxy';

jest.setTimeout(120_000);

let moto: MotoServer;
let proxy: FaultProxy;
let direct: DynamoDBClient;
const N = 30;

async function seed(prefix: string): Promise<string[]> {
  const names = Array.from({ length: N }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);
  for (const TableName of names) {
    await direct.send(new CreateTableCommand({ TableName, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] }));
    await waitUntilTableExists({ client: direct, maxWaitTime: 30 }, { TableName });
  }
  return names;
}

async function pitrOn(names: string[]): Promise<string[]> {
  const on: string[] = [];
  for (const TableName of names) {
    const d = await direct.send(new DescribeContinuousBackupsCommand({ TableName }));
    if (d.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus === 'ENABLED') on.push(TableName);
  }
  return on;
}

const counts = () => ({ describeContinuousBackups: proxy.calls.DescribeContinuousBackups ?? 0, updates: proxy.calls.UpdateContinuousBackups ?? 0, throttled: Object.values(proxy.throttled).reduce((a, b) => a + b, 0) });

beforeAll(async () => {
  moto = await startMoto();
  direct = new DynamoDBClient({ region: 'us-east-1', endpoint: moto.endpoint });
  proxy = await startFaultProxy(moto.endpoint, [], {
    limits: [
      { operation: 'DescribeContinuousBackups', ratePerSecond: 10 },
      { operation: 'ListTagsOfResource', ratePerSecond: 10 },
    ],
  });
});
afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

test('scan --fix --yes on 30 tables without PITR: 30 reads + 30 verifies, 30 updates, 0 throttled, all 30 enabled', async () => {
  const names = await seed('fix');
  for (const k of Object.keys(proxy.calls)) delete proxy.calls[k];
  for (const k of Object.keys(proxy.throttled)) delete proxy.throttled[k];
  const c: CliIo & { out: string; err: string } = {
    out: '',
    err: '',
    env: { AWS_REGION: 'us-east-1' },
    stdout: (t) => void (c.out += t),
    stderr: (t) => void (c.err += t),
    isTTY: { stdin: false, stdout: false, stderr: false },
  };
  const code = await main(['node', 'pitr-guard', 'scan', '--regions', 'us-east-1', '--fix', '--yes', '--format', 'json', '--endpoint-url', proxy.endpoint], c);
  expect(c.err).toContain(`pitr-guard: ${N} enabled, 0 already compliant, 0 failed, 0 deferred.`);
  expect(code).toBe(0);
  expect(counts()).toEqual({ describeContinuousBackups: N + N, updates: N, throttled: 0 });
  expect(await pitrOn(names)).toEqual(names);
});

test('the scheduled scan in remediate mode takes the same path: 30 + 30 reads, 30 updates, 0 throttled', async () => {
  const before = new Set(await pitrOn((await seed('sched')).map((n) => n)));
  expect(before.size).toBe(0);
  for (const k of Object.keys(proxy.calls)) delete proxy.calls[k];
  for (const k of Object.keys(proxy.throttled)) delete proxy.throttled[k];
  const clients = new Clients({ endpoint: proxy.endpoint });
  const pacers = new PacerPool();
  const policy = { mode: 'remediate' as const, minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', regions: ['us-east-1'], dryRun: false };
  const report = await scan({ policy, homeRegion: 'us-east-1' }, { clients, pacers });
  // Only the 30 new tables are out of policy (the 30 fixed by the first test are compliant now).
  expect(report.summary).toMatchObject({ total: 2 * N, nonCompliant: N });
  const { outcomes } = await actOnScan(report, { policy, clients, pacers }, { notifiers: [] });
  expect(outcomes.map((o) => o.result)).toEqual(Array<string>(N).fill('ENABLED'));
  expect(counts()).toEqual({ describeContinuousBackups: 2 * N + N, updates: N, throttled: 0 });
  const sched = Array.from({ length: N }, (_, i) => `sched-${String(i).padStart(2, '0')}`);
  expect(await pitrOn(sched)).toEqual(sched);
});
