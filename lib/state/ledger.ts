// Why this file stays whole (over 300 lines): the status write and the lifecycle claim are one conditional protocol on the same item (the claim is conditioned on what the status write returned), so their conditions stay side by side; the reactor's writes are in incidents.ts, the item helpers in ledger-item.ts.
/**
 * The findings ledger: one DynamoDB item per table (partition key `tableArn`), the table's latest
 * status across runs, and `since`, when it entered that status; with `lifecycle` settings also the
 * table's incident (the alert lifecycle, docs/alerts.md): after its status write, each table's
 * next step (open, remind, resolve; lib/core/lifecycle.ts) is claimed with one UpdateItem
 * conditioned on `lifecycleVersion`, and only claimed steps come back as `transitions`. The
 * reactor's writes to the same items are in incidents.ts.
 *
 * Writes: one conditional UpdateItem per finding, not BatchWriteItem. BatchWriteItem can only put
 * (replace) whole items, so it would (a) overwrite `since` and `firstSeen` unless every item were
 * read first, and a read-then-put loses a concurrent writer's update, and (b) wipe the attributes
 * the alert lifecycle owns (incident, lastAlertedAt, fixedBy…). UpdateItem touches only the
 * attributes named here, and its condition makes `since` exact under concurrent writers:
 *
 *   1. same status: SET the facts, condition `#status = :status AND lastSeen <= :seen`: `since`
 *      stays. Steady state (status unchanged) is one call per table.
 *   2. if that condition fails, the old item comes back (ReturnValuesOnConditionCheckFailure):
 *      - no item → create it (condition attribute_not_exists), since = firstSeen = this run;
 *      - its lastSeen is later than this run's → a newer run already wrote: keep it (`stale`);
 *      - another status → SET status, since = this run, previousStatus, condition on the old
 *        status and lastSeen (optimistic: a writer in between makes it fail, and it starts over).
 *
 * Up to `concurrency` tables are written at once; throttling and 5xx are retried by the SDK and
 * then here with backoff; a table that still cannot be written is returned in `failed` (with
 * the error), never dropped: the caller fails the run after alerting (lib/jobs/scheduled-scan.ts).
 */
import {
  ConditionalCheckFailedException,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { AwsCallError, awsErrorName } from '../core/errors';
import { formatTableArn } from '../core/ids';
import type { DrillSummary, Finding, FindingStatus, HistoryEntry } from '../core/types';
import {
  FIXED_BY_PITR_GUARD,
  decideIncident,
  disablesInWindow,
  isOpen,
  type IncidentFacts,
  type LifecycleSettings,
  type Transition,
} from '../core/lifecycle';

import { LEDGER_KEY, RETRYABLE, incidentFacts, lastSuccessfulDrill, optionalOpen as optional, type OpenIncident } from './ledger-item';
import { HISTORY_APPEND, historyLength, historyValues, trimInput } from './history';

export type { OpenIncident } from './ledger-item';

export type { Transition } from '../core/lifecycle';

export { LEDGER_KEY, incidentFacts } from './ledger-item';

/** One table's item, as this module writes it (lifecycle attributes: IncidentFacts; docs/ledger.md). */
export interface LedgerItem extends IncidentFacts {
  tableArn: string;
  accountId: string;
  region: string;
  tableName: string;
  status: FindingStatus;
  reasons: string[];
  /** When the table entered `status` (the evaluation time of the run that first saw it so). */
  since: string;
  /** The status before the last change; absent until the status first changes. */
  previousStatus?: FindingStatus;
  firstSeen: string;
  lastSeen: string;
  lastRunId: string;
}

export interface LedgerRun {
  runId: string;
  /** The scan's evaluation time (ScanReport.generatedAt), ISO 8601. */
  seenAt: string;
}

export interface LedgerWriteResult {
  /**
   * `since` of every table written (by ARN): the status it is in and when it entered it; and its
   * last successful restore drill (lib/state/drills.ts), read from the item the status write
   * returns anyway (no extra call).
   */
  since: Map<string, { status: FindingStatus; since: string; lastDrill?: DrillSummary }>;
  /** Tables whose item a newer run had already written: left as the newer run wrote them. */
  stale: string[];
  /** Tables that could not be written after retries (never silently dropped). */
  failed: { tableArn: string; error: AwsCallError }[];
  /** The lifecycle transitions this write claimed (only with `lifecycle` settings): only these are alerted. */
  transitions: Transition[];
  /** Incidents open after this write (the digest's "still open" count; the scan closes those it re-enabled). */
  openIncidents: OpenIncident[];
  /** Tables switched off at least loopLimit times within the window (their finding gets REPEATEDLY_DISABLED). */
  repeatedlyDisabled: string[];
}


export interface LedgerOptions {
  /** Tables written at once (default 16). */
  concurrency?: number;
  /** Attempts per table on throttling / 5xx / a concurrent writer, after the SDK's own (default 5). */
  attempts?: number;
  /** Backoff before attempt n (default 100 ms × 2^n, full jitter). */
  sleep?: (ms: number) => Promise<void>;
  baseDelayMs?: number;
  /** Alert lifecycle settings: with them every write also decides and claims the incident's next step. */
  lifecycle?: LifecycleSettings;
}


/** The ledger's key for a finding: its ARN, or the ARN built from account, Region and name when the read failed. */
export function ledgerKey(f: Pick<Finding, 'tableArn' | 'accountId' | 'region' | 'tableName'>): string {
  return f.tableArn ?? formatTableArn({ accountId: f.accountId, region: f.region, tableName: f.tableName });
}

export class FindingsLedger {
  private readonly concurrency: number;
  private readonly attempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly baseDelayMs: number;
  readonly lifecycle: LifecycleSettings | undefined;

  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly tableName: string,
    options: LedgerOptions = {},
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 16);
    this.attempts = Math.max(1, options.attempts ?? 5);
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.lifecycle = options.lifecycle;
  }

  /** Writes every finding of a run; see the module comment for the protocol. */
  async write(findings: readonly Finding[], run: LedgerRun): Promise<LedgerWriteResult> {
    const result: LedgerWriteResult = { since: new Map(), stale: [], failed: [], transitions: [], openIncidents: [], repeatedlyDisabled: [] };
    let next = 0;
    const worker = async () => {
      while (next < findings.length) {
        const f = findings[next++]!;
        const key = ledgerKey(f);
        try {
          const outcome = await this.writeOne(f, key, run);
          if (outcome === 'stale') {
            result.stale.push(key);
            continue;
          }
          result.since.set(key, { status: f.status, since: outcome.since, ...(outcome.drill ? { lastDrill: outcome.drill } : {}) });
          if (this.lifecycle) {
            const step = await this.lifecycleStep(f, key, run, outcome.facts, this.lifecycle);
            result.transitions.push(...step.transitions);
            if (step.open) result.openIncidents.push(step.open);
            if (this.lifecycle.loopLimit > 0 && disablesInWindow(step.facts.disables, new Date(run.seenAt), this.lifecycle).length >= this.lifecycle.loopLimit) result.repeatedlyDisabled.push(key);
          }
        } catch (error) {
          result.failed.push({ tableArn: key, error: error instanceof AwsCallError ? error : new AwsCallError('UpdateItem', error, key) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, findings.length) }, worker));
    return result;
  }

  private async writeOne(f: Finding, key: string, run: LedgerRun): Promise<{ since: string; facts: IncidentFacts; drill?: DrillSummary } | 'stale'> {
    let failure: unknown;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      if (attempt > 0) await this.sleep(Math.random() * this.baseDelayMs * 2 ** attempt);
      try {
        const old = await this.sameStatus(f, key, run);
        if ('written' in old) return { since: old.written, facts: old.facts, ...drillOf(old.attributes) };
        if (old.item === undefined) {
          await this.send(this.create(f, key, run));
          return { since: run.seenAt, facts: {} };
        }
        if ((old.item.lastSeen?.S ?? '') > run.seenAt) return 'stale';
        const changed = await this.ddb.send(this.change(f, key, run, old.item));
        await this.trimHistory(key, changed.Attributes);
        // The status write leaves the lifecycle attributes alone: the old item's are current (a
        // writer in between is caught by the lifecycle step's version condition).
        return { since: run.seenAt, facts: incidentFacts(old.item), ...drillOf(old.item) };
      } catch (error) {
        failure = error;
        // A concurrent writer got in between (condition failed) or AWS pushed back: start over.
        if (!(error instanceof ConditionalCheckFailedException) && !RETRYABLE.has(awsErrorName(error))) break;
      }
    }
    throw new AwsCallError('UpdateItem', failure, key);
  }

  /** Step 1: the status is unchanged. `written` (the item's `since`), or the old item (undefined when there is none). */
  private async sameStatus(f: Finding, key: string, run: LedgerRun): Promise<{ written: string; facts: IncidentFacts; attributes: Record<string, AttributeValue> } | { item: Record<string, AttributeValue> | undefined }> {
    try {
      const out = await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [LEDGER_KEY]: { S: key } },
          UpdateExpression: 'SET accountId = :account, #region = :region, tableName = :name, reasons = :reasons, lastSeen = :seen, lastRunId = :run',
          ConditionExpression: '#status = :status AND lastSeen <= :seen',
          ExpressionAttributeNames: { '#status': 'status', '#region': 'region' },
          ExpressionAttributeValues: { ...facts(f, run), ':status': { S: f.status } },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { written: out.Attributes?.since?.S ?? run.seenAt, facts: incidentFacts(out.Attributes ?? {}), attributes: out.Attributes ?? {} };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { item: error.Item };
      throw error;
    }
  }

  private create(f: Finding, key: string, run: LedgerRun): UpdateItemCommand {
    return new UpdateItemCommand({
      TableName: this.tableName,
      Key: { [LEDGER_KEY]: { S: key } },
      UpdateExpression:
        `SET accountId = :account, #region = :region, tableName = :name, reasons = :reasons, lastSeen = :seen, lastRunId = :run, #status = :status, since = :seen, firstSeen = :seen, ${HISTORY_APPEND}`,
      ConditionExpression: 'attribute_not_exists(tableArn)',
      ExpressionAttributeNames: { '#status': 'status', '#region': 'region' },
      ExpressionAttributeValues: { ...facts(f, run), ':status': { S: f.status }, ...historyValues([statusEntry(f, run, undefined)]) },
    });
  }

  private change(f: Finding, key: string, run: LedgerRun, old: Record<string, AttributeValue>): UpdateItemCommand {
    const oldStatus = old.status?.S;
    const oldSeen = old.lastSeen?.S;
    const conditions = [oldStatus === undefined ? 'attribute_not_exists(#status)' : '#status = :oldStatus', oldSeen === undefined ? 'attribute_not_exists(lastSeen)' : 'lastSeen = :oldSeen'];
    return new UpdateItemCommand({
      TableName: this.tableName,
      Key: { [LEDGER_KEY]: { S: key } },
      UpdateExpression:
        'SET accountId = :account, #region = :region, tableName = :name, reasons = :reasons, lastSeen = :seen, lastRunId = :run, #status = :status, since = :seen, firstSeen = if_not_exists(firstSeen, :seen)' +
        (oldStatus === undefined ? '' : ', previousStatus = :oldStatus') +
        `, ${HISTORY_APPEND}`,
      ConditionExpression: `attribute_exists(tableArn) AND ${conditions.join(' AND ')}`,
      ExpressionAttributeNames: { '#status': 'status', '#region': 'region' },
      ExpressionAttributeValues: {
        ...facts(f, run),
        ':status': { S: f.status },
        ...(oldStatus === undefined ? {} : { ':oldStatus': { S: oldStatus } }),
        ...(oldSeen === undefined ? {} : { ':oldSeen': { S: oldSeen } }),
        ...historyValues([statusEntry(f, run, oldStatus)]),
      },
      ReturnValues: 'UPDATED_NEW',
    });
  }

  /**
   * The lifecycle step of one table after its status write: decide (lib/core/lifecycle.ts) from the
   * item's lifecycle attributes, then claim the step with one UpdateItem conditioned on the
   * item's `lifecycleVersion` (optimistic lock shared by every lifecycle writer). The winner gets
   * the transition; a loser re-decides from the item the failed condition returns (ALL_OLD), which
   * usually means there is nothing left to do: a duplicate run or a concurrent writer never alerts twice.
   */
  private async lifecycleStep(f: Finding, key: string, run: LedgerRun, start: IncidentFacts, settings: LifecycleSettings): Promise<{ transitions: Transition[]; open?: OpenIncident; facts: IncidentFacts }> {
    let facts = start;
    const now = new Date(run.seenAt);
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      const decision = decideIncident(key, facts, f.status, now, settings);
      const silenced = facts.silencedDisables ?? 0;
      const stillOpen = (): OpenIncident | undefined => (isOpen(facts) ? { tableArn: key, incidentId: facts.incidentId as string, openedAt: facts.openedAt ?? run.seenAt } : undefined);
      if (decision.kind === 'NONE' && silenced === 0) return { transitions: [], ...optional(stillOpen()), facts };
      const set: string[] = [];
      const remove: string[] = [];
      const values: Record<string, AttributeValue> = decision.kind === 'NONE' ? {} : { ':now': { S: run.seenAt } };
      const history: HistoryEntry[] = [];
      if (decision.kind === 'OPEN') {
        history.push({ at: run.seenAt, event: 'INCIDENT_OPENED', detail: `${decision.incidentId}: ${f.status} (${f.reasons.join(', ')})` });
        set.push('incidentId = :incident', 'incidentState = :open', 'openedAt = :now', 'lastAlertedAt = :now', 'reminders = :zero');
        values[':incident'] = { S: decision.incidentId };
        values[':open'] = { S: 'OPEN' };
        values[':zero'] = { N: '0' };
        remove.push('closedAt', 'fixedBy', 'fixedAt');
      } else if (decision.kind === 'REMIND') {
        set.push('lastAlertedAt = :now', 'reminders = :reminders');
        values[':reminders'] = { N: String(decision.reminder) };
      } else if (decision.kind === 'RESOLVE') {
        history.push({ at: run.seenAt, event: 'INCIDENT_CLOSED', detail: `${decision.incidentId}: ${f.status}, fixed by ${decision.fixedBy}` });
        set.push('incidentState = :closed', 'closedAt = :now', 'fixedBy = :by', 'fixedAt = :now');
        values[':closed'] = { S: 'CLOSED' };
        values[':by'] = { S: decision.fixedBy };
        remove.push('reminderDueAt');
      }
      if (decision.kind === 'OPEN' || decision.kind === 'REMIND') {
        if (decision.reminderDueAt) {
          set.push('reminderDueAt = :due');
          values[':due'] = { S: decision.reminderDueAt };
        } else remove.push('reminderDueAt');
      }
      if (silenced > 0) {
        set.push('silencedDisables = :noneSilenced');
        values[':noneSilenced'] = { N: '0' };
      }
      if (history.length > 0) {
        set.push(HISTORY_APPEND);
        Object.assign(values, historyValues(history));
      }
      try {
        const claimed = await this.ddb.send(this.claim(key, facts, set, remove, values, history.length > 0));
        if (history.length > 0) await this.trimHistory(key, claimed.Attributes);
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          facts = incidentFacts(error.Item ?? {});
          continue;
        }
        if (RETRYABLE.has(awsErrorName(error)) && attempt + 1 < this.attempts) {
          await this.sleep(Math.random() * this.baseDelayMs * 2 ** (attempt + 1));
          continue;
        }
        throw new AwsCallError('UpdateItem', error, key);
      }
      const base = { tableArn: key, accountId: f.accountId, region: f.region, tableName: f.tableName, status: f.status, reasons: [...f.reasons], at: run.seenAt };
      const transitions: Transition[] = [];
      if (decision.kind === 'OPEN') transitions.push({ ...base, kind: 'NEW', incidentId: decision.incidentId, openedAt: run.seenAt });
      if (decision.kind === 'REMIND') transitions.push({ ...base, kind: 'REMINDER', incidentId: decision.incidentId, openedAt: facts.openedAt ?? run.seenAt, reminder: decision.reminder });
      if (decision.kind === 'RESOLVE') transitions.push({ ...base, kind: 'RESOLVED', incidentId: decision.incidentId, openedAt: facts.openedAt ?? run.seenAt, fixedBy: decision.fixedBy });
      if (silenced > 0) {
        transitions.push({ ...base, kind: 'LOOP', incidentId: facts.incidentId ?? '', openedAt: facts.openedAt ?? run.seenAt, silencedDisables: silenced, disables: disablesInWindow(facts.disables, now, settings) });
      }
      const open =
        decision.kind === 'OPEN' || decision.kind === 'REMIND'
          ? { tableArn: key, incidentId: decision.incidentId, openedAt: decision.kind === 'OPEN' ? run.seenAt : (facts.openedAt ?? run.seenAt) }
          : decision.kind === 'NONE'
            ? stillOpen()
            : undefined;
      return { transitions, ...optional(open), facts };
    }
    throw new AwsCallError('UpdateItem', new Error('the lifecycle step lost the race on every attempt'), key);
  }

  /** The conditional UpdateItem that claims a lifecycle step: the version read must still be the item's. */
  private claim(key: string, facts: IncidentFacts, set: string[], remove: string[], values: Record<string, AttributeValue>, appends: boolean): UpdateItemCommand {
    const version = facts.lifecycleVersion;
    return new UpdateItemCommand({
      TableName: this.tableName,
      Key: { [LEDGER_KEY]: { S: key } },
      UpdateExpression: `SET ${[...set, 'lifecycleVersion = :version'].join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
      ConditionExpression: version === undefined ? 'attribute_not_exists(lifecycleVersion)' : 'lifecycleVersion = :expected',
      ExpressionAttributeValues: { ...values, ':version': { N: String((version ?? 0) + 1) }, ...(version === undefined ? {} : { ':expected': { N: String(version) } }) },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ...(appends ? { ReturnValues: 'UPDATED_NEW' as const } : {}),
    });
  }

  /**
   * Closes a table's open incident as fixed by `fixedBy` (the scan, after it re-enabled PITR).
   * Conditioned on that incident still being open: returns the RESOLVED transition, or undefined
   * when another writer closed or replaced it first.
   */
  async resolve(t: Pick<Transition, 'tableArn' | 'accountId' | 'region' | 'tableName' | 'incidentId' | 'openedAt' | 'status' | 'reasons'>, fixedBy: string, at: string): Promise<Transition | undefined> {
    try {
      const out = await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [LEDGER_KEY]: { S: t.tableArn } },
          UpdateExpression: `SET incidentState = :closed, closedAt = :now, fixedBy = :by, fixedAt = :now, lifecycleVersion = if_not_exists(lifecycleVersion, :zero) + :one, ${HISTORY_APPEND} REMOVE reminderDueAt`,
          ConditionExpression: 'incidentId = :incident AND incidentState = :open',
          ExpressionAttributeValues: {
            ':closed': { S: 'CLOSED' },
            ':open': { S: 'OPEN' },
            ':now': { S: at },
            ':by': { S: fixedBy },
            ':incident': { S: t.incidentId },
            ':zero': { N: '0' },
            ':one': { N: '1' },
            ...historyValues([
              // The scan re-enabled PITR itself (lib/act/close-incidents.ts): what pitr-guard did, then the close.
              ...(fixedBy === FIXED_BY_PITR_GUARD ? [{ at, event: 'REMEDIATED' as const, detail: 'pitr-guard re-enabled PITR and verified it (scan)' }] : []),
              { at, event: 'INCIDENT_CLOSED', detail: `${t.incidentId}: fixed by ${fixedBy}` },
            ]),
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      await this.trimHistory(t.tableArn, out.Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw new AwsCallError('UpdateItem', error, t.tableArn);
    }
    return { ...t, kind: 'RESOLVED', fixedBy, at };
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

  private async send(command: UpdateItemCommand): Promise<void> {
    await this.ddb.send(command);
  }
}

/** The STATUS_CHANGED history entry of a status write (`from` undefined: a new item). */
function statusEntry(f: Finding, run: LedgerRun, from: string | undefined): HistoryEntry {
  return { at: run.seenAt, event: 'STATUS_CHANGED', detail: `${from ?? 'first seen'} -> ${f.status} (${f.reasons.join(', ')})` };
}

function facts(f: Finding, run: LedgerRun): Record<string, AttributeValue> {
  return {
    ':account': { S: f.accountId },
    ':region': { S: f.region },
    ':name': { S: f.tableName },
    ':reasons': { L: f.reasons.map((r) => ({ S: r })) },
    ':seen': { S: run.seenAt },
    ':run': { S: run.runId },
  };
}

/** The last successful drill the item carries (attribute lastSuccessfulDrill), as an optional field. */
function drillOf(item: Record<string, AttributeValue>): { drill?: DrillSummary } {
  const drill = lastSuccessfulDrill(item.lastSuccessfulDrill?.S);
  return drill ? { drill } : {};
}

export const permissions: readonly import('../core/iam').Permission[] = [
  {
    sid: 'FindingsLedger',
    actions: ['dynamodb:UpdateItem'],
    resource: 'findingsTable',
    why: 'records each table’s status, since when, the run that saw it, and the steps of its incident (alert lifecycle), in the findings ledger',
  },
];
