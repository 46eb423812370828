/**
 * Issue 14 on moto: a restored table (RestoreTableToPointInTime) in `pitr-guard scan --format json`
 * of the BUILT CLI (bin/pitr-guard.js: run `node scripts/build-cli.mjs` first) with
 * RESTORED_WITHOUT_PITR, its source ARN and the source's status; every finding carries `cost`.
 * Global tables: moto returns no `Replicas`, so the fault proxy's `rewrite` adds them to
 * DescribeTable: two Regions scanned, a third replica Region not scanned, one replica with PITR off.
 */
import { CreateTableCommand, DescribeContinuousBackupsCommand, DynamoDBClient, RestoreTableToPointInTimeCommand, UpdateContinuousBackupsCommand } from '@aws-sdk/client-dynamodb';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Clients } from '../../lib/aws/clients';
import type { ScanReport } from '../../lib/aws/scan';
import { PRICE_TABLE_DATE } from '../../lib/core/cost';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { startFaultProxy, type FaultProxy } from '../../dev/local/proxy';

let moto: MotoServer;
let proxy: FaultProxy;
let clients: Clients;
const ACCOUNT = '123456789012';
const GIB = 1024 ** 3;
const arn = (region: string, name: string) => `arn:aws:dynamodb:${region}:${ACCOUNT}:table/${name}`;

async function createTable(region: string, name: string, pitr: boolean): Promise<void> {
  const ddb = clients.get(DynamoDBClient, region);
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  if (pitr) await ddb.send(new UpdateContinuousBackupsCommand({ TableName: name, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }));
}

function builtCli(args: string[], endpoint: string): Promise<{ code: number; out: string; err: string }> {
  const root = path.join(__dirname, '../..');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/pitr-guard.js', ...args, '--endpoint-url', endpoint], { cwd: root, env: { ...process.env, AWS_REGION: 'us-west-2' } }, (error, out, err) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? (error.code as number) : 0, out, err });
    });
  });
}

beforeAll(async () => {
  moto = await startMoto();
  clients = new Clients({ endpoint: moto.endpoint });
  await createTable('us-west-2', 'orders', true);
  await clients.get(DynamoDBClient, 'us-west-2').send(new RestoreTableToPointInTimeCommand({ SourceTableName: 'orders', TargetTableName: 'orders-restored', UseLatestRestorableTime: true }));
  await createTable('us-west-2', 'global-orders', true);
  await createTable('eu-west-1', 'global-orders', false);
  proxy = await startFaultProxy(moto.endpoint);
});

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

describe('restored tables (built CLI, moto)', () => {
  it('scan --format json: the restored table is NON_COMPLIANT with RESTORED_WITHOUT_PITR, its source ARN and the source status; every finding has cost', async () => {
    // moto keeps the restored table's PITR off, as AWS does.
    const pitr = await clients.get(DynamoDBClient, 'us-west-2').send(new DescribeContinuousBackupsCommand({ TableName: 'orders-restored' }));
    expect(pitr.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus).toBe('DISABLED');

    const r = await builtCli(['scan', '--regions', 'us-west-2', '--format', 'json'], moto.endpoint);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as ScanReport;
    const restored = report.findings.find((f) => f.tableName === 'orders-restored');
    expect(restored).toMatchObject({
      status: 'NON_COMPLIANT',
      reasons: ['PITR_DISABLED', 'RESTORED_WITHOUT_PITR'],
      restore: { sourceTableArn: arn('us-west-2', 'orders'), sourceBackupArn: null, sourceStatus: 'COMPLIANT' },
    });
    expect(restored?.restore?.restoreDateTime).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(restored?.message).toContain(`restored from table ${arn('us-west-2', 'orders')}`);
    expect(restored?.message).toMatch(/Its source table is COMPLIANT in this report\.$/);
    // The source itself is not a restored table.
    expect(report.findings.find((f) => f.tableName === 'orders')?.restore).toBeUndefined();
    expect(report.findings.length).toBe(3);
    for (const f of report.findings) {
      expect(f.cost).toEqual({ tableSizeBytes: expect.any(Number), lsiSizeBytes: 0, pitrMonthlyUsd: expect.any(Number) });
    }
    expect(report.cost).toEqual({ currentMonthlyUsd: 0, toEnableMonthlyUsd: 0, tablesWithoutPrice: 0, regionsWithoutPrice: [], priceTableDate: PRICE_TABLE_DATE });
  });
});

describe('global tables (fault proxy rewrites DescribeTable with Replicas)', () => {
  beforeAll(() => {
    proxy.setRules([
      {
        operation: 'DescribeTable',
        match: (body) => body.TableName === 'global-orders',
        rewrite: (answer, call) => {
          const table = answer.Table as Record<string, unknown>;
          return {
            ...answer,
            Table: {
              ...table,
              GlobalTableVersion: '2019.11.21',
              TableSizeBytes: call.region === 'us-west-2' ? 3 * GIB : 2 * GIB,
              Replicas: ['us-west-2', 'eu-west-1', 'ap-south-1'].map((region) => ({ RegionName: region, ReplicaStatus: 'ACTIVE', ReplicaArn: arn(region, 'global-orders') })),
            },
          };
        },
      },
    ]);
  });

  it('two Regions scanned, a third replica not scanned, one replica with PITR off: the set is non-compliant and the other replica says so', async () => {
    for (const format of ['json', 'csv', 'table']) {
      const r = await builtCli(['scan', '--regions', 'us-west-2,eu-west-1', '--format', format], proxy.endpoint);
      expect([r.code, r.err]).toEqual([1, '']);
      if (format === 'csv') {
        const row = r.out.split('\r\n').find((l) => l.includes(',us-west-2,global-orders,'));
        expect(row).toContain(',123456789012:global-orders@ap-south-1+eu-west-1+us-west-2,false,ap-south-1=NOT_SCANNED;eu-west-1=NON_COMPLIANT;us-west-2=COMPLIANT');
        expect(r.out).toMatch(/,COST_TOTALS,/);
        continue;
      }
      if (format === 'table') {
        expect(r.out).toContain('Global table 123456789012:global-orders@ap-south-1+eu-west-1+us-west-2 (2019.11.21): NOT compliant: ap-south-1 not scanned, eu-west-1 NON_COMPLIANT, us-west-2 COMPLIANT');
        expect(r.out).toContain('PITR cost (estimate, prices of');
        expect(r.out).toContain('no price for eu-west-1');
        continue;
      }
      const report = JSON.parse(r.out) as ScanReport;
      const west = report.findings.find((f) => f.region === 'us-west-2' && f.tableName === 'global-orders');
      const eu = report.findings.find((f) => f.region === 'eu-west-1' && f.tableName === 'global-orders');
      expect(west?.status).toBe('COMPLIANT');
      expect(eu?.status).toBe('NON_COMPLIANT');
      for (const f of [west, eu]) {
        expect(f?.replicaSet).toEqual({
          globalTableVersion: '2019.11.21',
          setId: '123456789012:global-orders@ap-south-1+eu-west-1+us-west-2',
          compliant: false,
          replicas: [
            { region: 'ap-south-1', accountId: ACCOUNT, replicaStatus: 'ACTIVE', status: 'NOT_SCANNED' },
            { region: 'eu-west-1', accountId: ACCOUNT, replicaStatus: 'ACTIVE', status: 'NON_COMPLIANT' },
            { region: 'us-west-2', accountId: ACCOUNT, replicaStatus: 'ACTIVE', status: 'COMPLIANT' },
          ],
        });
      }
      expect(west?.message).toMatch(/other replicas: ap-south-1 not scanned, eu-west-1 NON_COMPLIANT\): the set is NOT compliant\.$/);
      expect(eu?.message).toMatch(/other replicas: ap-south-1 not scanned, us-west-2 COMPLIANT\): the set is NOT compliant\.$/);
      // Cost: us-west-2 is priced (3 GiB × $0.20), eu-west-1 has no sourced price.
      expect(west?.cost).toEqual({ tableSizeBytes: 3 * GIB, lsiSizeBytes: 0, pitrMonthlyUsd: 0.6 });
      expect(eu?.cost).toEqual({ tableSizeBytes: 2 * GIB, lsiSizeBytes: 0, pitrMonthlyUsd: null });
      expect(report.cost).toMatchObject({ currentMonthlyUsd: 0.6, toEnableMonthlyUsd: 0, tablesWithoutPrice: 1, regionsWithoutPrice: ['eu-west-1'] });
      expect(report.findings.filter((f) => f.tableName !== 'global-orders').every((f) => f.replicaSet === undefined)).toBe(true);
    }
  });
});
