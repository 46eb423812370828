/**
 * The alert lifecycle on moto, end to end through the handlers (env → deps → ledger → digest):
 *
 * - two alert-mode scheduled scans in a row with nothing changed: one digest, then none; after a
 *   table is fixed by hand, the next scan sends one "resolved" digest;
 * - the reactor and the scan share one incident: a disable the reactor alerted (alert mode) is not
 *   alerted again by the next scan;
 * - a table the scan re-enables itself is listed once ("new", fixed by pitr-guard);
 * - two scans at the same time (a duplicate delivery of the schedule) send one digest between them;
 * - loop protection: five disables of one table within ten minutes (distinct events, PITR switched
 *   off before each): five re-enables, exactly three alerts (two ordinary, one escalation), PITR on
 *   at the end; the next scan's digest counts the two disables that were not alerted.
 *
 * Messages are read from an SQS queue subscribed to the SNS topic; state from moto.
 */
import { CreateTableCommand, GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { Clients } from '../../lib/aws/clients';
import { createLogger } from '../../lib/runtime/logger';
import { resetWebhookCache } from '../../lib/notify/slack';
import type { Policy } from '../../lib/core/types';
import { makeDeps, reactorHandler, type PitrChangeDeps, type PitrChangeResult } from '../../functions/pitr-change';
import { createIdempotencyTable, createTable, ddbClient, pitrOf, setPitr, topicWithInbox, type TopicInbox } from '../helpers/alerting';
import { eventIdFor, loadEvent } from '../helpers/builders';
import { captureLogs, lambdaContext } from '../helpers/lambda';

const LEDGER = 'pitr-guard-findings';
const DEDUP = 'pitr-guard-idempotency';
const ACCOUNT = '123456789012';
const arn = (t: string) => `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${t}`;
let moto: MotoServer;
let inbox: TopicInbox;
let seen = 0;
const saved = { ...process.env };

beforeAll(async () => {
  moto = await startMoto();
  inbox = await topicWithInbox(moto.endpoint);
  await createIdempotencyTable(moto.endpoint, DEDUP);
  await setPitr(moto.endpoint, DEDUP, 35);
  await ddbClient(moto.endpoint).send(
    new CreateTableCommand({
      TableName: LEDGER,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'tableArn', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'tableArn', KeyType: 'HASH' }],
    }),
  );
  await setPitr(moto.endpoint, LEDGER, 35);
  await createTable(moto.endpoint, 'orders', 'off');
  await createTable(moto.endpoint, 'sessions', 35);
  await createTable(moto.endpoint, 'carts', 35);
});
afterAll(async () => {
  process.env = saved;
  await moto?.stop();
});

/** SNS messages that arrived since the last call (waits up to 3 s for at least `min`). */
async function newMessages(min = 0) {
  const all = await inbox.receive(seen + min, min > 0 ? 5000 : 1500);
  const fresh = all.slice(seen);
  seen = all.length;
  return fresh;
}

/** The scheduled-scan handler as Lambda loads it, with this test's environment. */
function scanHandler(mode: string) {
  process.env = {
    ...saved,
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: 'us-east-1',
    PITR_GUARD_MODE: mode,
    PITR_GUARD_MIN_RECOVERY_DAYS: '30',
    PITR_GUARD_ALERT_TOPIC_ARN: inbox.topicArn,
    PITR_GUARD_FINDINGS_TABLE: LEDGER,
    PITR_GUARD_REMIND_HOURS: '24',
  };
  let handler!: (typeof import('../../functions/scheduled-scan'))['handler'];
  jest.isolateModules(() => {
    handler = (require('../../functions/scheduled-scan') as typeof import('../../functions/scheduled-scan')).handler;
  });
  return () => handler(loadEvent('scheduled.json'), lambdaContext('pitr-guard-dev-scheduledScan'));
}

const scheduledScan = (mode: string) => captureLogs(scanHandler(mode));

function reactorDeps(mode: Policy['mode']): PitrChangeDeps {
  resetWebhookCache();
  return makeDeps({
    policy: { mode, minRecoveryDays: 30, exemptTag: 'pitr-guard:exempt', regions: ['us-east-1'], dryRun: false, alertTopicArn: inbox.topicArn },
    clients: new Clients({ endpoint: moto.endpoint }),
    logger: createLogger({ write: () => undefined }),
    homeRegion: 'us-east-1',
    idempotencyTable: DEDUP,
    findingsTable: LEDGER,
    lifecycle: { remindHours: 24, loopLimit: 3, loopWindowMinutes: 60 },
  });
}

const react = (event: unknown, d: PitrChangeDeps): Promise<PitrChangeResult> => reactorHandler(() => d)(event, lambdaContext('pitr-guard-dev-pitrChange'));

function disableEvent(table: string, label: string, userAgent: string, principal = 'arn:aws:sts::123456789012:assumed-role/Deploy/ci') {
  const e = loadEvent<{ detail: Record<string, unknown> }>('cloudtrail-pitr-disabled.json');
  e.detail.eventID = eventIdFor(label);
  e.detail.eventTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  e.detail.userAgent = userAgent;
  (e.detail.userIdentity as Record<string, unknown>).arn = principal;
  (e.detail.requestParameters as Record<string, unknown>).tableName = table;
  return e;
}

async function item(table: string): Promise<Record<string, AttributeValue>> {
  const out = await ddbClient(moto.endpoint).send(new GetItemCommand({ TableName: LEDGER, Key: { tableArn: { S: arn(table) } }, ConsistentRead: true }));
  return out.Item ?? {};
}

describe('alert lifecycle on moto', () => {
  it('two alert-mode scans with nothing changed: one digest, then none; fixed by hand: one "resolved"', async () => {
    const first = await scheduledScan('alert');
    expect(first.result).toMatchObject({ summary: { nonCompliant: 1 } });
    const digest = await newMessages(1);
    expect(digest).toHaveLength(1);
    expect(digest[0]?.Subject).toBe('[pitr-guard] 123456789012: 1 new; 1 still open');
    expect(digest[0]?.Message).toContain('New (1):\n- orders (us-east-1, 123456789012): PITR not enabled; alert only, not changed');
    expect((await item('orders')).incidentState?.S).toBe('OPEN');

    const second = await scheduledScan('alert');
    expect(second.lines.find((l) => l.event === 'digest-skipped')).toMatchObject({ stillOpen: 1 });
    expect(await newMessages()).toHaveLength(0);

    await setPitr(moto.endpoint, 'orders', 35); // a person fixes it in the console
    await scheduledScan('alert');
    const resolved = await newMessages(1);
    expect(resolved).toHaveLength(1);
    expect(resolved[0]?.Subject).toBe('[pitr-guard] 123456789012: 1 resolved; 0 still open');
    expect(resolved[0]?.Message).toMatch(/Resolved \(1\):\n- orders \(us-east-1, 123456789012\): compliant again; fixed outside pitr-guard \(by whom is not known\) \(open since \d{4}-\d\d-\d\d \d\d:\d\d UTC\)/);
    const after = await item('orders');
    expect([after.incidentState?.S, after.fixedBy?.S]).toEqual(['CLOSED', 'unknown']);

    await scheduledScan('alert');
    expect(await newMessages()).toHaveLength(0);
  });

  it('the reactor alerted a disable (alert mode): the next scan does not alert it again', async () => {
    await setPitr(moto.endpoint, 'orders', 'off');
    const out = await react(disableEvent('orders', 'shared-1', 'aws-cli/2.22.35'), reactorDeps('alert'));
    expect(out).toMatchObject({ status: 'handled', result: 'SKIPPED_MODE' });
    const alert = await newMessages(1);
    expect(alert.map((m) => m.MessageAttributes?.kind?.Value)).toEqual(['change']);
    expect((await item('orders')).incidentState?.S).toBe('OPEN');

    await scheduledScan('alert');
    expect(await newMessages()).toHaveLength(0);

    // A remediate-mode scan re-enables it: the incident (alerted by the reactor) is resolved, fixed by pitr-guard.
    await scheduledScan('remediate');
    const fixed = await newMessages(1);
    expect(fixed).toHaveLength(1);
    expect(fixed[0]?.Message).toContain('Resolved (1):\n- orders (us-east-1, 123456789012): compliant again; fixed by pitr-guard');
    expect(await pitrOf(moto.endpoint, 'orders')).toEqual({ status: 'ENABLED', days: 30 });
  });

  it('a table the scan re-enables itself: listed once, as new and fixed by pitr-guard; the next scan says nothing', async () => {
    await createTable(moto.endpoint, 'invoices', 'off');
    await scheduledScan('remediate');
    const digest = await newMessages(1);
    expect(digest).toHaveLength(1);
    expect(digest[0]?.Subject).toBe('[pitr-guard] 123456789012: 1 new; 0 still open');
    expect(digest[0]?.Message).toContain('New (1):\n- invoices (us-east-1, 123456789012): PITR not enabled; re-enabled (30 days) and verified: fixed by pitr-guard');
    expect(digest[0]?.Message).not.toContain('Resolved');
    expect(await pitrOf(moto.endpoint, 'invoices')).toEqual({ status: 'ENABLED', days: 30 });
    const it = await item('invoices');
    expect([it.incidentState?.S, it.fixedBy?.S]).toEqual(['CLOSED', 'pitr-guard']);
    await scheduledScan('remediate');
    expect(await newMessages()).toHaveLength(0);
  });

  it('two alert-mode scans at the same time (a duplicate delivery): one digest between them', async () => {
    await createTable(moto.endpoint, 'refunds', 'off');
    const [a, b] = [scanHandler('alert'), scanHandler('alert')];
    const both = await captureLogs(() => Promise.all([a(), b()]));
    expect(both.lines.filter((l) => l.event === 'alert-sent')).toHaveLength(1);
    const digest = await newMessages(2);
    expect(digest).toHaveLength(1);
    expect(digest[0]?.Message).toContain('- refunds (us-east-1, 123456789012): PITR not enabled; alert only, not changed');
    await setPitr(moto.endpoint, 'refunds', 35);
    await scheduledScan('alert');
    expect((await newMessages(1)).map((m) => m.Subject)).toEqual(['[pitr-guard] 123456789012: 1 resolved; 0 still open']);
  });

  it('five disables within ten minutes: five re-enables, exactly three alerts (two ordinary, one escalation), PITR on', async () => {
    const deps = reactorDeps('remediate');
    const agents = ['Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.70.0', 'Terraform/1.9.5 terraform-provider-aws/5.70.0', 'aws-cli/2.22.35', 'Terraform/1.9.5', 'Terraform/1.9.5'];
    const results: (string | undefined)[] = [];
    for (let i = 0; i < 5; i++) {
      await setPitr(moto.endpoint, 'carts', 'off');
      expect((await pitrOf(moto.endpoint, 'carts')).status).toBe('DISABLED');
      const out = await react(disableEvent('carts', `loop-${i}`, agents[i] as string, i === 2 ? 'arn:aws:iam::123456789012:user/bob' : undefined), deps);
      results.push(out.result);
      expect(await pitrOf(moto.endpoint, 'carts')).toEqual({ status: 'ENABLED', days: 30 });
    }
    expect(results).toEqual(['ENABLED', 'ENABLED', 'ENABLED', 'ENABLED', 'ENABLED']);
    const alerts = await newMessages(3);
    expect(alerts.map((m) => m.MessageAttributes?.kind?.Value)).toEqual(['change', 'change', 'escalation']);
    expect([alerts[0]!.Message.includes('Again:'), alerts[1]!.Message.includes('Again:          switched off 2 times within 60 minutes')]).toEqual([false, true]);
    const escalation = alerts[2]!;
    expect(escalation.Subject).toBe('[pitr-guard] LOOP: PITR switched off 3 times on carts (123456789012 us-east-1)');
    expect(escalation.Message).toContain('Likely cause:   infrastructure as code (Terraform) reverting the change');
    expect(escalation.Message).toContain('arn:aws:sts::123456789012:assumed-role/Deploy/ci, arn:aws:iam::123456789012:user/bob');
    expect(escalation.Message).toContain('aws-cli/2.22.35');
    expect(escalation.Message).toContain('reason REPEATEDLY_DISABLED');
    expect(await newMessages()).toHaveLength(0); // #4 and #5: nothing sent
    expect(await pitrOf(moto.endpoint, 'carts')).toEqual({ status: 'ENABLED', days: 30 });
    const it = await item('carts');
    expect(it.disables?.L).toHaveLength(5);
    expect(it.silencedDisables?.N).toBe('2');
    expect([it.incidentState?.S, it.fixedBy?.S]).toEqual(['CLOSED', 'pitr-guard']);

    // the next scan: nothing new for the table (pitr-guard fixed it), the two quiet disables counted once
    const scan = await scheduledScan('remediate');
    expect(scan.lines.find((l) => l.event === 'scan-summary')).toBeDefined();
    const digest = await newMessages(1);
    expect(digest).toHaveLength(1);
    expect(digest[0]?.Subject).toBe('[pitr-guard] 123456789012: 1 looping; 0 still open');
    expect(digest[0]?.Message).toContain('Loop protection (1):\n- carts (us-east-1, 123456789012): switched off 5 times within the loop window; 2 disables not alerted (loop protection); pitr-guard re-enabled it each time');
    expect((await item('carts')).silencedDisables?.N).toBe('0');
    await scheduledScan('remediate');
    expect(await newMessages()).toHaveLength(0);
  });
});
