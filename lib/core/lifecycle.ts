/**
 * The alert lifecycle: pure decisions, no I/O, no clock (the caller passes `now`).
 *
 * One incident per table at a time, kept on the table's findings-ledger item (docs/ledger.md):
 *
 *   no open incident + NON_COMPLIANT or ERROR           → OPEN    (alert "new")
 *   open incident    + still NON_COMPLIANT or ERROR,
 *                      reminderDueAt ≤ now (remindHours > 0) → REMIND  (alert "reminder")
 *   open incident    + COMPLIANT, EXEMPT, NOT_APPLICABLE → RESOLVE (alert "resolved", fixed by whom if known)
 *   anything else                                       → NONE    (no alert)
 *
 * Loop protection: every disable the reactor sees is recorded (event ID, time, principal, user
 * agent) in a list trimmed to the window. With limit L, disables 1 … L-1 in the window alert as
 * usual, disable L sends one escalation naming everyone involved, later ones send nothing and are
 * counted (`silencedDisables`) for the next scan's digest. A retried event (same ID) is not counted twice.
 */
import type { FindingStatus } from './types';

export interface LifecycleSettings {
  /** Hours between reminders while an incident stays open; 0 = never remind. */
  remindHours: number;
  /** Disables of one table within the window that trigger the escalation; 0 = loop protection off. */
  loopLimit: number;
  loopWindowMinutes: number;
}

export const LIFECYCLE_DEFAULTS: LifecycleSettings = { remindHours: 24, loopLimit: 3, loopWindowMinutes: 60 };

/** Who fixed a table: pitr-guard, a principal's ARN (from CloudTrail), or not known. */
export const FIXED_BY_PITR_GUARD = 'pitr-guard';
export const FIXED_BY_UNKNOWN = 'unknown';

/** At most this many disables are kept on an item (the window bounds them too). */
export const MAX_DISABLES_KEPT = 50;

export interface DisableRecord {
  eventId: string;
  /** The event's time (ISO 8601), else the time the reactor received it. */
  at: string;
  principal: string;
  userAgent?: string;
}

/** The lifecycle attributes of a ledger item (absent = never set). */
export interface IncidentFacts {
  incidentId?: string;
  incidentState?: 'OPEN' | 'CLOSED';
  openedAt?: string;
  closedAt?: string;
  lastAlertedAt?: string;
  reminderDueAt?: string;
  reminders?: number;
  fixedBy?: string;
  fixedAt?: string;
  disables?: DisableRecord[];
  /** Disables loop protection kept quiet that no digest has counted yet. */
  silencedDisables?: number;
  /** Optimistic lock of every lifecycle write (scan and reactor). */
  lifecycleVersion?: number;
}

/** A lifecycle step one writer won (conditional UpdateItem): the caller alerts it, nobody else does. */
export interface Transition {
  kind: 'NEW' | 'REMINDER' | 'RESOLVED' | 'LOOP';
  tableArn: string;
  accountId: string;
  region: string;
  tableName: string;
  /** The table's status as this write saw it. */
  status: FindingStatus;
  reasons: string[];
  incidentId: string;
  openedAt: string;
  /** When the step happened (the run's evaluation time, or the reactor's clock). */
  at: string;
  /** RESOLVED: pitr-guard, a principal's ARN, or unknown. */
  fixedBy?: string;
  /** REMINDER: its number (1 = first reminder). */
  reminder?: number;
  /** LOOP: disables loop protection kept quiet since the last digest, and every disable in the window. */
  silencedDisables?: number;
  disables?: DisableRecord[];
}

export type IncidentDecision =
  | { kind: 'NONE' }
  | { kind: 'OPEN'; incidentId: string; reminderDueAt?: string }
  | { kind: 'REMIND'; incidentId: string; reminder: number; reminderDueAt?: string }
  | { kind: 'RESOLVE'; incidentId: string; fixedBy: string };

const BAD: readonly FindingStatus[] = ['NON_COMPLIANT', 'ERROR'];

export const isBadStatus = (status: FindingStatus): boolean => BAD.includes(status);

export function isOpen(facts: IncidentFacts): boolean {
  return facts.incidentState === 'OPEN' && typeof facts.incidentId === 'string';
}

/** The next reminder after `from`, or undefined when reminders are off. */
export function nextReminder(from: Date, settings: Pick<LifecycleSettings, 'remindHours'>): string | undefined {
  return settings.remindHours > 0 ? new Date(from.getTime() + settings.remindHours * 3_600_000).toISOString() : undefined;
}

/** An incident's ID: the table and the moment it opened (one per entry into NON_COMPLIANT / ERROR). */
export const incidentIdFor = (tableArn: string, openedAt: Date): string => `${tableArn}#${openedAt.toISOString()}`;

/** What the scan does with one table's incident, given the item's lifecycle attributes and the table's status now. */
export function decideIncident(tableArn: string, facts: IncidentFacts, status: FindingStatus, now: Date, settings: Pick<LifecycleSettings, 'remindHours'>, fixedBy: string = FIXED_BY_UNKNOWN): IncidentDecision {
  const bad = isBadStatus(status);
  if (!isOpen(facts)) {
    if (!bad) return { kind: 'NONE' };
    const reminderDueAt = nextReminder(now, settings);
    return { kind: 'OPEN', incidentId: incidentIdFor(tableArn, now), ...(reminderDueAt ? { reminderDueAt } : {}) };
  }
  const incidentId = facts.incidentId as string;
  if (!bad) return { kind: 'RESOLVE', incidentId, fixedBy };
  if (settings.remindHours <= 0) return { kind: 'NONE' };
  // An open incident without a due time (opened while reminders were off) gets one from its last alert.
  const due = facts.reminderDueAt ?? nextReminder(new Date(facts.lastAlertedAt ?? facts.openedAt ?? now.toISOString()), settings);
  const dueMs = due === undefined ? NaN : Date.parse(due);
  if (!Number.isFinite(dueMs) || dueMs > now.getTime()) return { kind: 'NONE' };
  const reminderDueAt = nextReminder(now, settings);
  return { kind: 'REMIND', incidentId, reminder: (facts.reminders ?? 0) + 1, ...(reminderDueAt ? { reminderDueAt } : {}) };
}

export type LoopAlert = 'ORDINARY' | 'ESCALATION' | 'SILENT';

export interface LoopDecision {
  /** The list to store: in the window, this disable included, oldest first, at most MAX_DISABLES_KEPT. */
  disables: DisableRecord[];
  /** Disables in the window, this one included. */
  count: number;
  alert: LoopAlert;
  /** The event was recorded before (a retry): nothing new is counted. */
  duplicate: boolean;
}

/** Where `count` disables in the window put this one: before the limit alert, at it escalate, past it stay quiet. */
export function loopAlert(count: number, settings: Pick<LifecycleSettings, 'loopLimit'>): LoopAlert {
  if (settings.loopLimit <= 0 || count < settings.loopLimit) return 'ORDINARY';
  return count === settings.loopLimit ? 'ESCALATION' : 'SILENT';
}

/** Records one disable (pure): trims the window, ignores a retried event, and says how to alert it. */
export function recordDisable(previous: readonly DisableRecord[] | undefined, disable: DisableRecord, now: Date, settings: Pick<LifecycleSettings, 'loopLimit' | 'loopWindowMinutes'>): LoopDecision {
  const from = now.getTime() - settings.loopWindowMinutes * 60_000;
  const inWindow = (d: DisableRecord) => {
    const t = Date.parse(d.at);
    return Number.isFinite(t) && t > from;
  };
  const prior = (previous ?? []).filter(inWindow);
  const seen = prior.findIndex((d) => d.eventId === disable.eventId);
  if (seen >= 0) return { disables: prior.slice(-MAX_DISABLES_KEPT), count: seen + 1, alert: loopAlert(seen + 1, settings), duplicate: true };
  // An event time outside the window (clock skew, a late delivery) still counts now: it happened.
  const entry = inWindow(disable) ? disable : { ...disable, at: now.toISOString() };
  const disables = [...prior, entry].sort((a, b) => a.at.localeCompare(b.at)).slice(-MAX_DISABLES_KEPT);
  const count = prior.length + 1;
  return { disables, count, alert: loopAlert(count, settings), duplicate: false };
}

/** Disables in the window ending `now` (for REPEATEDLY_DISABLED on the scan's finding). */
export function disablesInWindow(disables: readonly DisableRecord[] | undefined, now: Date, settings: Pick<LifecycleSettings, 'loopWindowMinutes'>): DisableRecord[] {
  const from = now.getTime() - settings.loopWindowMinutes * 60_000;
  return (disables ?? []).filter((d) => {
    const t = Date.parse(d.at);
    return Number.isFinite(t) && t > from && t <= now.getTime() + 5 * 60_000;
  });
}

const IAC_AGENTS: readonly [RegExp, string][] = [
  [/terraform/i, 'Terraform'],
  [/cloudformation/i, 'CloudFormation'],
  [/pulumi/i, 'Pulumi'],
  [/\bcdk\b|aws-cdk|cdk\//i, 'AWS CDK'],
  [/crossplane/i, 'Crossplane'],
  [/ansible/i, 'Ansible'],
];
const SCRIPT_AGENTS: readonly [RegExp, string][] = [
  [/boto3|botocore/i, 'boto3'],
  [/aws-cli/i, 'the AWS CLI'],
  [/aws-sdk|aws-sdk-js|aws-sdk-java|aws-sdk-go|aws-sdk-/i, 'an AWS SDK'],
];

/** The likely cause of a loop, from the user agents: infrastructure as code, a script, or not known. */
export function likelyCause(disables: readonly DisableRecord[]): string {
  const agents = disables.map((d) => d.userAgent ?? '');
  const find = (list: readonly [RegExp, string][]) => [...new Set(agents.flatMap((a) => list.filter(([re]) => re.test(a)).map(([, name]) => name)))];
  const iac = find(IAC_AGENTS);
  if (iac.length > 0) {
    return `infrastructure as code (${iac.join(', ')}) reverting the change: its template or state says PITR off. Set point_in_time_recovery / PointInTimeRecoverySpecification to enabled there.`;
  }
  const scripts = find(SCRIPT_AGENTS);
  if (scripts.length > 0) {
    return `a script or job (${scripts.join(', ')}) switching PITR off again and again. Find it by the principal and source IP, and stop it.`;
  }
  const principals = new Set(disables.map((d) => d.principal));
  return principals.size > 1
    ? 'several principals switching PITR off: an automation or a disagreement between teams. Talk to the principals below.'
    : 'a principal switching PITR off again after every re-enable (a scheduled job or a person). Talk to the principal below.';
}
