/**
 * The scheduled restore drill (functions/restore-drill.ts; param drillTables, off when empty):
 * for each configured table, one after another, first deletes drill tables an earlier run left
 * behind (a Lambda cannot outwait a long restore), then runs the same drill as `pitr-guard drill
 * --yes` (lib/act/drill.ts) within the invocation's time, and stores the record in the findings
 * ledger. A drill that did not pass is alerted through the configured channels (one alert per
 * run) and fails the invocation (DrillFailedError), so the failed-events queue and its alarm see
 * it too. The drill is not retried by Lambda: a retry would restore (and pay for) it again.
 */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { Clients } from '../aws/clients';
import { retrying, sleep as realSleep, type Sleep } from '../aws/pace';
import { drillTablePrefix, type DrillTarget } from '../core/drill';
import { PitrGuardError, errorMessage } from '../core/errors';
import { formatTableArn } from '../core/ids';
import type { DrillRecord } from '../core/types';
import { planDrill, readDrillSource, runDrill } from '../act/drill';
import { deleteTemporaryTable } from '../act/drill-cleanup';
import { deliver, type Notifier } from '../notify';
import { renderDrillAlert } from '../notify/drill-alert';
import { recordDrill } from '../state/drills';
import { silentLogger, type Logger } from '../runtime/logger';

/** At least one scheduled drill did not pass (it was alerted): the invocation fails. */
export class DrillFailedError extends PitrGuardError {
  constructor(readonly failed: string[]) {
    super('DRILL_FAILED', `restore drill FAILED for ${failed.join(', ')} (alerted; see the function log for each DrillRecord)`);
  }
}

export interface DrillJobDeps {
  clients: Clients;
  targets: readonly DrillTarget[];
  /** The function's account (from its ARN); absent (invoke local): the source ARN's account. */
  accountId?: string;
  exemptTag: string;
  homeRegion: string;
  ledgerTable?: string;
  notifiers: readonly Notifier[];
  logger?: Logger;
  now?: () => Date;
  sleep?: Sleep;
}

export interface DrillJobResult {
  drills: DrillRecord[];
  /** Drill tables of earlier runs that were deleted before this run's drills. */
  swept: string[];
}

/** Kept for the last drill's cleanup and the alert when the invocation's time runs short. */
export const CLEANUP_RESERVE_MS = 150_000;
const CLEANUP_TIMEOUT_MS = 120_000;

export async function runScheduledDrills(deps: DrillJobDeps, options: { remainingMs: () => number }): Promise<DrillJobResult> {
  const logger = deps.logger ?? silentLogger;
  const now = deps.now ?? (() => new Date());
  const drills: DrillRecord[] = [];
  const swept: string[] = [];
  const notStored: string[] = [];
  for (const target of deps.targets) {
    const ddb = deps.clients.get(DynamoDBClient, target.region);
    const base = { ddb, now, ...(deps.sleep ? { sleep: deps.sleep } : {}) };
    let record: DrillRecord;
    try {
      if (target.accountId && deps.accountId && target.accountId !== deps.accountId) throw new PitrGuardError('DRILL_ACCOUNT', `the ARN names account ${target.accountId}, not this account (${deps.accountId})`);
      const source = await readDrillSource(ddb, target.tableName, deps.sleep);
      if (deps.accountId && source.accountId !== deps.accountId) throw new PitrGuardError('DRILL_ACCOUNT', `${target.tableName} is in account ${source.accountId}, not this account (${deps.accountId})`);
      swept.push(...(await sweep(ddb, target, source.tableArn, base)));
      const timeoutMs = Math.max(60_000, options.remainingMs() - CLEANUP_RESERVE_MS);
      const plan = planDrill(source, { region: target.region, tableName: target.tableName, exemptTag: deps.exemptTag, timeoutMs }, now());
      record = await runDrill(plan, base, { timeoutMs, cleanupTimeoutMs: CLEANUP_TIMEOUT_MS });
    } catch (error) {
      record = refused(target, deps.accountId, now(), error instanceof PitrGuardError ? error.message : `unexpected error: ${errorMessage(error)}`);
    }
    drills.push(record);
    logger[record.outcome === 'PASSED' ? 'info' : 'warn'](`restore drill ${record.outcome}`, { event: 'drill', ...record });
    if (deps.ledgerTable) {
      try {
        await recordDrill(deps.clients.get(DynamoDBClient, deps.homeRegion), deps.ledgerTable, record, deps.sleep);
      } catch (error) {
        notStored.push(`${record.tableName} (${record.region})`);
        logger.error('the drill record could not be stored in the ledger', { event: 'drill-not-stored', drillId: record.drillId, error: errorMessage(error) });
      }
    }
  }
  const failed = drills.filter((d) => d.outcome === 'FAILED');
  if (failed.length > 0) {
    await deliver(deps.notifiers, renderDrillAlert(failed, deps.accountId ?? failed[0]!.accountId), { logger, remainingMs: options.remainingMs });
  }
  if (failed.length > 0 || notStored.length > 0) throw new DrillFailedError([...failed.map((d) => `${d.tableName} (${d.region})`), ...notStored.map((t) => `${t}: record not stored`)]);
  return { drills, swept };
}

/** A drill that could not start (source unreadable, PITR off, another account): FAILED, nothing created. */
function refused(target: DrillTarget, accountId: string | undefined, at: Date, error: string): DrillRecord {
  const iso = at.toISOString();
  return {
    drillId: `refused-${iso}`,
    accountId: target.accountId ?? accountId ?? 'unknown',
    region: target.region,
    tableName: target.tableName,
    tableArn: formatTableArn({ accountId: target.accountId ?? accountId ?? 'unknown', region: target.region, tableName: target.tableName }),
    temporaryTableName: '',
    startedAt: iso,
    finishedAt: iso,
    outcome: 'FAILED',
    requested: 'LATEST',
    restorePoint: null,
    restoreSeconds: null,
    checks: [],
    cleanedUp: true,
    error,
  };
}

/** Drill tables of this source left by an earlier run (ListTables is sorted: start at the prefix, stop past it). */
async function sweep(ddb: DynamoDBClient, target: DrillTarget, sourceArn: string, base: { ddb: DynamoDBClient; now: () => Date; sleep?: Sleep }): Promise<string[]> {
  const prefix = drillTablePrefix(target.tableName);
  const left: string[] = [];
  let start: string | undefined = prefix;
  while (start) {
    const page = await retrying(() => ddb.send(new ListTablesCommand({ ExclusiveStartTableName: start })), base.sleep ? { sleep: base.sleep } : {});
    const names = page.TableNames ?? [];
    left.push(...names.filter((n) => n.startsWith(prefix)));
    start = names.length > 0 && names.every((n) => n.startsWith(prefix)) ? page.LastEvaluatedTableName : undefined;
  }
  const deleted: string[] = [];
  for (const name of left) {
    const r = await deleteTemporaryTable(name, target.region, { ...base, sleep: base.sleep ?? realSleep }, { timeoutMs: 30_000, owner: { sourceArn, notBefore: new Date(0) } });
    if (r.deleted) deleted.push(name);
  }
  return deleted;
}

export const permissions: readonly import('../core/iam').Permission[] = [
  { sid: 'DrillListTables', actions: ['dynamodb:ListTables'], resource: '*', why: 'finds drill tables an earlier run left behind (by name prefix), to delete them' },
];
