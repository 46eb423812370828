import { DescribeContinuousBackupsCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand, ListTagsOfResourceCommand } from '@aws-sdk/client-dynamodb';
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { mockClient } from 'aws-sdk-client-mock';
import { inventoryRegion } from '../../lib/aws/inventory';
import { BULK_TAGS_CHUNK, bulkTagLookup, getResourcesTags, tableArn } from '../../lib/aws/inventory/tags';
import { RateLimiter } from '../../lib/aws/pace';
import { silentLogger } from '../../lib/runtime/logger';
import { awsError } from '../helpers/aws-errors';

const tagMock = mockClient(ResourceGroupsTaggingAPIClient);
const ddbMock = mockClient(DynamoDBClient);
const tagging = new ResourceGroupsTaggingAPIClient({ region: 'eu-west-1' });
const ddb = new DynamoDBClient({ region: 'eu-west-1' });
const where = { accountId: '123456789012', region: 'eu-west-1' };
const noSleep = async () => undefined;
const o = { retry: { sleep: noSleep, random: () => 0 }, sleep: noSleep, logger: silentLogger, region: 'eu-west-1' };
const fastPacer = () => new RateLimiter(1000);
const names = (n: number) => Array.from({ length: n }, (_, i) => `t-${String(i).padStart(3, '0')}`);

beforeEach(() => {
  tagMock.reset();
  ddbMock.reset();
});

describe('tableArn', () => {
  it('builds the ARN in the Region’s partition', () => {
    expect(tableArn(where, 'orders')).toBe('arn:aws:dynamodb:eu-west-1:123456789012:table/orders');
    expect(tableArn({ accountId: '1', region: 'cn-north-1' }, 'x')).toBe('arn:aws-cn:dynamodb:cn-north-1:1:table/x');
    expect(tableArn({ accountId: '1', region: 'us-gov-west-1' }, 'x')).toBe('arn:aws-us-gov:dynamodb:us-gov-west-1:1:table/x');
  });
});

describe('getResourcesTags', () => {
  it('sends one GetResources with the ARN list; an ARN missing from the answer has no tags', async () => {
    const arns = ['a', 'b', 'c'].map((n) => tableArn(where, n));
    tagMock.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [{ ResourceARN: arns[0], Tags: [{ Key: 'pitr-guard:exempt', Value: 'cache' }] }, { ResourceARN: 'arn:other', Tags: [{ Key: 'x', Value: 'y' }] }] });
    const tags = await getResourcesTags(tagging, arns, fastPacer(), o);
    expect(tagMock.commandCalls(GetResourcesCommand).map((c) => c.args[0].input)).toEqual([{ ResourceARNList: arns }]);
    expect(Object.fromEntries(tags)).toEqual({ [arns[0]!]: { 'pitr-guard:exempt': 'cache' }, [arns[1]!]: {}, [arns[2]!]: {} });
  });

  it('follows a PaginationToken if one comes back (moto pages; AWS answers the list at once)', async () => {
    const arns = ['a', 'b'].map((n) => tableArn(where, n));
    tagMock.on(GetResourcesCommand).callsFake((input: { PaginationToken?: string }) =>
      input.PaginationToken === 'p2'
        ? { ResourceTagMappingList: [{ ResourceARN: arns[1], Tags: [{ Key: 'team', Value: 'b' }] }], PaginationToken: '' }
        : { ResourceTagMappingList: [{ ResourceARN: arns[0], Tags: [{ Key: 'team', Value: 'a' }] }], PaginationToken: 'p2' },
    );
    const tags = await getResourcesTags(tagging, arns, fastPacer(), o);
    expect(tagMock.commandCalls(GetResourcesCommand).map((c) => c.args[0].input)).toEqual([{ ResourceARNList: arns }, { ResourceARNList: arns, PaginationToken: 'p2' }]);
    expect(Object.fromEntries(tags)).toEqual({ [arns[0]!]: { team: 'a' }, [arns[1]!]: { team: 'b' } });
  });

  it('retries a throttle and slows its pacer down', async () => {
    const pacer = fastPacer();
    tagMock.on(GetResourcesCommand).rejectsOnce(awsError('ThrottlingException')).resolves({ ResourceTagMappingList: [] });
    await getResourcesTags(tagging, [tableArn(where, 'a')], pacer, o);
    expect(tagMock.commandCalls(GetResourcesCommand)).toHaveLength(2);
    expect(pacer.stats.decreases).toBe(1);
  });

  it('refuses more than 100 ARNs', async () => {
    await expect(getResourcesTags(tagging, names(101), fastPacer(), o)).rejects.toThrow('at most 100 ARNs');
  });
});

describe('bulkTagLookup', () => {
  it('reads 250 tables in 3 calls of ≤ 100 ARNs, in listing order', async () => {
    tagMock.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [] });
    const lookup = bulkTagLookup(tagging, where, names(250), o);
    expect(await lookup(tableArn(where, 't-249'))).toEqual({});
    const lists = tagMock.commandCalls(GetResourcesCommand).map((c) => c.args[0].input.ResourceARNList ?? []);
    expect(lists.map((l) => l.length)).toEqual([BULK_TAGS_CHUNK, BULK_TAGS_CHUNK, 50]);
    expect(lists[0]![0]).toBe(tableArn(where, 't-000'));
    expect(lists[2]![49]).toBe(tableArn(where, 't-249'));
  });

  it('answers undefined (fall back) for a chunk that is denied, and for an ARN it was not asked about', async () => {
    tagMock.on(GetResourcesCommand).rejects(awsError('AccessDeniedException', 400, 'not authorized to perform: tag:GetResources'));
    const warn = jest.fn();
    const lookup = bulkTagLookup(tagging, where, names(3), { ...o, logger: { ...silentLogger, warn } });
    expect(await lookup(tableArn(where, 't-000'))).toBeUndefined();
    expect(await lookup(tableArn(where, 'unknown'))).toBeUndefined();
    expect(tagMock.commandCalls(GetResourcesCommand)).toHaveLength(1); // AccessDenied is not retried
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('reading tags per table'), expect.objectContaining({ errorName: 'AccessDeniedException' }));
  });
});

describe('inventoryRegion with bulk tags', () => {
  function serve(all: string[]) {
    ddbMock.on(ListTablesCommand).resolves({ TableNames: all });
    ddbMock.on(DescribeTableCommand).callsFake((input: { TableName: string }) => ({ Table: { TableName: input.TableName, TableArn: tableArn(where, input.TableName), TableStatus: 'ACTIVE' } }));
    ddbMock.on(DescribeContinuousBackupsCommand).resolves({ ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'ENABLED', RecoveryPeriodInDays: 35 } } });
    ddbMock.on(ListTagsOfResourceCommand).resolves({ Tags: [{ Key: 'from', Value: 'ListTagsOfResource' }] });
  }
  const fast = { sleep: noSleep, ratePerSecond: 1000, retry: { sleep: noSleep, random: () => 0 } };

  it('takes the tags from GetResources and sends no ListTagsOfResource', async () => {
    serve(names(120));
    tagMock.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [{ ResourceARN: tableArn(where, 't-007'), Tags: [{ Key: 'team', Value: 'x' }] }] });
    const inv = await inventoryRegion(ddb, where, fast, undefined, (n) => bulkTagLookup(tagging, where, n, o));
    expect(inv.tables).toHaveLength(120);
    expect(inv.tables.find((t) => t.tableName === 't-007')?.tags).toEqual({ team: 'x' });
    expect(inv.tables.find((t) => t.tableName === 't-008')?.tags).toEqual({});
    expect(ddbMock.commandCalls(ListTagsOfResourceCommand)).toHaveLength(0);
    expect(tagMock.commandCalls(GetResourcesCommand)).toHaveLength(2);
  });

  it('falls back to ListTagsOfResource per table where GetResources is denied', async () => {
    serve(names(5));
    tagMock.on(GetResourcesCommand).rejects(awsError('AccessDeniedException'));
    const inv = await inventoryRegion(ddb, where, fast, undefined, (n) => bulkTagLookup(tagging, where, n, o));
    expect(inv.tables.every((t) => t.tags?.from === 'ListTagsOfResource' && !t.error)).toBe(true);
    expect(ddbMock.commandCalls(ListTagsOfResourceCommand)).toHaveLength(5);
  });
});
