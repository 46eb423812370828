import { AccountClient, ListRegionsCommand } from '@aws-sdk/client-account';
import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ListTagsOfResourceCommand,
} from '@aws-sdk/client-dynamodb';
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/aws/clients';
import { CredentialsError } from '../../lib/core/errors';
import { hasProblems, scan } from '../../lib/aws/scan';
import { awsError } from '../helpers/aws-errors';
import { NOW } from '../helpers/builders';

const ddbMock = mockClient(DynamoDBClient);
const stsMock = mockClient(STSClient);
const accountMock = mockClient(AccountClient);
const taggingMock = mockClient(ResourceGroupsTaggingAPIClient);
const fast = { ratePerSecond: 1000, sleep: async () => undefined, retry: { sleep: async () => undefined } };
const policy = { regions: ['us-east-1', 'eu-west-1'], minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };

type Client = { config: { region: () => Promise<string> } };
const regionOf = async (getClient: () => unknown) => (getClient() as Client).config.region();

/** Each Region holds tables named after their state: on-*, off-*, short-*, exempt-*. */
function serveAccount(tables: Record<string, string[]>) {
  ddbMock.on(ListTablesCommand).callsFake(async (_input, getClient) => ({ TableNames: tables[await regionOf(getClient)] ?? [] }));
  ddbMock.on(DescribeTableCommand).callsFake(async (input: { TableName: string }, getClient) => {
    const region = await regionOf(getClient);
    return { Table: { TableName: input.TableName, TableArn: `arn:aws:dynamodb:${region}:123456789012:table/${input.TableName}`, TableStatus: 'ACTIVE' } };
  });
  ddbMock.on(DescribeContinuousBackupsCommand).callsFake(async (input: { TableName: string }) => {
    const state = input.TableName.split('-')[0];
    const d =
      state === 'off' || state === 'exempt'
        ? { PointInTimeRecoveryStatus: 'DISABLED' }
        : { PointInTimeRecoveryStatus: 'ENABLED', RecoveryPeriodInDays: state === 'short' ? 7 : 35, EarliestRestorableDateTime: new Date('2026-01-01T00:00:00Z') };
    return { ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: d } };
  });
  ddbMock.on(ListTagsOfResourceCommand).callsFake(async (input: { ResourceArn: string }) => ({
    Tags: input.ResourceArn.includes('table/exempt-') ? [{ Key: 'pitr-guard:exempt', Value: 'cache' }] : [],
  }));
  // the Tagging API answers only the tagged tables (an untagged one is absent from the answer)
  taggingMock.on(GetResourcesCommand).callsFake(async (input: { ResourceARNList: string[] }) => ({
    ResourceTagMappingList: input.ResourceARNList.filter((a) => a.includes('table/exempt-')).map((a) => ({ ResourceARN: a, Tags: [{ Key: 'pitr-guard:exempt', Value: 'cache' }] })),
  }));
}

beforeEach(() => {
  ddbMock.reset();
  stsMock.reset();
  accountMock.reset();
  taggingMock.reset();
  stsMock.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/auditor' });
});

describe('scan', () => {
  it('evaluates every table of every Region, worst first, with exact counts', async () => {
    serveAccount({ 'us-east-1': ['on-a', 'off-b', 'short-c'], 'eu-west-1': ['exempt-d', 'on-e', 'off-f'] });
    const report = await scan({ policy, homeRegion: 'us-east-1' }, { clients: new Clients(), inventory: fast, now: () => NOW });
    expect(report.accountId).toBe('123456789012');
    expect(report.generatedAt).toBe(NOW.toISOString());
    expect(report.regions).toEqual(['us-east-1', 'eu-west-1']);
    expect(report.summary).toEqual({ total: 6, compliant: 2, nonCompliant: 3, exempt: 1, notApplicable: 0, error: 0 });
    expect(report.findings.map((f) => `${f.status} ${f.region}/${f.tableName}`)).toEqual([
      'NON_COMPLIANT eu-west-1/off-f',
      'NON_COMPLIANT us-east-1/off-b',
      'NON_COMPLIANT us-east-1/short-c',
      'EXEMPT eu-west-1/exempt-d',
      'COMPLIANT eu-west-1/on-e',
      'COMPLIANT us-east-1/on-a',
    ]);
    expect(report.regionErrors).toEqual([]);
    expect(hasProblems(report)).toBe(true);
    expect(stsMock).toHaveReceivedCommandTimes(GetCallerIdentityCommand, 1);
    // tags in bulk: one GetResources per Region with its tables' ARNs, no ListTagsOfResource
    expect(taggingMock.commandCalls(GetResourcesCommand).map((c) => c.args[0].input.ResourceARNList?.length)).toEqual([3, 3]);
    expect(ddbMock).toHaveReceivedCommandTimes(ListTagsOfResourceCommand, 0);
  });

  it('every finding carries cost; the report totals it (us-east-1 has no sourced price: counted, not guessed)', async () => {
    serveAccount({ 'us-east-1': ['on-a', 'off-b'] });
    ddbMock.on(DescribeTableCommand).callsFake(async (input: { TableName: string }) => ({
      Table: { TableName: input.TableName, TableArn: `arn:aws:dynamodb:us-east-1:123456789012:table/${input.TableName}`, TableStatus: 'ACTIVE', TableSizeBytes: 1024 ** 3 },
    }));
    const report = await scan({ policy: { ...policy, regions: ['us-east-1'] }, homeRegion: 'us-east-1' }, { clients: new Clients(), inventory: fast, now: () => NOW });
    expect(report.findings.map((f) => f.cost)).toEqual([
      { tableSizeBytes: 1024 ** 3, lsiSizeBytes: 0, pitrMonthlyUsd: null },
      { tableSizeBytes: 1024 ** 3, lsiSizeBytes: 0, pitrMonthlyUsd: null },
    ]);
    expect(report.cost).toMatchObject({ currentMonthlyUsd: 0, toEnableMonthlyUsd: 0, tablesWithoutPrice: 2, regionsWithoutPrice: ['us-east-1'] });
    expect(ddbMock).toHaveReceivedCommandTimes(DescribeTableCommand, 2);
  });

  it('uses a known account ID instead of asking STS', async () => {
    serveAccount({});
    const report = await scan({ policy, homeRegion: 'us-east-1', accountId: '210987654321' }, { clients: new Clients(), inventory: fast });
    expect(report.accountId).toBe('210987654321');
    expect(stsMock).not.toHaveReceivedCommand(GetCallerIdentityCommand);
    expect(hasProblems(report)).toBe(false);
  });

  it('reports a Region it could not list instead of returning a clean, empty result', async () => {
    serveAccount({ 'us-east-1': ['on-a'] });
    ddbMock.on(ListTablesCommand).callsFake(async (_input, getClient) => {
      if ((await regionOf(getClient)) === 'eu-west-1') throw awsError('UnrecognizedClientException');
      return { TableNames: ['on-a'] };
    });
    const report = await scan({ policy, homeRegion: 'us-east-1' }, { clients: new Clients(), inventory: fast });
    expect(report.summary.total).toBe(1);
    expect(report.regionErrors).toEqual([
      { region: 'eu-west-1', operation: 'ListTables', errorName: 'UnrecognizedClientException', message: expect.stringContaining('ListTables failed') },
    ]);
    expect(hasProblems(report)).toBe(true);
  });

  it('scans every enabled Region for "all" (Account ListRegions, every page)', async () => {
    serveAccount({ 'us-east-1': ['on-a'], 'eu-south-2': ['off-z'] });
    accountMock
      .on(ListRegionsCommand)
      .resolvesOnce({ Regions: [{ RegionName: 'us-east-1', RegionOptStatus: 'ENABLED_BY_DEFAULT' }], NextToken: 'more' })
      .resolves({ Regions: [{ RegionName: 'eu-south-2', RegionOptStatus: 'ENABLED' }] });
    const report = await scan({ policy: { ...policy, regions: 'all' }, homeRegion: 'us-east-1' }, { clients: new Clients(), inventory: fast });
    expect(report.regions).toEqual(['eu-south-2', 'us-east-1']);
    expect(report.summary).toMatchObject({ total: 2, compliant: 1, nonCompliant: 1 });
    expect(accountMock).toHaveReceivedNthCommandWith(1, ListRegionsCommand, { RegionOptStatusContains: ['ENABLED', 'ENABLED_BY_DEFAULT'], MaxResults: 50, NextToken: undefined });
    expect(accountMock).toHaveReceivedNthCommandWith(2, ListRegionsCommand, { RegionOptStatusContains: ['ENABLED', 'ENABLED_BY_DEFAULT'], MaxResults: 50, NextToken: 'more' });
  });

  it('turns missing or expired credentials into a CredentialsError', async () => {
    stsMock.on(GetCallerIdentityCommand).rejects(awsError('ExpiredTokenException'));
    await expect(scan({ policy, homeRegion: 'us-east-1' }, { clients: new Clients(), inventory: fast })).rejects.toBeInstanceOf(CredentialsError);
  });
});
