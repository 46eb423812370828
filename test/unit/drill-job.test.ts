/**
 * The scheduled restore drill (lib/jobs/drill.ts, functions/restore-drill.ts): param drillTables
 * parsing, the role derived for it (exactly the listed tables and their drill copies), the sweep
 * of tables an earlier run left, the ledger record, and the alert plus failed invocation when a
 * drill does not pass.
 */
import {
  DeleteTableCommand,
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  RestoreTableToPointInTimeCommand,
  ScanCommand,
  TagResourceCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import path from 'node:path';
import { Clients } from '../../lib/aws/clients';
import { parseDrillTables } from '../../lib/core/drill';
import { DrillFailedError, runScheduledDrills } from '../../lib/jobs/drill';
import type { Notifier } from '../../lib/notify';
import type { RenderedAlert } from '../../lib/notify/format';
import { roleResources } from '../../scripts/iam/derive';
import { awsError } from '../helpers/aws-errors';

const ddbMock = mockClient(DynamoDBClient);
const ACCOUNT = '123456789012';
const root = path.join(__dirname, '../..');
const arn = (region: string, name: string) => `arn:aws:dynamodb:${region}:${ACCOUNT}:table/${name}`;

function notifier(): Notifier & { sent: RenderedAlert[] } {
  const sent: RenderedAlert[] = [];
  return { channel: 'sns', sent, send: async (a: RenderedAlert) => void sent.push(a) } as unknown as Notifier & { sent: RenderedAlert[] };
}

function serveSource(region: string, name: string, pitr = 'ENABLED') {
  ddbMock.on(DescribeTableCommand, { TableName: name }).resolves({ Table: { TableName: name, TableArn: arn(region, name), TableStatus: 'ACTIVE', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], ItemCount: 1 } });
  ddbMock.on(DescribeContinuousBackupsCommand, { TableName: name }).resolves({
    ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: pitr as 'ENABLED', EarliestRestorableDateTime: new Date('2026-11-01T00:00:00Z'), LatestRestorableDateTime: new Date('2026-12-02T05:55:00Z') } },
  });
}

beforeEach(() => ddbMock.reset());

describe('param drillTables', () => {
  it('takes region:table and table ARNs; empty is none', () => {
    expect(parseDrillTables('', 'p')).toEqual([]);
    expect(parseDrillTables(` eu-west-1:orders , ${arn('us-east-1', 'payments')}`, 'p')).toEqual([
      { region: 'eu-west-1', tableName: 'orders' },
      { region: 'us-east-1', tableName: 'payments', accountId: ACCOUNT },
    ]);
  });

  it.each([
    ['orders', /"orders" is neither region:table nor a table ARN/],
    ['mars-1:orders', /names "mars-1", not a known Region code/],
    ['eu-west-1:a', /has a table name that is not/],
    ['eu-west-1:orders,eu-west-1:orders', /eu-west-1:orders is listed twice/],
    [Array.from({ length: 11 }, (_, i) => `eu-west-1:t-${i}`).join(','), /at most 10 tables/],
  ])('refuses %s', (value, message) => {
    expect(() => parseDrillTables(value, 'PITR_GUARD_DRILL_TABLES')).toThrow(message);
  });

  it('the derived role restores exactly the listed tables and touches only their drill copies', () => {
    const roles = roleResources({
      root, service: 'pitr-guard', stage: 'ci', readOnly: true, alertTopicArn: { Ref: 'AlertTopic' },
      drillTables: parseDrillTables('eu-west-1:orders', 'p'),
      functions: [{ name: 'restoreDrill', handler: 'functions/restore-drill.handler', condition: 'CreateRestoreDrill', onFailureArn: { 'Fn::GetAtt': ['FailedEventsQueue', 'Arn'] } }],
    }) as Record<string, { Condition: string; Properties: { Policies: { PolicyDocument: { Statement: { Sid: string; Action: string | string[]; Resource: unknown }[] } }[] } }>;
    const role = roles.RestoreDrillRole!;
    expect(role.Condition).toBe('CreateRestoreDrill');
    const bySid = Object.fromEntries(role.Properties.Policies[0]!.PolicyDocument.Statement.map((s) => [s.Sid, s]));
    expect(bySid.DrillRestore).toEqual({ Sid: 'DrillRestore', Effect: 'Allow', Action: 'dynamodb:RestoreTableToPointInTime', Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:dynamodb:eu-west-1:${AWS::AccountId}:table/orders' }] });
    expect(bySid.DrillTemporaryTable!.Resource).toEqual([{ 'Fn::Sub': 'arn:${AWS::Partition}:dynamodb:eu-west-1:${AWS::AccountId}:table/orders-pitr-drill-*' }]);
    expect(bySid.DrillTemporaryTable!.Action).toEqual(expect.arrayContaining(['dynamodb:DeleteTable', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:TagResource']));
    expect(JSON.stringify(role)).not.toContain('UpdateContinuousBackups');
    expect(Object.keys(bySid)).toEqual(expect.arrayContaining(['DrillReadSource', 'DrillListTables', 'FindingsLedger', 'Alert', 'OnFailureDestination']));
  }, 60_000);
});

describe('runScheduledDrills', () => {
  const deps = (n: Notifier, targets = parseDrillTables('eu-west-1:orders', 'p')) => ({
    clients: new Clients(),
    targets,
    accountId: ACCOUNT,
    exemptTag: 'pitr-guard:exempt',
    homeRegion: 'eu-west-1',
    ledgerTable: 'findings',
    notifiers: [n],
    now: () => new Date('2026-12-02T06:00:00Z'),
    sleep: async () => undefined,
  });

  it('sweeps an earlier run\'s leftover, drills, stores the record, and alerts nothing when it passed', async () => {
    serveSource('eu-west-1', 'orders');
    ddbMock.on(ListTablesCommand).resolves({ TableNames: ['orders-pitr-drill-20261125060000', 'payments'] });
    ddbMock.on(DescribeTableCommand, { TableName: 'orders-pitr-drill-20261125060000' }).resolvesOnce({ Table: { TableStatus: 'ACTIVE', CreationDateTime: new Date('2026-11-25T06:00:00Z'), RestoreSummary: { SourceTableArn: arn('eu-west-1', 'orders'), RestoreDateTime: new Date(), RestoreInProgress: false } } }).rejects(awsError('ResourceNotFoundException'));
    ddbMock.on(RestoreTableToPointInTimeCommand).resolves({ TableDescription: { TableName: 'orders-pitr-drill-20261202060000', TableArn: arn('eu-west-1', 'orders-pitr-drill-20261202060000'), TableStatus: 'ACTIVE', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], RestoreSummary: { SourceTableArn: arn('eu-west-1', 'orders'), RestoreDateTime: new Date('2026-12-02T05:55:00Z'), RestoreInProgress: false } } });
    ddbMock.on(TagResourceCommand).resolves({});
    ddbMock.on(ScanCommand).resolves({ Count: 1 });
    ddbMock.on(DeleteTableCommand).resolves({});
    ddbMock.on(DescribeTableCommand, { TableName: 'orders-pitr-drill-20261202060000' }).rejects(awsError('ResourceNotFoundException'));
    ddbMock.on(UpdateItemCommand).resolves({ Attributes: { drills: { L: [{ S: '{}' }] } } });
    const n = notifier();
    const result = await runScheduledDrills(deps(n), { remainingMs: () => 880_000 });
    expect(result.swept).toEqual(['orders-pitr-drill-20261125060000']);
    expect(ddbMock).toHaveReceivedCommandWith(ListTablesCommand, { ExclusiveStartTableName: 'orders-pitr-drill-' });
    expect(ddbMock.commandCalls(DeleteTableCommand).map((c) => c.args[0].input.TableName)).toEqual(['orders-pitr-drill-20261125060000', 'orders-pitr-drill-20261202060000']);
    expect(result.drills.map((d) => d.outcome)).toEqual(['PASSED']);
    expect(ddbMock).toHaveReceivedCommandWith(UpdateItemCommand, { TableName: 'findings', Key: { tableArn: { S: arn('eu-west-1', 'orders') } } });
    expect(n.sent).toEqual([]);
  });

  it('a table without PITR and a table of another account are FAILED drills: one alert, then DrillFailedError', async () => {
    serveSource('eu-west-1', 'orders', 'DISABLED');
    ddbMock.on(ListTablesCommand).resolves({ TableNames: ['payments'] });
    ddbMock.on(UpdateItemCommand).resolves({ Attributes: { drills: { L: [] } } });
    const n = notifier();
    const targets = parseDrillTables(`eu-west-1:orders,arn:aws:dynamodb:eu-west-1:210987654321:table/other`, 'p');
    await expect(runScheduledDrills(deps(n, targets), { remainingMs: () => 880_000 })).rejects.toThrow(DrillFailedError);
    expect(ddbMock.commandCalls(RestoreTableToPointInTimeCommand)).toHaveLength(0);
    expect(n.sent).toHaveLength(1);
    expect(n.sent[0]!.subject).toBe(`[pitr-guard] Restore drill FAILED: 2 tables in ${ACCOUNT}`);
    expect(n.sent[0]!.text).toContain('table orders has point-in-time recovery off');
    expect(n.sent[0]!.text).toContain('the ARN names account 210987654321, not this account (123456789012)');
    expect(ddbMock.commandCalls(UpdateItemCommand)).toHaveLength(2);
  });
});
