/**
 * The mapping from the alert lifecycle (the transitions one scan won in the findings ledger, and
 * the scan's remediation outcomes) to the change digest's sections (digest.ts `ChangeDigestInput`).
 * Pure. The wording of each line is here; the layout of the message is in digest.ts.
 *
 * - NEW: an incident this scan opened; with what pitr-guard did about it (re-enabled and verified
 *   → "fixed by pitr-guard": the scan closed the incident in the same run, so it is not listed
 *   again as resolved and the next scan says nothing about it).
 * - RESOLVED: an incident open before that is closed now, with who fixed it: pitr-guard (this
 *   scan re-enabled it), else "not known" (the table was found compliant, exempt or not applicable).
 * - REMINDER: an incident still open whose reminder was due.
 * - LOOP: disables that loop protection kept quiet since the last digest.
 * - Region, account and shard errors: listed in every digest that is sent, and they alone send one.
 */
import type { RemediationOutcome } from '../act/outcome';
import type { ScanReport } from '../aws/scan';
import { FIXED_BY_PITR_GUARD, FIXED_BY_UNKNOWN, type Transition } from '../core/lifecycle';
import { days, oneLine } from '../core/text';
import type { Finding, Mode } from '../core/types';
import type { ChangeDigestInput, ChangeDigestLine } from './digest';
import { slackCode, slackEscape } from './render-kit';
import { otherReplicasText } from '../core/replica-sets';

export interface LifecycleDigestSource {
  report: Pick<ScanReport, 'accountId' | 'regions' | 'generatedAt' | 'findings' | 'regionErrors'> & { accountErrors?: ScanReport['accountErrors']; shardErrors?: ScanReport['shardErrors'] };
  /** The transitions this scan won (only these are told), the ones the scan's remediation closed included. */
  transitions: Transition[];
  /** This scan's remediation outcomes (for "what pitr-guard did" on new incidents). */
  outcomes: RemediationOutcome[];
  /** Incidents open after the scan. */
  stillOpen: number;
  mode: Mode;
  dryRun: boolean;
  maxListed?: number;
  maxListedSlack?: number;
}

const at = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

function problemOf(t: Transition, finding: Finding | undefined): string {
  if (t.status === 'ERROR') return finding?.error ? `could not be read: ${finding.error.operation} failed with ${finding.error.errorName}` : 'could not be read';
  if (t.reasons[0] === 'RECOVERY_PERIOD_TOO_SHORT') return `recovery period ${days(finding?.pitr.recoveryPeriodInDays ?? 0)}` + replicaNote(finding);
  return 'PITR not enabled' + replicaNote(finding);
}

/** A replica of a global table names its set and the other replicas (lib/core/replica-sets.ts). */
function replicaNote(f: Finding | undefined): string {
  const set = f?.replicaSet;
  return f && set ? `; replica of global table ${set.setId} (other replicas: ${otherReplicasText(set, f)})` : '';
}

function didOf(o: RemediationOutcome | undefined): string | undefined {
  if (!o) return undefined;
  switch (o.result) {
    case 'ENABLED':
      return `re-enabled (${days(o.recoveryPeriodInDays ?? 0)}) and verified: fixed by pitr-guard`;
    case 'FAILED':
      return `remediation FAILED: ${o.errorName ?? 'error'}`;
    case 'DEFERRED':
      return `remediation deferred${o.errorName ? `: ${o.errorName}` : ''}`;
    case 'UNVERIFIED':
      return `enabled, NOT VERIFIED: ${o.errorName ?? 'read failed'}`;
    case 'SKIPPED_DRY_RUN':
      return 'dry run, not changed';
    case 'SKIPPED_MODE':
      return 'alert only, not changed';
    default:
      return undefined;
  }
}

export function fixedByText(fixedBy: string | undefined): string {
  if (fixedBy === FIXED_BY_PITR_GUARD) return 'fixed by pitr-guard';
  if (fixedBy === undefined || fixedBy === FIXED_BY_UNKNOWN) return 'fixed outside pitr-guard (by whom is not known)';
  return `fixed by ${oneLine(fixedBy)}`;
}

/** Slack names the table's account only when it is not the report's (a member account of an Organization scan). */
function line(t: Transition, plainText: string, slackText: string, reportAccount: string): ChangeDigestLine {
  const slackWhere = t.accountId && t.accountId !== reportAccount ? `${t.region}, ${slackCode(t.accountId)}` : t.region;
  return { region: t.region, tableName: t.tableName, plain: `${t.tableName} (${t.region}${t.accountId ? `, ${t.accountId}` : ''}): ${plainText}`, slack: `${slackCode(t.tableName)} (${slackWhere}): ${slackText}` };
}

const byPlace = (a: ChangeDigestLine, b: ChangeDigestLine) => a.region.localeCompare(b.region) || a.tableName.localeCompare(b.tableName);

export function lifecycleDigestInput(src: LifecycleDigestSource): ChangeDigestInput {
  const findings = new Map(src.report.findings.map((f) => [f.tableArn ?? `${f.accountId}/${f.region}/${f.tableName}`, f]));
  const findingOf = (t: Transition) => findings.get(t.tableArn) ?? src.report.findings.find((f) => f.accountId === t.accountId && f.region === t.region && f.tableName === t.tableName);
  const outcomeOf = (t: Transition) => src.outcomes.find((o) => o.accountId === t.accountId && o.region === t.region && o.tableName === t.tableName);
  const openedNow = new Set(src.transitions.filter((t) => t.kind === 'NEW').map((t) => t.incidentId));

  const newIncidents: ChangeDigestLine[] = [];
  const resolved: ChangeDigestLine[] = [];
  const reminders: ChangeDigestLine[] = [];
  const loops: ChangeDigestLine[] = [];
  for (const t of src.transitions) {
    const problem = problemOf(t, findingOf(t));
    if (t.kind === 'NEW') {
      const did = didOf(outcomeOf(t));
      const text = `${problem}${did ? `; ${did}` : ''}`;
      newIncidents.push(line(t, oneLine(text), slackEscape(text), src.report.accountId));
    } else if (t.kind === 'RESOLVED') {
      // Opened and fixed in this same scan: already told under New ("fixed by pitr-guard").
      if (openedNow.has(t.incidentId)) continue;
      const text = `${t.status === 'COMPLIANT' ? 'compliant again' : t.status === 'EXEMPT' ? 'exempt now' : 'no longer applicable'}; ${fixedByText(t.fixedBy)} (open since ${at(t.openedAt)})`;
      resolved.push(line(t, oneLine(text), slackEscape(text), src.report.accountId));
    } else if (t.kind === 'REMINDER') {
      const text = `${problem}, open since ${at(t.openedAt)} (reminder ${t.reminder ?? 1})`;
      reminders.push(line(t, oneLine(text), slackEscape(text), src.report.accountId));
    } else {
      const n = t.disables?.length ?? 0;
      const text = `switched off ${n} time${n === 1 ? '' : 's'} within the loop window; ${t.silencedDisables} disable${t.silencedDisables === 1 ? '' : 's'} not alerted (loop protection)${src.mode === 'remediate' && !src.dryRun ? '; pitr-guard re-enabled it each time' : ''}`;
      loops.push(line(t, oneLine(text), slackEscape(text), src.report.accountId));
    }
  }

  const problems: ChangeDigestLine[] = [];
  for (const a of src.report.accountErrors ?? []) {
    problems.push({
      region: '',
      tableName: a.accountId,
      plain: `Account ${a.accountId}${a.name ? ` (${oneLine(a.name)})` : ''} could not be scanned: ${a.operation} failed with ${oneLine(a.errorName)}; fix: ${a.fix}`,
      slack: `Account ${slackCode(a.accountId)} could not be scanned: ${slackEscape(a.operation)} failed with ${slackCode(a.errorName)}; fix: ${slackEscape(a.fix)}`,
    });
  }
  for (const r of src.report.regionErrors) {
    problems.push({
      region: r.region,
      tableName: '',
      plain: `Region ${r.region}${r.accountId ? ` of account ${r.accountId}` : ''} could not be scanned: ${r.operation} failed with ${oneLine(r.errorName)}`,
      slack: `Region ${slackCode(r.region)}${r.accountId ? ` of account ${slackCode(r.accountId)}` : ''} could not be scanned: ${slackEscape(r.operation)} failed with ${slackCode(r.errorName)}`,
    });
  }

  for (const e of src.report.shardErrors ?? []) {
    problems.push({
      region: e.region,
      tableName: e.accountId,
      plain: `Region ${e.region} of account ${e.accountId} could not be scanned: its shard failed with ${oneLine(e.errorName)}`,
      slack: `Region ${slackCode(e.region)} of account ${slackCode(e.accountId)} could not be scanned: its shard failed with ${slackCode(e.errorName)}`,
    });
  }

  return {
    accountId: src.report.accountId,
    regions: src.report.regions,
    generatedAt: src.report.generatedAt,
    mode: src.mode,
    dryRun: src.dryRun,
    newIncidents: newIncidents.sort(byPlace),
    resolved: resolved.sort(byPlace),
    reminders: reminders.sort(byPlace),
    loops: loops.sort(byPlace),
    problems,
    stillOpen: src.stillOpen,
    ...(src.maxListed ? { maxListed: src.maxListed } : {}),
    ...(src.maxListedSlack ? { maxListedSlack: src.maxListedSlack } : {}),
  };
}
