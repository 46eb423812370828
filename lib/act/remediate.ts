/**
 * The one act path, for every trigger: read → evaluate → decide → (wait until ACTIVE) → apply →
 * verify, for one table (`act`) or for the findings of a scan (`actOnFindings`). The scheduled scan,
 * `scan --fix` and the CloudTrail reactor all come here; nothing else calls UpdateContinuousBackups.
 *
 * - The reactor passes no finding: the event is only a hint, so the table is read first (its three
 *   reads at once; the reactor starts them itself, alongside its de-duplication claim, and hands
 *   them over as `facts`).
 * - The scan and `--fix` pass the finding the scan just read: it is not read again. The update is
 *   decided from it and verified by one paced DescribeContinuousBackups after it: nothing else is
 *   read (issue 15). The price: a period someone lengthened in the seconds between the scan's read
 *   and the update is set back to the policy's (never below it); the verify read and the report
 *   show the period as it then is.
 * - Only NON_COMPLIANT, mode remediate, not a dry run, ACTIVE tables are changed (lib/core/decide);
 *   `PointInTimeRecoveryEnabled: false` is never sent.
 * - Reads are paced per (account, Region) by the PacerPool the caller shares with its scan.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Clients } from '../aws/clients';
import { decide, type Decision } from '../core/decide';
import { evaluate } from '../core/evaluate';
import { PacerPool, type InventoryOptions } from '../aws/inventory';
import { readTableNow } from '../aws/inventory/table-now';
import { silentLogger, type Logger } from '../runtime/logger';
import { mapLimit, sleep as realSleep, type Sleep } from '../aws/pace';
import { MODE_TAG, type Finding, type Policy, type PitrState, type TableFacts } from '../core/types';
import type { RemediationOutcome } from './outcome';
import { applyStep, readStep, TRANSIENT_STATES, verifyStep, waitActiveStep, Window, type StepContext, type TableRef } from './steps';

export type { RemediationOutcome, RemediationResult } from './outcome';
export { enableRequest } from './steps';

export interface ActDeps {
  clients: Clients;
  policy: Policy;
  logger?: Logger;
  now?: () => Date;
  sleep?: Sleep;
  /** Pacers per (account, Region), shared with the scan that produced the findings. */
  pacers?: PacerPool;
  /** Inventory options for the reads (retry backoff, rate, …). */
  inventory?: Partial<InventoryOptions>;
  /**
   * Called once UpdateContinuousBackups succeeded, before the verifying read is sent: `compliant`
   * says whether the update's own answer already shows PITR as the policy wants it. The reactor
   * starts its findings-ledger write here, so that it travels with the verify (docs/reactor.md).
   */
  onApplied?: (answer: { compliant: boolean; pitr: PitrState }) => void;
}

export interface RemediateOptions {
  /** How long to wait for a CREATING/UPDATING table, unavailable backups or an ENABLING state. Default 120 s. */
  waitForActiveMs?: number;
  /** First backoff between checks; doubles up to `maxPollMs`. Default 1 s. */
  pollMs?: number;
  /** Longest backoff between checks. Default 10 s. */
  maxPollMs?: number;
}

export const DEFAULT_REMEDIATE: Required<RemediateOptions> = { waitForActiveMs: 120_000, pollMs: 1_000, maxPollMs: 10_000 };

export interface ActTarget extends TableRef {
  /** The finding the caller just read (scan, --fix); absent: read the table first (reactor). */
  finding?: Finding;
  /** The table's facts as the caller just read them for this act (the reactor, lib/aws/inventory/table-now); absent: act reads them. */
  facts?: TableFacts | 'gone';
}

/** The reads `act` makes of a table without a finding, for a caller that starts them early (the reactor). */
export function readForAct(ref: TableRef, deps: Pick<ActDeps, 'clients' | 'pacers' | 'inventory' | 'logger' | 'sleep'>): Promise<TableFacts | 'gone'> {
  const pacers = (deps.pacers ?? new PacerPool(deps.inventory?.ratePerSecond)).for(ref.accountId, ref.region);
  const logger = (deps.logger ?? silentLogger).child({ tableName: ref.tableName, region: ref.region, accountId: ref.accountId });
  const inventory: Partial<InventoryOptions> = { ...deps.inventory, logger, sleep: deps.sleep ?? realSleep };
  return readTableNow(deps.clients.get(DynamoDBClient, ref.region, ref.accountId), ref, pacers, inventory).then((r) => (r === 'vanished' ? 'gone' : r));
}

/** Acts on one table; always resolves to an outcome (a failure is a result, not an exception). */
export async function act(target: ActTarget, deps: ActDeps, options: RemediateOptions = {}): Promise<RemediationOutcome & { ignoredModeTag?: string }> {
  const o = { ...DEFAULT_REMEDIATE, ...options };
  const ref: TableRef = { accountId: target.accountId, region: target.region, tableName: target.tableName };
  const logger = (deps.logger ?? silentLogger).child({ tableName: ref.tableName, region: ref.region, accountId: ref.accountId });
  const now = deps.now ?? (() => new Date());
  const wait = deps.sleep ?? realSleep;
  const { policy } = deps;
  const pacers = (deps.pacers ?? new PacerPool(deps.inventory?.ratePerSecond)).for(ref.accountId, ref.region);
  const inventory: Partial<InventoryOptions> = { ...deps.inventory, logger, sleep: wait };
  // The table's own account: a member account's table is changed through its member-role session.
  const ctx: StepContext = { ddb: deps.clients.get(DynamoDBClient, ref.region, ref.accountId), pacers, inventory, retry: { ...deps.inventory?.retry, sleep: wait } };
  const started = now().getTime();
  const window = new Window(() => now().getTime(), wait, o.waitForActiveMs, o.pollMs, o.maxPollMs);
  let attempts = 0;
  const decided: { decision?: Decision } = {};

  const finish = (outcome: Omit<RemediationOutcome, keyof TableRef | 'attempts' | 'waitedMs' | 'mode'>): RemediationOutcome & { ignoredModeTag?: string } => {
    const full = { ...ref, ...outcome, mode: decided.decision?.mode ?? policy.mode, attempts, waitedMs: now().getTime() - started, ...(decided.decision?.ignoredTag !== undefined ? { ignoredModeTag: decided.decision.ignoredTag } : {}) };
    // One line per table pitr-guard read or changed itself (a scan's skipped findings were logged by the scan).
    if (!target.finding || decided.decision?.action === 'ENABLE') {
      const level = full.result === 'FAILED' || full.result === 'DEFERRED' || full.result === 'UNVERIFIED' ? 'warn' : 'info';
      logger[level](full.message, { event: 'remediation', result: full.result, mode: full.mode, before: full.before.status, after: full.after?.status, errorName: full.errorName, transient: full.transient, attempts, waitedMs: full.waitedMs });
    }
    return full;
  };

  // read → evaluate (only when the caller has not just read the table)
  let facts: TableFacts;
  if (target.finding) {
    facts = factsOf(target.finding);
  } else {
    const read = await readStep(ref, ctx, window, target.facts);
    if (read === 'gone') return finish({ result: 'GONE', before: goneFinding(ref, policy, now()), message: `Table ${ref.tableName} does not exist (deleted); nothing to remediate.` });
    facts = read;
  }
  const before = target.finding ?? evaluate(facts, policy, now());

  // decide (pure)
  const decision = decide(before, policy, before.modeTag, policy.dryRun);
  decided.decision = decision;
  const period = decision.recoveryPeriodInDays;
  switch (decision.action) {
    case 'UNREADABLE':
      if (before.tableStatus && TRANSIENT_STATES.has(before.tableStatus)) {
        return finish({ result: 'DEFERRED', before, ...(before.error ? { errorName: before.error.errorName } : {}), message: deferredMessage(`the table is still ${before.tableStatus} and could not be read`, started, now()) });
      }
      return finish({ result: 'FAILED', before, ...(before.error ? { errorName: before.error.errorName } : {}), transient: decision.transient === true, message: decision.why });
    case 'NONE':
      return finish({ result: 'ALREADY_COMPLIANT', before, message: decision.why });
    case 'LEAVE_MODE':
      return finish({ result: 'SKIPPED_MODE', before, message: decision.why });
    case 'LEAVE_DRY_RUN':
      return finish({ result: 'SKIPPED_DRY_RUN', before, message: decision.why, ...(period !== undefined ? { recoveryPeriodInDays: period } : {}) });
    case 'ENABLE':
      break;
  }
  const days = period ?? policy.minRecoveryDays;
  const tried = { before, recoveryPeriodInDays: days };
  const compliant = (pitr: PitrState) => evaluate({ ...facts, pitr }, policy, now()).status === 'COMPLIANT';

  // wait until ACTIVE
  const active = await waitActiveStep(ref, facts.tableStatus, ctx, window);
  if (active.state === 'gone') return finish({ result: 'GONE', before, message: `Table ${ref.tableName} was deleted while waiting for it; nothing to remediate.` });
  if (active.state === 'deferred') return finish({ ...tried, result: 'DEFERRED', ...(active.errorName ? { errorName: active.errorName } : {}), message: deferredMessage(active.why, started, now()) });
  if (active.state === 'not-active') {
    return finish({ ...tried, result: 'FAILED', errorName: 'TableNotActive', transient: false, message: `Table is ${active.status}, not ACTIVE: PITR cannot be enabled; it needs a person to look at it.` });
  }

  // apply
  const applied = await applyStep(ref, days, ctx, window);
  attempts = applied.calls;
  if (applied.state === 'gone') return finish({ result: 'GONE', before, message: `Table ${ref.tableName} was deleted before PITR could be enabled; nothing to remediate.` });
  if (applied.state === 'deferred') return finish({ ...tried, result: 'DEFERRED', errorName: applied.errorName, message: deferredMessage(`UpdateContinuousBackups answered ${applied.errorName}`, started, now()) });
  if (applied.state === 'failed') {
    const f = applied.failure;
    return finish({ ...tried, result: 'FAILED', errorName: f.errorName, transient: f.transient, message: `${f.operation} failed with ${f.errorName}: ${f.message}` });
  }

  // verify (a caller's write that waits for the update travels with it)
  deps.onApplied?.({ compliant: compliant(applied.answer), pitr: applied.answer });
  const verified = await verifyStep(ref, compliant, ctx, window);
  if (verified.state === 'gone') return finish({ result: 'GONE', before, message: `Table ${ref.tableName} was deleted right after PITR was enabled.` });
  if (verified.state === 'unverified') {
    const f = verified.failure;
    return finish({
      ...tried,
      result: 'UNVERIFIED',
      errorName: f.errorName,
      message: `UpdateContinuousBackups succeeded (PITR requested with a ${days}-day recovery period), but the state could not be verified: ${f.operation} failed with ${f.errorName}, also when retried. The state was not read.`,
    });
  }
  const after = evaluate({ ...facts, tableStatus: 'ACTIVE', pitr: verified.pitr }, policy, now());
  if (verified.state === 'not-compliant') {
    return finish({ ...tried, after, result: 'FAILED', errorName: 'VerificationFailed', transient: true, message: `UpdateContinuousBackups succeeded, but DescribeContinuousBackups still reports: ${after.message}` });
  }
  return finish({
    ...tried,
    after,
    result: 'ENABLED',
    message: `Enabled PITR with a ${days}-day recovery period and verified it (DescribeContinuousBackups: ${after.pitr.status}, ${after.pitr.recoveryPeriodInDays ?? days} days).`,
  });
}

export interface ActOnFindingsOptions extends RemediateOptions {
  /** Tables acted on at once (default 3; reads are paced per Region anyway). */
  concurrency?: number;
}

/** The scan's and `--fix`'s way in: every finding through `act`, decided from what the scan read. */
export function actOnFindings(findings: readonly Finding[], deps: ActDeps, options: ActOnFindingsOptions = {}): Promise<(RemediationOutcome & { ignoredModeTag?: string })[]> {
  const pacers = deps.pacers ?? new PacerPool(deps.inventory?.ratePerSecond);
  const { concurrency = 3, ...timing } = options;
  return mapLimit(findings, concurrency, (f) => act({ accountId: f.accountId, region: f.region, tableName: f.tableName, finding: f }, { ...deps, pacers }, timing));
}

/** Table facts as far as a finding holds them (enough to re-evaluate it with a fresh PITR state). */
function factsOf(f: Finding): TableFacts {
  return {
    accountId: f.accountId,
    region: f.region,
    tableName: f.tableName,
    ...(f.tableArn ? { tableArn: f.tableArn } : {}),
    ...(f.tableStatus ? { tableStatus: f.tableStatus } : {}),
    tags: f.modeTag !== null ? { [MODE_TAG]: f.modeTag } : {},
  };
}

function goneFinding(ref: TableRef, policy: Policy, at: Date): Finding {
  return evaluate({ ...ref, error: { operation: 'DescribeTable', errorName: 'ResourceNotFoundException', message: 'table not found' } }, policy, at);
}

function deferredMessage(why: string, started: number, at: Date): string {
  return `PITR could not be enabled yet: ${why} after ${Math.round((at.getTime() - started) / 1000)} s.`;
}

