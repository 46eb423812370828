/**
 * The one table seeder (tests, bench and the demo): creates DynamoDB tables through the real SDK
 * in every state pitr-guard knows about. Two plans: `demoPlan` (63 tables across three Regions,
 * with the names and tags a real team would have) and `roundRobinPlan` (N tables per Region,
 * states in turn, for scale tests and the bench). `EXPECTED_STATUS` / `EXPECTED_REASONS` say what
 * the evaluator must conclude about each state on moto (PITR enabled at seed time), so a scan can
 * be checked against its seed.
 */
import {
  CreateTableCommand,
  DynamoDBClient,
  RestoreTableToPointInTimeCommand,
  UpdateContinuousBackupsCommand,
  type Tag,
} from '@aws-sdk/client-dynamodb';
import { Clients } from '../lib/aws/clients';
import { mapLimit } from '../lib/aws/pace';
import type { ScanSummary } from '../lib/aws/scan';
import { EXEMPT_UNTIL_TAG, type FindingStatus } from '../lib/core/types';

export const DEMO_REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'] as const;

export type SeedState = 'on' | 'short' | 'reenabled' | 'off' | 'exempt' | 'exempt-expired' | 'restored';

export interface SeedTable {
  region: string;
  tableName: string;
  state: SeedState;
  /** on / short / reenabled: PITR recovery period, and how long PITR has been on. */
  recoveryPeriodInDays?: number;
  enabledDaysAgo?: number;
  /** exempt / exempt-expired: the exemption's reason and optional end date (YYYY-MM-DD). */
  exemptReason?: string;
  exemptUntil?: string;
  /** restored: the table it was restored from (same Region). */
  restoredFrom?: string;
  /** Owner team: with it the table gets team, env and cost-center tags like a real one. */
  team?: string;
  /** A table with only this partition key (e.g. the reactor's idempotency table); default pk + sk. */
  hashKey?: string;
}

export const EXPECTED_STATUS: Record<SeedState, FindingStatus> = {
  on: 'COMPLIANT',
  reenabled: 'COMPLIANT',
  short: 'NON_COMPLIANT',
  off: 'NON_COMPLIANT',
  'exempt-expired': 'NON_COMPLIANT',
  restored: 'NON_COMPLIANT',
  exempt: 'EXEMPT',
};

const DAY_MS = 86_400_000;

function isoDate(now: Date, offsetDays: number): string {
  return new Date(now.getTime() + offsetDays * DAY_MS).toISOString().slice(0, 10);
}

/** The tables to create; exemption dates are relative to `now` so the demo means the same any day. */
export function demoPlan(now: Date = new Date()): SeedTable[] {
  const plan: SeedTable[] = [];
  const on = (region: string, team: string, names: string[]) =>
    names.forEach((tableName, i) => plan.push({ region, tableName, state: 'on', recoveryPeriodInDays: 35, enabledDaysAgo: 90 + ((i * 53) % 600), team }));
  const add = (t: SeedTable) => plan.push(t);

  // us-east-1: the original home of the platform.
  on('us-east-1', 'commerce', [
    'prod-orders', 'prod-order-items', 'prod-payments', 'prod-customers', 'prod-user-profiles', 'prod-product-catalog',
    'prod-inventory', 'prod-pricing-rules', 'prod-shipments', 'prod-invoices', 'prod-ledger-entries', 'prod-audit-events', 'prod-feature-flags',
  ]);
  add({ region: 'us-east-1', tableName: 'prod-notifications', state: 'short', recoveryPeriodInDays: 7, enabledDaysAgo: 240, team: 'messaging' });
  add({ region: 'us-east-1', tableName: 'prod-webhook-deliveries', state: 'short', recoveryPeriodInDays: 14, enabledDaysAgo: 120, team: 'integrations' });
  add({ region: 'us-east-1', tableName: 'prod-carts', state: 'reenabled', recoveryPeriodInDays: 35, enabledDaysAgo: 3, team: 'commerce' });
  add({ region: 'us-east-1', tableName: 'staging-orders', state: 'off', team: 'commerce' });
  add({ region: 'us-east-1', tableName: 'staging-customers', state: 'off', team: 'commerce' });
  add({ region: 'us-east-1', tableName: 'dev-jdoe-sandbox', state: 'off', team: 'platform' });
  add({ region: 'us-east-1', tableName: 'prod-sessions', state: 'exempt', exemptReason: 'TTL session cache, rebuilt from the identity provider on loss', team: 'identity' });
  add({ region: 'us-east-1', tableName: 'loadtest-2026-q4-scratch', state: 'exempt', exemptReason: 'throwaway load-test data (PERF-812)', exemptUntil: isoDate(now, 45), team: 'performance' });
  add({ region: 'us-east-1', tableName: 'analytics-backfill-tmp', state: 'exempt-expired', exemptReason: 'one-off backfill, deleted after the run (DATA-377)', exemptUntil: isoDate(now, -20), team: 'analytics' });

  // eu-west-1: EU customers (GDPR-scoped data).
  on('eu-west-1', 'commerce-eu', [
    'prod-orders', 'prod-order-items', 'prod-payments', 'prod-customers', 'prod-user-profiles', 'prod-consents',
    'prod-invoices', 'prod-vat-records', 'prod-ledger-entries', 'prod-audit-events', 'prod-product-catalog', 'pitr-guard-idempotency',
  ]);
  // The reactor's own de-duplication table (key eventId) is a real table of the account too.
  const idempotency = plan.find((t) => t.tableName === 'pitr-guard-idempotency');
  if (idempotency) Object.assign(idempotency, { hashKey: 'eventId', team: 'security' });
  add({ region: 'eu-west-1', tableName: 'prod-email-events', state: 'short', recoveryPeriodInDays: 3, enabledDaysAgo: 60, team: 'messaging' });
  add({ region: 'eu-west-1', tableName: 'prod-subscriptions', state: 'reenabled', recoveryPeriodInDays: 35, enabledDaysAgo: 2, team: 'billing' });
  add({ region: 'eu-west-1', tableName: 'staging-payments', state: 'off', team: 'payments' });
  add({ region: 'eu-west-1', tableName: 'dev-feature-flags', state: 'off', team: 'platform' });
  add({ region: 'eu-west-1', tableName: 'qa-test-fixtures', state: 'off', team: 'quality' });
  add({ region: 'eu-west-1', tableName: 'prod-rate-limits', state: 'exempt', exemptReason: 'counters rebuild within minutes; restore has no value', team: 'platform' });
  add({ region: 'eu-west-1', tableName: 'prod-search-cache', state: 'exempt', exemptReason: 'derived from prod-product-catalog, reindexed nightly', team: 'search' });
  add({ region: 'eu-west-1', tableName: 'migration-2026-eu-shadow', state: 'exempt-expired', exemptReason: 'shadow copy during the EU migration', exemptUntil: isoDate(now, -3), team: 'platform' });
  add({ region: 'eu-west-1', tableName: 'prod-orders-restored-incident-4711', state: 'restored', restoredFrom: 'prod-orders', team: 'commerce-eu' });

  // ap-southeast-2: the newest Region.
  on('ap-southeast-2', 'commerce-apac', [
    'prod-orders', 'prod-order-items', 'prod-payments', 'prod-customers', 'prod-user-profiles', 'prod-product-catalog',
    'prod-inventory', 'prod-shipments', 'prod-loyalty-points', 'prod-gift-cards', 'prod-audit-events', 'prod-invoices',
  ]);
  add({ region: 'ap-southeast-2', tableName: 'prod-device-tokens', state: 'short', recoveryPeriodInDays: 7, enabledDaysAgo: 30, team: 'mobile' });
  add({ region: 'ap-southeast-2', tableName: 'prod-returns', state: 'reenabled', recoveryPeriodInDays: 35, enabledDaysAgo: 1, team: 'commerce-apac' });
  add({ region: 'ap-southeast-2', tableName: 'staging-loyalty-points', state: 'off', team: 'loyalty' });
  add({ region: 'ap-southeast-2', tableName: 'dev-mobile-sync', state: 'off', team: 'mobile' });
  add({ region: 'ap-southeast-2', tableName: 'perf-test-results', state: 'off', team: 'performance' });
  add({ region: 'ap-southeast-2', tableName: 'prod-geo-cache', state: 'exempt', exemptReason: 'cache of a public geo dataset', team: 'search' });
  add({ region: 'ap-southeast-2', tableName: 'tmp-data-export-20261118', state: 'exempt', exemptReason: 'export staging for the auditors, dropped after delivery', exemptUntil: isoDate(now, 7), team: 'analytics' });
  add({ region: 'ap-southeast-2', tableName: 'prod-legacy-import-queue', state: 'exempt-expired', exemptReason: 'legacy importer, retired', exemptUntil: isoDate(now, -60), team: 'integrations' });
  return plan;
}

/**
 * The reasons a scan on moto gives for each state: PITR was enabled seconds before the scan, so
 * the restore window is not full yet (a warning, still compliant).
 */
export const EXPECTED_REASONS: Partial<Record<SeedState, string[]>> = {
  on: ['PITR_ENABLED', 'RESTORE_WINDOW_NOT_FULL'],
  reenabled: ['PITR_ENABLED', 'RESTORE_WINDOW_NOT_FULL'],
  short: ['RECOVERY_PERIOD_TOO_SHORT'],
  off: ['PITR_DISABLED'],
  exempt: ['EXEMPT'],
  'exempt-expired': ['PITR_DISABLED', 'EXEMPTION_EXPIRED'],
};

/** `count` tables per Region, states in turn (on, short, off, exempt, exempt-expired), names like `orders-042`. */
export function roundRobinPlan(regions: Record<string, number>, now: Date = new Date()): SeedTable[] {
  const services = ['orders', 'payments', 'sessions', 'inventory', 'audit-log', 'users', 'carts'];
  const states = ['on', 'short', 'off', 'exempt', 'exempt-expired'] as const;
  return Object.entries(regions).flatMap(([region, count]) =>
    Array.from({ length: count }, (_, i): SeedTable => {
      const tableName = `${services[i % services.length]}-${String(i).padStart(3, '0')}`;
      const state = states[i % states.length]!;
      if (state === 'on') return { region, tableName, state, recoveryPeriodInDays: 35 };
      if (state === 'short') return { region, tableName, state, recoveryPeriodInDays: 7 };
      if (state === 'exempt') return { region, tableName, state, exemptReason: 'cache, rebuilt from S3 nightly' };
      if (state === 'exempt-expired') return { region, tableName, state, exemptReason: 'migration window', exemptUntil: isoDate(now, -30) };
      return { region, tableName, state };
    }),
  );
}

/** The summary (ScanReport.summary) a scan of the seeded tables must show. */
export function expectedSummary(plan: readonly SeedTable[]): ScanSummary {
  const count = (s: FindingStatus) => plan.filter((t) => EXPECTED_STATUS[t.state] === s).length;
  return {
    total: plan.length,
    compliant: count('COMPLIANT'),
    nonCompliant: count('NON_COMPLIANT'),
    exempt: count('EXEMPT'),
    notApplicable: count('NOT_APPLICABLE'),
    error: count('ERROR'),
  };
}

function tagsFor(t: Omit<SeedTable, 'region'>, exemptTag: string): Tag[] {
  const env = t.tableName.split('-')[0] ?? 'prod';
  const tags: Tag[] = t.team
    ? [
        { Key: 'team', Value: t.team },
        { Key: 'env', Value: ['prod', 'staging', 'dev', 'qa'].includes(env) ? env : 'prod' },
        { Key: 'cost-center', Value: `cc-${(t.team.length * 137) % 900 + 100}` },
      ]
    : [];
  if (t.exemptReason !== undefined) tags.push({ Key: exemptTag, Value: t.exemptReason });
  if (t.exemptUntil !== undefined) tags.push({ Key: EXEMPT_UNTIL_TAG, Value: t.exemptUntil });
  return tags;
}

export interface SeedOptions {
  /** Default pitr-guard:exempt. */
  exemptTag?: string;
  /** Tables created at once. */
  concurrency?: number;
}

/** Creates one table in its seed state (not `restored`: that needs its source, see `seed`); returns its ARN. */
export async function seedTable(ddb: DynamoDBClient, t: Omit<SeedTable, 'region'>, exemptTag = 'pitr-guard:exempt'): Promise<string> {
  const tags = tagsFor(t, exemptTag);
  const out = await ddb.send(
    new CreateTableCommand({
      TableName: t.tableName,
      ...(t.hashKey
        ? { AttributeDefinitions: [{ AttributeName: t.hashKey, AttributeType: 'S' }], KeySchema: [{ AttributeName: t.hashKey, KeyType: 'HASH' }] }
        : {
            AttributeDefinitions: [
              { AttributeName: 'pk', AttributeType: 'S' },
              { AttributeName: 'sk', AttributeType: 'S' },
            ],
            KeySchema: [
              { AttributeName: 'pk', KeyType: 'HASH' },
              { AttributeName: 'sk', KeyType: 'RANGE' },
            ],
          }),
      BillingMode: 'PAY_PER_REQUEST',
      ...(tags.length ? { Tags: tags } : {}),
    }),
  );
  if (t.state === 'on' || t.state === 'short' || t.state === 'reenabled') {
    await ddb.send(
      new UpdateContinuousBackupsCommand({
        TableName: t.tableName,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: t.recoveryPeriodInDays ?? 35 },
      }),
    );
  }
  return out.TableDescription?.TableArn as string;
}

/** Creates every table of the plan (restored tables last, from their sources) and sets PITR. */
export async function seed(clients: Clients, plan: readonly SeedTable[], options: SeedOptions = {}): Promise<void> {
  const concurrency = options.concurrency ?? 16;
  const exemptTag = options.exemptTag ?? 'pitr-guard:exempt';
  await mapLimit(
    plan.filter((t) => t.state !== 'restored'),
    concurrency,
    (t) => seedTable(clients.get(DynamoDBClient, t.region), t, exemptTag),
  );
  await mapLimit(
    plan.filter((t) => t.state === 'restored'),
    concurrency,
    async (t) => {
      await clients.get(DynamoDBClient, t.region).send(
        new RestoreTableToPointInTimeCommand({ SourceTableName: t.restoredFrom, TargetTableName: t.tableName, UseLatestRestorableTime: true }),
      );
    },
  );
}

/** Clients for a local emulator (moto): its endpoint and the dummy credentials it accepts. */
export function localClients(endpoint: string): Clients {
  return new Clients({ endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
}
