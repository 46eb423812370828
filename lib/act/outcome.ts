/**
 * What acting on one table came to: the result vocabulary every trigger shares, its short labels,
 * and the one command a person can run to fix a table by hand. Built here once; the alert
 * renderers, the CLI and the reactor only read them.
 */
import type { Finding, Mode } from '../core/types';

export const RESULTS = ['ENABLED', 'ALREADY_COMPLIANT', 'SKIPPED_MODE', 'SKIPPED_DRY_RUN', 'DEFERRED', 'FAILED', 'GONE', 'UNVERIFIED'] as const;
export type RemediationResult = (typeof RESULTS)[number];

/**
 * - ENABLED: PITR was switched on and DescribeContinuousBackups confirmed the table compliant.
 * - ALREADY_COMPLIANT: nothing to do: COMPLIANT, EXEMPT or NOT_APPLICABLE (`before.status` says which).
 * - SKIPPED_MODE: non-compliant, but the effective mode (`mode`) is `report` or `alert`.
 * - SKIPPED_DRY_RUN: non-compliant, mode `remediate`, but the policy is a dry run.
 * - DEFERRED: the table did not become ACTIVE / backups did not become available in time.
 * - FAILED: the table could not be read or updated (`errorName`); `transient` says whether a later
 *   attempt can help (throttling, 5xx, timeout, network) or not (AccessDenied, ValidationException…).
 * - GONE: the table does not exist (deleted since it was listed or since the event).
 * - UNVERIFIED: UpdateContinuousBackups succeeded, but the verifying read failed even when retried:
 *   the state afterwards was not read, so nothing is claimed about it.
 */
export interface RemediationOutcome {
  accountId: string;
  region: string;
  tableName: string;
  result: RemediationResult;
  /** Evaluation of the state the decision was made on. */
  before: Finding;
  /** Evaluation after the update, as DescribeContinuousBackups reported it (ENABLED, FAILED after a verification). */
  after?: Finding;
  /** FAILED / DEFERRED / UNVERIFIED: the AWS error name (absent when the table simply stayed CREATING). */
  errorName?: string;
  /** FAILED: a later attempt may succeed (the reactor then fails its invocation so Lambda retries). */
  transient?: boolean;
  /** One human sentence. */
  message: string;
  /** What happens next, when the caller knows (the reactor: "will be retried", "gave up: …"). */
  nextStep?: string;
  /** The effective mode for this table: the policy's, made stricter by a `pitr-guard:mode` tag. */
  mode: Mode;
  /** The RecoveryPeriodInDays requested (ENABLED, SKIPPED_DRY_RUN, DEFERRED, FAILED after trying, UNVERIFIED). */
  recoveryPeriodInDays?: number;
  /** UpdateContinuousBackups calls made. */
  attempts: number;
  /** How long acting on the table took (ms). */
  waitedMs: number;
}

/** Short labels (alert subjects, CLI lines, digests). */
export const RESULT_LABEL: Record<RemediationResult, string> = {
  ENABLED: 're-enabled',
  ALREADY_COMPLIANT: 'no action',
  SKIPPED_MODE: 'alert only',
  SKIPPED_DRY_RUN: 'dry run',
  DEFERRED: 'deferred',
  FAILED: 'REMEDIATION FAILED',
  GONE: 'table gone',
  UNVERIFIED: 'enabled, NOT VERIFIED',
};

/** Results that leave work for a person (or a retry): the alert shows the manual fix. */
export function needsHand(result: RemediationResult): boolean {
  return result !== 'ENABLED' && result !== 'ALREADY_COMPLIANT' && result !== 'GONE';
}

/** Results that are worse than a finding (listed first in digests, painted red in the CLI). */
export function isBad(result: RemediationResult): boolean {
  return result === 'FAILED' || result === 'DEFERRED' || result === 'UNVERIFIED';
}

export { manualFixCommand, shellQuote } from '../core/fix-hints';
