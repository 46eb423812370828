/**
 * What the reactor says about an outcome, and to whom, across attempts of one event.
 *
 * - A final outcome (ENABLED, UNVERIFIED, SKIPPED_*, a permanent FAILED, an exempt table weakened)
 *   is alerted once, on every channel.
 * - A passing one (DEFERRED, a transient FAILED) is alerted once per event, on the first attempt
 *   that sees it, saying what happens next; later attempts stay quiet unless their outcome is final.
 * - A channel that did not deliver is remembered with the event (EventMemory, kept by the
 *   de-duplication middleware): the next attempt re-sends that alert to that channel only.
 * - GONE, ALREADY_COMPLIANT (but an exempt table weakened) and report mode alert nobody.
 */
import { AlertDeliveryError, deliver, type Channel, type DeliveryFailure, type DeliveryReport } from '../notify';
import { renderChangeAlert, type RenderedAlert } from '../notify/format';
import type { Logger } from '../runtime/logger';
import type { RemediationOutcome, RemediationResult } from '../act/outcome';
import type { TableChange } from '../events/cloudtrail';
import type { Policy } from '../core/types';
import type { Notifier } from '../notify';
import type { Metrics } from '../runtime/metrics';

/** Attempts Lambda makes of one event: serverless.yml pitrChange maximumRetryAttempts (2) + 1. */
export const REACTOR_MAX_ATTEMPTS = 3;
/** A clock this far ahead of ours is not believed. */
const FUTURE_SKEW_MS = 5 * 60_000;

/** Remembered with the event between attempts. */
export interface EventMemory {
  /** The alert of a passing outcome (deferred, will be retried) went out already. */
  interimAlertSent?: boolean;
  /** An alert some channel has not delivered yet. */
  pending?: { alert: RenderedAlert; final: boolean; delivered: Channel[]; result?: RemediationResult };
}

/** The event's age from its eventTime; a missing, unparsable or future time falls back to the receive time. */
export function eventAge(eventTime: string | undefined, receivedAt: Date): { ageMs: number; problem?: string } {
  if (eventTime === undefined || eventTime === '') return { ageMs: 0, problem: 'missing' };
  const t = Date.parse(eventTime);
  if (!Number.isFinite(t)) return { ageMs: 0, problem: `not a date (${JSON.stringify(eventTime.slice(0, 40))})` };
  const age = receivedAt.getTime() - t;
  if (age < -FUTURE_SKEW_MS) return { ageMs: 0, problem: `in the future (${eventTime.slice(0, 40)})` };
  return { ageMs: Math.max(0, age) };
}

/** What happens next after a FAILED outcome, in the alert's words. */
export function nextStep(outcome: Pick<RemediationOutcome, 'transient'>, attempt: number | undefined, max = REACTOR_MAX_ATTEMPTS): string {
  if (!outcome.transient) return 'Not retried: this needs a person (the command below enables PITR by hand).';
  if (attempt === undefined) return `pitr-guard will be retried by Lambda (up to ${max - 1} more times); if every attempt fails, the event goes to the failed-events queue and its alarm fires.`;
  if (attempt < max) return `pitr-guard will be retried (attempt ${attempt} of ${max}; Lambda retries after 1 and 2 minutes).`;
  return `pitr-guard gave up: event in the failed-events queue (attempt ${attempt} of ${max}); its alarm fires, and the next scheduled scan tries the table again.`;
}

/** The call switched PITR off, or set a recovery period below the policy's minimum. */
export function weakensPitr(change: TableChange, minRecoveryDays: number): boolean {
  if (change.eventName !== 'UpdateContinuousBackups') return false;
  const period = change.requested?.recoveryPeriodInDays;
  return change.requested?.enabled === false || (period !== undefined && period < minRecoveryDays);
}

export interface AlertPlan {
  alert?: RenderedAlert;
  /** Send only there (a re-send of a pending alert). */
  only?: Channel[];
  /** Channels that have this alert already (a re-send). */
  already?: Channel[];
  log?: { level: 'info' | 'warn'; message: string; fields: Record<string, unknown> };
}

/** Pure: whom to tell what about this outcome, given what earlier attempts did. */
export function alertPlan(change: TableChange, outcome: RemediationOutcome, policy: Pick<Policy, 'minRecoveryDays'>, memory: EventMemory, passing: boolean, channels: readonly Channel[], about: { accountName?: string } = {}): AlertPlan {
  const exemptWeakened = outcome.result === 'ALREADY_COMPLIANT' && outcome.before.status === 'EXEMPT' && weakensPitr(change, policy.minRecoveryDays);
  // pitr-guard's own re-enable call, a compliant or exempt table, a table deleted since: nothing to say.
  if (outcome.result === 'GONE' || (outcome.result === 'ALREADY_COMPLIANT' && !exemptWeakened)) return {};
  if (outcome.mode === 'report') {
    return exemptWeakened
      ? { log: { level: 'info', message: `PITR weakened on an exempt table (mode report: no alert, no change): ${outcome.before.message}`, fields: { event: 'exempt-change', status: outcome.before.status } } }
      : { log: { level: 'warn', message: `not compliant (mode report: no alert, no change): ${outcome.before.message}`, fields: { event: 'finding', status: outcome.before.status, reasons: outcome.before.reasons } } };
  }
  if (passing && memory.interimAlertSent) {
    const pending = memory.pending;
    if (!pending || pending.final) return {};
    return { alert: pending.alert, already: pending.delivered, only: channels.filter((c) => !pending.delivered.includes(c)) };
  }
  return { alert: renderChangeAlert({ change, outcome, minRecoveryDays: policy.minRecoveryDays, ...(about.accountName ? { accountName: about.accountName } : {}) }) };
}

export interface Delivery {
  deps: { notifiers: readonly Notifier[]; metrics?: Metrics };
  log: Logger;
  remainingMs?: () => number;
}

export interface Sent {
  summary: { subject: string; lines: string[]; delivered: Channel[]; failed: DeliveryFailure[] };
  /** Channels that still do not have this alert. */
  missing: Channel[];
  detail: string;
}

/** Sends, and records in `memory` which channels have the alert (a pending entry while any is missing). */
export async function deliverPlan(
  plan: { alert: RenderedAlert; final: boolean; only: Channel[]; already?: Channel[]; result?: RemediationResult },
  memory: EventMemory,
  { deps, log, remainingMs }: Delivery,
): Promise<Sent> {
  let report: DeliveryReport;
  try {
    report = await deliver(deps.notifiers, plan.alert, { logger: log, only: plan.only, ...(deps.metrics ? { metrics: deps.metrics } : {}), ...(remainingMs ? { remainingMs } : {}) });
  } catch (error) {
    if (!(error instanceof AlertDeliveryError)) throw error;
    report = { delivered: [], failed: error.failures };
  }
  const delivered = [...new Set([...(plan.already ?? []), ...report.delivered])];
  const missing = deps.notifiers.map((n) => n.channel).filter((c) => !delivered.includes(c));
  if (missing.length > 0) memory.pending = { alert: plan.alert, final: plan.final, delivered, ...(plan.result ? { result: plan.result } : {}) };
  else delete memory.pending;
  if (!plan.final && delivered.length > 0) memory.interimAlertSent = true;
  return {
    summary: { subject: plan.alert.subject, lines: plan.alert.text.trimEnd().split('\n'), delivered: report.delivered, failed: report.failed },
    missing,
    detail: report.failed.map((f) => `${f.channel}: ${f.errorName}: ${f.message}`).join('; ') || 'not delivered',
  };
}
