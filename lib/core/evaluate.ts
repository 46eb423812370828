/**
 * The one compliance rule, as a pure function: (table facts, policy, now) → Finding.
 * No I/O, no clock of its own: the scheduled scan, the CloudTrail reactor, the Config rule and the
 * CLI all call it, so they can never disagree about a table.
 */
import { withLinks } from './links';
import { days } from './text';
import { EXEMPT_UNTIL_TAG, MODE_TAG, type Exemption, type Finding, type PitrSummary, type Policy, type ReasonCode, type TableFacts } from './types';

export type EvaluationPolicy = Pick<Policy, 'minRecoveryDays' | 'exemptTag'>;

/** AWS's default when RecoveryPeriodInDays is absent from an ENABLED description. */
export const DEFAULT_RECOVERY_DAYS = 35;
const DAY_MS = 86_400_000;
const NOT_APPLICABLE_STATES: Record<string, ReasonCode> = {
  DELETING: 'TABLE_DELETING',
  ARCHIVING: 'TABLE_ARCHIVING',
  ARCHIVED: 'TABLE_ARCHIVED',
};

/**
 * Every finding carries the table's cost (lib/core/cost.ts) and, where the facts have them, its
 * restore source and replica set (lib/core/links.ts), whatever path produced it.
 */
export function evaluate(facts: TableFacts, policy: EvaluationPolicy, now: Date): Finding {
  return withLinks(evaluateStatus(facts, policy, now), facts);
}

function evaluateStatus(facts: TableFacts, policy: EvaluationPolicy, now: Date): Finding {
  const pitr = pitrSummary(facts, now);
  const base = {
    accountId: facts.accountId,
    region: facts.region,
    tableName: facts.tableName,
    tableArn: facts.tableArn ?? null,
    tableStatus: facts.tableStatus ?? null,
    pitr,
    modeTag: facts.tags?.[MODE_TAG] ?? null,
  };

  if (facts.error) {
    const e = facts.error;
    return {
      ...base,
      status: 'ERROR',
      reasons: ['READ_FAILED'],
      message: `Could not read the table's state: ${e.operation} failed with ${e.errorName}${e.message ? ` (${e.message})` : ''}.`,
      exemption: null,
      error: e,
    };
  }

  const naCode = facts.tableStatus ? NOT_APPLICABLE_STATES[facts.tableStatus] : undefined;
  if (naCode) {
    return { ...base, status: 'NOT_APPLICABLE', reasons: [naCode], message: `Table is ${facts.tableStatus}; PITR does not apply.`, exemption: null };
  }

  const { exemption, warning, note } = readExemption(facts.tags ?? {}, policy.exemptTag, now);
  if (exemption?.active) {
    const until = exemption.until ? ` until ${exemption.until}` : '';
    return { ...base, status: 'EXEMPT', reasons: ['EXEMPT'], message: `Exempt from the PITR policy${until}: ${exemption.reason}.`, exemption };
  }
  const warnings: ReasonCode[] = warning ? [warning] : [];
  const suffix = note ? ` ${note}` : '';

  if (pitr.status !== 'ENABLED') {
    const restored = facts.restoreSummary ? restoredSentence(facts) : '';
    return {
      ...base,
      status: 'NON_COMPLIANT',
      reasons: ['PITR_DISABLED', ...(restored ? (['RESTORED_WITHOUT_PITR'] as const) : []), ...warnings],
      message: `${disabledSentence(pitr.status)}${restored}${suffix}`,
      exemption,
    };
  }

  const period = pitr.recoveryPeriodInDays ?? DEFAULT_RECOVERY_DAYS;
  if (period < policy.minRecoveryDays) {
    return {
      ...base,
      status: 'NON_COMPLIANT',
      reasons: ['RECOVERY_PERIOD_TOO_SHORT', ...warnings],
      message: `PITR is enabled but its recovery period is ${days(period)}, shorter than the required ${days(policy.minRecoveryDays)}.${suffix}`,
      exemption,
    };
  }

  const earliest = facts.pitr?.earliestRestorableDateTime;
  const windowStart = now.getTime() - policy.minRecoveryDays * DAY_MS;
  if (earliest && earliest.getTime() > windowStart) {
    return {
      ...base,
      status: 'COMPLIANT',
      reasons: ['PITR_ENABLED', 'RESTORE_WINDOW_NOT_FULL', ...warnings],
      message: `PITR is enabled (${days(period)}), but only ${days(pitr.restorableDays ?? 0)} can be restored yet: it was enabled on ${earliest.toISOString()}.${suffix}`,
      exemption,
    };
  }

  return {
    ...base,
    status: 'COMPLIANT',
    reasons: ['PITR_ENABLED', ...warnings],
    message: `PITR is enabled with a recovery period of ${days(period)}.${suffix}`,
    exemption,
  };
}

/** A restored table starts with PITR off (RestoreTableToPointInTime / RestoreTableFromBackup). */
function restoredSentence(facts: TableFacts): string {
  const r = facts.restoreSummary ?? {};
  const source = r.sourceBackupArn ? `backup ${r.sourceBackupArn}` : r.sourceTableArn ? `table ${r.sourceTableArn}` : 'an unnamed source';
  const when = r.restoreDateTime ? ` at ${r.restoreDateTime.toISOString()}` : '';
  return ` The table was restored from ${source}${when}, and a restored table starts with PITR off.`;
}

function disabledSentence(status: string | null): string {
  if (status === 'DISABLED') return 'PITR is disabled.';
  if (status === 'MISSING' || status === null) return 'PITR is not enabled (DynamoDB returned no point-in-time recovery description).';
  return `PITR is not enabled yet (status ${status}).`;
}

export function pitrSummary(facts: TableFacts, now: Date): PitrSummary {
  const p = facts.pitr;
  if (!p) {
    return { status: null, recoveryPeriodInDays: null, earliestRestorableDateTime: null, latestRestorableDateTime: null, restorableDays: null };
  }
  const enabled = p.status === 'ENABLED';
  const earliest = p.earliestRestorableDateTime;
  const latest = p.latestRestorableDateTime ?? now;
  return {
    status: p.status,
    recoveryPeriodInDays: p.recoveryPeriodInDays ?? (enabled ? DEFAULT_RECOVERY_DAYS : null),
    earliestRestorableDateTime: earliest?.toISOString() ?? null,
    latestRestorableDateTime: p.latestRestorableDateTime?.toISOString() ?? null,
    restorableDays: enabled && earliest ? Math.max(0, Math.floor(((latest.getTime() - earliest.getTime()) / DAY_MS) * 10) / 10) : null,
  };
}

interface ExemptionRead {
  exemption: Exemption | null;
  warning?: ReasonCode;
  note?: string;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The end (exclusive) of the UTC day named by YYYY-MM-DD, or undefined if it is not a real date. */
export function endOfUtcDay(value: string): Date | undefined {
  const m = ISO_DATE.exec(value);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const start = new Date(Date.UTC(y, mo - 1, d));
  if (start.getUTCFullYear() !== y || start.getUTCMonth() !== mo - 1 || start.getUTCDate() !== d) return undefined;
  return new Date(start.getTime() + DAY_MS);
}

function readExemption(tags: Record<string, string>, exemptTag: string, now: Date): ExemptionRead {
  const raw = tags[exemptTag];
  if (raw === undefined) return { exemption: null };
  const reason = raw.trim();
  const until = tags[EXEMPT_UNTIL_TAG]?.trim() || undefined;
  const exemption: Exemption = { reason, ...(until ? { until } : {}), active: false };
  if (reason === '') {
    return { exemption, warning: 'EXEMPTION_WITHOUT_REASON', note: `The ${exemptTag} tag is ignored because it gives no reason.` };
  }
  if (until !== undefined) {
    const end = endOfUtcDay(until);
    if (!end) {
      return { exemption, warning: 'EXEMPTION_INVALID_EXPIRY', note: `The exemption is ignored because ${EXEMPT_UNTIL_TAG}=${JSON.stringify(until)} is not a YYYY-MM-DD date.` };
    }
    if (now.getTime() >= end.getTime()) {
      return { exemption, warning: 'EXEMPTION_EXPIRED', note: `The exemption expired at the end of ${until}.` };
    }
  }
  exemption.active = true;
  return { exemption };
}
