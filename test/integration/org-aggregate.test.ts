/**
 * The Organization scan's aggregate step on moto: a run written to S3 as the plan and shard steps
 * and Step Functions' ResultWriter would leave it (plan.json, shards.json, ShardFiles, manifest.json,
 * SUCCEEDED_0.json, FAILED_0.json, PENDING_0.json), the aggregate run with real SDK clients, then
 * the objects moto holds (report.json, report.csv, report.html, summary.json) and the one digest
 * that reached the SQS queue subscribed to the alert topic.
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Clients } from '../../lib/aws/clients';
import { ReportBucketClient } from '../../lib/aws/report-bucket-client';
import type { ScanReport } from '../../lib/aws/scan';
import { aggregate, type AggregateResult } from '../../lib/jobs/org-scan/aggregate';
import type { RunPlan, ShardItem } from '../../lib/jobs/org-scan/contract';
import { buildNotifiers } from '../../lib/notify';
import { createLogger } from '../../lib/runtime/logger';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { aggregateInput, alertOutcome, childRecord, shardFile, shardOutput, syntheticFinding as f, writeRun, type RunSpec } from '../../dev/org-run';
import { topicWithInbox, type TopicInbox } from '../helpers/alerting';

const RUN = 'org-2026-12-01T10-00';
const BUCKET = 'pitr-guard-reports';
const [A, B, C, D] = ['111111111111', '222222222222', '333333333333', '444444444444'];

let moto: MotoServer;
let inbox: TopicInbox;
let clients: Clients;
let result: AggregateResult;
const logLines: Record<string, unknown>[] = [];

function spec(): RunSpec {
  const plan: RunPlan = {
    runId: RUN,
    startedAt: '2026-12-01T10:00:00.000Z',
    accountId: A,
    homeRegion: 'us-east-1',
    policy: { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', mode: 'alert', dryRun: false },
    accounts: [
      { accountId: A, status: 'SCANNED', regions: ['ap-southeast-2', 'eu-west-1', 'us-east-1'] },
      { accountId: B, name: 'prod', status: 'SCANNED', regions: ['eu-west-1', 'us-east-1'] },
      { accountId: C, name: 'legacy', status: 'ERROR', error: 'AssumeRole on arn:aws:iam::333333333333:role/pitr-guard-member failed: AccessDenied: not authorized' },
      { accountId: D, name: 'sandbox', status: 'SCANNED', regions: ['eu-west-1', 'us-east-1'] },
    ],
    accountErrors: [
      { accountId: C, name: 'legacy', operation: 'AssumeRole', errorName: 'AccessDenied', message: 'AssumeRole on arn:aws:iam::333333333333:role/pitr-guard-member failed: AccessDenied: not authorized', fix: 'deploy the member template to this account' },
    ],
    regions: ['ap-southeast-2', 'eu-west-1', 'us-east-1'],
    shardCount: 7,
  };
  const item = (accountId: string, region: string, name?: string): ShardItem => ({ runId: RUN, bucket: BUCKET, accountId, ...(name ? { name } : {}), region, startedAt: plan.startedAt });
  const shards = [item(A, 'ap-southeast-2'), item(A, 'eu-west-1'), item(A, 'us-east-1'), item(B, 'eu-west-1', 'prod'), item(B, 'us-east-1', 'prod'), item(D, 'eu-west-1', 'sandbox'), item(D, 'us-east-1', 'sandbox')];
  const aEu = [f(A, 'eu-west-1', 'payments', 'NON_COMPLIANT', '2026-11-03T08:15:42.000Z'), f(A, 'eu-west-1', 'audit', 'NON_COMPLIANT'), f(A, 'eu-west-1', 'orders', 'COMPLIANT'), f(A, 'eu-west-1', 'locked', 'ERROR')];
  const aUs = [f(A, 'us-east-1', 'users', 'COMPLIANT'), f(A, 'us-east-1', 'sessions', 'COMPLIANT'), f(A, 'us-east-1', 'cache', 'EXEMPT'), f(A, 'us-east-1', 'billing', 'NON_COMPLIANT')];
  const files = new Map<string, RunSpec['files'] extends Map<string, infer V> ? V : never>();
  const fileAEu = shardFile(RUN, A, 'eu-west-1', aEu, { outcomes: aEu.filter((x) => x.status === 'NON_COMPLIANT').map((x) => alertOutcome(x)) });
  const fileAUs = shardFile(RUN, A, 'us-east-1', aUs, {
    outcomes: [alertOutcome(aUs[3]!)],
    vanished: [{ accountId: A, region: 'us-east-1', tableName: 'tmp-load-test' }],
    unrecorded: [`arn:aws:dynamodb:us-east-1:${A}:table/billing: ProvisionedThroughputExceededException`],
  });
  files.set(`${A}/eu-west-1`, fileAEu);
  files.set(`${A}/us-east-1`, fileAUs);
  files.set(`${D}/eu-west-1`, 'this is not JSON');
  return {
    runId: RUN,
    bucket: BUCKET,
    plan,
    shards,
    files,
    succeeded: [
      childRecord(shards[2]!, { output: shardOutput(fileAUs) }),
      childRecord(shards[1]!, { output: shardOutput(fileAEu) }),
      childRecord(shards[4]!, { output: { status: 'ERROR', accountId: B, region: 'us-east-1', error: { Error: 'AwsCallError', Cause: JSON.stringify({ errorType: 'AwsCallError', errorMessage: 'ListTables failed: AccessDeniedException: not authorized', trace: ['at x'] }) } } }),
      childRecord(shards[5]!, { output: { status: 'SCANNED', accountId: D, region: 'eu-west-1', key: `runs/${RUN}/shards/${D}/eu-west-1.json`, parts: 1, summary: { total: 1, compliant: 1, nonCompliant: 0, exempt: 0, notApplicable: 0, error: 0 } } }),
    ],
    failed: [childRecord(shards[3]!, { failed: { Error: 'Lambda.Unknown', Cause: JSON.stringify({ errorMessage: 'Task timed out after 900.00 seconds' }) } })],
    pending: [childRecord(shards[6]!, { pending: true })],
    // shards[0] (A, ap-southeast-2): no record at all
  };
}

async function object(key: string): Promise<string> {
  const out = await clients.get(ReportBucketClient, 'us-east-1').send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return (await out.Body?.transformToString('utf-8')) as string;
}

beforeAll(async () => {
  moto = await startMoto();
  inbox = await topicWithInbox(moto.endpoint);
  clients = new Clients({ endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  const s3 = clients.get(ReportBucketClient, 'us-east-1');
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const run = spec();
  await writeRun(s3, run);
  const logger = createLogger({ write: (l) => logLines.push(JSON.parse(l) as Record<string, unknown>) });
  const notifiers = buildNotifiers({ policy: { alertTopicArn: inbox.topicArn }, clients, homeRegion: 'us-east-1', logger });
  result = await aggregate(aggregateInput(run), { clients, homeRegion: 'us-east-1', logger, notifiers });
}, 60_000);

afterAll(async () => {
  await moto?.stop();
});

const EXPECTED_SHARD_ERRORS = [
  { accountId: A, region: 'ap-southeast-2', errorName: 'NoResult', message: 'no result recorded: the shard is in shards.json but no Step Functions result names it' },
  { accountId: B, region: 'eu-west-1', errorName: 'Lambda.Unknown', message: 'Task timed out after 900.00 seconds' },
  { accountId: B, region: 'us-east-1', errorName: 'AwsCallError', message: 'ListTables failed: AccessDeniedException: not authorized' },
  { accountId: D, region: 'eu-west-1', errorName: 'ShardFileUnreadable', message: expect.stringMatching(new RegExp(`^runs/${RUN}/shards/${D}/eu-west-1.json: GetObject on s3://${BUCKET}/runs/.* failed: MalformedJson: not JSON: `)) },
  { accountId: D, region: 'us-east-1', errorName: 'PENDING', message: 'the shard never ran: the Map Run ended before it started' },
];

describe('the aggregate on moto S3', () => {
  it('returns a small output with the exact counts', () => {
    const { delivery, ...output } = result;
    expect(output).toEqual({
      runId: RUN,
      reportKeys: { json: `reports/${RUN}/report.json`, csv: `reports/${RUN}/report.csv`, html: `reports/${RUN}/report.html`, summary: `reports/${RUN}/summary.json` },
      summary: { total: 8, compliant: 3, nonCompliant: 3, exempt: 1, notApplicable: 0, error: 1 },
      accounts: 4,
      accountErrors: 1,
      shardErrors: 5,
      regionErrors: 0,
      problems: true,
    });
    expect(delivery).toEqual({ delivered: ['sns'], failed: [] });
  });

  it('report.json is the ScanReport: worst first across shards, per account and per Region, every shard error', async () => {
    const report = JSON.parse(await object(`reports/${RUN}/report.json`)) as ScanReport;
    expect(report.summary).toEqual(result.summary);
    expect(report.findings.map((x) => `${x.status} ${x.accountId}/${x.region}/${x.tableName}`)).toEqual([
      `NON_COMPLIANT ${A}/eu-west-1/audit`,
      `NON_COMPLIANT ${A}/eu-west-1/payments`,
      `NON_COMPLIANT ${A}/us-east-1/billing`,
      `ERROR ${A}/eu-west-1/locked`,
      `EXEMPT ${A}/us-east-1/cache`,
      `COMPLIANT ${A}/eu-west-1/orders`,
      `COMPLIANT ${A}/us-east-1/sessions`,
      `COMPLIANT ${A}/us-east-1/users`,
    ]);
    expect(report.findings[1]?.since).toBe('2026-11-03T08:15:42.000Z');
    expect(report.accounts).toEqual([
      { accountId: A, status: 'SCANNED', regions: ['eu-west-1', 'us-east-1'], summary: { total: 8, compliant: 3, nonCompliant: 3, exempt: 1, notApplicable: 0, error: 1 } },
      { accountId: B, name: 'prod', status: 'SCANNED', regions: [], summary: { total: 0, compliant: 0, nonCompliant: 0, exempt: 0, notApplicable: 0, error: 0 } },
      { accountId: C, name: 'legacy', status: 'ERROR', error: 'AssumeRole on arn:aws:iam::333333333333:role/pitr-guard-member failed: AccessDenied: not authorized' },
      { accountId: D, name: 'sandbox', status: 'SCANNED', regions: [], summary: { total: 0, compliant: 0, nonCompliant: 0, exempt: 0, notApplicable: 0, error: 0 } },
    ]);
    expect(report.accountErrors.map((e) => e.accountId)).toEqual([C]);
    expect(report.regionSummaries).toEqual([
      { region: 'ap-southeast-2', summary: { total: 0, compliant: 0, nonCompliant: 0, exempt: 0, notApplicable: 0, error: 0 } },
      { region: 'eu-west-1', summary: { total: 4, compliant: 1, nonCompliant: 2, exempt: 0, notApplicable: 0, error: 1 } },
      { region: 'us-east-1', summary: { total: 4, compliant: 2, nonCompliant: 1, exempt: 1, notApplicable: 0, error: 0 } },
      { accountId: A, region: 'eu-west-1', summary: { total: 4, compliant: 1, nonCompliant: 2, exempt: 0, notApplicable: 0, error: 1 } },
      { accountId: A, region: 'us-east-1', summary: { total: 4, compliant: 2, nonCompliant: 1, exempt: 1, notApplicable: 0, error: 0 } },
    ]);
    expect(report.shardErrors).toEqual(EXPECTED_SHARD_ERRORS);
    expect(report.vanished).toEqual([{ accountId: A, region: 'us-east-1', tableName: 'tmp-load-test' }]);
    expect(report.regionErrors).toEqual([]);
    expect(report.regions).toEqual(['ap-southeast-2', 'eu-west-1', 'us-east-1']);
  });

  it('report.csv: a header, one row per account, per (account, Region) read, per shard error, per finding, per deleted table', async () => {
    const rows = (await object(`reports/${RUN}/report.csv`)).trimEnd().split('\r\n');
    const status = (r: string) => r.split(',')[5];
    expect(rows).toHaveLength(1 + 4 + 2 + 5 + 8 + 1 + 1);
    expect(rows[0]).toMatch(/^account_id,region,table_name,table_arn,table_status,status,/);
    expect(rows.slice(1).map(status)).toEqual([
      'ACCOUNT_SCANNED', 'ACCOUNT_SCANNED', 'ACCOUNT_NOT_SCANNED', 'ACCOUNT_SCANNED',
      'REGION_SCANNED', 'REGION_SCANNED',
      'SHARD_NOT_SCANNED', 'SHARD_NOT_SCANNED', 'SHARD_NOT_SCANNED', 'SHARD_NOT_SCANNED', 'SHARD_NOT_SCANNED',
      'NON_COMPLIANT', 'NON_COMPLIANT', 'NON_COMPLIANT', 'ERROR', 'EXEMPT', 'COMPLIANT', 'COMPLIANT', 'COMPLIANT',
      'COST_TOTALS',
      'DELETED_DURING_SCAN',
    ]);
    expect(rows[8]).toMatch(new RegExp(`^${B},eu-west-1,,,,SHARD_NOT_SCANNED,,"Region eu-west-1 of account ${B} was not scanned: its shard produced no result, so none of its tables was evaluated",+Lambda.Unknown,Task timed out after 900.00 seconds,{12}$`)); // status_since, the cost, restore, replica-set columns and last_drill empty
  });

  it('report.html: every table, every account, every shard error, marked incomplete', async () => {
    const html = await object(`reports/${RUN}/report.html`);
    for (const name of ['audit', 'payments', 'billing', 'locked', 'cache', 'orders', 'sessions', 'users']) expect(html).toContain(`>${name}</a>`);
    expect(html.match(/<tr data-status=/g)).toHaveLength(8);
    for (const e of EXPECTED_SHARD_ERRORS) expect(html).toContain(`data-shard-error="${e.accountId}/${e.region}"`);
    expect(html).toContain(`data-account-error="${C}"`);
    expect(html).toContain('data-testid="card-shardErrors" data-count="5"');
    expect(html).toMatch(/<title>INCOMPLETE PITR compliance report: 4 accounts, 2026-12-01 10:00:00 UTC<\/title>/);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
  });

  it('summary.json: run ID, totals, per account, per Region, account and shard errors, unrecorded tables, report keys', async () => {
    const summary = JSON.parse(await object(`reports/${RUN}/summary.json`)) as Record<string, unknown>;
    const report = JSON.parse(await object(`reports/${RUN}/report.json`)) as ScanReport;
    expect(summary).toEqual({
      runId: RUN,
      startedAt: '2026-12-01T10:00:00.000Z',
      generatedAt: '2026-12-01T10:00:00.000Z',
      accountId: A,
      mode: 'alert',
      dryRun: false,
      problems: true,
      summary: result.summary,
      // the same cost totals as report.json (sums over every shard's findings)
      cost: report.cost,
      accounts: report.accounts,
      regionSummaries: report.regionSummaries,
      accountErrors: report.accountErrors,
      shardErrors: EXPECTED_SHARD_ERRORS,
      vanished: 1,
      unrecorded: [`arn:aws:dynamodb:us-east-1:${A}:table/billing: ProvisionedThroughputExceededException`],
      unrecordedCount: 1,
      reportKeys: result.reportKeys,
    });
    // nothing else under the report prefix
    const listed = await clients.get(ReportBucketClient, 'us-east-1').send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `reports/${RUN}/` }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(Object.values(result.reportKeys).sort());
  });

  it('one digest reached the queue subscribed to the topic: the tables out of policy, the account and every shard error', async () => {
    const messages = await inbox.receive(1, 3000);
    expect(messages).toHaveLength(1);
    const m = messages[0] as { Subject: string; Message: string };
    // (SNS subjects are capped at 100 characters: the rest is in the message)
    expect(m.Subject).toBe(`[pitr-guard] Scan ${A}: 3 tables out of policy (3 not changed, 6 unreadable, 1 account n...`);
    expect(m.Message).toContain('Mode alert. 8 tables scanned, 3 without the required PITR.');
    for (const name of ['audit', 'payments', 'billing']) expect(m.Message).toContain(`- ${name} (`);
    expect(m.Message).toContain(`- Account ${C} (legacy) could not be scanned: AssumeRole failed with AccessDenied; fix: deploy the member template to this account`);
    expect(m.Message).toContain(`- Region eu-west-1 of account ${B} could not be scanned: its shard failed with Lambda.Unknown`);
    expect(m.Message).toContain(`- Region ap-southeast-2 of account ${A} could not be scanned: its shard failed with NoResult`);
    expect(m.Message).toContain('- locked (eu-west-1): could not be read');
  });

  it('logs one summary line and one line per shard error and unrecorded table', () => {
    expect(logLines.filter((l) => l.event === 'aggregate')).toEqual([expect.objectContaining({ runId: RUN, shards: 7, shardErrors: 5, accountErrors: 1, unrecorded: 1, digest: ['sns'] })]);
    expect(logLines.filter((l) => l.event === 'shard-error')).toHaveLength(5);
    expect(logLines.filter((l) => l.event === 'ledger-failed')).toHaveLength(1);
  });
});
