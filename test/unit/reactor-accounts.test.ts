/**
 * The reactor across accounts, unit level: the parser's account agreement and DeleteTable checks;
 * EventAccounts (scope verdicts with a cached Organization listing, one member-role session per
 * account with the exact AssumeRole sent, transient versus permanent refusals); the exact
 * ListBackups call after a DeleteTable; the deleted-table alert in SNS text and Slack blocks.
 */
import { DynamoDBClient, ListBackupsCommand } from '@aws-sdk/client-dynamodb';
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/aws/clients';
import { findSystemBackup } from '../../lib/aws/inventory/backups';
import { EventAccounts, assumeFailure, surelyOutOfScope } from '../../lib/aws/org/event-accounts';
import { parseScope } from '../../lib/core/config';
import { parseCloudTrailEvent, type TableChange } from '../../lib/events/cloudtrail';
import { renderDeletedTableAlert } from '../../lib/notify/format';
import { awsError } from '../helpers/aws-errors';
import { loadEvent } from '../helpers/builders';

const ddb = mockClient(DynamoDBClient);
const sts = mockClient(STSClient);
const org = mockClient(OrganizationsClient);
beforeEach(() => {
  ddb.reset();
  sts.reset();
  org.reset();
});

type Ev = Record<string, unknown> & { detail: Record<string, unknown> };
const B = '222222222222';
const creds = { Credentials: { AccessKeyId: 'ASIAB', SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(Date.now() + 3_600_000) } };

describe('parser: accounts must agree', () => {
  it('accepts a member account event whose envelope and record name the same account', () => {
    const parsed = parseCloudTrailEvent(loadEvent('cloudtrail-member-pitr-disabled.json'));
    expect(parsed).toMatchObject({ status: 'ok', change: { accountId: B, region: 'eu-west-1', tableName: 'payments', kind: 'PITR_DISABLED', actor: { arn: `arn:aws:sts::${B}:assumed-role/Developer/bob` } } });
  });

  it('rejects a forged event whose envelope account is not recipientAccountId', () => {
    const e = loadEvent<Ev>('cloudtrail-member-pitr-disabled.json');
    e.account = '123456789012';
    expect(parseCloudTrailEvent(e)).toEqual({ status: 'invalid', reason: `the envelope account "123456789012" is not detail.recipientAccountId "${B}" (a forged or mangled event)`, missing: [] });
  });

  it('rejects a record whose resources name another account', () => {
    const e = loadEvent<Ev>('cloudtrail-delete-table.json');
    e.detail.resources = [{ accountId: '999999999999', type: 'AWS::DynamoDB::Table', ARN: 'arn:aws:dynamodb:us-east-1:999999999999:table/orders' }];
    expect(parseCloudTrailEvent(e)).toMatchObject({ status: 'invalid', reason: 'detail.resources names account "999999999999", not the event\'s account "123456789012" (a forged or mangled event)' });
  });

  it('ignores the caller’s copy of a cross-account call (table ARN of another account): the owner’s copy is acted on', () => {
    const e = loadEvent<Ev>('cloudtrail-pitr-disabled.json');
    (e.detail.requestParameters as Record<string, unknown>).tableName = `arn:aws:dynamodb:us-east-1:${B}:table/orders`;
    expect(parseCloudTrailEvent(e)).toMatchObject({ status: 'ignored', reason: expect.stringContaining(`the table ARN names account ${B}`) });
  });
});

describe('parser: DeleteTable', () => {
  it('reads the table and its description as deleted', () => {
    expect(parseCloudTrailEvent(loadEvent('cloudtrail-delete-table.json'))).toMatchObject({
      status: 'ok',
      change: {
        eventName: 'DeleteTable',
        kind: 'TABLE_DELETED',
        tableName: 'orders',
        accountId: '123456789012',
        deleted: { tableArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders', tableStatus: 'DELETING', itemCount: 0, tableSizeBytes: 0, deletionProtectionEnabled: false },
      },
    });
  });

  it.each([
    ['no tableDescription', (e: Ev) => ((e.detail.responseElements as Record<string, unknown>) = {}), /missing detail.responseElements.tableDescription/],
    ['responseElements null', (e: Ev) => (e.detail.responseElements = null), /missing detail.responseElements.tableDescription/],
    ['another table described', (e: Ev) => (((e.detail.responseElements as { tableDescription: Record<string, unknown> }).tableDescription.tableName = 'carts')), /tableDescription.tableName "carts" is not the table deleted \(orders\)/],
    ['an ARN of another table', (e: Ev) => (((e.detail.responseElements as { tableDescription: Record<string, unknown> }).tableDescription.tableArn = 'arn:aws:dynamodb:us-east-1:123456789012:table/carts')), /tableArn .* is not the ARN of the table deleted/],
  ])('rejects %s', (_what, edit, reason) => {
    const e = loadEvent<Ev>('cloudtrail-delete-table.json');
    edit(e);
    const parsed = parseCloudTrailEvent(e);
    expect(parsed.status).toBe('invalid');
    expect((parsed as { reason: string }).reason).toMatch(reason);
  });

  it('ignores a failed DeleteTable', () => {
    const e = loadEvent<Ev>('cloudtrail-delete-table.json');
    e.detail.errorCode = 'ResourceInUseException';
    expect(parseCloudTrailEvent(e)).toMatchObject({ status: 'ignored', reason: expect.stringContaining('the DeleteTable call failed') });
  });
});

describe('EventAccounts', () => {
  const self = '123456789012';

  it('self: only this account; a list: exactly those; exclusions win', async () => {
    const clients = new Clients();
    expect(await new EventAccounts({ clients, scope: parseScope({}), homeRegion: 'us-east-1' }).verdict(B, self)).toEqual({ inScope: false, reason: `account ${B} is not this deployment's account ${self} (PITR_GUARD_ACCOUNTS is self)` });
    const list = new EventAccounts({ clients, scope: parseScope({ PITR_GUARD_ACCOUNTS: `${B},333333333333`, PITR_GUARD_EXCLUDE_ACCOUNTS: '333333333333' }), homeRegion: 'us-east-1' });
    expect(await list.verdict(B, self)).toEqual({ inScope: true });
    expect(await list.verdict('333333333333', self)).toEqual({ inScope: false, reason: 'account 333333333333 is excluded (PITR_GUARD_EXCLUDE_ACCOUNTS)' });
    expect(await list.verdict(self, self)).toMatchObject({ inScope: false });
    expect(surelyOutOfScope(B, self, parseScope({ PITR_GUARD_ACCOUNTS: 'org' }))).toBe(false);
    expect(surelyOutOfScope(B, self, parseScope({}))).toBe(true);
    expect(org.calls()).toHaveLength(0);
  });

  it('org: ACTIVE accounts of one cached ListAccounts (with names); a miss re-lists once the listing is a minute old', async () => {
    let now = 1_000_000;
    org.on(ListAccountsCommand).resolves({ Accounts: [{ Id: B, Name: 'payments-prod', State: 'ACTIVE' }, { Id: '444444444444', State: 'SUSPENDED' }] });
    const accounts = new EventAccounts({ clients: new Clients(), scope: parseScope({ PITR_GUARD_ACCOUNTS: 'org' }), homeRegion: 'us-east-1', now: () => now });
    expect(await accounts.verdict(B, self)).toEqual({ inScope: true, name: 'payments-prod' });
    expect(await accounts.verdict(B, self)).toEqual({ inScope: true, name: 'payments-prod' });
    expect(await accounts.verdict('444444444444', self)).toEqual({ inScope: false, reason: 'account 444444444444 is not an ACTIVE account of the Organization (PITR_GUARD_ACCOUNTS is org)' });
    expect(org.commandCalls(ListAccountsCommand)).toHaveLength(1);
    now += 61_000;
    expect(await accounts.verdict('444444444444', self)).toMatchObject({ inScope: false });
    expect(org.commandCalls(ListAccountsCommand)).toHaveLength(2);
    expect(accounts.nameOf(B)).toBe('payments-prod');
  });

  it('assumes the member role once per account per container, with the exact AssumeRole (RoleArn, ExternalId, session, 1 h)', async () => {
    sts.on(AssumeRoleCommand).resolves(creds);
    const clients = new Clients();
    const accounts = new EventAccounts({ clients, scope: parseScope({ PITR_GUARD_ACCOUNTS: B, PITR_GUARD_MEMBER_ROLE: 'audit-pitr', PITR_GUARD_EXTERNAL_ID: 'ext-123' }), homeRegion: 'eu-west-1' });
    expect(await accounts.reach(B, self)).toBeUndefined();
    expect(await accounts.reach(B, self)).toBeUndefined();
    expect(await accounts.reach(self, self)).toBeUndefined();
    expect(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input)).toEqual([
      { RoleArn: `arn:aws:iam::${B}:role/audit-pitr`, RoleSessionName: 'pitr-guard-reactor', DurationSeconds: 3600, ExternalId: 'ext-123' },
    ]);
    const ddbConfig = clients.config('eu-west-1', B);
    expect(typeof ddbConfig.credentials).toBe('function');
  });

  it('classifies refusals: AccessDenied is permanent (the fix: deploy the member template), throttling is transient', async () => {
    sts.on(AssumeRoleCommand).rejectsOnce(awsError('AccessDenied', 403, 'not authorized')).rejectsOnce(awsError('Throttling', 400, 'Rate exceeded'));
    const accounts = new EventAccounts({ clients: new Clients({ maxAttempts: 1 }), scope: parseScope({ PITR_GUARD_ACCOUNTS: B }), homeRegion: 'us-east-1' });
    expect(await accounts.reach(B, self)).toMatchObject({ operation: 'AssumeRole', roleArn: `arn:aws:iam::${B}:role/pitr-guard-member`, errorName: 'AccessDenied', transient: false, fix: expect.stringContaining(`deploy the member template (member/template.yaml) to account ${B}`) });
    expect(await accounts.reach(B, self)).toMatchObject({ errorName: 'Throttling', transient: true });
    expect(assumeFailure(awsError('RegionDisabledException', 403, 'off'), 'arn', B, { memberRole: 'r' }).transient).toBe(false);
    expect(assumeFailure(awsError('ServiceUnavailable', 503, 'down'), 'arn', B, { memberRole: 'r' }).transient).toBe(true);
  });
});

describe('findSystemBackup', () => {
  it('sends ListBackups with BackupType SYSTEM for the table, from just before the deletion, and takes the newest', async () => {
    ddb.on(ListBackupsCommand).resolves({
      BackupSummaries: [
        { TableName: 'orders', BackupArn: 'arn:old', BackupType: 'SYSTEM', BackupStatus: 'AVAILABLE', BackupCreationDateTime: new Date('2026-11-20T11:01:00Z') },
        { TableName: 'orders', BackupArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders/backup/01763636534000-abcdef12', BackupName: 'orders$DeletedTableBackup', BackupType: 'SYSTEM', BackupStatus: 'AVAILABLE', BackupCreationDateTime: new Date('2026-11-20T11:02:14Z'), BackupExpiryDateTime: new Date('2026-12-25T11:02:14Z') },
      ],
    });
    const found = await findSystemBackup(new DynamoDBClient({ region: 'us-east-1' }), 'orders', new Date('2026-11-20T11:02:14Z'));
    expect(ddb.commandCalls(ListBackupsCommand).map((c) => c.args[0].input)).toEqual([{ TableName: 'orders', BackupType: 'SYSTEM', TimeRangeLowerBound: new Date('2026-11-20T10:57:14Z') }]);
    expect(found).toEqual({ found: { backupArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders/backup/01763636534000-abcdef12', backupName: 'orders$DeletedTableBackup', status: 'AVAILABLE', createdAt: '2026-11-20T11:02:14.000Z', expiresAt: '2026-12-25T11:02:14.000Z' } });
  });

  it('none found is null; a refused call is an error result, never a throw', async () => {
    ddb.on(ListBackupsCommand).resolvesOnce({ BackupSummaries: [] }).rejectsOnce(awsError('AccessDeniedException', 400, 'no'));
    const client = new DynamoDBClient({ region: 'us-east-1', maxAttempts: 1 });
    expect(await findSystemBackup(client, 'orders', undefined)).toEqual({ found: null });
    expect(await findSystemBackup(client, 'orders', undefined)).toEqual({ error: { operation: 'ListBackups', errorName: 'AccessDeniedException', message: 'no' } });
  });
});

describe('the deleted-table alert', () => {
  const change = (parseCloudTrailEvent(loadEvent('cloudtrail-delete-table.json')) as { change: TableChange }).change;
  const arn = 'arn:aws:dynamodb:us-east-1:123456789012:table/orders/backup/01763636534000-abcdef12';

  it('with PITR: a system backup exists, how to find and restore it, how long it is kept', () => {
    const alert = renderDeletedTableAlert({ change, backup: { state: 'FOUND', backupArn: arn, backupName: 'orders$DeletedTableBackup', status: 'AVAILABLE', expiresAt: '2026-12-25T11:02:14.000Z' }, accountName: 'shop-prod' });
    expect(alert.subject).toBe('[pitr-guard] Table orders deleted (123456789012 us-east-1): system backup kept');
    expect(alert.text.split('\n')[0]).toBe('Table orders deleted: a system backup exists');
    expect(alert.text).toContain('Account:        123456789012 (shop-prod)\n');
    expect(alert.text).toContain('Who:            arn:aws:sts::123456789012:assumed-role/Admin/alice\n');
    expect(alert.text).toContain('orders$DeletedTableBackup (AVAILABLE), kept until 2026-12-25T11:02:14.000Z (BackupExpiryDateTime)');
    expect(alert.text).toContain('\nFind it: aws dynamodb list-backups --backup-type SYSTEM --table-name orders --region us-east-1\n');
    expect(alert.text).toContain(`\nRestore it: aws dynamodb restore-table-from-backup --target-table-name orders --backup-arn ${arn} --region us-east-1\n`);
    expect(alert.text).toContain('aws dynamodb update-table --table-name <table> --deletion-protection-enabled --region us-east-1');
    expect(alert.text).toContain('pitr-guard did: Nothing to remediate');
    const slack = JSON.stringify(alert.slack.blocks);
    expect(slack).toContain('restore-table-from-backup --target-table-name orders');
    expect(alert.slack.text).toContain('Table orders deleted: a system backup exists (123456789012 (shop-prod), us-east-1)');
  });

  it('without a backup kept: 35 days when ListBackups gives no expiry', () => {
    const alert = renderDeletedTableAlert({ change, backup: { state: 'FOUND', backupArn: arn } });
    expect(alert.text).toContain('kept 35 days after the deletion');
  });

  it('without PITR: the data is gone, and who deleted it', () => {
    const alert = renderDeletedTableAlert({ change, backup: { state: 'NONE' } });
    expect(alert.subject).toBe('[pitr-guard] Table orders deleted (123456789012 us-east-1): NO BACKUP, data gone');
    expect(alert.text.split('\n')[0]).toBe('Table orders deleted without PITR: its data is gone');
    expect(alert.text).toContain('No system backup: the table had no PITR, so its data is gone. Deleted by arn:aws:sts::123456789012:assumed-role/Admin/alice.');
    expect(alert.text).toContain('Other backups: aws dynamodb list-backups --backup-type ALL --table-name orders --region us-east-1');
    expect(alert.text).not.toContain('restore-table-from-backup --target');
  });

  it('not checked: says why and how to look', () => {
    const alert = renderDeletedTableAlert({ change, backup: { state: 'UNKNOWN', why: 'ListBackups failed with AccessDeniedException: no' } });
    expect(alert.subject).toBe('[pitr-guard] Table orders deleted (123456789012 us-east-1): backup not checked');
    expect(alert.text).toContain('Could not check for a system backup (ListBackups failed with AccessDeniedException: no).');
    expect(alert.text).toContain('Find it: aws dynamodb list-backups --backup-type SYSTEM --table-name orders --region us-east-1');
  });
});
