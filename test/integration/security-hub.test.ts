/**
 * Security Hub on moto (moto implements BatchImportFindings and GetFindings): a scan with Security
 * Hub on leaves exactly one finding per table with the right Compliance.Status; fixing a table and
 * scanning again turns it PASSED; deleting a table archives its finding; the same through the CLI;
 * an Organization shard imports into its member account's Security Hub (member-role credentials).
 *
 * What moto does not do, and how it is covered:
 * - GetFindings ignores Filters (returns every finding of the account and Region): the code filters
 *   again, checked here with a finding of another generator that must stay untouched.
 * - BatchImportFindings does not honour the "UpdatedAt not newer → ignored" rule, nor check that
 *   the caller's account is the finding's: UpdatedAt monotonicity is unit-tested
 *   (test/unit/security-hub.test.ts); here each import's UpdatedAt is checked to grow.
 * - Restore windows start at the enable time: the fault proxy rewrites EarliestRestorableDateTime
 *   to 400 days ago so a table with PITR on is fully COMPLIANT (PASSED), not WARNING.
 */
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';
import { BatchImportFindingsCommand, EnableSecurityHubCommand, GetFindingsCommand, SecurityHubClient, type AwsSecurityFinding } from '@aws-sdk/client-securityhub';
import { CreateAccountCommand, CreateOrganizationCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import path from 'node:path';
import { Clients } from '../../lib/aws/clients';
import { memberRoleCredentials } from '../../lib/aws/org/member-credentials';
import { run as runShard } from '../../lib/jobs/org-scan/shard';
import { silentLogger } from '../../lib/runtime/logger';
import { scan } from '../../lib/aws/scan';
import { publishReport } from '../../lib/aws/security-hub';
import type { CliIo } from '../../lib/cli/io';
import { main } from '../../lib/cli/main';
import { findingId } from '../../lib/report/asff';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { startFaultProxy, type FaultProxy, type FaultRule } from '../../dev/local/proxy';
import { AsffModel, findModel } from '../helpers/asff-model';

const ACCOUNT = '123456789012';
const policy = { regions: ['us-east-1', 'eu-west-1'], minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };
const arn = (region: string, name: string) => `arn:aws:dynamodb:${region}:${ACCOUNT}:table/${name}`;
const idOf = (region: string, name: string) => findingId({ tableArn: arn(region, name), accountId: ACCOUNT, region, tableName: name });
const model = new AsffModel(findModel(path.resolve(__dirname, '../..')));

/** A PITR window as old as the policy asks: moto starts it at the enable time. */
const fullWindow: FaultRule = {
  operation: 'DescribeContinuousBackups',
  rewrite: (answer) => {
    const d = (answer.ContinuousBackupsDescription as { PointInTimeRecoveryDescription?: Record<string, unknown> } | undefined)?.PointInTimeRecoveryDescription;
    if (d?.PointInTimeRecoveryStatus === 'ENABLED') d.EarliestRestorableDateTime = Date.now() / 1000 - 400 * 86_400;
    return answer;
  },
};

let moto: MotoServer;
let proxy: FaultProxy;
let direct: Clients;

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint, [fullWindow]);
  direct = new Clients({ endpoint: moto.endpoint });
  for (const region of policy.regions) await direct.get(SecurityHubClient, region).send(new EnableSecurityHubCommand({ EnableDefaultStandards: false }));
  await table('us-east-1', 'orders', 35);
  await table('us-east-1', 'sessions', undefined);
  await table('us-east-1', 'events', 7);
  await table('eu-west-1', 'ledger', 35);
  // Somebody else's custom finding in the same account and Region: pitr-guard must leave it alone.
  await direct.get(SecurityHubClient, 'us-east-1').send(new BatchImportFindingsCommand({ Findings: [foreignFinding()] }));
});

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

async function table(region: string, name: string, days: number | undefined): Promise<void> {
  const ddb = direct.get(DynamoDBClient, region);
  await ddb.send(new CreateTableCommand({ TableName: name, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] }));
  if (days !== undefined) await ddb.send(new UpdateContinuousBackupsCommand({ TableName: name, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: days } }));
}

function foreignFinding(): AwsSecurityFinding {
  const now = new Date().toISOString();
  return {
    SchemaVersion: '2018-10-08',
    Id: 'someone-else/finding-1',
    ProductArn: `arn:aws:securityhub:us-east-1:${ACCOUNT}:product/${ACCOUNT}/default`,
    GeneratorId: 'someone-else/check',
    AwsAccountId: ACCOUNT,
    CreatedAt: now,
    UpdatedAt: now,
    Title: 'another tool',
    Description: 'not pitr-guard',
    Severity: { Label: 'LOW' },
    Types: ['Software and Configuration Checks'],
    Resources: [{ Type: 'Other', Id: 'x' }],
    RecordState: 'ACTIVE',
  };
}

/** Everything moto holds in that Region (moto ignores filters, so this is all of it). */
async function held(region: string): Promise<Map<string, AwsSecurityFinding>> {
  const out = await direct.get(SecurityHubClient, region).send(new GetFindingsCommand({ MaxResults: 100 }));
  return new Map((out.Findings ?? []).map((f) => [f.Id as string, f]));
}

const state = (f: AwsSecurityFinding | undefined) => (f ? { compliance: f.Compliance?.Status, record: f.RecordState } : undefined);

async function scanAndPublish() {
  const clients = new Clients({ endpoint: proxy.endpoint });
  const report = await scan({ policy, homeRegion: 'us-east-1' }, { clients });
  const delivery = await publishReport(report, { clients, sleep: async () => undefined });
  return { report, delivery };
}

describe('Security Hub on moto', () => {
  let first: Map<string, AwsSecurityFinding>;

  it('a scan with Security Hub on leaves exactly one finding per table, with the right Compliance.Status, in the table’s own Region', async () => {
    const { delivery } = await scanAndPublish();
    expect(delivery).toEqual(expect.objectContaining({ imported: 4, unchanged: 0, archived: 0, failed: 0 }));
    first = await held('us-east-1');
    const ours = [...first.values()].filter((f) => f.GeneratorId === 'pitr-guard/dynamodb-pitr');
    expect(ours.map((f) => f.Id).sort()).toEqual([idOf('us-east-1', 'events'), idOf('us-east-1', 'orders'), idOf('us-east-1', 'sessions')].sort());
    expect(state(first.get(idOf('us-east-1', 'orders')))).toEqual({ compliance: 'PASSED', record: 'ACTIVE' });
    expect(state(first.get(idOf('us-east-1', 'sessions')))).toEqual({ compliance: 'FAILED', record: 'ACTIVE' });
    expect(state(first.get(idOf('us-east-1', 'events')))).toEqual({ compliance: 'FAILED', record: 'ACTIVE' });
    for (const f of ours) expect(model.validate(f)).toEqual([]);
    const eu = await held('eu-west-1');
    expect([...eu.keys()]).toEqual([idOf('eu-west-1', 'ledger')]);
    expect(eu.get(idOf('eu-west-1', 'ledger'))?.ProductArn).toBe(`arn:aws:securityhub:eu-west-1:${ACCOUNT}:product/${ACCOUNT}/default`);
  });

  it('a second scan with nothing changed imports nothing', async () => {
    const { delivery } = await scanAndPublish();
    expect(delivery).toEqual(expect.objectContaining({ imported: 0, unchanged: 4, archived: 0, failed: 0 }));
  });

  it('fixing a table and scanning again turns its finding PASSED; deleting one archives its finding; another tool’s finding stays', async () => {
    const ddb = direct.get(DynamoDBClient, 'us-east-1');
    await ddb.send(new UpdateContinuousBackupsCommand({ TableName: 'sessions', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 } }));
    await ddb.send(new DeleteTableCommand({ TableName: 'events' }));
    const { delivery } = await scanAndPublish();
    expect(delivery).toEqual(expect.objectContaining({ imported: 1, unchanged: 2, archived: 1, failed: 0 }));
    const now = await held('us-east-1');
    expect(state(now.get(idOf('us-east-1', 'sessions')))).toEqual({ compliance: 'PASSED', record: 'ACTIVE' });
    expect(state(now.get(idOf('us-east-1', 'events')))).toEqual({ compliance: 'NOT_AVAILABLE', record: 'ARCHIVED' });
    expect(state(now.get(idOf('us-east-1', 'orders')))).toEqual({ compliance: 'PASSED', record: 'ACTIVE' });
    expect(now.get('someone-else/finding-1')).toEqual(first.get('someone-else/finding-1'));
    // Every re-import is later than what was stored; CreatedAt stays.
    for (const name of ['sessions', 'events']) {
      const [before, after] = [first.get(idOf('us-east-1', name)), now.get(idOf('us-east-1', name))];
      expect(Date.parse(after?.UpdatedAt as string)).toBeGreaterThan(Date.parse(before?.UpdatedAt as string));
      expect(after?.CreatedAt).toBe(before?.CreatedAt);
    }
    // The unchanged table was not re-imported.
    expect(now.get(idOf('us-east-1', 'orders'))?.UpdatedAt).toBe(first.get(idOf('us-east-1', 'orders'))?.UpdatedAt);
  });

  it('an archived finding stays archived on the next scan (it is no longer pitr-guard’s ACTIVE finding)', async () => {
    const { delivery } = await scanAndPublish();
    expect(delivery).toEqual(expect.objectContaining({ imported: 0, archived: 0, failed: 0 }));
  });
});

describe('through the CLI', () => {
  function io(env: Record<string, string> = {}): CliIo & { out: string; err: string } {
    const c = {
      out: '',
      err: '',
      env: { AWS_REGION: 'us-east-1', ...env },
      stdout: (t: string) => void (c.out += t),
      stderr: (t: string) => void (c.err += t),
      isTTY: { stdin: false, stdout: false, stderr: false },
    };
    return c;
  }

  it('scan --security-hub imports, says so on stderr, and records the delivery in the JSON report', async () => {
    await table('us-east-1', 'carts', undefined);
    const c = io();
    const code = await main(['node', 'pitr-guard', 'scan', '--regions', 'us-east-1', '--security-hub', '--format', 'json', '--fail-on', 'never', '--endpoint-url', proxy.endpoint], c);
    expect(code).toBe(0);
    expect(c.err).toContain('pitr-guard: Security Hub: 1 imported, 2 unchanged, 0 archived, 0 failed\n');
    const report = JSON.parse(c.out) as { securityHub: { imported: number; failed: number } };
    expect(report.securityHub).toEqual(expect.objectContaining({ imported: 1, failed: 0 }));
    expect(state((await held('us-east-1')).get(idOf('us-east-1', 'carts')))).toEqual({ compliance: 'FAILED', record: 'ACTIVE' });
  });

  it('PITR_GUARD_SECURITY_HUB=true does the same; a bad value is one line and exit 2, before any AWS call', async () => {
    await direct.get(DynamoDBClient, 'us-east-1').send(new DeleteTableCommand({ TableName: 'carts' }));
    const c = io({ PITR_GUARD_SECURITY_HUB: 'true' });
    expect(await main(['node', 'pitr-guard', 'scan', '--regions', 'us-east-1', '--fail-on', 'never', '--endpoint-url', proxy.endpoint], c)).toBe(0);
    expect(c.err).toContain('0 imported, 2 unchanged, 1 archived, 0 failed');
    expect(state((await held('us-east-1')).get(idOf('us-east-1', 'carts')))).toEqual({ compliance: 'NOT_AVAILABLE', record: 'ARCHIVED' });
    const bad = io({ PITR_GUARD_SECURITY_HUB: 'yes' });
    const before = proxy.calls.ListTables ?? 0;
    expect(await main(['node', 'pitr-guard', 'scan', '--regions', 'us-east-1', '--endpoint-url', proxy.endpoint], bad)).toBe(2);
    expect(bad.err).toMatch(/^pitr-guard: Invalid PITR_GUARD_SECURITY_HUB="yes": must be true or false\.?\n$/);
    expect(proxy.calls.ListTables ?? 0).toBe(before);
  });

  it('Security Hub refusing the import is reported on stderr and fails the run (exit 1), the report still printed', async () => {
    proxy.setRules([fullWindow, { operation: 'BatchImportFindings', fail: { status: 403, type: 'InvalidAccessException', message: 'Account is not subscribed to AWS Security Hub' } }]);
    await table('us-east-1', 'refused', undefined);
    const c = io();
    const code = await main(['node', 'pitr-guard', 'scan', '--regions', 'us-east-1', '--security-hub', '--format', 'json', '--fail-on', 'error', '--endpoint-url', proxy.endpoint], c);
    expect(code).toBe(1);
    expect(c.err).toContain(`pitr-guard: Security Hub BatchImportFindings in account ${ACCOUNT} us-east-1 for ${idOf('us-east-1', 'refused')} failed: InvalidAccessException: Account is not subscribed to AWS Security Hub\n`);
    expect((JSON.parse(c.out) as { securityHub: { failed: number } }).securityHub.failed).toBe(1);
    proxy.setRules([fullWindow]);
  });

  it('scan --format asff prints the array BatchImportFindings would receive, each record valid by the API model', async () => {
    const c = io();
    expect(await main(['node', 'pitr-guard', 'scan', '--regions', 'us-east-1', '--format', 'asff', '--fail-on', 'never', '--endpoint-url', moto.endpoint], c)).toBe(0);
    const records = JSON.parse(c.out) as AwsSecurityFinding[];
    expect(records.map((r) => r.Resources?.[0]?.Id).sort()).toEqual([arn('us-east-1', 'orders'), arn('us-east-1', 'refused'), arn('us-east-1', 'sessions')]);
    for (const r of records) expect(model.validate(r)).toEqual([]);
  });
});

describe('an Organization shard imports in its member account', () => {
  const BUCKET = 'pitr-guard-reports-sechub';
  let member: string;

  beforeAll(async () => {
    const org = direct.get(OrganizationsClient, 'us-east-1');
    await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    member = (await org.send(new CreateAccountCommand({ AccountName: 'prod', Email: 'prod@example.com' }))).CreateAccountStatus?.AccountId as string;
    direct.setAccountCredentials(member, memberRoleCredentials(direct, { accountId: member, roleName: 'pitr-guard-member', homeRegion: 'us-east-1', runId: 'seed' }));
    await direct.get(SecurityHubClient, 'us-east-1', member).send(new EnableSecurityHubCommand({ EnableDefaultStandards: false }));
    await direct.get(DynamoDBClient, 'us-east-1', member).send(
      new CreateTableCommand({ TableName: 'payments', BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] }),
    );
    await direct.get(S3Client, 'us-east-1').send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  it('with the member role’s credentials: the finding is the member account’s, with its product ARN, and the shard file records the delivery', async () => {
    const centralBefore = [...(await held('us-east-1')).keys()];
    const endpoint = proxy.endpoint;
    const output = await runShard(
      { runId: '20261121T100000Z-sechub', bucket: BUCKET, accountId: member, region: 'us-east-1', startedAt: '2026-11-21T10:00:00.000Z' },
      {
        newClients: () => new Clients({ endpoint }),
        ownClients: new Clients({ endpoint }),
        policy: { mode: 'report', minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', regions: ['us-east-1'], dryRun: false },
        scope: { accounts: 'org', excludeAccounts: [], memberRole: 'pitr-guard-member' },
        logger: silentLogger,
        homeRegion: 'us-east-1',
        accountId: ACCOUNT,
        bucket: BUCKET,
        securityHub: true,
      },
    );
    const memberHub = await direct.get(SecurityHubClient, 'us-east-1', member).send(new GetFindingsCommand({ MaxResults: 100 }));
    const expectedId = `arn:aws:dynamodb:us-east-1:${member}:table/payments/pitr-guard/dynamodb-pitr`;
    expect((memberHub.Findings ?? []).map((f) => [f.Id, f.AwsAccountId, f.ProductArn, f.Compliance?.Status])).toEqual([[expectedId, member, `arn:aws:securityhub:us-east-1:${member}:product/${member}/default`, 'FAILED']]);
    // Nothing landed in the central account's Security Hub.
    expect([...(await held('us-east-1')).keys()]).toEqual(centralBefore);
    const file = JSON.parse(await (await direct.get(S3Client, 'us-east-1').send(new GetObjectCommand({ Bucket: BUCKET, Key: output.key }))).Body!.transformToString()) as { securityHub: { imported: number; failed: number } };
    expect(file.securityHub).toEqual(expect.objectContaining({ imported: 1, failed: 0 }));
  });
});
