/**
 * The demo's alert-lifecycle step (its own function, so other demo steps merge around it): with a
 * findings ledger, alert-mode scheduled scans of one Region tell only what changed: the first
 * sends "new", the next one nothing, a day later one digest with the table fixed by hand
 * ("resolved") and reminders of the rest; then a table switched off three times in a row is
 * re-enabled each time, alerted twice and escalated once (loop protection).
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient, UpdateContinuousBackupsCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import type { Clients } from '../../lib/aws/clients';
import type { InventoryOptions } from '../../lib/aws/inventory';
import type { ScanReport } from '../../lib/aws/scan';
import { scanActionsHook } from '../../lib/act/scan-actions';
import { LIFECYCLE_DEFAULTS } from '../../lib/core/lifecycle';
import type { Policy } from '../../lib/core/types';
import { run as scheduledScan } from '../../lib/jobs/scheduled-scan';
import { makeDeps as pitrChangeDeps, type PitrChangeDeps, type PitrChangeResult } from '../../lib/jobs/pitr-change';
import { buildNotifiers } from '../../lib/notify';
import type { Logger } from '../../lib/runtime/logger';
import { FindingsLedger } from '../../lib/state/ledger';
import { IncidentLedger } from '../../lib/state/incidents';
import { disableEvent } from './event';

/** Where the demo keeps its findings ledger: a Region the seed does not use, so the seeded Regions hold exactly the seed. */
export const DEMO_LEDGER = { region: 'us-west-2', tableName: 'pitr-guard-findings' };

export interface DemoAlert {
  subject: string;
  message: string;
  kind?: string;
}

export interface LifecycleDemoContext {
  clients: Clients;
  /** A second principal's clients (the person who breaks and fixes tables). */
  person: Clients;
  logger: Logger;
  policy: Policy;
  home: string;
  accountId: string;
  inventory: Partial<InventoryOptions>;
  webhookUrl: string;
  drift: { region: string; tableName: string };
  /** SNS alerts that arrived since the last call (waits up to `waitSeconds`). */
  readAlerts: (waitSeconds: number) => Promise<DemoAlert[]>;
  reactor: (event: unknown, deps: PitrChangeDeps) => Promise<PitrChangeResult>;
  line: (text: string) => void;
  block: (text: string) => void;
  check: (ok: boolean, name: string, problem: string) => void;
}

export interface LifecycleDemoResult {
  digests: DemoAlert[];
  reactorAlerts: DemoAlert[];
}

const HOUR = 3_600_000;

async function createLedger(clients: Clients): Promise<DynamoDBClient> {
  const ddb = clients.get(DynamoDBClient, DEMO_LEDGER.region);
  await ddb.send(
    new CreateTableCommand({
      TableName: DEMO_LEDGER.tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'tableArn', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'tableArn', KeyType: 'HASH' }],
    }),
  );
  await waitUntilTableExists({ client: ddb, maxWaitTime: 30 }, { TableName: DEMO_LEDGER.tableName });
  return ddb;
}

export async function demoLifecycle(ctx: LifecycleDemoContext): Promise<LifecycleDemoResult> {
  const out: LifecycleDemoResult = { digests: [], reactorAlerts: [] };
  const ddb = await createLedger(ctx.clients);
  const ledger = new FindingsLedger(ddb, DEMO_LEDGER.tableName, { lifecycle: LIFECYCLE_DEFAULTS });
  const policy: Policy = { ...ctx.policy, mode: 'alert', regions: [ctx.home] };
  const notifiers = buildNotifiers({ policy, clients: ctx.clients, homeRegion: ctx.home, slackWebhookUrl: ctx.webhookUrl });
  const started = Date.now();
  const scanAt = async (offsetMs: number): Promise<ScanReport> => {
    let report: ScanReport | undefined;
    const now = () => new Date(started + offsetMs);
    await scheduledScan(
      { version: '0', id: randomUUID(), 'detail-type': 'Scheduled Event', source: 'aws.events', time: now().toISOString(), detail: {} },
      {
        policy,
        clients: ctx.clients,
        logger: ctx.logger,
        homeRegion: ctx.home,
        inventory: ctx.inventory,
        now,
        ledger,
        afterScan: [
          async (r, deps, invocation) => {
            report = r;
            await scanActionsHook({ notifiers })(r, { ...deps, now }, invocation);
          },
        ],
      },
    );
    if (!report) throw new Error('the lifecycle scan produced no report');
    return report;
  };
  const show = (a: DemoAlert) => {
    ctx.line(`SNS: "${a.subject}"`);
    ctx.block(a.message);
  };

  ctx.line(`findings ledger: ${DEMO_LEDGER.tableName} (${DEMO_LEDGER.region}); scheduled scans of ${ctx.home}, mode alert.`);
  const first = await scanAt(0);
  const firstAlerts = await ctx.readAlerts(2);
  out.digests.push(...firstAlerts);
  firstAlerts.forEach(show);
  ctx.check(firstAlerts.length === 1 && firstAlerts[0]!.subject.includes(' new'), 'first scan: one digest of the new incidents', `first lifecycle scan: expected one "new" digest, got ${firstAlerts.length}`);

  await scanAt(HOUR);
  const quiet = await ctx.readAlerts(1);
  ctx.line(`an hour later, nothing changed: ${quiet.length} digests.`);
  ctx.check(quiet.length === 0, 'next scan, nothing changed: no digest', `a scan with nothing changed sent ${quiet.length} digest(s)`);

  const fixable = first.findings.find((f) => f.status === 'NON_COMPLIANT' && f.tableStatus === 'ACTIVE');
  if (fixable) {
    await ctx.person.get(DynamoDBClient, fixable.region).send(
      new UpdateContinuousBackupsCommand({ TableName: fixable.tableName, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 } }),
    );
    ctx.line(`someone re-enables PITR on ${fixable.tableName} by hand; a day later the scan runs again…`);
  }
  await scanAt(25 * HOUR);
  const dayLater = await ctx.readAlerts(2);
  out.digests.push(...dayLater);
  dayLater.forEach(show);
  const d = dayLater[0];
  ctx.check(
    dayLater.length === 1 && d !== undefined && d.message.includes('Resolved (1):') && d.message.includes('Reminders ('),
    'a day later: one digest, the fix resolved, the rest reminded',
    `a day later: expected one digest with "Resolved (1)" and reminders, got ${dayLater.length}: ${dayLater.map((a) => a.subject).join(' | ')}`,
  );

  const { drift } = ctx;
  ctx.line(`a deploy pipeline keeps switching PITR off on ${drift.tableName} (loop protection, limit ${LIFECYCLE_DEFAULTS.loopLimit} in ${LIFECYCLE_DEFAULTS.loopWindowMinutes} min):`);
  const reactorDeps = pitrChangeDeps({ policy: { ...ctx.policy, mode: 'remediate' }, clients: ctx.clients, logger: ctx.logger, homeRegion: ctx.home, slackWebhookUrl: ctx.webhookUrl, findingsTable: DEMO_LEDGER.tableName, lifecycle: LIFECYCLE_DEFAULTS, accountId: ctx.accountId });
  // The reactor's ledger lives where the demo keeps it.
  reactorDeps.ledger = new IncidentLedger(ddb, DEMO_LEDGER.tableName);
  const results: string[] = [];
  for (let i = 0; i < LIFECYCLE_DEFAULTS.loopLimit; i++) {
    await ctx.person.get(DynamoDBClient, drift.region).send(new UpdateContinuousBackupsCommand({ TableName: drift.tableName, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false } }));
    const event = disableEvent(ctx.accountId, drift.region, drift.tableName, new Date());
    (event.detail as Record<string, unknown>).userAgent = 'Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.70.0';
    const r = await ctx.reactor(event, reactorDeps);
    results.push(r.result ?? r.status);
  }
  const alerts = await ctx.readAlerts(4);
  out.reactorAlerts.push(...alerts);
  ctx.line(`disables: ${results.length}; reactor results: ${results.join(', ')}; alerts: ${alerts.map((a) => a.kind ?? '?').join(', ')}.`);
  const escalation = alerts.find((a) => a.kind === 'escalation');
  if (escalation) show(escalation);
  ctx.check(
    results.every((r) => r === 'ENABLED') && alerts.map((a) => a.kind).join() === 'change,change,escalation',
    'three disables: re-enabled each time, two alerts, one escalation',
    `loop protection: results ${results.join(', ')}, alerts ${alerts.map((a) => a.kind).join(', ')}`,
  );
  return out;
}
