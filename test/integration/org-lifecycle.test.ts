/**
 * The alert lifecycle of the Organization scan, end to end on moto: statemachine/org-scan.asl.json
 * run by the local runner (dev/local/sfn-runner.ts) calling the real Lambda handlers
 * (functions/org-plan.ts, org-shard.ts, org-aggregate.ts) with the payloads Step Functions passes;
 * an Organization of 3 accounts × 2 Regions, the findings ledger, and the digest read from an SQS
 * queue subscribed to the alert topic.
 *
 * - two alert-mode runs in a row with nothing changed: one change digest, then none;
 * - a table fixed by hand in a member account: the next run sends one digest, the table resolved;
 * - a remediate-mode run: a table switched off since is listed once under New, fixed by pitr-guard,
 *   and the incident still open is resolved by pitr-guard; the next run sends nothing.
 */
import { CreateAccountCommand, CreateOrganizationCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { DynamoDBClient, GetItemCommand, UpdateContinuousBackupsCommand } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { localClients, seedTable, type SeedTable } from '../../dev/seed';
import { SfnRunner } from '../../dev/local/sfn-runner';
import { memberRoleCredentials } from '../../lib/aws/org/member-credentials';
import type { Clients } from '../../lib/aws/clients';
import { captureLogs } from '../helpers/lambda';
import { loadEvent } from '../helpers/builders';
import { topicWithInbox, type TopicInbox } from '../helpers/alerting';
import { createRunStores, freshOrgHandlers, orgScanEnv } from '../helpers/org';

const CENTRAL = '123456789012';
const BUCKET = 'pitr-guard-reports-life';
const LEDGER = 'pitr-guard-findings';
const REGIONS = ['eu-west-1', 'us-east-1'];
const definition = JSON.parse(readFileSync(path.join(__dirname, '../../statemachine/org-scan.asl.json'), 'utf8')) as unknown;

let moto: MotoServer;
let direct: Clients;
let inbox: TopicInbox;
let seen = 0;
const ids: Record<'prod' | 'dev', string> = { prod: '', dev: '' };

const TABLES: Record<'central' | 'prod' | 'dev', SeedTable[]> = {
  central: [
    { region: 'us-east-1', tableName: 'orders', state: 'on' },
    { region: 'eu-west-1', tableName: 'orders', state: 'off' },
  ],
  prod: [
    { region: 'us-east-1', tableName: 'orders', state: 'off' },
    { region: 'us-east-1', tableName: 'carts', state: 'on' },
  ],
  dev: [{ region: 'eu-west-1', tableName: 'events', state: 'on' }],
};

const ddb = (account: string, region: string) => direct.get(DynamoDBClient, region, account === CENTRAL ? undefined : account);
const setPitr = (account: string, region: string, TableName: string, on: boolean) =>
  ddb(account, region).send(new UpdateContinuousBackupsCommand({ TableName, PointInTimeRecoverySpecification: on ? { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 } : { PointInTimeRecoveryEnabled: false } }));

beforeAll(async () => {
  moto = await startMoto();
  direct = localClients(moto.endpoint);
  const org = direct.get(OrganizationsClient, 'us-east-1');
  await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  for (const name of ['prod', 'dev'] as const) {
    const out = await org.send(new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }));
    ids[name] = out.CreateAccountStatus?.AccountId as string;
    direct.setAccountCredentials(ids[name], memberRoleCredentials(direct, { accountId: ids[name], roleName: 'pitr-guard-member', homeRegion: 'us-east-1', runId: 'seed' }));
  }
  for (const [who, tables] of Object.entries(TABLES) as [keyof typeof TABLES, SeedTable[]][]) {
    for (const t of tables) await seedTable(ddb(who === 'central' ? CENTRAL : ids[who], t.region), t);
  }
  await createRunStores(direct, BUCKET, LEDGER);
  await setPitr(CENTRAL, 'us-east-1', LEDGER, true); // as the stack creates it: the ledger itself is in policy
  inbox = await topicWithInbox(moto.endpoint);
});

afterAll(async () => {
  await moto?.stop();
});

/** One execution of the state machine with fresh handlers (as fresh Lambda containers) in `mode`. */
async function runOrgScan(mode: 'alert' | 'remediate', name: string): Promise<Record<string, unknown>[]> {
  const saved = { ...process.env };
  Object.assign(process.env, orgScanEnv({ endpoint: moto.endpoint, mode, regions: REGIONS, bucket: BUCKET, ledger: LEDGER, topicArn: inbox.topicArn }));
  try {
    const handlers = freshOrgHandlers();
    const runner = new SfnRunner({ definition, s3: direct.get(S3Client, 'us-east-1'), sleep: async () => undefined, handlers });
    const run = await captureLogs(() => runner.start(loadEvent('scheduled.json'), name));
    expect(run.result.status).toBe('SUCCEEDED');
    return run.lines;
  } finally {
    process.env = saved;
  }
}

/** SNS messages that arrived since the last call (waits for at least `min`). */
async function newMessages(min: number) {
  const all = await inbox.receive(seen + min, min > 0 ? 5000 : 1500);
  const fresh = all.slice(seen);
  seen = all.length;
  return fresh;
}

const incidentOf = async (account: string, region: string, tableName: string) => {
  const out = await direct.get(DynamoDBClient, 'us-east-1').send(new GetItemCommand({ TableName: LEDGER, Key: { tableArn: { S: `arn:aws:dynamodb:${region}:${account}:table/${tableName}` } } }));
  return { state: out.Item?.incidentState?.S, fixedBy: out.Item?.fixedBy?.S };
};

describe('the Organization scan follows the alert lifecycle (local runner on moto, SNS → SQS)', () => {
  it('first alert-mode run: one change digest with the two new incidents', async () => {
    await runOrgScan('alert', 'exec-life-1');
    const messages = await newMessages(1);
    expect(messages).toHaveLength(1);
    const m = messages[0]!;
    expect(m.Subject).toBe(`[pitr-guard] ${CENTRAL}: 2 new; 2 still open`);
    expect(m.Message).toContain(
      ['New (2):', `- orders (eu-west-1, ${CENTRAL}): PITR not enabled; alert only, not changed`, `- orders (us-east-1, ${ids.prod}): PITR not enabled; alert only, not changed`].join('\n'),
    );
    expect(m.Message).toContain('pitr-guard: what changed in 3 accounts of the Organization scan run from');
    expect(m.MessageAttributes?.kind?.Value).toBe('digest');
  });

  it('second run with nothing changed: no digest at all', async () => {
    const logs = await runOrgScan('alert', 'exec-life-2');
    expect(await newMessages(0)).toEqual([]);
    expect(logs.some((l) => l.event === 'digest-skipped' && l.stillOpen === 2)).toBe(true);
  });

  it('a table fixed by hand in a member account: the next run sends one digest with it as resolved', async () => {
    await setPitr(ids.prod, 'us-east-1', 'orders', true);
    await runOrgScan('alert', 'exec-life-3');
    const messages = await newMessages(1);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.Subject).toBe(`[pitr-guard] ${CENTRAL}: 1 resolved; 1 still open`);
    expect(messages[0]!.Message).toContain(['Resolved (1):', `- orders (us-east-1, ${ids.prod}): compliant again; fixed outside pitr-guard (by whom is not known) (open since `].join('\n'));
    expect(await incidentOf(ids.prod, 'us-east-1', 'orders')).toEqual({ state: 'CLOSED', fixedBy: 'unknown' });
  });

  it('remediate mode: a newly disabled table is listed once under New, fixed by pitr-guard; the open one resolved by pitr-guard; then nothing', async () => {
    await setPitr(ids.dev, 'eu-west-1', 'events', false);
    await runOrgScan('remediate', 'exec-life-4');
    const messages = await newMessages(1);
    expect(messages).toHaveLength(1);
    const text = messages[0]!.Message;
    expect(messages[0]!.Subject).toBe(`[pitr-guard] ${CENTRAL}: 1 new, 1 resolved; 0 still open`);
    expect(text).toContain(['New (1):', `- events (eu-west-1, ${ids.dev}): PITR not enabled; re-enabled (35 days) and verified: fixed by pitr-guard`].join('\n'));
    expect(text).toContain(['Resolved (1):', `- orders (eu-west-1, ${CENTRAL}): compliant again; fixed by pitr-guard (open since `].join('\n'));
    expect(await incidentOf(ids.dev, 'eu-west-1', 'events')).toEqual({ state: 'CLOSED', fixedBy: 'pitr-guard' });
    expect(await incidentOf(CENTRAL, 'eu-west-1', 'orders')).toEqual({ state: 'CLOSED', fixedBy: 'pitr-guard' });

    await runOrgScan('alert', 'exec-life-5');
    expect(await newMessages(0)).toEqual([]);
  });
});
