import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ListTagsOfResourceCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsCallError } from '../../lib/core/errors';
import { createLogger } from '../../lib/runtime/logger';
import { createPacers, inventoryRegion, listTableNames, pitrState, readTable } from '../../lib/aws/inventory';
import { awsError } from '../helpers/aws-errors';

const ddbMock = mockClient(DynamoDBClient);
const ddb = new DynamoDBClient({ region: 'eu-west-1' });
const where = { accountId: '123456789012', region: 'eu-west-1' };
const arn = (name: string) => `arn:aws:dynamodb:eu-west-1:123456789012:table/${name}`;
const noSleep = jest.fn(async (_ms: number) => undefined);
const fast = { sleep: noSleep, ratePerSecond: 1000, retry: { sleep: noSleep, random: () => 1 } };
const names = (n: number) => Array.from({ length: n }, (_, i) => `table-${String(i).padStart(3, '0')}`);

function serveTables(all: string[], pitr: 'ENABLED' | 'DISABLED' = 'ENABLED') {
  ddbMock.on(ListTablesCommand).callsFake((input: { ExclusiveStartTableName?: string; Limit?: number }) => {
    const start = input.ExclusiveStartTableName ? all.indexOf(input.ExclusiveStartTableName) + 1 : 0;
    const page = all.slice(start, start + (input.Limit ?? 100));
    const last = start + page.length < all.length ? page[page.length - 1] : undefined;
    return { TableNames: page, ...(last ? { LastEvaluatedTableName: last } : {}) };
  });
  ddbMock.on(DescribeTableCommand).callsFake((input: { TableName: string }) => ({
    Table: { TableName: input.TableName, TableArn: arn(input.TableName), TableId: `id-${input.TableName}`, TableStatus: 'ACTIVE' },
  }));
  ddbMock.on(DescribeContinuousBackupsCommand).resolves({
    ContinuousBackupsDescription: {
      ContinuousBackupsStatus: 'ENABLED',
      PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: pitr, ...(pitr === 'ENABLED' ? { RecoveryPeriodInDays: 35 } : {}) },
    },
  });
  ddbMock.on(ListTagsOfResourceCommand).resolves({ Tags: [] });
}

beforeEach(() => {
  ddbMock.reset();
  noSleep.mockClear();
});

describe('listTableNames', () => {
  it('follows every page (250 tables → 3 ListTables calls)', async () => {
    const all = names(250);
    serveTables(all);
    await expect(listTableNames(ddb, fast)).resolves.toEqual(all);
    expect(ddbMock).toHaveReceivedCommandTimes(ListTablesCommand, 3);
    expect(ddbMock).toHaveReceivedNthCommandWith(1, ListTablesCommand, { ExclusiveStartTableName: undefined, Limit: 100 });
    expect(ddbMock).toHaveReceivedNthCommandWith(2, ListTablesCommand, { ExclusiveStartTableName: 'table-099', Limit: 100 });
    expect(ddbMock).toHaveReceivedNthCommandWith(3, ListTablesCommand, { ExclusiveStartTableName: 'table-199', Limit: 100 });
  });

  it('retries a throttled page from where it stopped, losing nothing', async () => {
    const all = names(150);
    serveTables(all);
    const paged = ddbMock.on(ListTablesCommand, { ExclusiveStartTableName: 'table-099', Limit: 100 });
    paged.rejectsOnce(awsError('ThrottlingException')).resolves({ TableNames: all.slice(100) });
    await expect(listTableNames(ddb, fast)).resolves.toEqual(all);
    expect(ddbMock).toHaveReceivedCommandWith(ListTablesCommand, { ExclusiveStartTableName: 'table-099', Limit: 100 });
    expect(noSleep).toHaveBeenCalled();
  });

  it('throws AwsCallError naming ListTables when listing is denied', async () => {
    ddbMock.on(ListTablesCommand).rejects(awsError('AccessDeniedException'));
    const error = await listTableNames(ddb, fast).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsCallError);
    expect(error).toMatchObject({ operation: 'ListTables', errorName: 'AccessDeniedException' });
    expect(ddbMock).toHaveReceivedCommandTimes(ListTablesCommand, 1); // not retried: access errors are final
  });
});

describe('readTable', () => {
  const ref = { ...where, tableName: 'orders' };

  it('sends exactly DescribeTable, DescribeContinuousBackups and every page of ListTagsOfResource', async () => {
    serveTables(['orders']);
    ddbMock
      .on(ListTagsOfResourceCommand)
      .resolvesOnce({ Tags: [{ Key: 'team', Value: 'payments' }], NextToken: 'page-2' })
      .resolves({ Tags: [{ Key: 'pitr-guard:exempt', Value: 'cache' }] });
    const facts = await readTable(ddb, ref, createPacers(1000), fast);
    expect(ddbMock).toHaveReceivedCommandWith(DescribeTableCommand, { TableName: 'orders' });
    expect(ddbMock).toHaveReceivedCommandWith(DescribeContinuousBackupsCommand, { TableName: 'orders' });
    expect(ddbMock).toHaveReceivedNthCommandWith(3, ListTagsOfResourceCommand, { ResourceArn: arn('orders'), NextToken: undefined });
    expect(ddbMock).toHaveReceivedNthCommandWith(4, ListTagsOfResourceCommand, { ResourceArn: arn('orders'), NextToken: 'page-2' });
    expect(facts).toEqual({
      ...ref,
      tableArn: arn('orders'),
      tableId: 'id-orders',
      tableStatus: 'ACTIVE',
      creationDateTime: undefined,
      pitr: { status: 'ENABLED', recoveryPeriodInDays: 35, earliestRestorableDateTime: undefined, latestRestorableDateTime: undefined },
      tags: { team: 'payments', 'pitr-guard:exempt': 'cache' },
    });
  });

  it('keeps replicas and restore lineage from DescribeTable', async () => {
    serveTables(['orders']);
    const restoreDateTime = new Date('2026-11-01T00:00:00Z');
    ddbMock.on(DescribeTableCommand).resolves({
      Table: {
        TableName: 'orders',
        TableArn: arn('orders'),
        TableStatus: 'ACTIVE',
        Replicas: [{ RegionName: 'us-east-1', ReplicaStatus: 'ACTIVE' }],
        RestoreSummary: { SourceTableArn: arn('orders-old'), RestoreDateTime: restoreDateTime, RestoreInProgress: false },
      },
    });
    const facts = await readTable(ddb, ref, createPacers(1000), fast);
    expect(facts).toMatchObject({
      replicas: [{ regionName: 'us-east-1', replicaStatus: 'ACTIVE' }],
      restoreSummary: { sourceTableArn: arn('orders-old'), restoreDateTime, restoreInProgress: false },
    });
  });

  it('reads size, LSI sizes, global table version and replica ARNs from the one DescribeTable', async () => {
    serveTables(['orders']);
    ddbMock.on(DescribeTableCommand).resolves({
      Table: {
        TableName: 'orders',
        TableArn: arn('orders'),
        TableStatus: 'ACTIVE',
        TableSizeBytes: 5_000,
        LocalSecondaryIndexes: [{ IndexName: 'a', IndexSizeBytes: 700 }, { IndexName: 'b', IndexSizeBytes: 300 }, { IndexName: 'c' }],
        GlobalTableVersion: '2019.11.21',
        Replicas: [
          { RegionName: 'eu-west-1', ReplicaStatus: 'ACTIVE', ReplicaArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders' },
          { RegionName: 'us-west-2' },
        ],
      },
    });
    const facts = await readTable(ddb, ref, createPacers(1000), fast);
    expect(facts).toMatchObject({
      tableSizeBytes: 5_000,
      lsiSizeBytes: 1_000,
      globalTableVersion: '2019.11.21',
      replicas: [{ regionName: 'eu-west-1', replicaStatus: 'ACTIVE', replicaArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders' }, { regionName: 'us-west-2' }],
    });
    expect(ddbMock).toHaveReceivedCommandTimes(DescribeTableCommand, 1);
  });

  it('skips PITR and tags for tables being deleted or archived', async () => {
    serveTables(['orders']);
    ddbMock.on(DescribeTableCommand).resolves({ Table: { TableName: 'orders', TableArn: arn('orders'), TableStatus: 'DELETING' } });
    const facts = await readTable(ddb, ref, createPacers(1000), fast);
    expect(facts).toMatchObject({ tableStatus: 'DELETING' });
    expect(ddbMock).not.toHaveReceivedCommand(DescribeContinuousBackupsCommand);
    expect(ddbMock).not.toHaveReceivedCommand(ListTagsOfResourceCommand);
  });

  it('answers throttling with backoff and still reads the table', async () => {
    serveTables(['orders']);
    ddbMock
      .on(DescribeContinuousBackupsCommand)
      .rejectsOnce(awsError('ThrottlingException'))
      .rejectsOnce(awsError('ThrottlingException'))
      .resolves({ ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'DISABLED' } } });
    const facts = await readTable(ddb, ref, createPacers(1000), fast);
    expect(facts).toMatchObject({ pitr: { status: 'DISABLED' } });
    expect(facts).not.toHaveProperty('error');
    expect(ddbMock).toHaveReceivedCommandTimes(DescribeContinuousBackupsCommand, 3);
    // exponential backoff: 250 ms then 500 ms (random() = 1 → the full cap)
    expect(noSleep.mock.calls.map(([ms]) => ms)).toEqual([250, 500]);
  });

  it('reports the table with the error when retries run out, instead of losing it', async () => {
    serveTables(['orders']);
    ddbMock.on(DescribeContinuousBackupsCommand).rejects(awsError('ThrottlingException'));
    const facts = await readTable(ddb, ref, createPacers(1000), { ...fast, retry: { ...fast.retry, attempts: 4 } });
    expect(facts).toMatchObject({
      tableName: 'orders',
      error: { operation: 'DescribeContinuousBackups', errorName: 'ThrottlingException' },
    });
    expect(ddbMock).toHaveReceivedCommandTimes(DescribeContinuousBackupsCommand, 4);
  });

  it('reports access denied as an error on the table, without retrying', async () => {
    serveTables(['orders']);
    ddbMock.on(ListTagsOfResourceCommand).rejects(awsError('AccessDeniedException'));
    const facts = await readTable(ddb, ref, createPacers(1000), fast);
    expect(facts).toMatchObject({ error: { operation: 'ListTagsOfResource', errorName: 'AccessDeniedException' }, pitr: { status: 'ENABLED' } });
    expect(ddbMock).toHaveReceivedCommandTimes(ListTagsOfResourceCommand, 1);
  });

  it('drops a table DescribeTable cannot find twice (deleted since listing)', async () => {
    serveTables(['orders']);
    ddbMock.on(DescribeTableCommand).rejects(awsError('ResourceNotFoundException'));
    await expect(readTable(ddb, ref, createPacers(1000), { ...fast, vanishRecheckMs: 1234 })).resolves.toBe('vanished');
    expect(ddbMock).toHaveReceivedCommandTimes(DescribeTableCommand, 2);
    expect(noSleep).toHaveBeenCalledWith(1234);
  });

  it('keeps a table DescribeTable finds on the second look (eventually consistent right after creation)', async () => {
    serveTables(['orders']);
    ddbMock
      .on(DescribeTableCommand)
      .rejectsOnce(awsError('ResourceNotFoundException'))
      .resolves({ Table: { TableName: 'orders', TableArn: arn('orders'), TableStatus: 'CREATING' } });
    await expect(readTable(ddb, ref, createPacers(1000), fast)).resolves.toMatchObject({ tableStatus: 'CREATING' });
  });

  it('drops a table whose DescribeContinuousBackups says TableNotFoundException', async () => {
    serveTables(['orders']);
    ddbMock.on(DescribeContinuousBackupsCommand).rejects(awsError('TableNotFoundException'));
    await expect(readTable(ddb, ref, createPacers(1000), fast)).resolves.toBe('vanished');
  });
});

describe('inventoryRegion', () => {
  it('reads every table of a 250-table Region and names the ones that vanished', async () => {
    const all = names(250);
    serveTables(all);
    ddbMock.on(DescribeTableCommand, { TableName: 'table-007' }).rejects(awsError('ResourceNotFoundException'));
    const logs: string[] = [];
    const logger = createLogger({ write: (l: string) => logs.push(l) });
    const inv = await inventoryRegion(ddb, where, { ...fast, logger });
    expect(inv.tables).toHaveLength(249);
    expect(inv.vanished).toEqual(['table-007']);
    expect(inv.tables.map((t) => t.tableName)).not.toContain('table-007');
    expect(logs.some((l) => l.includes('table deleted while being read') && l.includes('table-007'))).toBe(true);
    expect(ddbMock).toHaveReceivedCommandTimes(DescribeContinuousBackupsCommand, 249);
  });
});

describe('pitrState', () => {
  it('treats a missing PointInTimeRecoveryDescription as not enabled', () => {
    expect(pitrState({ ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED' } })).toEqual({ status: 'MISSING' });
    expect(pitrState({})).toEqual({ status: 'MISSING' });
  });
});
