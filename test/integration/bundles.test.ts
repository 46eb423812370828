/**
 * The deployed artefacts on moto: each Lambda function bundled as serverless.yml bundles it
 * (bench/lambda-bundle.ts: ES modules with splitting and scripts/esbuild-plugins.js, which rewrites
 * how the AWS SDK's modules import each other and which modules load at init), run in a Node 22
 * process of its own with the environment the stack gives it, and the state moto holds afterwards
 * checked. The other integration tests run the TypeScript sources; only these run what is shipped,
 * including the chunks loaded on first use (SNS, SSM, S3 with lib-storage, STS, Organizations).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateAccountCommand, CreateOrganizationCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildFunction, buildRoleScript, runRole } from '../../bench/lambda-bundle';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { SfnRunner, type LambdaHandler } from '../../dev/local/sfn-runner';
import { startWebhookSink, type WebhookSink } from '../../dev/webhook-sink';
import { localClients, seedTable } from '../../dev/seed';
import type { Clients } from '../../lib/aws/clients';
import { memberRoleCredentials } from '../../lib/aws/org/member-credentials';
import { createIdempotencyTable, createTable, pitrOf, putWebhookParameter, setPitr, topicWithInbox, type TopicInbox } from '../helpers/alerting';
import { loadEvent } from '../helpers/builders';
import { createRunStores, orgScanEnv } from '../helpers/org';

const ACCOUNT = '123456789012';
const FUNCTIONS = ['scheduled-scan', 'pitr-change', 'org-plan', 'org-shard', 'org-aggregate'] as const;
const WEBHOOK_PARAM = '/pitr-guard/slack-webhook';
const BUCKET = 'pitr-guard-reports-bundles';
const LEDGER = 'pitr-guard-findings';
const DEDUP = 'pitr-guard-idempotency';

let moto: MotoServer;
let sink: WebhookSink;
let inbox: TopicInbox;
let direct: Clients;
let dir: string;
let script: string;
const bundles: Partial<Record<(typeof FUNCTIONS)[number], string>> = {};

/** One invocation of a bundle in its own process, as Lambda would call it; a function error is thrown with its name. */
async function invoke(fn: (typeof FUNCTIONS)[number], functionName: string, payload: unknown, env: Record<string, string>): Promise<unknown> {
  const run = await runRole(script, bundles[fn] as string, `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${functionName}`, 60, payload, [], {
    ...process.env,
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    PITR_GUARD_LOG_LEVEL: 'ERROR',
    ...env,
  });
  if (run.error) throw Object.assign(new Error(run.error.message), { name: run.error.name });
  return run.result;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pitr-guard-bundles-'));
  [script, moto, sink] = await Promise.all([buildRoleScript(dir), startMoto(), startWebhookSink()]);
  for (const fn of FUNCTIONS) bundles[fn] = await buildFunction(fn, dir);
  direct = localClients(moto.endpoint);
  inbox = await topicWithInbox(moto.endpoint);
  await putWebhookParameter(moto.endpoint, WEBHOOK_PARAM, sink.url);
  await createRunStores(direct, BUCKET, LEDGER);
  await createIdempotencyTable(moto.endpoint, DEDUP);
}, 180_000);

afterAll(async () => {
  await sink?.stop();
  await moto?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the bundled functions on moto', () => {
  it('scheduledScan (remediate, alerts by SNS and Slack, report to S3): PITR back on, one digest on each channel, the report in the bucket', async () => {
    await createTable(moto.endpoint, 'orders', 'off');
    await createTable(moto.endpoint, 'payments', 7);
    await createTable(moto.endpoint, 'sessions', 35);
    const slackBefore = sink.requests.length;
    const result = await invoke('scheduled-scan', 'pitr-guard-ci-scheduledScan', loadEvent('scheduled.json'), {
      PITR_GUARD_MODE: 'remediate',
      PITR_GUARD_MIN_RECOVERY_DAYS: '30',
      PITR_GUARD_ALERT_TOPIC_ARN: inbox.topicArn,
      PITR_GUARD_SLACK_WEBHOOK_PARAM: WEBHOOK_PARAM,
      PITR_GUARD_REPORT_BUCKET: BUCKET,
    });
    // the account's five tables: the three above, and the findings and de-duplication tables (created without PITR)
    expect(result).toMatchObject({ accountId: ACCOUNT, summary: { total: 5, compliant: 1, nonCompliant: 4, error: 0 }, regionErrors: 0 });
    expect(await pitrOf(moto.endpoint, 'orders')).toEqual({ status: 'ENABLED', days: 30 });
    expect(await pitrOf(moto.endpoint, 'payments')).toEqual({ status: 'ENABLED', days: 30 });
    expect(await pitrOf(moto.endpoint, 'sessions')).toEqual({ status: 'ENABLED', days: 35 });
    const [digest] = await inbox.receive(1);
    expect(digest?.Subject).toMatch(/^\[pitr-guard\] Scan 123456789012: 4 tables out of policy/);
    expect(digest?.Message).toContain('- orders (us-east-1): ');
    expect(digest?.Message).toContain('- payments (us-east-1): ');
    expect(sink.requests.length).toBe(slackBefore + 1);
    const keys = (await direct.get(S3Client, 'us-east-1').send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents?.map((o) => o.Key) ?? [];
    expect(keys).toEqual([expect.stringMatching(/^reports\/[0-9a-f-]{36}\/report\.json$/)]);
    const reportKey = keys[0];
    const body = await (await direct.get(S3Client, 'us-east-1').send(new GetObjectCommand({ Bucket: BUCKET, Key: reportKey }))).Body?.transformToString('utf8');
    const report = JSON.parse(body as string) as { findings: { tableName: string }[] };
    expect(report.findings.map((f) => f.tableName).sort()).toEqual(['orders', 'payments', DEDUP, LEDGER, 'sessions'].sort());
  });

  it('pitrChange (remediate, de-duplicated): a disable event turns PITR back on and alerts once; the same event again is a duplicate', async () => {
    await setPitr(moto.endpoint, 'orders', 'off');
    const env = { PITR_GUARD_MODE: 'remediate', PITR_GUARD_MIN_RECOVERY_DAYS: '21', PITR_GUARD_ALERT_TOPIC_ARN: inbox.topicArn, PITR_GUARD_SLACK_WEBHOOK_PARAM: WEBHOOK_PARAM, PITR_GUARD_IDEMPOTENCY_TABLE: DEDUP };
    const event = loadEvent('cloudtrail-pitr-disabled.json');
    const slackBefore = sink.requests.length;
    expect(await invoke('pitr-change', 'pitr-guard-ci-pitrChange', event, env)).toMatchObject({ status: 'handled', result: 'ENABLED', table: { tableName: 'orders' } });
    expect(await pitrOf(moto.endpoint, 'orders')).toEqual({ status: 'ENABLED', days: 21 });
    const messages = await inbox.receive(2);
    expect(messages.at(-1)?.Subject).toBe('[pitr-guard] PITR disabled on orders (123456789012 us-east-1): re-enabled');
    expect(sink.requests.length).toBe(slackBefore + 1);
    expect(await invoke('pitr-change', 'pitr-guard-ci-pitrChange', event, env)).toMatchObject({ status: 'duplicate' });
    expect(sink.requests.length).toBe(slackBefore + 1);
    expect(await inbox.receive(2, 1500)).toHaveLength(2); // no second SNS alert
  });

  it('the Organization scan (plan → shard → aggregate, one member through AssumeRole): the report in S3 holds both accounts', async () => {
    const org = direct.get(OrganizationsClient, 'us-east-1');
    await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const member = (await org.send(new CreateAccountCommand({ AccountName: 'prod', Email: 'prod@example.com' }))).CreateAccountStatus?.AccountId as string;
    direct.setAccountCredentials(member, memberRoleCredentials(direct, { accountId: member, roleName: 'pitr-guard-member', homeRegion: 'us-east-1', runId: 'seed' }));
    await seedTable(direct.get(DynamoDBClient, 'us-east-1', member), { tableName: 'ledger', state: 'off' });
    const env = orgScanEnv({ endpoint: moto.endpoint, mode: 'alert', regions: ['us-east-1'], bucket: BUCKET, ledger: LEDGER, topicArn: inbox.topicArn, maxConcurrency: 2 });
    const handlers: Record<string, LambdaHandler> = {
      PlanFunctionArn: (payload) => invoke('org-plan', 'pitr-guard-ci-orgPlan', payload, env),
      ShardFunctionArn: (payload) => invoke('org-shard', 'pitr-guard-ci-orgShard', payload, env),
      AggregateFunctionArn: (payload) => invoke('org-aggregate', 'pitr-guard-ci-orgAggregate', payload, env),
    };
    const definition = JSON.parse(readFileSync(path.join(__dirname, '../../statemachine/org-scan.asl.json'), 'utf8')) as unknown;
    const runner = new SfnRunner({ definition, s3: direct.get(S3Client, 'us-east-1'), sleep: async () => undefined, handlers });
    const run = await runner.start({ ...loadEvent<Record<string, unknown>>('scheduled.json'), time: '2026-11-21T10:00:00Z' }, 'bundles');
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ accounts: 2, accountErrors: 0, shardErrors: 0 });
    const key = (run.output as { reportKeys: { json: string } }).reportKeys.json;
    const body = await (await direct.get(S3Client, 'us-east-1').send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body?.transformToString('utf8');
    const report = JSON.parse(body as string) as { accounts: { accountId: string; status: string }[]; findings: { accountId: string; tableName: string; status: string }[] };
    expect(report.accounts.map((a) => [a.accountId, a.status]).sort()).toEqual([[ACCOUNT, 'SCANNED'], [member, 'SCANNED']].sort());
    expect(report.findings.find((f) => f.accountId === member && f.tableName === 'ledger')).toMatchObject({ status: 'NON_COMPLIANT' });
    // one change digest (the findings ledger is configured): the five tables out of policy at the Organization's default 35 days
    const messages = await inbox.receive(3);
    expect(messages).toHaveLength(3);
    expect(messages[2]?.Subject).toBe(`[pitr-guard] ${ACCOUNT}: 5 new; 5 still open`);
    expect(messages[2]?.Message).toContain(`- ledger (us-east-1, ${member}): PITR not enabled; alert only, not changed`);
  });
});
