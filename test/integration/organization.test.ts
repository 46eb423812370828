/**
 * The Organization scan end to end on moto: an Organization of 4 accounts (the management account
 * pitr-guard runs in, and three created members) × 2 Regions, tables seeded in each account
 * through its member role (moto keeps accounts apart: assumed-role credentials act in the role's
 * account), one member whose AssumeRole the fault proxy refuses. The Done-when command runs
 * exactly as a user types it; the scheduled-scan job runs the same scope from the environment.
 */
import { CreateAccountCommand, CreateOrganizationCommand, ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { startFaultProxy, type FaultProxy } from '../../dev/local/proxy';
import { localClients, seedTable, type SeedTable } from '../../dev/seed';
import { memberRoleCredentials } from '../../lib/aws/org/member-credentials';
import { scanAccounts } from '../../lib/aws/org/scan-accounts';
import type { ScanReport } from '../../lib/aws/scan';
import { Clients } from '../../lib/aws/clients';
import { parseScope } from '../../lib/core/config';
import { captureLogs, lambdaContext } from '../helpers/lambda';
import { loadEvent } from '../helpers/builders';

const run = promisify(execFile);
const root = path.join(__dirname, '../..');
const CENTRAL = '123456789012';
const policy = { regions: ['us-east-1', 'eu-west-1'], minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };

let moto: MotoServer;
let proxy: FaultProxy;
const ids: Record<'prod' | 'staging' | 'refused', string> = { prod: '', staging: '', refused: '' };

// The same table names in several accounts, in different states: a mix-up between accounts shows.
const PLAN: Record<'central' | 'prod' | 'staging' | 'refused', SeedTable[]> = {
  central: [
    { region: 'us-east-1', tableName: 'orders', state: 'on' },
    { region: 'eu-west-1', tableName: 'orders', state: 'off' },
  ],
  prod: [
    { region: 'us-east-1', tableName: 'orders', state: 'off' },
    { region: 'us-east-1', tableName: 'carts', state: 'off' },
    { region: 'eu-west-1', tableName: 'orders', state: 'on' },
    { region: 'eu-west-1', tableName: 'sessions', state: 'exempt', exemptReason: 'cache' },
  ],
  staging: [{ region: 'eu-west-1', tableName: 'orders', state: 'on' }],
  refused: [{ region: 'us-east-1', tableName: 'orders', state: 'off' }],
};

function refuseAssumeRole(account: string) {
  proxy.setRules([
    {
      operation: 'AssumeRole',
      match: (body) => String(body.RoleArn ?? '').includes(`::${account}:`),
      fail: { status: 403, type: 'AccessDenied', query: true, message: `User: arn:aws:sts::${CENTRAL}:assumed-role/central/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${account}:role/pitr-guard-member` },
    },
  ]);
}

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint);
  const direct = localClients(moto.endpoint);
  const org = direct.get(OrganizationsClient, 'us-east-1');
  await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  for (const name of ['prod', 'staging', 'refused'] as const) {
    const out = await org.send(new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }));
    ids[name] = out.CreateAccountStatus?.AccountId as string;
  }
  for (const [who, tables] of Object.entries(PLAN) as [keyof typeof PLAN, SeedTable[]][]) {
    const account = who === 'central' ? CENTRAL : ids[who];
    if (account !== CENTRAL) direct.setAccountCredentials(account, memberRoleCredentials(direct, { accountId: account, roleName: 'pitr-guard-member', homeRegion: 'us-east-1', runId: 'seed' }));
    for (const t of tables) await seedTable(direct.get(DynamoDBClient, t.region, account === CENTRAL ? undefined : account), t);
  }
  // The Organization's own listing shows 4 ACTIVE accounts.
  const listed = await org.send(new ListAccountsCommand({}));
  expect(listed.Accounts?.map((a) => a.State)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE', 'ACTIVE']);
  // The CLI is run as a user runs it: from the built bundle.
  await run(process.execPath, ['scripts/build-cli.mjs'], { cwd: root });
});

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

beforeEach(() => refuseAssumeRole(ids.refused));

function expectOrgReport(report: ScanReport) {
  expect(report.accountId).toBe(CENTRAL);
  expect(report.regions).toEqual(['eu-west-1', 'us-east-1']);
  const byAccount = Object.fromEntries(report.accounts.map((a) => [a.accountId, a]));
  expect(Object.keys(byAccount).sort()).toEqual([CENTRAL, ids.prod, ids.staging, ids.refused].sort());
  expect(byAccount[CENTRAL]).toMatchObject({ status: 'SCANNED', summary: { total: 2, compliant: 1, nonCompliant: 1, exempt: 0, notApplicable: 0, error: 0 } });
  expect(byAccount[ids.prod]).toMatchObject({ name: 'prod', status: 'SCANNED', summary: { total: 4, compliant: 1, nonCompliant: 2, exempt: 1, notApplicable: 0, error: 0 } });
  expect(byAccount[ids.staging]).toMatchObject({ name: 'staging', status: 'SCANNED', summary: { total: 1, compliant: 1, nonCompliant: 0, exempt: 0, notApplicable: 0, error: 0 } });
  expect(byAccount[ids.refused]).toMatchObject({ name: 'refused', status: 'ERROR' });
  expect(byAccount[ids.refused]?.summary).toBeUndefined();
  expect(report.accountErrors).toEqual([
    {
      accountId: ids.refused,
      name: 'refused',
      operation: 'AssumeRole',
      errorName: 'AccessDenied',
      message: expect.stringContaining(`not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${ids.refused}:role/pitr-guard-member`),
      fix: expect.stringContaining('deploy the member template to this account'),
    },
  ]);
  expect(report.summary).toEqual({ total: 7, compliant: 3, nonCompliant: 3, exempt: 1, notApplicable: 0, error: 0 });
  // Every finding keeps its account, and each account's tables are its own.
  const keys = report.findings.map((f) => `${f.accountId}/${f.region}/${f.tableName}=${f.status}`).sort();
  expect(keys).toEqual(
    [
      `${CENTRAL}/eu-west-1/orders=NON_COMPLIANT`,
      `${CENTRAL}/us-east-1/orders=COMPLIANT`,
      `${ids.prod}/eu-west-1/orders=COMPLIANT`,
      `${ids.prod}/eu-west-1/sessions=EXEMPT`,
      `${ids.prod}/us-east-1/carts=NON_COMPLIANT`,
      `${ids.prod}/us-east-1/orders=NON_COMPLIANT`,
      `${ids.staging}/eu-west-1/orders=COMPLIANT`,
    ].sort(),
  );
  for (const f of report.findings) expect(f.tableArn).toContain(`:${f.accountId}:table/`);
  expect(report.regionErrors).toEqual([]);
}

/** The AssumeRole calls the proxy saw since `from`: one per member account, named for pitr-guard. */
function assumeRoleCalls(from: number) {
  return proxy.seen.slice(from).filter((s) => s.operation === 'AssumeRole').map((s) => s.body);
}

describe('pitr-guard scan --accounts org (the Done-when command)', () => {
  it('prints exact per-account counts as JSON, names the refused account in accountErrors, and exits 1', async () => {
    const from = proxy.seen.length;
    const result = await run('npx', ['pitr-guard', 'scan', '--accounts', 'org', '--member-role', 'pitr-guard-member', '--regions', 'us-east-1,eu-west-1', '--format', 'json'], {
      cwd: root,
      env: { ...process.env, AWS_ENDPOINT_URL: proxy.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
    }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as ScanReport;
    expectOrgReport(report);
    // stdout is exactly the report; stderr has one progress line per account and names the refused one.
    expect(result.stdout).toBe(JSON.stringify(report, null, 2) + '\n');
    const lines = result.stderr.trim().split('\n');
    expect(lines.filter((l) => /^pitr-guard: \[\d\/4\] account \d{12}/.test(l))).toHaveLength(4);
    expect(lines).toContain(`pitr-guard: account ${ids.refused} (refused) was NOT scanned: ${report.accountErrors[0]?.message}; fix: ${report.accountErrors[0]?.fix}`);
    // One session per member account (the account pitr-guard runs in uses its own credentials).
    const calls = assumeRoleCalls(from);
    expect(calls.map((c) => c.RoleArn).sort()).toEqual([ids.prod, ids.staging, ids.refused].map((a) => `arn:aws:iam::${a}:role/pitr-guard-member`).sort());
    for (const c of calls) expect(String(c.RoleSessionName)).toMatch(/^pitr-guard-cli-\d+$/);
    expect(proxy.seen.slice(from).filter((s) => s.operation === 'ListAccounts').length).toBe(1);
  });
});

describe('scanAccounts (the library, as the scheduled scan runs it)', () => {
  it('scans a list of accounts with the external ID, skips the excluded one, and reports the refused one', async () => {
    const from = proxy.seen.length;
    const scope = parseScope({ PITR_GUARD_ACCOUNTS: `${CENTRAL},${ids.prod},${ids.staging},${ids.refused}`, PITR_GUARD_EXCLUDE_ACCOUNTS: ids.staging, PITR_GUARD_EXTERNAL_ID: 'audit-2026' });
    const clients = new Clients({ endpoint: proxy.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const report = await scanAccounts({ policy, homeRegion: 'us-east-1', accountId: CENTRAL, scope, runId: 'test', concurrency: 2 }, { clients });
    expect(report.accounts.map((a) => [a.accountId, a.status, a.summary?.total])).toEqual([
      [CENTRAL, 'SCANNED', 2],
      [ids.prod, 'SCANNED', 4],
      [ids.refused, 'ERROR', undefined],
    ]);
    expect(report.accountErrors.map((e) => [e.accountId, e.errorName])).toEqual([[ids.refused, 'AccessDenied']]);
    const calls = assumeRoleCalls(from);
    expect(calls.map((c) => [c.RoleArn, c.ExternalId, c.RoleSessionName, c.DurationSeconds])).toEqual(
      expect.arrayContaining([
        [`arn:aws:iam::${ids.prod}:role/pitr-guard-member`, 'audit-2026', 'pitr-guard-test', '3600'],
        [`arn:aws:iam::${ids.refused}:role/pitr-guard-member`, 'audit-2026', 'pitr-guard-test', '3600'],
      ]),
    );
    expect(calls).toHaveLength(2); // one session for prod's two Regions, none for the central account
  });
});

describe('the scheduled-scan handler with accounts=org', () => {
  it('scans every account of the Organization in one invocation and logs the refused one with its fix', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL: proxy.endpoint, AWS_REGION: 'us-east-1', PITR_GUARD_REGIONS: 'us-east-1,eu-west-1', PITR_GUARD_ACCOUNTS: 'org' });
    try {
      let handler: (typeof import('../../functions/scheduled-scan'))['handler'] | undefined;
      jest.isolateModules(() => {
        handler = require('../../functions/scheduled-scan').handler;
      });
      const { result, lines } = await captureLogs(() => handler!(loadEvent('scheduled.json'), lambdaContext()));
      expect(result).toEqual({
        accountId: CENTRAL,
        regions: ['eu-west-1', 'us-east-1'],
        summary: { total: 7, compliant: 3, nonCompliant: 3, exempt: 1, notApplicable: 0, error: 0 },
        regionErrors: 0,
        accounts: 4,
        accountErrors: 1,
        problems: true,
      });
      expect(lines.filter((l) => l.event === 'finding').map((l) => `${l.accountId}/${l.region}/${l.tableName}`).sort()).toEqual(
        [`${CENTRAL}/eu-west-1/orders`, `${ids.prod}/us-east-1/carts`, `${ids.prod}/us-east-1/orders`].sort(),
      );
      expect(lines.filter((l) => l.event === 'account-error')).toEqual([
        expect.objectContaining({ level: 'error', message: 'could not scan account', accountId: ids.refused, roleArn: `arn:aws:iam::${ids.refused}:role/pitr-guard-member`, operation: 'AssumeRole', errorName: 'AccessDenied', fix: expect.stringContaining('deploy the member template') }),
      ]);
    } finally {
      process.env = saved;
    }
  });
});
