/**
 * The Organization scope: the variables (bad values fail naming the variable), Organizations
 * ListAccounts (every page, an empty page with a NextToken, ACTIVE `State` only), the member-role
 * session (one AssumeRole per account, shared, refreshed before expiry, ExternalId when set), and
 * how every format shows accounts and account errors.
 */
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/aws/clients';
import { listOrganizationAccounts } from '../../lib/aws/org/organization';
import { memberRoleCredentials, sessionName } from '../../lib/aws/org/member-credentials';
import { resolveAccounts, scanAccounts } from '../../lib/aws/org/scan-accounts';
import { AccountClient, ListRegionsCommand } from '@aws-sdk/client-account';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { hasProblems, regionSummaries, summarize, type ScanReport } from '../../lib/aws/scan';
import { parseScope, validateEnvironment } from '../../lib/core/config';
import { ConfigError } from '../../lib/core/errors';
import { renderCsv } from '../../lib/report/csv';
import { renderHtml } from '../../lib/report/html';
import { renderTable } from '../../lib/report/table';
import { exitCodeFor, notScannedLines, parseConcurrency, scopeFromFlags, type ScanFlags } from '../../lib/cli/scan-command';
import { renderDigest } from '../../lib/notify/digest';
import { awsError } from '../helpers/aws-errors';

const orgMock = mockClient(OrganizationsClient);
const stsMock = mockClient(STSClient);
const accountMock = mockClient(AccountClient);
const ddbMock = mockClient(DynamoDBClient);
beforeEach(() => {
  orgMock.reset();
  stsMock.reset();
  accountMock.reset();
  ddbMock.reset();
});

describe('scope variables', () => {
  it('defaults to self, no exclusions, role pitr-guard-member, no external ID', () => {
    expect(parseScope({})).toEqual({ accounts: 'self', excludeAccounts: [], memberRole: 'pitr-guard-member' });
  });

  it('reads org, lists (deduplicated), exclusions, the role and the external ID', () => {
    expect(parseScope({ PITR_GUARD_ACCOUNTS: 'ORG', PITR_GUARD_EXCLUDE_ACCOUNTS: '111111111111, 222222222222', PITR_GUARD_MEMBER_ROLE: 'audit+pitr@x', PITR_GUARD_EXTERNAL_ID: 'a:b/c=d' })).toEqual({
      accounts: 'org',
      excludeAccounts: ['111111111111', '222222222222'],
      memberRole: 'audit+pitr@x',
      externalId: 'a:b/c=d',
    });
    expect(parseScope({ PITR_GUARD_ACCOUNTS: '111111111111,222222222222,111111111111' }).accounts).toEqual(['111111111111', '222222222222']);
  });

  it.each([
    ['PITR_GUARD_ACCOUNTS', '12345', /"12345" is not a 12-digit account ID/],
    ['PITR_GUARD_ACCOUNTS', 'all', /"all" is not a 12-digit account ID; must be self, org, or a comma-separated list/],
    ['PITR_GUARD_ACCOUNTS', '111111111111,,222222222222', /has an empty item/],
    ['PITR_GUARD_EXCLUDE_ACCOUNTS', 'org', /"org" is not a 12-digit account ID/],
    ['PITR_GUARD_MEMBER_ROLE', 'role/with/path', /must be an IAM role name of 1-64/],
    ['PITR_GUARD_MEMBER_ROLE', 'x'.repeat(65), /must be an IAM role name/],
    ['PITR_GUARD_EXTERNAL_ID', 'a', /must be an external ID of 2-1224/],
    ['PITR_GUARD_EXTERNAL_ID', 'has space', /must be an external ID/],
  ])('%s=%s fails fast naming the variable', (variable, value, why) => {
    expect(() => parseScope({ [variable]: value })).toThrow(ConfigError);
    expect(() => parseScope({ [variable]: value })).toThrow(new RegExp(`^Invalid ${variable}=`));
    expect(() => parseScope({ [variable]: value })).toThrow(why);
    expect(() => validateEnvironment({ [variable]: value })).toThrow(new RegExp(`^Invalid ${variable}=`));
  });

  it('never echoes a bad external ID', () => {
    expect(() => parseScope({ PITR_GUARD_EXTERNAL_ID: 'secret value' })).toThrow('Invalid PITR_GUARD_EXTERNAL_ID="(hidden)"');
  });

  it('the CLI flags win over the variables and are named in errors', () => {
    const io = { env: { PITR_GUARD_ACCOUNTS: 'org', PITR_GUARD_MEMBER_ROLE: 'from-env' }, stdout: () => undefined, stderr: () => undefined };
    expect(scopeFromFlags({ accounts: '111111111111' } as ScanFlags, io)).toEqual({ accounts: ['111111111111'], excludeAccounts: [], memberRole: 'from-env' });
    expect(() => scopeFromFlags({ accounts: 'everyone' } as ScanFlags, io)).toThrow(/^Invalid --accounts="everyone"/);
    expect(() => scopeFromFlags({ memberRole: 'a b' } as ScanFlags, io)).toThrow(/^Invalid --member-role=/);
    expect(() => parseConcurrency('0')).toThrow(/^Invalid --concurrency="0"/);
    expect(parseConcurrency('12')).toBe(12);
  });
});

describe('listOrganizationAccounts', () => {
  it('reads every page, goes on after an empty page with a NextToken, and keeps ACTIVE State only', async () => {
    orgMock
      .on(ListAccountsCommand, { NextToken: undefined })
      .resolves({ Accounts: [{ Id: '111111111111', Name: 'prod', State: 'ACTIVE', Status: 'ACTIVE' }], NextToken: 't1' })
      .on(ListAccountsCommand, { NextToken: 't1' })
      .resolves({ Accounts: [], NextToken: 't2' })
      .on(ListAccountsCommand, { NextToken: 't2' })
      .resolves({
        Accounts: [
          // Status is retired: State decides, whatever Status says.
          { Id: '222222222222', Name: 'old', State: 'SUSPENDED', Status: 'ACTIVE' },
          { Id: '333333333333', Name: 'closing', State: 'PENDING_CLOSURE' },
          { Id: '444444444444', State: 'ACTIVE' },
        ],
      });
    const listing = await listOrganizationAccounts(new Clients());
    expect(listing.active).toEqual([{ accountId: '111111111111', name: 'prod' }, { accountId: '444444444444' }]);
    expect(listing.skipped).toEqual([
      { accountId: '222222222222', state: 'SUSPENDED' },
      { accountId: '333333333333', state: 'PENDING_CLOSURE' },
    ]);
    expect(orgMock.commandCalls(ListAccountsCommand).map((c) => c.args[0].input)).toEqual([
      { MaxResults: 20, NextToken: undefined },
      { MaxResults: 20, NextToken: 't1' },
      { MaxResults: 20, NextToken: 't2' },
    ]);
  });

  it('names the call when the caller is not the management account or a delegated administrator', async () => {
    orgMock.on(ListAccountsCommand).rejects(awsError('AccessDeniedException', 400, 'You don’t have permissions to access this resource.'));
    await expect(listOrganizationAccounts(new Clients({ maxAttempts: 1 }))).rejects.toThrow(/^ListAccounts failed: AccessDeniedException/);
  });

  it('resolveAccounts drops excluded accounts and refuses a scope with nothing left', async () => {
    const scope = { accounts: ['111111111111', '222222222222'], excludeAccounts: ['222222222222'], memberRole: 'r' };
    await expect(resolveAccounts(scope, '999999999999', { clients: new Clients() })).resolves.toEqual([{ accountId: '111111111111' }]);
    await expect(resolveAccounts({ ...scope, excludeAccounts: ['111111111111', '222222222222'] }, '999999999999', { clients: new Clients() })).rejects.toThrow(
      /^Invalid PITR_GUARD_EXCLUDE_ACCOUNTS=.*excludes every account in scope/,
    );
  });
});

describe('scanAccounts with regions=all', () => {
  it('asks each account for its own enabled Regions with its own session; a refused ListRegions is that account’s error with the fix', async () => {
    stsMock.on(AssumeRoleCommand).callsFake((input: { RoleArn: string }) => ({
      Credentials: { AccessKeyId: `key-${input.RoleArn.split(':')[4]}`, SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(Date.now() + 3600_000) },
    }));
    const keys: string[] = [];
    accountMock.on(ListRegionsCommand).callsFake(async (_input, getClient) => {
      const key = (await (getClient() as AccountClient).config.credentials()).accessKeyId;
      keys.push(key);
      if (key === 'key-222222222222') throw awsError('AccessDeniedException', 403, 'not authorized to perform: account:ListRegions');
      return { Regions: [{ RegionName: key === 'own' ? 'us-east-1' : 'eu-west-1', RegionOptStatus: 'ENABLED_BY_DEFAULT' }] };
    });
    ddbMock.on(ListTablesCommand).resolves({ TableNames: [] });
    const clients = new Clients({ credentials: { accessKeyId: 'own', secretAccessKey: 's' }, maxAttempts: 1 });
    const report = await scanAccounts(
      { policy: { regions: 'all', minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' }, homeRegion: 'us-east-1', accountId: '999999999999', runId: 'u', scope: { accounts: ['999999999999', '111111111111', '222222222222'], excludeAccounts: [], memberRole: 'pitr-guard-member' } },
      { clients },
    );
    expect(keys.sort()).toEqual(['key-111111111111', 'key-222222222222', 'own']);
    expect(report.accounts.map((a) => [a.accountId, a.status, a.regions])).toEqual([
      ['999999999999', 'SCANNED', ['us-east-1']],
      ['111111111111', 'SCANNED', ['eu-west-1']],
      ['222222222222', 'ERROR', undefined],
    ]);
    expect(report.regions).toEqual(['eu-west-1', 'us-east-1']);
    expect(report.cost).toEqual({ currentMonthlyUsd: 0, toEnableMonthlyUsd: 0, tablesWithoutPrice: 0, regionsWithoutPrice: [], priceTableDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
    expect(report.accountErrors).toEqual([
      expect.objectContaining({ accountId: '222222222222', operation: 'ListRegions', errorName: 'AccessDeniedException', fix: expect.stringContaining('give the member role pitr-guard-member what the member template grants') }),
    ]);
  });
});

describe('memberRoleCredentials', () => {
  const creds = (id: string, expiration: Date) => ({ Credentials: { AccessKeyId: id, SecretAccessKey: 's', SessionToken: 't', Expiration: expiration } });

  it('assumes the role once for any number of concurrent callers, then again only near expiry', async () => {
    let now = Date.parse('2026-12-01T10:00:00Z');
    stsMock.on(AssumeRoleCommand).resolvesOnce(creds('first', new Date(now + 3600_000))).resolvesOnce(creds('second', new Date(now + 7200_000)));
    const provider = memberRoleCredentials(new Clients(), { accountId: '111111111111', roleName: 'pitr-guard-member', homeRegion: 'eu-west-1', runId: 'r1', externalId: 'ext-1', now: () => now });
    const first = await Promise.all([provider(), provider(), provider()]);
    expect(first.map((c) => c.accessKeyId)).toEqual(['first', 'first', 'first']);
    now += 50 * 60_000; // 10 minutes left: still good
    expect((await provider()).accessKeyId).toBe('first');
    now += 6 * 60_000; // 4 minutes left: refreshed
    expect((await provider()).accessKeyId).toBe('second');
    expect(stsMock.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input)).toEqual([
      { RoleArn: 'arn:aws:iam::111111111111:role/pitr-guard-member', RoleSessionName: 'pitr-guard-r1', DurationSeconds: 3600, ExternalId: 'ext-1' },
      { RoleArn: 'arn:aws:iam::111111111111:role/pitr-guard-member', RoleSessionName: 'pitr-guard-r1', DurationSeconds: 3600, ExternalId: 'ext-1' },
    ]);
  });

  it('a refusal is an AwsCallError naming AssumeRole and the role, and the next call tries again', async () => {
    stsMock.on(AssumeRoleCommand).rejectsOnce(awsError('AccessDenied', 403, 'not authorized to perform: sts:AssumeRole')).resolves(creds('ok', new Date(Date.now() + 3600_000)));
    const provider = memberRoleCredentials(new Clients({ maxAttempts: 1 }), { accountId: '222222222222', roleName: 'r', homeRegion: 'us-east-1', runId: 'x' });
    await expect(provider()).rejects.toMatchObject({ operation: 'AssumeRole', errorName: 'AccessDenied', message: expect.stringContaining('arn:aws:iam::222222222222:role/r') });
    expect((await provider()).accessKeyId).toBe('ok');
  });

  it('session names identify pitr-guard and fit STS rules', () => {
    expect(sessionName('scheduled-1764583200000')).toBe('pitr-guard-scheduled-1764583200000');
    expect(sessionName('a b/c'.repeat(30))).toMatch(/^pitr-guard-[\w+=,.@-]{1,53}$/);
  });

  it('Clients hands every client of an account that account’s provider, and the own account the default', async () => {
    const clients = new Clients({ credentials: { accessKeyId: 'own', secretAccessKey: 's' } });
    const provider = async () => ({ accessKeyId: 'member', secretAccessKey: 's' });
    clients.setAccountCredentials('111111111111', provider);
    expect(clients.config('eu-west-1', '111111111111').credentials).toBe(provider);
    expect(clients.config('eu-west-1').credentials).toEqual({ accessKeyId: 'own', secretAccessKey: 's' });
  });
});

describe('multi-account report in every format', () => {
  const finding = (accountId: string, status: 'NON_COMPLIANT' | 'COMPLIANT') => ({
    accountId,
    region: 'eu-west-1',
    tableName: 'orders',
    tableArn: `arn:aws:dynamodb:eu-west-1:${accountId}:table/orders`,
    tableStatus: 'ACTIVE',
    status,
    reasons: [status === 'COMPLIANT' ? ('PITR_ENABLED' as const) : ('PITR_DISABLED' as const)],
    message: 'm',
    pitr: { status: status === 'COMPLIANT' ? 'ENABLED' : 'DISABLED', recoveryPeriodInDays: null, earliestRestorableDateTime: null, latestRestorableDateTime: null, restorableDays: null },
    exemption: null,
    modeTag: null,
  });
  const findings = [finding('111111111111', 'NON_COMPLIANT'), finding('222222222222', 'COMPLIANT')];
  const report: ScanReport = {
    generatedAt: '2026-12-01T10:00:00.000Z',
    accountId: '111111111111',
    accounts: [
      { accountId: '111111111111', status: 'SCANNED', regions: ['eu-west-1'], summary: summarize([findings[0] as never]) },
      { accountId: '222222222222', name: 'prod', status: 'SCANNED', regions: ['eu-west-1'], summary: summarize([findings[1] as never]) },
      { accountId: '333333333333', name: 'legacy', status: 'ERROR', error: 'AssumeRole failed: AccessDenied: no' },
    ],
    accountErrors: [{ accountId: '333333333333', name: 'legacy', operation: 'AssumeRole', errorName: 'AccessDenied', message: 'AssumeRole on arn:aws:iam::333333333333:role/pitr-guard-member failed: AccessDenied: not authorized', fix: 'deploy the member template to this account' }],
    regions: ['eu-west-1'],
    policy: { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' },
    summary: summarize(findings as never),
    findings: findings as never,
    vanished: [],
    regionErrors: [{ accountId: '222222222222', region: 'ap-east-1', operation: 'ListTables', errorName: 'UnrecognizedClientException', message: 'bad token' }],
    regionSummaries: regionSummaries(findings as never, ['eu-west-1'], true),
    shardErrors: [],
  };

  it('table: an ACCOUNT column, a line per account, the refused one with its fix', () => {
    const text = renderTable(report);
    expect(text.split('\n')[0]).toMatch(/^STATUS\s+ACCOUNT\s+REGION\s+TABLE/);
    expect(text).toContain('2 tables in 1 Region of 2 accounts (of 3 in scope): 1 non-compliant');
    expect(text).toContain('; 1 account could not be scanned');
    expect(text).toContain('Account 222222222222 (prod): 1 table in 1 Region: 0 non-compliant, 0 error, 0 exempt, 1 compliant, 0 not applicable');
    expect(text).toContain('Account 333333333333 (legacy) NOT SCANNED: AssumeRole failed with AccessDenied: not authorized. Fix: deploy the member template to this account');
    expect(text).toContain('Region ap-east-1 of account 222222222222 NOT SCANNED');
    // one line per (account, Region) read
    expect(text).toContain('  111111111111 eu-west-1: 1 table: 1 non-compliant, 0 error, 0 exempt, 0 compliant, 0 not applicable');
    expect(text).toContain('  222222222222 eu-west-1: 1 table: 0 non-compliant, 0 error, 0 exempt, 1 compliant, 0 not applicable');
  });

  it('shard errors (Organization runs on Step Functions) in every format, and as problems', () => {
    const withShard: ScanReport = { ...report, shardErrors: [{ accountId: '222222222222', region: 'us-east-1', errorName: 'Lambda.Unknown', message: 'Task timed out after 900.00 seconds' }] };
    const text = renderTable(withShard);
    expect(text).toContain('Region us-east-1 of account 222222222222 NOT SCANNED: its shard failed with Lambda.Unknown: Task timed out after 900.00 seconds');
    expect(text).toContain('; 1 shard (account and Region) could not be scanned');
    const rows = renderCsv(withShard).trim().split('\r\n');
    expect(rows.filter((r) => r.includes(',SHARD_NOT_SCANNED,'))).toEqual([
      '222222222222,us-east-1,,,,SHARD_NOT_SCANNED,,"Region us-east-1 of account 222222222222 was not scanned: its shard produced no result, so none of its tables was evaluated",,,,,,,,,,Lambda.Unknown,Task timed out after 900.00 seconds,,,,,,,,,,,,',
    ]);
    const html = renderHtml(withShard);
    expect(html).toContain('data-testid="card-shardErrors" data-count="1"');
    expect(html).toContain('data-shard-error="222222222222/us-east-1"');
    expect(html).toContain('1 shard(s) (account and Region) not scanned');
    expect(hasProblems({ summary: { ...report.summary, nonCompliant: 0, error: 0 }, regionErrors: [], accountErrors: [], shardErrors: withShard.shardErrors })).toBe(true);
    expect(hasProblems({ summary: { ...report.summary, nonCompliant: 0, error: 0 }, regionErrors: [], accountErrors: [], shardErrors: [] })).toBe(false);
  });

  it('csv: one row per account (scanned or not) before the findings, Region errors in their own account', () => {
    const rows = renderCsv(report).trim().split('\r\n');
    expect(rows[1]).toMatch(/^111111111111,,,,,ACCOUNT_SCANNED,,"account scanned: 1 table in eu-west-1; 1 non-compliant, 0 error"/);
    expect(rows[3]).toMatch(/^333333333333,,,,,ACCOUNT_NOT_SCANNED,,account \(legacy\) was not scanned: none of its tables was evaluated; fix: deploy the member template to this account,+AssumeRole,AccessDenied,not authorized,{12}$/); // status_since, the cost, restore and replica-set columns and last_drill are empty
    // then one row per (account, Region) read, with its counts
    expect(rows[4]).toBe('111111111111,eu-west-1,,,,REGION_SCANNED,,"Region eu-west-1 scanned: 1 table; 1 non-compliant, 0 error, 0 exempt, 0 compliant, 0 not applicable",,,,,,,,,,,,,,,,,,,,,,,');
    expect(rows[5]).toMatch(/^222222222222,eu-west-1,,,,REGION_SCANNED,,"Region eu-west-1 scanned: 1 table; 0 non-compliant, 0 error, 0 exempt, 1 compliant, 0 not applicable"/);
    expect(rows[6]).toMatch(/^222222222222,ap-east-1,,,,REGION_NOT_SCANNED/);
  });

  it('html: accounts section, an accounts-not-scanned card and the refused account in the alert', () => {
    const html = renderHtml(report);
    expect(html).toContain('<title>INCOMPLETE PITR compliance report: 3 accounts,');
    expect(html).toContain('data-testid="accounts"');
    expect(html).toContain('<tr data-account="333333333333"');
    expect(html).toContain('data-account-error="333333333333"');
    expect(html).toContain('Fix: deploy the member template to this account.');
    expect(html).toMatch(/Accounts not scanned/);
  });

  it('CLI: exit 1 and one stderr line per account not scanned, even with no other problem', () => {
    const clean = { summary: { ...report.summary, nonCompliant: 0 }, regionErrors: [], accountErrors: report.accountErrors };
    expect(exitCodeFor(clean, 'non-compliant')).toBe(1);
    expect(exitCodeFor(clean, 'error')).toBe(1);
    expect(exitCodeFor({ ...clean, accountErrors: [] }, 'error')).toBe(0);
    expect(notScannedLines(report)[0]).toBe(
      'account 333333333333 (legacy) was NOT scanned: AssumeRole on arn:aws:iam::333333333333:role/pitr-guard-member failed: AccessDenied: not authorized; fix: deploy the member template to this account',
    );
  });

  it('digest: names the account that could not be scanned, and the fix', () => {
    const alert = renderDigest({ report, outcomes: [], mode: 'alert', dryRun: false, includeErrors: true });
    expect(alert.text).toContain('Account 333333333333 (legacy) could not be scanned: AssumeRole failed with AccessDenied; fix: deploy the member template to this account');
  });
});
