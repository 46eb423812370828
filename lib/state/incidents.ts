/**
 * The CloudTrail reactor's writes to the findings ledger (one item per table, docs/ledger.md):
 * loop protection and the table's incident, shared with the scheduled scan (lib/state/ledger.ts).
 * Its own module so that only the reactor's role holds dynamodb:GetItem on the ledger (IAM is
 * derived from the modules each function bundles: scripts/iam/derive.ts).
 */
import { ConditionalCheckFailedException, GetItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AwsCallError, awsErrorName } from '../core/errors';
import { formatTableArn } from '../core/ids';
import { FIXED_BY_PITR_GUARD, incidentIdFor, isOpen, nextReminder, recordDisable, type DisableRecord, type LifecycleSettings, type LoopDecision } from '../core/lifecycle';
import type { HistoryEntry } from '../core/types';
import { HISTORY_APPEND, historyLength, historyValues, trimInput } from './history';
import { LEDGER_KEY, RETRYABLE, disableValue, incidentFacts } from './ledger-item';

/** What the reactor's write of one event decided (IncidentLedger.recordChange). */
export interface ChangeRecord {
  /** Loop protection of a disable event; absent for other events. */
  loop?: LoopDecision;
  incidentId?: string;
  /** What happened to the table's incident. */
  incident: 'opened' | 'joined' | 'resolved' | 'opened-and-resolved' | 'none';
}

export interface IncidentLedgerOptions {
  /** Attempts on a concurrent writer / throttling / 5xx, after the SDK's own (default 5). */
  attempts?: number;
  sleep?: (ms: number) => Promise<void>;
  baseDelayMs?: number;
}

export class IncidentLedger {
  private readonly attempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly baseDelayMs: number;

  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly tableName: string,
    options: IncidentLedgerOptions = {},
  ) {
    this.attempts = Math.max(1, options.attempts ?? 5);
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.baseDelayMs = options.baseDelayMs ?? 100;
  }

  /**
   * The reactor's write for one event (after it acted): loop protection for a disable (the event
   * recorded in the item's `disables`, trimmed to the window, a retried event counted once), and
   * the table's incident: an alerted change opens one (or joins the open one), a re-enable by
   * pitr-guard closes it. Read (consistent GetItem), decide, write conditioned on the version read;
   * a concurrent writer makes it start over.
   */
  async recordChange(input: {
    table: { accountId: string; region: string; tableName: string };
    eventId: string;
    disable?: Omit<DisableRecord, 'eventId'>;
    /** The reactor alerts this change (ordinary or escalation): the incident is opened or joined. */
    alerted: boolean;
    /** pitr-guard re-enabled PITR and verified it: the incident is closed, fixed by pitr-guard. */
    fixed: boolean;
    now: Date;
    settings: LifecycleSettings;
  }): Promise<ChangeRecord> {
    const key = formatTableArn(input.table);
    const nowIso = input.now.toISOString();
    let failure: unknown;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      if (attempt > 0) await this.sleep(Math.random() * this.baseDelayMs * 2 ** attempt);
      try {
        const got = await this.ddb.send(new GetItemCommand({ TableName: this.tableName, Key: { [LEDGER_KEY]: { S: key } }, ConsistentRead: true }));
        const facts = incidentFacts(got.Item ?? {});
        const loop = input.disable ? recordDisable(facts.disables, { eventId: input.eventId, ...input.disable }, input.now, input.settings) : undefined;
        const silent = loop?.alert === 'SILENT';
        const set: string[] = ['accountId = if_not_exists(accountId, :account)', '#region = if_not_exists(#region, :region)', 'tableName = if_not_exists(tableName, :name)'];
        const remove: string[] = [];
        const values: Record<string, AttributeValue> = { ':account': { S: input.table.accountId }, ':region': { S: input.table.region }, ':name': { S: input.table.tableName } };
        const history: HistoryEntry[] = [];
        if (loop && !loop.duplicate && input.disable) {
          history.push({ at: input.disable.at, event: 'PITR_DISABLED', detail: `UpdateContinuousBackups PointInTimeRecoveryEnabled=false (event ${input.eventId})`, actor: input.disable.principal });
        }
        if (loop && !loop.duplicate) {
          set.push('disables = :disables');
          values[':disables'] = { L: loop.disables.map(disableValue) };
          if (silent) {
            set.push('silencedDisables = :silenced');
            values[':silenced'] = { N: String((facts.silencedDisables ?? 0) + 1) };
          }
        }
        let incident: ChangeRecord['incident'] = 'none';
        let incidentId = isOpen(facts) ? facts.incidentId : undefined;
        const alerted = input.alerted && !silent;
        if (input.alerted || input.fixed || silent) {
          values[':now'] = { S: nowIso };
          const opening = !incidentId;
          if (opening) {
            incidentId = incidentIdFor(key, input.now);
            history.push({ at: nowIso, event: 'INCIDENT_OPENED', detail: `${incidentId}: opened by the reactor (event ${input.eventId})` });
            set.push('incidentId = :incident', 'openedAt = :now', 'reminders = :zero');
            values[':incident'] = { S: incidentId };
            values[':zero'] = { N: '0' };
          }
          if (alerted) set.push('lastAlertedAt = :now');
          if (input.fixed) {
            // Closed in the same write: the next scan says neither "new" nor "resolved" (the reactor's own alert said "re-enabled").
            set.push('incidentState = :closed', 'closedAt = :now', 'fixedBy = :by', 'fixedAt = :now');
            values[':closed'] = { S: 'CLOSED' };
            values[':by'] = { S: FIXED_BY_PITR_GUARD };
            remove.push('reminderDueAt');
            incident = opening ? 'opened-and-resolved' : 'resolved';
            history.push(
              { at: nowIso, event: 'REMEDIATED', detail: 'pitr-guard re-enabled PITR and verified it' },
              { at: nowIso, event: 'INCIDENT_CLOSED', detail: `${incidentId ?? ''}: fixed by ${FIXED_BY_PITR_GUARD}` },
            );
          } else {
            set.push('incidentState = :open');
            values[':open'] = { S: 'OPEN' };
            if (opening) remove.push('closedAt', 'fixedBy', 'fixedAt');
            const due = opening || alerted ? nextReminder(input.now, input.settings) : undefined;
            if (due) {
              set.push('reminderDueAt = :due');
              values[':due'] = { S: due };
            } else if (opening) remove.push('reminderDueAt');
            incident = opening ? 'opened' : 'joined';
          }
        }
        if (history.length > 0) {
          set.push(HISTORY_APPEND);
          Object.assign(values, historyValues(history));
        }
        const version = facts.lifecycleVersion;
        const out = await this.ddb.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { [LEDGER_KEY]: { S: key } },
            UpdateExpression: `SET ${[...set, 'lifecycleVersion = :version'].join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
            ConditionExpression: version === undefined ? 'attribute_not_exists(lifecycleVersion)' : 'lifecycleVersion = :expected',
            ExpressionAttributeNames: { '#region': 'region' },
            ExpressionAttributeValues: { ...values, ':version': { N: String((version ?? 0) + 1) }, ...(version === undefined ? {} : { ':expected': { N: String(version) } }) },
            ...(history.length > 0 ? { ReturnValues: 'UPDATED_NEW' as const } : {}),
          }),
        );
        if (history.length > 0) await this.trimHistory(key, out.Attributes);
        return { ...(loop ? { loop } : {}), ...(incidentId ? { incidentId } : {}), incident };
      } catch (error) {
        failure = error;
        if (!(error instanceof ConditionalCheckFailedException) && !RETRYABLE.has(awsErrorName(error))) break;
      }
    }
    throw new AwsCallError('UpdateItem', failure, key);
  }

  /** After a write that appended: trims the history to HISTORY_LIMIT when it is over (best effort, see history.ts). */
  private async trimHistory(key: string, attributes: Record<string, AttributeValue> | undefined): Promise<void> {
    const trim = trimInput(historyLength(attributes));
    if (!trim) return;
    try {
      await this.ddb.send(new UpdateItemCommand({ TableName: this.tableName, Key: { [LEDGER_KEY]: { S: key } }, ...trim }));
    } catch {
      // A concurrent append (condition failed) or AWS pushing back: the list stays longer until the next append trims it.
    }
  }
}

export const permissions: readonly import('../core/iam').Permission[] = [
  {
    sid: 'FindingsLedgerIncidents',
    actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    resource: 'findingsTable',
    why: 'records the reactor’s disables (loop protection) and the table’s incident, shared with the scan, in the findings ledger',
  },
];
