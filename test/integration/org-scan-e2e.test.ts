/**
 * The Organization scan end to end on moto, as a user checks it: statemachine/org-scan.asl.json run
 * by the local runner (dev/local/sfn-runner.ts) with the REAL handlers of all three steps
 * (functions/org-plan.ts, functions/org-shard.ts, functions/org-aggregate.ts), called with the
 * payloads Step Functions passes; the report bucket, the findings ledger, the SNS topic and its SQS
 * subscription all in moto.
 *
 * An Organization of 4 accounts (the management account pitr-guard runs in + prod, staging,
 * refused) × 2 Regions, everything through the fault proxy:
 * - refused: AssumeRole is refused → an accountErrors entry with the fix, no shards;
 * - the management account's eu-west-1: ListTables refused (persistently) → that shard fails, is
 *   caught by the state machine and is a shard error (account, Region, error) in the report;
 * - everything else is scanned; the run completes.
 * Run 1 in mode alert (report, ledger, one digest); run 2 in mode remediate (PITR back on in the
 * members' NON_COMPLIANT tables, read back with each member's own credentials).
 */
import { CreateAccountCommand, CreateOrganizationCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { DescribeContinuousBackupsCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { startFaultProxy, type FaultProxy, type FaultRule } from '../../dev/local/proxy';
import { localClients, seedTable, type SeedTable } from '../../dev/seed';
import { SfnRunner, type ExecutionResult } from '../../dev/local/sfn-runner';
import { memberRoleCredentials } from '../../lib/aws/org/member-credentials';
import type { Clients } from '../../lib/aws/clients';
import type { ScanReport } from '../../lib/aws/scan';
import type { ScanSummary } from '../../lib/core/summary';
import { captureLogs } from '../helpers/lambda';
import { loadEvent } from '../helpers/builders';
import { topicWithInbox, type TopicInbox } from '../helpers/alerting';
import { createRunStores, freshOrgHandlers, orgScanEnv } from '../helpers/org';

const CENTRAL = '123456789012';
const BUCKET = 'pitr-guard-reports-e2e';
const LEDGER = 'pitr-guard-findings';
const REGIONS = ['eu-west-1', 'us-east-1'];
const definition = JSON.parse(readFileSync(path.join(__dirname, '../../statemachine/org-scan.asl.json'), 'utf8')) as unknown;

type Who = 'central' | 'prod' | 'staging' | 'refused';
let moto: MotoServer;
let proxy: FaultProxy;
let direct: Clients;
let inbox: TopicInbox;
const ids: Record<Who, string> = { central: CENTRAL, prod: '', staging: '', refused: '' };

const TABLES: Record<Who, SeedTable[]> = {
  central: [
    { region: 'us-east-1', tableName: 'orders', state: 'on' },
    // eu-west-1 of the management account: its ListTables is refused during the runs
    { region: 'eu-west-1', tableName: 'legacy', state: 'off' },
  ],
  prod: [
    { region: 'us-east-1', tableName: 'orders', state: 'off' },
    { region: 'us-east-1', tableName: 'carts', state: 'on' },
    { region: 'eu-west-1', tableName: 'sessions', state: 'exempt', exemptReason: 'cache' },
    { region: 'eu-west-1', tableName: 'events', state: 'off' },
  ],
  staging: [
    { region: 'us-east-1', tableName: 'api', state: 'on' },
    { region: 'eu-west-1', tableName: 'orders', state: 'off' },
  ],
  refused: [{ region: 'us-east-1', tableName: 'orders', state: 'off' }],
};

const ZERO: ScanSummary = { total: 0, compliant: 0, nonCompliant: 0, exempt: 0, notApplicable: 0, error: 0 };
const counts = (s: Partial<ScanSummary>): ScanSummary => {
  const c = { ...ZERO, ...s };
  return { ...c, total: c.compliant + c.nonCompliant + c.exempt + c.notApplicable + c.error };
};

const refuseRole = (account: string): FaultRule => ({
  operation: 'AssumeRole',
  match: (body) => String(body.RoleArn ?? '').includes(`::${account}:`),
  fail: { status: 403, type: 'AccessDenied', query: true, message: `User: arn:aws:sts::${CENTRAL}:assumed-role/orgShard/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${account}:role/pitr-guard-member` },
});
/** Persistent: every ListTables of the management account (its own credentials, access key "testing") in eu-west-1. */
const refuseListTables: FaultRule = {
  operation: 'ListTables',
  match: (_body, call) => call.region === 'eu-west-1' && call.accessKey === 'testing',
  fail: { status: 400, type: 'AccessDeniedException', message: 'User is not authorized to perform: dynamodb:ListTables' },
};

const ddbOf = (account: string, region: string): DynamoDBClient => direct.get(DynamoDBClient, region, account === CENTRAL ? undefined : account);

async function text(key: string): Promise<string> {
  const out = await direct.get(S3Client, 'us-east-1').send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return out.Body!.transformToString('utf8');
}
const json = async <T>(key: string): Promise<T> => JSON.parse(await text(key)) as T;

async function pitrOn(account: string, region: string, tableName: string): Promise<boolean> {
  const out = await ddbOf(account, region).send(new DescribeContinuousBackupsCommand({ TableName: tableName }));
  return out.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus === 'ENABLED';
}

/** One whole execution: the three real handlers, fresh modules (a fresh "container") per run. */
async function execute(mode: 'alert' | 'remediate', executionName: string, time: string): Promise<{ result: ExecutionResult; logs: Record<string, unknown>[] }> {
  const saved = { ...process.env };
  Object.assign(process.env, orgScanEnv({ endpoint: proxy.endpoint, mode, regions: REGIONS, bucket: BUCKET, ledger: LEDGER, topicArn: inbox.topicArn }));
  try {
    const handlers = freshOrgHandlers();
    proxy.setRules([refuseRole(ids.refused), refuseListTables]);
    const runner = new SfnRunner({ definition, s3: direct.get(S3Client, 'us-east-1'), sleep: async () => undefined, handlers });
    const event = { ...(loadEvent('scheduled.json') as Record<string, unknown>), time };
    const run = await captureLogs(() => runner.start(event, executionName));
    return { result: run.result, logs: run.lines };
  } finally {
    process.env = saved;
    proxy.setRules([]);
  }
}

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint);
  direct = localClients(moto.endpoint);
  inbox = await topicWithInbox(moto.endpoint);
  const org = direct.get(OrganizationsClient, 'us-east-1');
  await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  for (const name of ['prod', 'staging', 'refused'] as const) {
    const out = await org.send(new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }));
    ids[name] = out.CreateAccountStatus?.AccountId as string;
    direct.setAccountCredentials(ids[name], memberRoleCredentials(direct, { accountId: ids[name], roleName: 'pitr-guard-member', homeRegion: 'us-east-1', runId: 'seed' }));
  }
  for (const [who, tables] of Object.entries(TABLES) as [Who, SeedTable[]][]) for (const t of tables) await seedTable(ddbOf(ids[who], t.region), t);
  await createRunStores(direct, BUCKET, LEDGER);
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

describe('the Organization scan end to end (plan → shards → aggregate, real handlers), mode alert', () => {
  const runId = '20261121T100000Z-e2e-alert';
  const keys = { json: `reports/${runId}/report.json`, csv: `reports/${runId}/report.csv`, html: `reports/${runId}/report.html`, summary: `reports/${runId}/summary.json` };
  let result: ExecutionResult;
  let report: ScanReport;
  /** account/region/table of every table a scanned shard holds (the ledger table of the management account included). */
  let scannedTables: string[];

  beforeAll(async () => {
    ({ result } = await execute('alert', 'e2e-alert', '2026-11-21T10:00:00Z'));
    report = await json<ScanReport>(keys.json);
    scannedTables = [
      `${CENTRAL}/us-east-1/orders`,
      `${CENTRAL}/us-east-1/${LEDGER}`,
      ...(['prod', 'staging'] as const).flatMap((who) => TABLES[who].map((t) => `${ids[who]}/${t.region}/${t.tableName}`)),
    ].sort();
  }, 120_000);

  it('completes, and the aggregate returns the report keys and the exact counts', () => {
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({
      runId,
      reportKeys: keys,
      summary: counts({ compliant: 3, nonCompliant: 4, exempt: 1 }),
      accounts: 4,
      accountErrors: 1,
      shardErrors: 1,
      regionErrors: 0,
      problems: true,
    });
    expect(result.invocations.filter((i) => i.state === 'Aggregate')).toHaveLength(1);
  });

  it('report.json: every account with its status and exact counts, the refused one in accountErrors with the fix', () => {
    expect(report.summary).toEqual(counts({ compliant: 3, nonCompliant: 4, exempt: 1 }));
    const byAccount = Object.fromEntries(report.accounts.map((a) => [a.accountId, a]));
    expect(report.accounts).toHaveLength(4);
    expect(byAccount[CENTRAL]).toMatchObject({ status: 'SCANNED', summary: counts({ compliant: 1, nonCompliant: 1 }) });
    expect(byAccount[ids.prod]).toMatchObject({ name: 'prod', status: 'SCANNED', regions: REGIONS, summary: counts({ compliant: 1, nonCompliant: 2, exempt: 1 }) });
    expect(byAccount[ids.staging]).toMatchObject({ name: 'staging', status: 'SCANNED', regions: REGIONS, summary: counts({ compliant: 1, nonCompliant: 1 }) });
    expect(byAccount[ids.refused]).toMatchObject({ name: 'refused', status: 'ERROR', error: expect.stringContaining('AccessDenied') });
    expect(report.accountErrors).toEqual([
      {
        accountId: ids.refused,
        name: 'refused',
        operation: 'AssumeRole',
        errorName: 'AccessDenied',
        message: expect.stringContaining(`arn:aws:iam::${ids.refused}:role/pitr-guard-member`),
        fix: expect.stringContaining('deploy the member template to this account'),
      },
    ]);
  });

  it('report.json: every scanned table exactly once, with its accountId; none of the refused account or the failed shard', () => {
    const listed = report.findings.map((f) => `${f.accountId}/${f.region}/${f.tableName}`);
    expect([...listed].sort()).toEqual(scannedTables);
    expect(new Set(listed).size).toBe(listed.length);
    const status = Object.fromEntries(report.findings.map((f) => [`${f.accountId}/${f.region}/${f.tableName}`, f.status]));
    expect(status).toEqual({
      [`${CENTRAL}/us-east-1/orders`]: 'COMPLIANT',
      [`${CENTRAL}/us-east-1/${LEDGER}`]: 'NON_COMPLIANT',
      [`${ids.prod}/us-east-1/orders`]: 'NON_COMPLIANT',
      [`${ids.prod}/us-east-1/carts`]: 'COMPLIANT',
      [`${ids.prod}/eu-west-1/sessions`]: 'EXEMPT',
      [`${ids.prod}/eu-west-1/events`]: 'NON_COMPLIANT',
      [`${ids.staging}/us-east-1/api`]: 'COMPLIANT',
      [`${ids.staging}/eu-west-1/orders`]: 'NON_COMPLIANT',
    });
    expect(report.findings.slice(0, 4).every((f) => f.status === 'NON_COMPLIANT')).toBe(true); // worst first
  });

  it('report.json: the failed shard is a shard error (account, Region, error); regionSummaries exact', () => {
    expect(report.shardErrors).toEqual([
      { accountId: CENTRAL, region: 'eu-west-1', errorName: 'ShardFailedError', message: expect.stringMatching(/^ListTables in eu-west-1 failed: AccessDeniedException: (?!ListTables failed)[^:]*not authorized to perform: dynamodb:ListTables$/) },
    ]);
    expect(report.regionErrors).toEqual([]);
    expect(report.regions).toEqual(REGIONS);
    expect(report.regionSummaries).toEqual([
      { region: 'eu-west-1', summary: counts({ nonCompliant: 2, exempt: 1 }) },
      { region: 'us-east-1', summary: counts({ compliant: 3, nonCompliant: 2 }) },
      ...[
        { accountId: CENTRAL, region: 'us-east-1', summary: counts({ compliant: 1, nonCompliant: 1 }) },
        { accountId: ids.prod, region: 'eu-west-1', summary: counts({ nonCompliant: 1, exempt: 1 }) },
        { accountId: ids.prod, region: 'us-east-1', summary: counts({ compliant: 1, nonCompliant: 1 }) },
        { accountId: ids.staging, region: 'eu-west-1', summary: counts({ nonCompliant: 1 }) },
        { accountId: ids.staging, region: 'us-east-1', summary: counts({ compliant: 1 }) },
      ].sort((x, y) => `${x.accountId}/${x.region}`.localeCompare(`${y.accountId}/${y.region}`)),
    ]);
  });

  it('report.csv and report.html exist and name every table', async () => {
    const csv = await text(keys.csv);
    const html = await text(keys.html);
    for (const t of scannedTables) {
      const [account, region, name] = t.split('/') as [string, string, string];
      expect(csv).toContain(`arn:aws:dynamodb:${region}:${account}:table/${name}`);
      expect(html).toContain(`>${name}</a>`);
    }
    expect(html.match(/<tr data-status=/g)).toHaveLength(scannedTables.length);
    expect(html).toContain(`data-shard-error="${CENTRAL}/eu-west-1"`);
    expect(html).toContain(`data-account-error="${ids.refused}"`);
    expect(csv).toContain('SHARD_NOT_SCANNED');
  });

  it('summary.json: exact, with the account error, the shard error and the report keys; nothing else under the report prefix', async () => {
    const summary = await json<Record<string, unknown>>(keys.summary);
    expect(summary).toEqual({
      runId,
      startedAt: '2026-11-21T10:00:00.000Z',
      generatedAt: expect.any(String),
      accountId: CENTRAL,
      mode: 'alert',
      dryRun: false,
      problems: true,
      summary: report.summary,
      cost: report.cost,
      accounts: report.accounts,
      regionSummaries: report.regionSummaries,
      accountErrors: report.accountErrors,
      shardErrors: report.shardErrors,
      vanished: 0,
      unrecorded: [],
      unrecordedCount: 0,
      reportKeys: keys,
    });
    expect((summary.shardErrors as unknown[]).length).toBe(1);
    // every finding of every shard carries cost, and the run's totals are in both files
    expect(report.cost).toMatchObject({ priceTableDate: expect.any(String) });
    expect(report.findings.every((f) => f.cost !== undefined)).toBe(true);
    const listed = await direct.get(S3Client, 'us-east-1').send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `reports/${runId}/` }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(Object.values(keys).sort());
  });

  it('the findings ledger: one item per scanned table, with its status and since', async () => {
    const { Items } = await direct.get(DynamoDBClient, 'us-east-1').send(new ScanCommand({ TableName: LEDGER, ConsistentRead: true }));
    const items = Items ?? [];
    expect(items.map((i) => `${i.accountId?.S}/${i.region?.S}/${i.tableName?.S}`).sort()).toEqual(scannedTables);
    const statuses = Object.fromEntries(report.findings.map((f) => [`arn:aws:dynamodb:${f.region}:${f.accountId}:table/${f.tableName}`, f.status]));
    for (const i of items) {
      expect(i.status?.S).toBe(statuses[i.tableArn!.S!]);
      expect(i.lastRunId?.S).toBe(runId);
      expect(Date.parse(i.since?.S ?? '')).not.toBeNaN();
    }
  });

  it('exactly one digest on the SQS queue, naming the refused account', async () => {
    const messages = await inbox.receive(1, 3000);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.Message).toContain(ids.refused);
    expect(messages[0]!.Message).toContain('deploy the member template to this account');
  });
});

describe('the same Organization, mode remediate', () => {
  const runId = '20261121T110000Z-e2e-remediate';
  let result: ExecutionResult;

  beforeAll(async () => {
    ({ result } = await execute('remediate', 'e2e-remediate', '2026-11-21T11:00:00Z'));
  }, 120_000);

  it('completes, with the same account error and shard error', async () => {
    expect(result.status).toBe('SUCCEEDED');
    const report = await json<ScanReport>(`reports/${runId}/report.json`);
    expect(report.accountErrors.map((e) => e.accountId)).toEqual([ids.refused]);
    expect(report.shardErrors.map((e) => `${e.accountId}/${e.region}`)).toEqual([`${CENTRAL}/eu-west-1`]);
  });

  it('re-enabled PITR in the members’ NON_COMPLIANT tables (read back with each member’s credentials), and touched nothing it could not scan', async () => {
    expect(await pitrOn(ids.prod, 'us-east-1', 'orders')).toBe(true);
    expect(await pitrOn(ids.prod, 'eu-west-1', 'events')).toBe(true);
    expect(await pitrOn(ids.staging, 'eu-west-1', 'orders')).toBe(true);
    expect(await pitrOn(ids.prod, 'eu-west-1', 'sessions')).toBe(false); // exempt
    expect(await pitrOn(ids.refused, 'us-east-1', 'orders')).toBe(false); // AssumeRole refused
    expect(await pitrOn(CENTRAL, 'eu-west-1', 'legacy')).toBe(false); // its shard failed
  });
});
