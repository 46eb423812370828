/**
 * The reactor's findings-ledger write for one event (lib/state/incidents.ts) and loop protection
 * applied to its alert, kept off the reactor's critical path (docs/reactor.md, the call sequence):
 *
 * - round 1: the item is read (`prefetch`, consistent) alongside the claim and the table's reads;
 *   a lost claim drops it, like the reads.
 * - a remediation: the write goes out as soon as UpdateContinuousBackups has answered, alongside
 *   the verifying read (`applied`), deciding from the prefetched item and taking `fixed` (the
 *   incident closed, fixed by pitr-guard) from the update's own answer. Loop protection (which
 *   alert) is committed by that write, so the alert after the verify sends the committed kind.
 *   When the verify disagrees with the update's answer (UNVERIFIED, still not compliant, or
 *   compliant only after ENABLING), `correctFix` flips the incident alongside the alert.
 * - every other outcome (alert mode, dry run, a failed update, an unreachable account): the write
 *   goes out after the act, from the prefetched item, before the alert.
 *
 * Any ledger failure is logged and the alert goes out as usual (ordinary); a concurrent writer
 * (the version changed since the prefetch) makes the write read the item again (extra round trips
 * only in that race).
 */
import type { RemediationOutcome } from '../act/outcome';
import { LIFECYCLE_DEFAULTS, type LifecycleSettings } from '../core/lifecycle';
import type { Policy, TableChange } from '../core/types';
import { renderChangeAlert, renderEscalation } from '../notify/format';
import type { Logger } from '../runtime/logger';
import type { ChangeRecord, IncidentLedger, PrefetchedItem } from '../state/incidents';
import { weakensPitr, type AlertPlan } from './pitr-change-alerts';

/** What the recorder needs of the reactor's deps (PitrChangeDeps). */
export interface RecorderDeps {
  ledger: IncidentLedger;
  /** Reminders and loop protection (default LIFECYCLE_DEFAULTS). */
  lifecycle?: LifecycleSettings;
}

type Written = { record: ChangeRecord } | { error: unknown };

/** One event's ledger write, from the prefetch to the last correction. */
export class ChangeRecorder {
  private readonly prefetched: Promise<PrefetchedItem | undefined>;
  private early?: { fixed: boolean; written: Promise<Written> };
  private readonly background: Promise<unknown>[] = [];

  constructor(
    private readonly change: TableChange,
    private readonly deps: RecorderDeps,
    private readonly at: () => Date,
    minRecoveryDays: number,
  ) {
    // An UpdateContinuousBackups that did not weaken PITR (pitr-guard's own re-enable, which the rule
    // matches with minRecoveryDays below 35) almost always finds the table compliant and records
    // nothing: its item is read only if a write turns out to be needed.
    const unlikely = change.eventName === 'UpdateContinuousBackups' && !weakensPitr(change, minRecoveryDays);
    this.prefetched = unlikely ? Promise.resolve(undefined) : deps.ledger.prefetch(this.table);
  }

  private get table() {
    return { accountId: this.change.accountId, region: this.change.region, tableName: this.change.tableName };
  }

  /** act's hook: UpdateContinuousBackups succeeded, the verify is about to go out; the write goes with it. */
  applied(answer: { compliant: boolean }): void {
    // A remediation is always alerted once verified (ENABLED is final): the write records it as alerted.
    this.early = { fixed: answer.compliant, written: this.write(true, answer.compliant) };
  }

  /** The committed record the alert is planned from (undefined: nothing recorded, or the ledger failed). */
  async record(outcome: RemediationOutcome, plan: AlertPlan, log: Logger): Promise<ChangeRecord | undefined> {
    const fixed = outcome.result === 'ENABLED';
    let written: Written;
    if (this.early) {
      written = await this.early.written;
    } else {
      if (!plan.alert || outcome.before.status === 'EXEMPT') return undefined;
      written = await this.write(true, fixed);
    }
    if ('error' in written) {
      const error = written.error;
      log.error('could not record the incident in the findings ledger: alerting as usual', { event: 'ledger-failed', errorName: (error as { errorName?: string }).errorName, message: (error as Error).message });
      return undefined;
    }
    const recorded = written.record;
    log.info('incident recorded', { event: 'incident', incident: recorded.incident, incidentId: recorded.incidentId, ...(recorded.loop ? { disablesInWindow: recorded.loop.count, loopAlert: recorded.loop.alert } : {}) });
    // A table deleted right after the update keeps what the update answered: there is nothing left to watch.
    if (this.early && this.early.fixed !== fixed && recorded.incidentId && outcome.result !== 'GONE') this.correct(recorded.incidentId, fixed, outcome, log);
    return recorded;
  }

  /** Waits for the calls still under way (the prefetch, a correction, a history trim); never rejects. */
  async drain(): Promise<void> {
    await Promise.all([this.prefetched, ...this.background]);
  }

  private write(alerted: boolean, fixed: boolean): Promise<Written> {
    const a = this.change.actor;
    const now = this.at();
    const eventAt = a.eventTime && Number.isFinite(Date.parse(a.eventTime)) ? new Date(a.eventTime).toISOString() : now.toISOString();
    return this.prefetched
      .then((prefetched) =>
        this.deps.ledger.recordChange({
          table: this.table,
          eventId: this.change.eventId,
          ...(this.change.kind === 'PITR_DISABLED' ? { disable: { at: eventAt, principal: a.arn.slice(0, 2048), ...(a.userAgent ? { userAgent: a.userAgent.slice(0, 1024) } : {}) } } : {}),
          alerted,
          fixed,
          now,
          settings: this.deps.lifecycle ?? LIFECYCLE_DEFAULTS,
          ...(prefetched ? { prefetched } : {}),
          defer: (work) => void this.background.push(work),
        }),
      )
      .then(
        (record) => ({ record }),
        (error: unknown) => ({ error }),
      );
  }

  private correct(incidentId: string, fixed: boolean, outcome: RemediationOutcome, log: Logger): void {
    const why = `the verify after pitr-guard's re-enable found ${outcome.result}${outcome.errorName ? ` (${outcome.errorName})` : ''}`;
    const fields = { event: 'incident-corrected', incidentId, fixed, result: outcome.result };
    this.background.push(
      this.deps.ledger.correctFix({ table: this.table, incidentId, fixed, why, now: this.at(), settings: this.deps.lifecycle ?? LIFECYCLE_DEFAULTS }).then(
        (done) => (done ? log.info(fixed ? 'incident closed: the verify confirmed the re-enable' : 'incident reopened: the verify did not confirm the re-enable', fields) : log.info('incident not corrected: another writer changed it since', { ...fields, event: 'incident-correction-skipped' })),
        (error: unknown) => log.error('could not correct the incident in the findings ledger', { ...fields, event: 'ledger-failed', errorName: (error as { errorName?: string }).errorName, message: (error as Error).message }),
      ),
    );
  }
}

/** Loop protection applied to the plan: the escalation replaces the alert at the limit; past it, nothing is sent. */
export function loopPlan(plan: AlertPlan, change: TableChange, outcome: RemediationOutcome, recorded: ChangeRecord | undefined, deps: { policy: Pick<Policy, 'minRecoveryDays'>; lifecycle?: LifecycleSettings }, log: Logger, accountName?: string): AlertPlan {
  const loop = recorded?.loop;
  if (!loop || !plan.alert || plan.only) return plan;
  const settings = deps.lifecycle ?? LIFECYCLE_DEFAULTS;
  if (loop.alert === 'ORDINARY') {
    if (loop.count < 2 || settings.loopLimit <= 0) return plan;
    // A repeat below the limit: the ordinary alert, saying it is a repeat and when the escalation comes.
    return { alert: renderChangeAlert({ change, outcome, minRecoveryDays: deps.policy.minRecoveryDays, ...(accountName ? { accountName } : {}), repeat: { count: loop.count, windowMinutes: settings.loopWindowMinutes, limit: settings.loopLimit } }) };
  }
  if (!outcome.before.reasons.includes('REPEATEDLY_DISABLED')) outcome.before.reasons.push('REPEATEDLY_DISABLED');
  if (loop.alert === 'SILENT') {
    log.warn(`loop protection: disable ${loop.count} within ${settings.loopWindowMinutes} min, not alerted (counted in the next digest)`, { event: 'loop-silenced', disablesInWindow: loop.count, reasons: outcome.before.reasons });
    return {};
  }
  return { alert: renderEscalation({ change, outcome, disables: loop.disables, settings }) };
}
