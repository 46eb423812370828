/** Creates tables in moto through the real SDK, in the states the tests and benchmarks need. */
import {
  CreateTableCommand,
  DynamoDBClient,
  TagResourceCommand,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';
import { mapLimit } from '../../lib/aws/pace';

export type SeedState = 'on35' | 'on7' | 'off' | 'exempt' | 'exemptExpired';
export const SEED_STATES: SeedState[] = ['on35', 'on7', 'off', 'exempt', 'exemptExpired'];

export interface SeededTable {
  region: string;
  tableName: string;
  state: SeedState;
}

export function client(endpoint: string, region: string): DynamoDBClient {
  return new DynamoDBClient({ region, endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
}

/** `count` tables per Region, states round-robin, names like `orders-042`. */
export function plan(regions: Record<string, number>): SeededTable[] {
  const services = ['orders', 'payments', 'sessions', 'inventory', 'audit-log', 'users', 'carts'];
  return Object.entries(regions).flatMap(([region, count]) =>
    Array.from({ length: count }, (_, i) => ({
      region,
      tableName: `${services[i % services.length]}-${String(i).padStart(3, '0')}`,
      state: SEED_STATES[i % SEED_STATES.length] as SeedState,
    })),
  );
}

export async function createTable(ddb: DynamoDBClient, tableName: string): Promise<string> {
  const out = await ddb.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return out.TableDescription?.TableArn as string;
}

export async function applyState(ddb: DynamoDBClient, tableName: string, arn: string, state: SeedState): Promise<void> {
  if (state === 'on35' || state === 'on7') {
    await ddb.send(
      new UpdateContinuousBackupsCommand({
        TableName: tableName,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: state === 'on7' ? 7 : 35 },
      }),
    );
  }
  if (state === 'exempt') {
    await ddb.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'pitr-guard:exempt', Value: 'cache, rebuilt from S3 nightly' }] }));
  }
  if (state === 'exemptExpired') {
    await ddb.send(
      new TagResourceCommand({
        ResourceArn: arn,
        Tags: [
          { Key: 'pitr-guard:exempt', Value: 'migration window' },
          { Key: 'pitr-guard:exempt-until', Value: '2026-01-31' },
        ],
      }),
    );
  }
}

export async function seed(endpoint: string, tables: SeededTable[], concurrency = 8): Promise<void> {
  const clients = new Map<string, DynamoDBClient>();
  const get = (region: string) => clients.get(region) ?? clients.set(region, client(endpoint, region)).get(region)!;
  await mapLimit(tables, concurrency, async (t) => {
    const ddb = get(t.region);
    const arn = await createTable(ddb, t.tableName);
    await applyState(ddb, t.tableName, arn, t.state);
  });
  for (const c of clients.values()) c.destroy();
}

/** What pitr-guard must conclude about a seeded table. */
export const EXPECTED: Record<SeedState, { status: string; reasons: string[] }> = {
  // PITR was enabled seconds ago, so the restore window is not full yet (a warning, still compliant).
  on35: { status: 'COMPLIANT', reasons: ['PITR_ENABLED', 'RESTORE_WINDOW_NOT_FULL'] },
  on7: { status: 'NON_COMPLIANT', reasons: ['RECOVERY_PERIOD_TOO_SHORT'] },
  off: { status: 'NON_COMPLIANT', reasons: ['PITR_DISABLED'] },
  exempt: { status: 'EXEMPT', reasons: ['EXEMPT'] },
  exemptExpired: { status: 'NON_COMPLIANT', reasons: ['PITR_DISABLED', 'EXEMPTION_EXPIRED'] },
};

export function expectedSummary(tables: SeededTable[]) {
  const count = (s: string) => tables.filter((t) => EXPECTED[t.state].status === s).length;
  return {
    total: tables.length,
    compliant: count('COMPLIANT'),
    nonCompliant: count('NON_COMPLIANT'),
    exempt: count('EXEMPT'),
    notApplicable: 0,
    error: 0,
  };
}
