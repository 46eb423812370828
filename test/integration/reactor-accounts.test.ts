/**
 * The central reactor and events of other accounts, on moto, through the fault proxy (which counts
 * every call by operation): a disable event from member account B turns PITR back on in B (read
 * with B's own credentials afterwards) and the alert, read from an SQS queue subscribed to the SNS
 * topic, names account B and the principal; an event of an account outside `accounts` is rejected
 * and nothing is called; an account whose member role is refused gets one alert with the fix; a
 * DeleteTable event gets one alert naming the principal and no UpdateContinuousBackups call.
 * (moto: AssumeRole into another account's role acts in that account; it does not evaluate trust.)
 */
import { DeleteTableCommand, DynamoDBClient, UpdateContinuousBackupsCommand, DescribeContinuousBackupsCommand } from '@aws-sdk/client-dynamodb';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { startFaultProxy, type FaultProxy } from '../../dev/local/proxy';
import { localClients, seedTable } from '../../dev/seed';
import { Clients } from '../../lib/aws/clients';
import { memberRoleCredentials } from '../../lib/aws/org/member-credentials';
import { parseScope } from '../../lib/core/config';
import { createLogger } from '../../lib/runtime/logger';
import { makeDeps, reactorHandler, type PitrChangeDeps, type PitrChangeResult } from '../../functions/pitr-change';
import { createIdempotencyTable, topicWithInbox, type TopicInbox } from '../helpers/alerting';
import { eventIdFor, loadEvent } from '../helpers/builders';
import { lambdaContext } from '../helpers/lambda';

const CENTRAL = '123456789012';
const B = '222222222222';
const OUTSIDER = '999999999999';
const DEDUP = 'pitr-guard-idempotency';
let moto: MotoServer;
let proxy: FaultProxy;
let inbox: TopicInbox;
const logLines: string[] = [];

/** A client of `account` (its member role, assumed with moto's default credentials), straight to moto. */
function inAccount(account: string): DynamoDBClient {
  const direct = localClients(moto.endpoint);
  direct.setAccountCredentials(account, memberRoleCredentials(direct, { accountId: account, roleName: 'pitr-guard-member', homeRegion: 'us-east-1', runId: 'check' }));
  return direct.get(DynamoDBClient, 'eu-west-1', account);
}

async function pitrIn(account: string, tableName: string): Promise<string | undefined> {
  const out = await inAccount(account).send(new DescribeContinuousBackupsCommand({ TableName: tableName }));
  return out.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus;
}

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint);
  inbox = await topicWithInbox(moto.endpoint);
  await createIdempotencyTable(moto.endpoint, DEDUP);
  for (const account of [B, OUTSIDER]) {
    await seedTable(inAccount(account), { tableName: 'payments', state: 'off' });
  }
  // The same name in the central account, with PITR off: acting in the wrong account would show.
  await seedTable(localClients(moto.endpoint).get(DynamoDBClient, 'eu-west-1'), { tableName: 'payments', state: 'off' });
});

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

beforeEach(() => {
  for (const k of Object.keys(proxy.calls)) delete proxy.calls[k];
  proxy.setRules([]);
});

function deps(accounts: string): PitrChangeDeps {
  return makeDeps({
    policy: { mode: 'remediate', minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', regions: 'all', dryRun: false, alertTopicArn: inbox.topicArn },
    scope: parseScope({ PITR_GUARD_ACCOUNTS: accounts }),
    clients: new Clients({ endpoint: proxy.endpoint }),
    logger: createLogger({ write: (l) => logLines.push(l) }),
    homeRegion: 'us-east-1',
    accountId: CENTRAL,
    idempotencyTable: DEDUP,
  });
}

/** Alerts delivered since the last look (the inbox keeps everything it received). */
let alertsSeen = 0;
async function newAlerts(n: number): Promise<Awaited<ReturnType<TopicInbox['receive']>>> {
  const all = await inbox.receive(alertsSeen + n, n === 0 ? 1500 : 5000);
  const fresh = all.slice(alertsSeen);
  alertsSeen = all.length;
  return fresh;
}

const invoke = (event: unknown, d: PitrChangeDeps): Promise<PitrChangeResult> => reactorHandler(() => d)(event, lambdaContext('pitr-guard-dev-pitrChange'));

function memberEvent(account: string, label: string, file = 'cloudtrail-member-pitr-disabled.json') {
  const e = loadEvent<{ account: string; region: string; detail: Record<string, unknown> & { userIdentity: Record<string, unknown> } }>(file);
  e.account = account;
  e.region = 'eu-west-1';
  e.detail.awsRegion = 'eu-west-1';
  e.detail.recipientAccountId = account;
  e.detail.userIdentity.arn = `arn:aws:sts::${account}:assumed-role/Developer/bob`;
  e.detail.userIdentity.accountId = account;
  e.detail.eventID = eventIdFor(label);
  return e as unknown as Record<string, unknown> & { detail: Record<string, unknown> };
}

describe('the central reactor and other accounts (moto)', () => {
  it('a disable event from member account B turns PITR back on in B, and the alert names account B and the principal', async () => {
    expect(await pitrIn(B, 'payments')).toBe('DISABLED');
    const out = await invoke(memberEvent(B, 'b-disable'), deps(`${B}`));
    expect(out).toMatchObject({ status: 'handled', result: 'ENABLED', table: { accountId: B, region: 'eu-west-1', tableName: 'payments' }, alert: { delivered: ['sns'] } });
    // moto's state, read with B's credentials: on in B; the central account's table of the same name is untouched.
    expect(await pitrIn(B, 'payments')).toBe('ENABLED');
    const central = await localClients(moto.endpoint).get(DynamoDBClient, 'eu-west-1').send(new DescribeContinuousBackupsCommand({ TableName: 'payments' }));
    expect(central.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus).toBe('DISABLED');
    expect(proxy.calls.AssumeRole).toBe(1);
    expect(proxy.calls.UpdateContinuousBackups).toBe(1);

    const [sns] = await newAlerts(1);
    expect(sns?.Subject).toBe(`[pitr-guard] PITR disabled on payments (${B} eu-west-1): re-enabled`);
    expect(sns?.Message).toContain(`Account:        ${B}\n`);
    expect(sns?.Message).toContain(`Who:            arn:aws:sts::${B}:assumed-role/Developer/bob\n`);
  });

  it('an event from an account outside accounts is rejected with a log line, and nothing is called', async () => {
    const before = logLines.length;
    const out = await invoke(memberEvent(OUTSIDER, 'outsider'), deps(`${B}`));
    expect(out).toMatchObject({ status: 'ignored', reason: `account ${OUTSIDER} is not in PITR_GUARD_ACCOUNTS (1 listed)` });
    expect(proxy.calls).toEqual({}); // no AssumeRole, no DynamoDB call, no de-duplication record, no Publish
    expect(await pitrIn(OUTSIDER, 'payments')).toBe('DISABLED');
    const lines = logLines.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.event)).toEqual(['event-ignored']);
    expect(await newAlerts(0)).toEqual([]);
  });

  it('a forged event (envelope account B, record of the outsider) is rejected and nothing is called', async () => {
    const forged = memberEvent(OUTSIDER, 'forged');
    forged.account = B;
    const out = await invoke(forged, deps(`${B},${OUTSIDER}`));
    expect(out).toMatchObject({ status: 'rejected' });
    expect(out.reason).toContain(`the envelope account "${B}" is not detail.recipientAccountId "${OUTSIDER}"`);
    expect(proxy.calls).toEqual({});
  });

  it('an account whose member role is refused: one alert that the table could not be checked, with the fix; no retry', async () => {
    proxy.setRules([{ operation: 'AssumeRole', fail: { status: 403, type: 'AccessDenied', query: true, message: 'not authorized to perform: sts:AssumeRole' } }]);
    await seedTable(inAccount('333333333333'), { tableName: 'payments', state: 'off' });
    proxy.calls.AssumeRole = 0;
    const out = await invoke(memberEvent('333333333333', 'refused'), deps('333333333333'));
    expect(out).toMatchObject({ status: 'handled', result: 'FAILED', unreachable: { errorName: 'AccessDenied', transient: false } });
    expect(proxy.calls.UpdateContinuousBackups ?? 0).toBe(0);
    const [sns] = await newAlerts(1);
    expect(sns?.Subject).toBe('[pitr-guard] PITR disabled on payments (333333333333 eu-west-1): REMEDIATION FAILED');
    expect(sns?.Message).toContain('The table could not be checked: AssumeRole of arn:aws:iam::333333333333:role/pitr-guard-member failed with AccessDenied.');
    expect(sns?.Message).toContain('deploy the member template (member/template.yaml) to account 333333333333');
  });

  it('a DeleteTable event gets one alert naming the principal and no UpdateContinuousBackups call', async () => {
    await seedTable(inAccount(B), { tableName: 'ledger', state: 'off' });
    await inAccount(B).send(new DeleteTableCommand({ TableName: 'ledger' }));
    const e = memberEvent(B, 'b-delete', 'cloudtrail-delete-table.json');
    (e.detail.requestParameters as Record<string, unknown>).tableName = 'ledger';
    const desc = (e.detail.responseElements as { tableDescription: Record<string, unknown> }).tableDescription;
    desc.tableName = 'ledger';
    desc.tableArn = `arn:aws:dynamodb:eu-west-1:${B}:table/ledger`;
    e.detail.resources = [{ accountId: B, type: 'AWS::DynamoDB::Table', ARN: desc.tableArn }];
    const d = deps(B);
    const out = await invoke(e, d);
    expect(out).toMatchObject({ status: 'handled', deleted: { backup: 'NONE' }, alert: { delivered: ['sns'] } });
    expect(proxy.calls.UpdateContinuousBackups ?? 0).toBe(0);
    expect(proxy.calls.ListBackups).toBe(1);
    // A second delivery of the same event: de-duplicated, no second alert.
    expect(await invoke(e, d)).toMatchObject({ status: 'duplicate' });
    const alerts = await newAlerts(1);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.Subject).toBe(`[pitr-guard] Table ledger deleted (${B} eu-west-1): NO BACKUP, data gone`);
    expect(alerts[0]?.Message).toContain(`Who:            arn:aws:sts::${B}:assumed-role/Developer/bob\n`);
    expect(alerts[0]?.Message).toContain('deletion-protection-enabled');
    expect(await newAlerts(0)).toEqual([]);
    expect(proxy.calls.UpdateContinuousBackups ?? 0).toBe(0);
    void UpdateContinuousBackupsCommand; // (named for the reader: the call that must never be sent)
  });
});
