/**
 * Remediation: switch PITR on for one table, with RecoveryPeriodInDays = the policy minimum, and
 * prove it worked.
 *
 * - Never trusts the caller: reads the table's real state (inventory `readTable`) and evaluates it
 *   (`evaluate`) first; only a NON_COMPLIANT table is touched.
 * - The mode comes from the policy; the per-table tag `pitr-guard:mode` may only make it stricter
 *   (report → alert → remediate), never weaker, so a tag is not a way around the guard.
 * - Only on ACTIVE tables. A table still CREATING or UPDATING, or an UpdateContinuousBackups
 *   answered with ContinuousBackupsUnavailableException (backups not available yet) or
 *   ResourceInUseException, is retried with backoff until `waitForActiveMs` runs out; then the
 *   result is DEFERRED and the caller decides (the reactor throws so Lambda retries the event).
 * - Never sends `PointInTimeRecoveryEnabled: false`.
 * - Verifies with DescribeContinuousBackups after the update.
 *
 * IAM: dynamodb:DescribeTable, dynamodb:DescribeContinuousBackups, dynamodb:ListTagsOfResource,
 * dynamodb:UpdateContinuousBackups on the table.
 */
import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  UpdateContinuousBackupsCommand,
  type UpdateContinuousBackupsCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { Clients } from '../aws/clients';
import { awsErrorName, errorMessage } from '../core/errors';
import { evaluate } from '../core/evaluate';
import { createPacers, pitrState, readTable, type InventoryOptions, type Pacers } from '../aws/inventory';
import { silentLogger, type Logger } from '../runtime/logger';
import { retrying, sleep as realSleep, type Sleep } from '../aws/pace';
import { MODE_TAG, MODES, type Finding, type Mode, type Policy, type TableFacts } from '../core/types';

export type RemediationResult = 'ENABLED' | 'ALREADY_COMPLIANT' | 'SKIPPED_DRY_RUN' | 'SKIPPED_MODE' | 'DEFERRED' | 'FAILED';

/**
 * What remediation did for one table.
 *
 * - ENABLED: PITR was switched on and DescribeContinuousBackups confirmed the table compliant.
 * - ALREADY_COMPLIANT: nothing to do: the table is COMPLIANT, EXEMPT or NOT_APPLICABLE
 *   (`before.status` says which).
 * - SKIPPED_MODE: non-compliant, but the effective mode (`mode`) is `report` or `alert`.
 * - SKIPPED_DRY_RUN: non-compliant, mode `remediate`, but the policy is a dry run.
 * - DEFERRED: the table did not become ACTIVE / backups did not become available in time.
 * - FAILED: the table could not be read or updated (`errorName`), or the update did not verify.
 */
export interface RemediationOutcome {
  accountId: string;
  region: string;
  tableName: string;
  result: RemediationResult;
  /** Evaluation of the real state read before acting. */
  before: Finding;
  /** Evaluation after the update (verified with DescribeContinuousBackups). */
  after?: Finding;
  /** FAILED / DEFERRED: the AWS error name (absent when the table simply stayed CREATING). */
  errorName?: string;
  /** One human sentence. */
  message: string;
  /** The effective mode for this table: the policy's, made stricter by a `pitr-guard:mode` tag. */
  mode: Mode;
  /** The RecoveryPeriodInDays requested (ENABLED, SKIPPED_DRY_RUN, DEFERRED, FAILED after trying). */
  recoveryPeriodInDays?: number;
  /** UpdateContinuousBackups calls made. */
  attempts: number;
  /** How long remediation waited for the table (ms). */
  waitedMs: number;
}

export interface RemediateDeps {
  clients: Clients;
  policy: Policy;
  logger?: Logger;
  now?: () => Date;
  sleep?: Sleep;
  /** Shared pacers (the scheduled scan passes its own so remediation stays within 10 calls/s). */
  pacers?: Pacers;
  /** Inventory options for the reads (retry backoff, …). */
  inventory?: Partial<InventoryOptions>;
}

export interface RemediateOptions {
  /** How long to wait for a CREATING/UPDATING table or unavailable backups. Default 120 s. */
  waitForActiveMs?: number;
  /** First backoff between checks; doubles up to `maxPollMs`. Default 1 s. */
  pollMs?: number;
  /** Longest backoff between checks. Default 10 s. */
  maxPollMs?: number;
}

export const DEFAULT_REMEDIATE: Required<RemediateOptions> = { waitForActiveMs: 120_000, pollMs: 1_000, maxPollMs: 10_000 };

const STRICTNESS: Record<Mode, number> = { report: 0, alert: 1, remediate: 2 };
/** States that pass by themselves: worth waiting for. */
const TRANSIENT_STATES = new Set(['CREATING', 'UPDATING']);
/** Errors that mean "not yet": the table is being created or updated, or backups are not available yet. */
const NOT_YET = new Set(['ContinuousBackupsUnavailableException', 'ResourceInUseException']);
const GONE = new Set(['ResourceNotFoundException', 'TableNotFoundException']);

/**
 * The mode for one table: the policy's mode, or the `pitr-guard:mode` tag's if that is stricter.
 * A weaker or unknown tag value is ignored and reported in `ignoredTag`.
 */
export function effectiveMode(
  policyMode: Mode,
  tags: Readonly<Record<string, string>> | undefined,
  readOnly = false,
): { mode: Mode; ignoredTag?: string } {
  const chosen = effectiveModeOf(policyMode, tags);
  // A read-only stack (Policy.readOnly) cannot remediate: a remediate tag counts as alert.
  return readOnly && chosen.mode === 'remediate' ? { mode: 'alert', ignoredTag: tags?.[MODE_TAG] ?? 'remediate' } : chosen;
}

function effectiveModeOf(policyMode: Mode, tags: Readonly<Record<string, string>> | undefined): { mode: Mode; ignoredTag?: string } {
  const raw = tags?.[MODE_TAG];
  if (raw === undefined) return { mode: policyMode };
  const value = raw.trim().toLowerCase();
  if (!(MODES as readonly string[]).includes(value)) return { mode: policyMode, ignoredTag: raw };
  const tagMode = value as Mode;
  if (STRICTNESS[tagMode] > STRICTNESS[policyMode]) return { mode: tagMode };
  if (STRICTNESS[tagMode] < STRICTNESS[policyMode]) return { mode: policyMode, ignoredTag: raw };
  return { mode: policyMode };
}

export async function remediateTable(
  ref: { accountId: string; region: string; tableName: string },
  deps: RemediateDeps,
  options: RemediateOptions = {},
): Promise<RemediationOutcome> {
  const o = { ...DEFAULT_REMEDIATE, ...options };
  const logger = (deps.logger ?? silentLogger).child({ tableName: ref.tableName, region: ref.region, accountId: ref.accountId });
  const now = deps.now ?? (() => new Date());
  const wait = deps.sleep ?? realSleep;
  const policy = deps.policy;
  const ddb = deps.clients.get(DynamoDBClient, ref.region);
  const inventory: Partial<InventoryOptions> = { ...deps.inventory, logger, sleep: wait };
  const pacers = deps.pacers ?? createPacers(inventory.ratePerSecond ?? 10);
  const started = now().getTime();
  const ident = { accountId: ref.accountId, region: ref.region, tableName: ref.tableName };
  const period = policy.minRecoveryDays;
  let attempts = 0;
  const finish = (outcome: Omit<RemediationOutcome, 'accountId' | 'region' | 'tableName' | 'attempts' | 'waitedMs'>): RemediationOutcome => {
    const full: RemediationOutcome = { ...ident, ...outcome, attempts, waitedMs: now().getTime() - started };
    const level = full.result === 'FAILED' || full.result === 'DEFERRED' ? 'warn' : 'info';
    logger[level](full.message, {
      event: 'remediation',
      result: full.result,
      mode: full.mode,
      before: full.before.status,
      after: full.after?.status,
      errorName: full.errorName,
      attempts: full.attempts,
      waitedMs: full.waitedMs,
    });
    return full;
  };

  // 1. The real state, evaluated. A CREATING/UPDATING table whose facts cannot be read yet is read
  // again while the window lasts.
  const deadline = started + o.waitForActiveMs;
  let delay = o.pollMs;
  const backoff = async (): Promise<boolean> => {
    const left = deadline - now().getTime();
    if (left <= 0) return false;
    await wait(Math.min(delay, left));
    delay = Math.min(delay * 2, o.maxPollMs);
    return true;
  };
  let read = await readTable(ddb, ref, pacers, inventory);
  while (read !== 'vanished' && read.error && read.tableStatus && TRANSIENT_STATES.has(read.tableStatus) && (await backoff())) {
    read = await readTable(ddb, ref, pacers, inventory);
  }
  if (read === 'vanished') {
    const before = evaluate({ ...ident, error: { operation: 'DescribeTable', errorName: 'ResourceNotFoundException', message: 'table not found' } }, policy, now());
    return finish({ result: 'FAILED', before, errorName: 'ResourceNotFoundException', message: `Table ${ref.tableName} no longer exists; nothing to remediate.`, mode: policy.mode });
  }
  const facts: TableFacts = read;
  const before = evaluate(facts, policy, now());
  const { mode, ignoredTag } = effectiveMode(policy.mode, facts.tags, policy.readOnly);
  if (ignoredTag !== undefined) {
    const why = policy.readOnly && mode === 'alert' ? 'this stack is read-only (param readOnly), so the table is alerted on' : `a tag may only make the mode stricter than ${policy.mode}`;
    logger.warn(`ignored ${MODE_TAG}=${JSON.stringify(ignoredTag)}: ${why}`, { event: 'mode-tag-ignored' });
  }

  if (facts.error) {
    return finish({
      result: 'FAILED',
      before,
      errorName: facts.error.errorName,
      message: `Could not read the table: ${facts.error.operation} failed with ${facts.error.errorName}.`,
      mode,
    });
  }
  if (before.status !== 'NON_COMPLIANT') {
    return finish({ result: 'ALREADY_COMPLIANT', before, message: nothingToDo(before), mode });
  }
  if (mode !== 'remediate') {
    return finish({ result: 'SKIPPED_MODE', before, message: `Mode is ${mode}: PITR was left as it is.`, mode });
  }
  if (policy.dryRun) {
    return finish({
      result: 'SKIPPED_DRY_RUN',
      before,
      message: `Dry run: would have enabled PITR with a ${days(period)} recovery period; nothing was changed.`,
      mode,
      recoveryPeriodInDays: period,
    });
  }

  // 2. Wait until the table is ACTIVE and backups are available, then enable PITR.
  let status = facts.tableStatus;
  let lastNotYet: string | undefined;
  const deferred = (why: string, errorName?: string) =>
    finish({
      result: 'DEFERRED',
      before,
      ...(errorName ? { errorName } : {}),
      message: `PITR could not be enabled yet: ${why} after ${Math.round((now().getTime() - started) / 1000)} s.`,
      mode,
      recoveryPeriodInDays: period,
    });
  const failed = (error: unknown, operation: string) =>
    finish({
      result: 'FAILED',
      before,
      errorName: awsErrorName(error),
      message: `${operation} failed with ${awsErrorName(error)}: ${errorMessage(error)}`,
      mode,
      recoveryPeriodInDays: period,
    });
  const retry = { ...inventory.retry, sleep: wait };

  for (;;) {
    if (status && TRANSIENT_STATES.has(status)) {
      if (!(await backoff())) return deferred(`the table is still ${status}`);
      try {
        const out = await retrying(() => ddb.send(new DescribeTableCommand({ TableName: ref.tableName })), retry);
        status = out.Table?.TableStatus;
      } catch (error) {
        if (GONE.has(awsErrorName(error))) return failed(error, 'DescribeTable');
        if (!(await backoff())) return deferred('the table status could not be read', awsErrorName(error));
      }
      continue;
    }
    if (status !== 'ACTIVE') {
      return finish({
        result: 'FAILED',
        before,
        errorName: 'TableNotActive',
        message: `Table is ${status ?? 'in an unknown state'}, not ACTIVE: PITR cannot be enabled; it needs a person to look at it.`,
        mode,
        recoveryPeriodInDays: period,
      });
    }
    try {
      attempts++;
      await retrying(() => ddb.send(new UpdateContinuousBackupsCommand(enableRequest(ref.tableName, period))), retry);
      break;
    } catch (error) {
      const name = awsErrorName(error);
      if (!NOT_YET.has(name)) return failed(error, 'UpdateContinuousBackups');
      lastNotYet = name;
      logger.debug('PITR not available yet; waiting', { errorName: name, attempts });
      if (!(await backoff())) return deferred(`UpdateContinuousBackups answered ${name}`, lastNotYet);
      // The table may have moved to UPDATING meanwhile: look again before the next try.
      try {
        const out = await retrying(() => ddb.send(new DescribeTableCommand({ TableName: ref.tableName })), retry);
        status = out.Table?.TableStatus;
      } catch {
        // keep the last known status; the next UpdateContinuousBackups call will tell
      }
    }
  }

  // 3. Verify: the state DynamoDB reports now must be compliant.
  for (;;) {
    try {
      const out = await retrying(() => ddb.send(new DescribeContinuousBackupsCommand({ TableName: ref.tableName })), retry);
      const after = evaluate({ ...facts, tableStatus: status, pitr: pitrState(out) }, policy, now());
      if (after.status === 'COMPLIANT') {
        return finish({
          result: 'ENABLED',
          before,
          after,
          message: `Enabled PITR with a ${days(period)} recovery period and verified it (DescribeContinuousBackups: ${after.pitr.status}, ${after.pitr.recoveryPeriodInDays ?? period} days).`,
          mode,
          recoveryPeriodInDays: period,
        });
      }
      // e.g. still ENABLING: look again while the window lasts.
      if (!(await backoff())) {
        return finish({
          result: 'FAILED',
          before,
          after,
          errorName: 'VerificationFailed',
          message: `UpdateContinuousBackups succeeded, but DescribeContinuousBackups still reports: ${after.message}`,
          mode,
          recoveryPeriodInDays: period,
        });
      }
    } catch (error) {
      return failed(error, 'DescribeContinuousBackups (verification)');
    }
  }
}

/** The only UpdateContinuousBackups request pitr-guard ever sends: enabled is always true. */
export function enableRequest(tableName: string, recoveryPeriodInDays: number): UpdateContinuousBackupsCommandInput {
  return {
    TableName: tableName,
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: recoveryPeriodInDays },
  };
}

function nothingToDo(finding: Finding): string {
  if (finding.status === 'COMPLIANT') return `Already compliant: ${finding.message}`;
  if (finding.status === 'EXEMPT') return `Left as it is: ${finding.message}`;
  return `Nothing to do: ${finding.message}`;
}

function days(n: number): string {
  return `${n}-day`;
}

/** IAM for the calls above (scripts/iam/derive.ts builds each function's role from these). */
export const permissions: readonly import('../core/iam').Permission[] = [
  {
    sid: 'ReadTables',
    actions: ['dynamodb:DescribeTable', 'dynamodb:DescribeContinuousBackups'],
    resource: 'tables',
    why: 're-reads the table before and after enabling PITR',
  },
  {
    sid: 'Remediate',
    actions: ['dynamodb:UpdateContinuousBackups'],
    resource: 'tables',
    why: 'enables PITR with the policy period (remediate mode, or a table tagged pitr-guard:mode=remediate)',
    remediation: true,
  },
];
