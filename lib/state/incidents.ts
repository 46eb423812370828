/**
 * The CloudTrail reactor's writes to the findings ledger (one item per table, docs/ledger.md):
 * loop protection and the table's incident, shared with the scheduled scan (lib/state/ledger.ts).
 * Its own module so that only the reactor's role holds dynamodb:GetItem on the ledger (IAM is
 * derived from the modules each function bundles: scripts/iam/derive.ts).
 *
 * The reactor reads the item in its first round trip (`prefetch`, alongside its claim and the
 * table's reads) and writes it alongside the verifying read (`recordChange` with the prefetched
 * item; a concurrent writer makes it read again). When what it wrote about pitr-guard's fix turns
 * out wrong once the verify is in, `correctFix` flips the incident it wrote (docs/reactor.md).
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

/** The item as the reactor's first round trip read it (`item` {} when there is none). */
export interface PrefetchedItem {
  item: Record<string, AttributeValue>;
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
  /** The table's item, read consistently (the reactor's first round trip); undefined when it could not be read (recordChange then reads it itself). */
  async prefetch(table: { accountId: string; region: string; tableName: string }): Promise<PrefetchedItem | undefined> {
    try {
      return { item: (await this.getItem(formatTableArn(table))).Item ?? {} };
    } catch {
      return undefined;
    }
  }

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
    /** The item as read earlier (`prefetch`): the first attempt decides from it instead of reading; the condition on its version catches a writer in between. */
    prefetched?: PrefetchedItem;
    /** Takes the history trim (best effort) instead of waiting for it, so the caller's next step does not queue behind it. */
    defer?: (work: Promise<void>) => void;
  }): Promise<ChangeRecord> {
    const key = formatTableArn(input.table);
    const nowIso = input.now.toISOString();
    let failure: unknown;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      if (attempt > 0) await this.sleep(Math.random() * this.baseDelayMs * 2 ** attempt);
      try {
        const item = attempt === 0 && input.prefetched ? input.prefetched.item : ((await this.getItem(key)).Item ?? {});
        const facts = incidentFacts(item);
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
            closeByPitrGuard(incidentId ?? '', nowIso, { set, remove, values, history });
            incident = opening ? 'opened-and-resolved' : 'resolved';
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
        if (history.length > 0) {
          const trimming = this.trimHistory(key, out.Attributes);
          if (input.defer) input.defer(trimming);
          else await trimming;
        }
        return { ...(loop ? { loop } : {}), ...(incidentId ? { incidentId } : {}), incident };
      } catch (error) {
        failure = error;
        if (!(error instanceof ConditionalCheckFailedException) && !RETRYABLE.has(awsErrorName(error))) break;
      }
    }
    throw new AwsCallError('UpdateItem', failure, key);
  }

  /**
   * The reactor wrote its incident before the verify was in (`fixed` from UpdateContinuousBackups'
   * own answer) and the verify says otherwise: `fixed` true closes the incident it opened or joined
   * (fixed by pitr-guard), false reopens the one it closed. Conditioned on that incident still being
   * in the state the reactor left it (same ID, not touched by the scan or another event since):
   * otherwise the later writer's state stands and nothing is written (returns false). It bumps
   * lifecycleVersion, so a writer holding an older read starts over.
   */
  async correctFix(input: { table: { accountId: string; region: string; tableName: string }; incidentId: string; fixed: boolean; why: string; now: Date; settings: Pick<LifecycleSettings, 'remindHours'> }): Promise<boolean> {
    const key = formatTableArn(input.table);
    const nowIso = input.now.toISOString();
    const set: string[] = ['lifecycleVersion = if_not_exists(lifecycleVersion, :zero) + :one'];
    const remove: string[] = [];
    const values: Record<string, AttributeValue> = { ':incident': { S: input.incidentId }, ':zero': { N: '0' }, ':one': { N: '1' } };
    const history: HistoryEntry[] = [];
    let condition: string;
    if (input.fixed) {
      condition = 'incidentId = :incident AND incidentState = :open';
      values[':open'] = { S: 'OPEN' };
      values[':now'] = { S: nowIso };
      closeByPitrGuard(input.incidentId, nowIso, { set, remove, values, history });
    } else {
      condition = 'incidentId = :incident AND incidentState = :closed AND fixedBy = :by';
      values[':closed'] = { S: 'CLOSED' };
      values[':by'] = { S: FIXED_BY_PITR_GUARD };
      set.push('incidentState = :open');
      values[':open'] = { S: 'OPEN' };
      remove.push('closedAt', 'fixedBy', 'fixedAt');
      const due = nextReminder(input.now, input.settings);
      if (due) {
        set.push('reminderDueAt = :due');
        values[':due'] = { S: due };
      }
      history.push({ at: nowIso, event: 'INCIDENT_OPENED', detail: `${input.incidentId}: reopened: ${input.why}` });
    }
    set.push(HISTORY_APPEND);
    Object.assign(values, historyValues(history));
    try {
      const out = await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [LEDGER_KEY]: { S: key } },
          UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      await this.trimHistory(key, out.Attributes);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new AwsCallError('UpdateItem', error, key);
    }
  }

  private getItem(key: string) {
    return this.ddb.send(new GetItemCommand({ TableName: this.tableName, Key: { [LEDGER_KEY]: { S: key } }, ConsistentRead: true }));
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

/** The clauses that close an incident as fixed by pitr-guard (`:now` must be set by the caller). */
function closeByPitrGuard(incidentId: string, nowIso: string, w: { set: string[]; remove: string[]; values: Record<string, AttributeValue>; history: HistoryEntry[] }): void {
  w.set.push('incidentState = :closed', 'closedAt = :now', 'fixedBy = :by', 'fixedAt = :now');
  w.values[':closed'] = { S: 'CLOSED' };
  w.values[':by'] = { S: FIXED_BY_PITR_GUARD };
  w.remove.push('reminderDueAt');
  w.history.push(
    { at: nowIso, event: 'REMEDIATED', detail: 'pitr-guard re-enabled PITR and verified it' },
    { at: nowIso, event: 'INCIDENT_CLOSED', detail: `${incidentId}: fixed by ${FIXED_BY_PITR_GUARD}` },
  );
}

export const permissions: readonly import('../core/iam').Permission[] = [
  {
    sid: 'FindingsLedgerIncidents',
    actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    resource: 'findingsTable',
    why: 'records the reactor’s disables (loop protection) and the table’s incident, shared with the scan, in the findings ledger',
  },
];
