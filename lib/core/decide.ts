/**
 * The decision, as a pure function: (finding, policy, the table's `pitr-guard:mode` tag, dry run) →
 * the planned action and why. No I/O: the scheduled scan, `scan --fix` and the CloudTrail reactor
 * all decide here, once per table, so they can never disagree about what to do with a table.
 *
 * - The mode is the policy's; the per-table tag `pitr-guard:mode` may only make it stricter
 *   (report → alert → remediate), never weaker, so a tag is not a way around the guard.
 * - Only a NON_COMPLIANT table is ever changed, only in mode remediate, never in a dry run.
 * - An ERROR finding (its facts could not be read) is not acted on: the read failure is the result.
 *   `transient` says whether trying again later can help (throttling, 5xx, timeouts, network).
 */
import { MODES, type Finding, type Mode, type Policy } from './types';

export type DecidedAction =
  /** Switch PITR on with `recoveryPeriodInDays`. */
  | 'ENABLE'
  /** Nothing to do: COMPLIANT, EXEMPT or NOT_APPLICABLE. */
  | 'NONE'
  /** Non-compliant, but the effective mode is report or alert. */
  | 'LEAVE_MODE'
  /** Non-compliant, mode remediate, but a dry run. */
  | 'LEAVE_DRY_RUN'
  /** The table's state could not be read: nothing can be decided about it. */
  | 'UNREADABLE';

export interface Decision {
  action: DecidedAction;
  /** The effective mode: the policy's, made stricter by the tag. */
  mode: Mode;
  /** One human sentence. */
  why: string;
  /** The period requested (ENABLE, LEAVE_DRY_RUN). */
  recoveryPeriodInDays?: number;
  /** A tag value that was ignored (weaker than the policy, or not a mode). */
  ignoredTag?: string;
  /** UNREADABLE: trying again later can help. */
  transient?: boolean;
}

const STRICTNESS: Record<Mode, number> = { report: 0, alert: 1, remediate: 2 };

/**
 * The mode for one table: the policy's mode, or the `pitr-guard:mode` tag's if that is stricter.
 * A weaker or unknown tag value is ignored and reported in `ignoredTag`.
 */
export function effectiveMode(policyMode: Mode, modeTag: string | null | undefined, readOnly = false): { mode: Mode; ignoredTag?: string } {
  const chosen = modeOf(policyMode, modeTag);
  // A read-only stack (param readOnly) holds no UpdateContinuousBackups: a remediate tag counts as alert.
  return readOnly && chosen.mode === 'remediate' ? { mode: 'alert', ignoredTag: modeTag ?? 'remediate' } : chosen;
}

function modeOf(policyMode: Mode, modeTag: string | null | undefined): { mode: Mode; ignoredTag?: string } {
  if (modeTag === undefined || modeTag === null) return { mode: policyMode };
  const value = modeTag.trim().toLowerCase();
  if (!(MODES as readonly string[]).includes(value)) return { mode: policyMode, ignoredTag: modeTag };
  const tagMode = value as Mode;
  if (STRICTNESS[tagMode] > STRICTNESS[policyMode]) return { mode: tagMode };
  if (STRICTNESS[tagMode] < STRICTNESS[policyMode]) return { mode: policyMode, ignoredTag: modeTag };
  return { mode: policyMode };
}

/** AWS error names after which the same call may well succeed later. */
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'NetworkingError',
]);

/** Throttling, server errors, timeouts and network failures: worth another attempt later. */
export function isTransientError(errorName: string, httpStatus?: number): boolean {
  if (TRANSIENT_NAMES.has(errorName) || /throttl|timeout|timed out/i.test(errorName)) return true;
  return typeof httpStatus === 'number' && httpStatus >= 500;
}

export function decide(finding: Finding, policy: Pick<Policy, 'mode' | 'minRecoveryDays' | 'readOnly'>, modeTag: string | null | undefined, dryRun: boolean): Decision {
  const { mode, ignoredTag } = effectiveMode(policy.mode, modeTag, policy.readOnly === true);
  const tag = ignoredTag !== undefined ? { ignoredTag } : {};
  const period = policy.minRecoveryDays;
  switch (finding.status) {
    case 'ERROR': {
      const e = finding.error;
      const transient = e ? isTransientError(e.errorName) : false;
      return { action: 'UNREADABLE', mode, transient, why: e ? `Could not read the table: ${e.operation} failed with ${e.errorName}.` : finding.message, ...tag };
    }
    case 'COMPLIANT':
      return { action: 'NONE', mode, why: `Already compliant: ${finding.message}`, ...tag };
    case 'EXEMPT':
      return { action: 'NONE', mode, why: `Left as it is: ${finding.message}`, ...tag };
    case 'NOT_APPLICABLE':
      return { action: 'NONE', mode, why: `Nothing to do: ${finding.message}`, ...tag };
    case 'NON_COMPLIANT':
      if (mode !== 'remediate') {
        const why = policy.readOnly && ignoredTag !== undefined ? 'This stack is read-only (param readOnly): PITR was left as it is and alerted on.' : `Mode is ${mode}: PITR was left as it is.`;
        return { action: 'LEAVE_MODE', mode, why, ...tag };
      }
      if (dryRun) {
        return { action: 'LEAVE_DRY_RUN', mode, recoveryPeriodInDays: period, why: `Dry run: would have enabled PITR with a ${period}-day recovery period; nothing was changed.`, ...tag };
      }
      return { action: 'ENABLE', mode, recoveryPeriodInDays: period, why: `${finding.message} Enabling PITR with a ${period}-day recovery period.`, ...tag };
  }
}
