/**
 * The demo's deleted-table step (issue 12 item 5; its own function, so other demo steps merge
 * around it): a table with PITR is created and deleted by a person, and the CloudTrail DeleteTable
 * record (the shape of events/cloudtrail-delete-table.json) goes through the reactor. The reactor
 * never remediates a deletion: it says whether a system backup exists and how to restore it, or
 * that the data is gone, and who deleted it. The reactor's SDK calls go through the fault proxy
 * (dev/local/proxy.ts), here only to count them: no UpdateContinuousBackups may be sent.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, UpdateContinuousBackupsCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { Clients } from '../../lib/aws/clients';
import type { Policy } from '../../lib/core/types';
import { makeDeps as pitrChangeDeps, type PitrChangeDeps, type PitrChangeResult } from '../../lib/jobs/pitr-change';
import type { Logger } from '../../lib/runtime/logger';
import { projectRoot } from '../local/moto';
import { startFaultProxy, type FaultRule } from '../local/proxy';
import type { DemoAlert } from './lifecycle';

/** The table the demo deletes (created by this step, so the seeded tables stay as seeded). */
export const DELETED_TABLE = 'tmp-import-orders';
const DELETER = { role: 'DataPlatformAdmin', session: 'sam.ops' };

export interface DeletedTableDemoContext {
  /** The endpoint every SDK call goes to (the demo's history shim in front of moto). */
  endpoint: string;
  /** The demo account's clients (pitr-guard's own credentials). */
  clients: Clients;
  /** A second principal's clients: the person who deletes the table. */
  person: Clients;
  logger: Logger;
  policy: Policy;
  home: string;
  accountId: string;
  idempotencyTable: string;
  readAlerts: (waitSeconds: number) => Promise<DemoAlert[]>;
  reactor: (event: unknown, deps: PitrChangeDeps) => Promise<PitrChangeResult>;
  line: (text: string) => void;
  block: (text: string) => void;
  check: (ok: boolean, name: string, problem: string) => void;
}

export interface DeletedTableDemoResult {
  result: PitrChangeResult;
  alerts: DemoAlert[];
  updateContinuousBackupsCalls: number;
}

/** events/cloudtrail-delete-table.json, re-addressed to the demo's account, Region, table and deleter. */
export function deleteTableEvent(accountId: string, region: string, tableName: string, at: Date): Record<string, unknown> {
  const raw = readFileSync(path.join(projectRoot(), 'events', 'cloudtrail-delete-table.json'), 'utf8')
    .replaceAll('123456789012', accountId)
    .replaceAll('us-east-1', region)
    .replaceAll('assumed-role/Admin/alice', `assumed-role/${DELETER.role}/${DELETER.session}`)
    .replaceAll('role/Admin"', `role/${DELETER.role}"`)
    .replaceAll(':alice"', `:${DELETER.session}"`);
  const event = JSON.parse(raw) as Record<string, unknown> & { detail: Record<string, unknown> };
  const time = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const arn = `arn:aws:dynamodb:${region}:${accountId}:table/${tableName}`;
  Object.assign(event, { id: randomUUID(), time });
  Object.assign(event.detail, { eventTime: time, eventID: randomUUID(), requestParameters: { tableName }, resources: [{ accountId, type: 'AWS::DynamoDB::Table', ARN: arn }] });
  const description = (event.detail.responseElements as { tableDescription: Record<string, unknown> }).tableDescription;
  Object.assign(description, { tableName, tableArn: arn });
  return event;
}

/**
 * moto keeps no system backup when a table with PITR is deleted; DynamoDB keeps
 * `<table>$DeletedTableBackup` (aws-facts-org §6.1, 35 days). This rule makes ListBackups (SYSTEM)
 * for the deleted table answer what DynamoDB would.
 */
function systemBackupRule(accountId: string, region: string, deletedAt: Date): FaultRule {
  const created = Math.floor(deletedAt.getTime() / 1000);
  return {
    operation: 'ListBackups',
    match: (body, call) => call.region === region && body.TableName === DELETED_TABLE && (body.BackupType === 'SYSTEM' || body.BackupType === 'ALL'),
    rewrite: (answer) => ({
      ...answer,
      BackupSummaries: [
        ...((answer.BackupSummaries as unknown[] | undefined) ?? []),
        {
          TableName: DELETED_TABLE,
          TableArn: `arn:aws:dynamodb:${region}:${accountId}:table/${DELETED_TABLE}`,
          BackupArn: `arn:aws:dynamodb:${region}:${accountId}:table/${DELETED_TABLE}/backup/0${created}000-demo0001`,
          BackupName: `${DELETED_TABLE}$DeletedTableBackup`,
          BackupCreationDateTime: created,
          BackupExpiryDateTime: created + 35 * 86_400,
          BackupStatus: 'AVAILABLE',
          BackupType: 'SYSTEM',
          BackupSizeBytes: 0,
        },
      ],
    }),
  };
}

export async function demoDeletedTable(ctx: DeletedTableDemoContext): Promise<DeletedTableDemoResult> {
  const deletedAt = new Date();
  const proxy = await startFaultProxy(ctx.endpoint, [systemBackupRule(ctx.accountId, ctx.home, deletedAt)]);
  try {
    const ddb = ctx.person.get(DynamoDBClient, ctx.home);
    await ddb.send(
      new CreateTableCommand({
        TableName: DELETED_TABLE,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    await waitUntilTableExists({ client: ddb, maxWaitTime: 30 }, { TableName: DELETED_TABLE });
    await ddb.send(new UpdateContinuousBackupsCommand({ TableName: DELETED_TABLE, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 } }));
    await ddb.send(new DeleteTableCommand({ TableName: DELETED_TABLE }));
    const actor = `arn:aws:sts::${ctx.accountId}:assumed-role/${DELETER.role}/${DELETER.session}`;
    ctx.line(`${actor} deletes ${ctx.home}/${DELETED_TABLE}, a table with PITR on; CloudTrail → EventBridge delivers DeleteTable to the reactor…`);
    ctx.line(`(moto keeps no system backup of a deleted table; the demo's proxy answers ListBackups with the ${DELETED_TABLE}$DeletedTableBackup DynamoDB keeps for 35 days.)`);
    const clients = new Clients({ endpoint: proxy.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const deps = pitrChangeDeps({ policy: ctx.policy, clients, logger: ctx.logger, homeRegion: ctx.home, idempotencyTable: ctx.idempotencyTable });
    const result = await ctx.reactor(deleteTableEvent(ctx.accountId, ctx.home, DELETED_TABLE, deletedAt), deps);
    const alerts = await ctx.readAlerts(2);
    const updates = proxy.calls.UpdateContinuousBackups ?? 0;
    ctx.line(`reactor: ${result.status}, system backup ${result.deleted?.backup ?? '-'}; UpdateContinuousBackups calls: ${updates}.`);
    for (const a of alerts) {
      ctx.line(`SNS: "${a.subject}"`);
      ctx.block(a.message.split('\n').slice(0, 12).join('\n'));
    }
    ctx.check(
      alerts.length === 1 && alerts[0]!.subject.includes(DELETED_TABLE) && alerts[0]!.message.includes(actor) && result.deleted?.backup === 'FOUND',
      'the deleted table: one alert, naming who deleted it and the system backup',
      `deleted table: expected one alert naming ${actor}, got ${alerts.length}: ${alerts.map((a) => a.subject).join(' | ')}`,
    );
    ctx.check(updates === 0 && result.status === 'handled', 'the deletion was not "remediated" (no UpdateContinuousBackups)', `deleted table: reactor ${result.status}, ${updates} UpdateContinuousBackups call(s)`);
    return { result, alerts, updateContinuousBackupsCalls: updates };
  } finally {
    await proxy.stop();
  }
}
