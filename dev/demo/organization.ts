/**
 * The demo's Organization step (issue 11 item 8; its own function, so other demo steps merge
 * around it): on the demo's moto, an Organization with 3 member accounts (created, or reused when
 * the Organization exists), a few tables seeded in each member through its member role in 2
 * Regions, one member whose AssumeRole the fault proxy (dev/local/proxy.ts) refuses; then the
 * Organization scan's state machine (statemachine/org-scan.asl.json) run by the local runner
 * (dev/local/sfn-runner.ts) with the real Lambda handlers of functions/org-plan.ts,
 * functions/org-shard.ts and functions/org-aggregate.ts, configured the way Lambda configures them:
 * through the environment (set for the step, restored afterwards), a fresh handler per run. Their JSON logs are kept off
 * the narrative (shown with --verbose).
 *
 * The management account (the demo's own, with the seeded tables) is excluded
 * (PITR_GUARD_EXCLUDE_ACCOUNTS), so the report shows exactly the members.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Context } from 'aws-lambda';
import { CreateAccountCommand, CreateOrganizationCommand, ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Clients } from '../../lib/aws/clients';
import { memberRoleCredentials } from '../../lib/aws/org/member-credentials';
import type { ScanReport } from '../../lib/aws/scan';
import { awsErrorName } from '../../lib/core/errors';
import { projectRoot } from '../local/moto';
import { startFaultProxy } from '../local/proxy';
import { SfnRunner, type ExecutionResult, type LambdaHandler } from '../local/sfn-runner';
import { seedTable, type SeedTable } from '../seed';
import type { DemoAlert } from './lifecycle';

export const ORG_REGIONS = ['us-east-1', 'eu-west-1'] as const;
export const ORG_BUCKET = 'pitr-guard-demo-reports';
const MEMBER_ROLE = 'pitr-guard-member';
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** The members and their tables (names the seeded management account does not use). */
export const ORG_MEMBERS: { name: string; refused?: true; tables: SeedTable[] }[] = [
  {
    name: 'payments-prod',
    tables: [
      { region: 'us-east-1', tableName: 'pay-ledger', state: 'on' },
      { region: 'us-east-1', tableName: 'pay-invoices', state: 'off' },
      { region: 'eu-west-1', tableName: 'pay-ledger-eu', state: 'on' },
      { region: 'eu-west-1', tableName: 'pay-sessions', state: 'exempt', exemptReason: 'cache, rebuilt from the ledger' },
    ],
  },
  {
    name: 'analytics',
    tables: [
      { region: 'us-east-1', tableName: 'an-events', state: 'off' },
      { region: 'eu-west-1', tableName: 'an-clickstream', state: 'off' },
      { region: 'eu-west-1', tableName: 'an-dashboards', state: 'on' },
    ],
  },
  { name: 'sandbox', refused: true, tables: [{ region: 'us-east-1', tableName: 'sb-scratch', state: 'off' }] },
];

export interface OrganizationDemoContext {
  /** The endpoint every SDK call goes to (the demo's history shim in front of moto). */
  endpoint: string;
  /** The management account (the demo's own). */
  accountId: string;
  /** The alert topic (the digest goes there). */
  topicArn: string;
  readAlerts: (waitSeconds: number) => Promise<DemoAlert[]>;
  line: (text: string) => void;
  check: (ok: boolean, name: string, problem: string) => void;
  /** Where the handlers' JSON log lines go (default: nowhere). */
  log?: (line: string) => void;
}

export interface OrganizationDemoResult {
  runId: string;
  members: Record<string, string>;
  execution: ExecutionResult;
  report: ScanReport;
  reportKeys: string[];
  digests: DemoAlert[];
  wallMs: number;
}

function lambdaContext(functionName: string, accountId: string): Context {
  const deadline = Date.now() + 900_000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${accountId}:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: `demo-${functionName}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'demo',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The Organization and its members: created, or reused when the demo's moto already has them. */
async function organization(clients: Clients): Promise<Record<string, string>> {
  const org = clients.get(OrganizationsClient, 'us-east-1');
  try {
    await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  } catch (error) {
    if (awsErrorName(error) !== 'AlreadyInOrganizationException') throw error;
  }
  const existing = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await org.send(new ListAccountsCommand({ NextToken: token }));
    for (const a of page.Accounts ?? []) if (a.Name && a.Id) existing.set(a.Name, a.Id);
    token = page.NextToken;
  } while (token);
  const ids: Record<string, string> = {};
  for (const m of ORG_MEMBERS) {
    ids[m.name] = existing.get(m.name) ?? ((await org.send(new CreateAccountCommand({ AccountName: m.name, Email: `${m.name}@example.com` }))).CreateAccountStatus?.AccountId as string);
  }
  return ids;
}

/** Runs `fn` with the environment Lambda would give the Organization scan's functions, and stdout's JSON logs captured. */
async function withLambdaEnvironment<T>(env: Record<string, string>, log: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  for (const k of Object.keys(process.env)) if (k.startsWith('PITR_GUARD_') || k === 'AWS_PROFILE') delete process.env[k];
  Object.assign(process.env, env);
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    for (const l of String(chunk).split('\n').filter(Boolean)) log(l);
    return true;
  }) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = write;
    process.env = saved;
  }
}

export async function demoOrganization(ctx: OrganizationDemoContext): Promise<OrganizationDemoResult> {
  const direct = new Clients({ endpoint: ctx.endpoint, credentials: CREDENTIALS });
  const members = await organization(direct);
  const refused = ORG_MEMBERS.find((m) => m.refused)!;
  const refusedId = members[refused.name]!;
  for (const m of ORG_MEMBERS) {
    const id = members[m.name]!;
    direct.setAccountCredentials(id, memberRoleCredentials(direct, { accountId: id, roleName: MEMBER_ROLE, homeRegion: 'us-east-1', runId: 'demo-seed' }));
    for (const t of m.tables) await seedTable(direct.get(DynamoDBClient, t.region, id), t);
  }
  const s3 = direct.get(S3Client, 'us-east-1');
  try {
    await s3.send(new CreateBucketCommand({ Bucket: ORG_BUCKET }));
  } catch (error) {
    if (awsErrorName(error) !== 'BucketAlreadyOwnedByYou') throw error;
  }
  ctx.line(
    `Organization: management account ${ctx.accountId} + ${ORG_MEMBERS.map((m) => `${m.name} (${members[m.name]})`).join(', ')}; ` +
      `${ORG_MEMBERS.reduce((n, m) => n + m.tables.length, 0)} tables seeded through each member's ${MEMBER_ROLE} role. ` +
      `The fault proxy refuses AssumeRole into ${refused.name}.`,
  );

  const proxy = await startFaultProxy(ctx.endpoint, [
    {
      operation: 'AssumeRole',
      match: (body) => String(body.RoleArn ?? '').includes(`::${refusedId}:`),
      fail: { status: 403, type: 'AccessDenied', query: true, message: `User: arn:aws:sts::${ctx.accountId}:assumed-role/orgPlan/demo is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${refusedId}:role/${MEMBER_ROLE}` },
    },
  ]);
  try {
    const definition = JSON.parse(readFileSync(path.join(projectRoot(), 'statemachine', 'org-scan.asl.json'), 'utf8')) as unknown;
    const env = {
      AWS_ENDPOINT_URL: proxy.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      PITR_GUARD_MODE: 'alert',
      PITR_GUARD_ACCOUNTS: 'org',
      PITR_GUARD_EXCLUDE_ACCOUNTS: ctx.accountId,
      PITR_GUARD_MEMBER_ROLE: MEMBER_ROLE,
      PITR_GUARD_REGIONS: ORG_REGIONS.join(','),
      PITR_GUARD_REPORT_BUCKET: ORG_BUCKET,
      PITR_GUARD_MAX_CONCURRENCY: '50',
      PITR_GUARD_ALERT_TOPIC_ARN: ctx.topicArn,
    };
    const started = Date.now();
    const execution = await withLambdaEnvironment(env, ctx.log ?? (() => undefined), async () => {
      const [plan, shard, aggregate] = await Promise.all([import('../../functions/org-plan'), import('../../functions/org-shard'), import('../../functions/org-aggregate')]);
      const invoke = (h: (event: unknown, context: Context) => Promise<unknown>, name: string): LambdaHandler => (payload) => h(payload, lambdaContext(`pitr-guard-demo-${name}`, ctx.accountId));
      const runner = new SfnRunner({
        definition,
        s3: new Clients({ endpoint: ctx.endpoint, credentials: CREDENTIALS }).get(S3Client, 'us-east-1'),
        // A fresh handler of each function per run (a new "container": deps built from this run's environment).
        handlers: { PlanFunctionArn: invoke(plan.makeHandler(), 'orgPlan'), ShardFunctionArn: invoke(shard.makeHandler(), 'orgShard'), AggregateFunctionArn: invoke(aggregate.makeHandler(), 'orgAggregate') },
      });
      const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      const event = { version: '0', id: randomUUID(), 'detail-type': 'Scheduled Event', source: 'aws.events', account: ctx.accountId, time: now, region: 'us-east-1', resources: [], detail: {} };
      return runner.start(event, `demo-${Date.now()}`);
    });
    const wallMs = Date.now() - started;
    if (execution.status !== 'SUCCEEDED') throw new Error(`the Organization scan's execution ${execution.status}: ${execution.error ?? ''} ${execution.cause ?? ''}`);
    const output = execution.output as { runId: string; reportKeys: Record<'json' | 'csv' | 'html' | 'summary', string> };
    const body = await s3.send(new GetObjectCommand({ Bucket: ORG_BUCKET, Key: output.reportKeys.json }));
    const report = JSON.parse(await body.Body!.transformToString('utf8')) as ScanReport;
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: ORG_BUCKET, Prefix: `reports/${output.runId}/` }));
    const reportKeys = (listed.Contents ?? []).map((o) => o.Key as string).sort();
    const digests = await ctx.readAlerts(2);

    const shards = execution.invocations.filter((i) => i.state === 'ScanShard').length;
    ctx.line(`${ORG_MEMBERS.length} accounts × ${ORG_REGIONS.length} Regions = ${ORG_MEMBERS.length * ORG_REGIONS.length} shards planned; ${shards} ran in parallel (${refused.name}'s were not planned: its role cannot be assumed).`);
    for (const a of report.accounts) {
      const s = a.summary;
      ctx.line(
        a.status === 'SCANNED' && s
          ? `${a.name ?? a.accountId} (${a.accountId}): ${s.total} tables: ${s.nonCompliant} non-compliant, ${s.exempt} exempt, ${s.compliant} compliant`
          : `${a.name ?? a.accountId} (${a.accountId}): NOT SCANNED`,
      );
    }
    for (const e of report.accountErrors) ctx.line(`refused: ${e.name ?? e.accountId} (${e.accountId}): ${e.operation} failed with ${e.errorName}; fix: ${e.fix}`);
    ctx.line(`reports: s3://${ORG_BUCKET}/reports/${output.runId}/report.json|csv|html (+ summary.json); digest: "${digests[0]?.subject ?? 'none'}"`);
    ctx.line(`wall time of the run (plan → ${shards} shards → aggregate): ${(wallMs / 1000).toFixed(1)} s.`);

    const expected = (name: string) => {
      const tables = ORG_MEMBERS.find((m) => m.name === name)!.tables;
      const n = (state: SeedTable['state']) => tables.filter((t) => t.state === state).length;
      return { total: tables.length, compliant: n('on'), nonCompliant: n('off'), exempt: n('exempt'), notApplicable: 0, error: 0 };
    };
    const scanned = ORG_MEMBERS.filter((m) => !m.refused);
    ctx.check(
      shards === scanned.length * ORG_REGIONS.length && report.shardErrors.length === 0 && report.accounts.length === ORG_MEMBERS.length,
      `Organization: every member in the report, ${scanned.length * ORG_REGIONS.length} shards scanned, no shard errors`,
      `Organization: ${report.accounts.length} accounts, ${shards} shards, ${report.shardErrors.length} shard errors`,
    );
    ctx.check(
      scanned.every((m) => JSON.stringify(report.accounts.find((a) => a.accountId === members[m.name])?.summary) === JSON.stringify(expected(m.name))),
      'Organization: per-account counts match the seed',
      `Organization: per-account counts differ from the seed: ${JSON.stringify(report.accounts.map((a) => [a.name, a.summary]))}`,
    );
    ctx.check(
      report.accountErrors.length === 1 && report.accountErrors[0]!.accountId === refusedId && report.accountErrors[0]!.fix.includes('member template'),
      `Organization: ${refused.name} in accountErrors with the fix`,
      `Organization: accountErrors ${JSON.stringify(report.accountErrors)}`,
    );
    const want = ['report.csv', 'report.html', 'report.json', 'summary.json'].map((f) => `reports/${output.runId}/${f}`);
    ctx.check(
      JSON.stringify(reportKeys) === JSON.stringify(want) && digests.length === 1,
      'Organization: report.json, report.csv, report.html, summary.json in S3 and one digest',
      `Organization: report objects ${reportKeys.join(', ')}; ${digests.length} digest(s)`,
    );
    return { runId: output.runId, members, execution, report, reportKeys, digests, wallMs };
  } finally {
    await proxy.stop();
  }
}
