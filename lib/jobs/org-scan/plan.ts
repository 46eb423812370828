/**
 * The Organization scan's first step (Lambda: functions/org-plan.ts; state Plan of
 * statemachine/org-scan.asl.json): accounts in scope × their Regions → shards.
 *
 * - The run ID is the run's start time plus the execution's name (unique per state machine), so
 *   a retried Plan invocation of the same execution writes the same keys.
 * - Accounts are resolved as the in-process scan does (`resolveAccounts`: self, the Organization's
 *   ACTIVE accounts, or a list, minus exclusions). Each is reached with a concurrency limit: the
 *   account pitr-guard runs in with its own credentials, every other through its member role;
 *   `regions=all` is that account's own enabled Regions (Account ListRegions, in the account).
 * - An account that cannot be reached is an `accountErrors` entry (same fix text as
 *   scan-accounts) and gets no shards: it is in the plan, never silently missing.
 * - plan.json and shards.json go to the report bucket; the output is small (PlanOutput).
 */
import type { Clients } from '../../aws/clients';
import { callerAccountId, enabledRegions } from '../../aws/inventory';
import { fixFor, resolveAccounts } from '../../aws/org/scan-accounts';
import { memberRoleArn, memberRoleCredentials } from '../../aws/org/member-credentials';
import { mapLimit } from '../../aws/pace';
import { putRunFile } from '../../aws/report-bucket';
import type { AccountError } from '../../aws/scan';
import type { Scope } from '../../core/config';
import { awsErrorName, errorMessage, InvalidEventError } from '../../core/errors';
import { forLog } from '../../core/text';
import type { Policy } from '../../core/types';
import type { Logger } from '../../runtime/logger';
import { planKey, shardsKey, type PlanInput, type PlanOutput, type RunPlan, type ShardItem } from './contract';

/** Step Functions execution names are 1-80 characters; pitr-guard accepts the safe subset only. */
export const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;
/** A run ID: `<yyyymmddThhmmssZ>-<execution name>`. */
export const RUN_ID = /^\d{8}T\d{6}Z-[A-Za-z0-9_-]{1,80}$/;
/** Accounts reached at once while planning (AssumeRole + ListRegions each). */
export const PLAN_ACCOUNT_CONCURRENCY = 16;

export interface PlanDeps {
  clients: Clients;
  policy: Policy;
  scope: Scope;
  logger: Logger;
  homeRegion: string;
  /** The account the function runs in (from its ARN); otherwise asked of STS. */
  accountId?: string;
  /** PITR_GUARD_REPORT_BUCKET. */
  bucket: string;
  /** PITR_GUARD_MAX_CONCURRENCY. */
  maxConcurrency: number;
  now?: () => Date;
  concurrency?: number;
}

/** Checks plan's input: `{ event: <object>, executionName }`; throws InvalidEventError naming what is wrong. */
export function checkPlanInput(input: unknown): PlanInput & { event: Record<string, unknown> } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new InvalidEventError('plan expects { event, executionName } from the state machine');
  const { event, executionName } = input as Record<string, unknown>;
  if (event === null || typeof event !== 'object' || Array.isArray(event)) throw new InvalidEventError('plan expects the execution input (an object) as event');
  if (typeof executionName !== 'string' || !EXECUTION_NAME.test(executionName)) {
    throw new InvalidEventError(`plan expects executionName of 1-80 letters, digits, _ or -, got ${forLog(executionName, 100, true)}`);
  }
  return { event: event as Record<string, unknown>, executionName };
}

/** The run's start: the schedule event's `time` when it is a valid timestamp, else now. */
export function startTimeOf(event: Record<string, unknown>, now: Date): Date {
  const t = event.time;
  if (typeof t === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(t)) {
    const d = new Date(t);
    if (!Number.isNaN(d.getTime())) return d;
  }
  return now;
}

export function runIdOf(startedAt: Date, executionName: string): string {
  const stamp = startedAt.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  const runId = `${stamp}-${executionName}`;
  if (!RUN_ID.test(runId)) throw new InvalidEventError(`cannot build a run ID from ${forLog(runId, 120, true)}`);
  return runId;
}

interface Planned {
  account: RunPlan['accounts'][number];
  error?: AccountError;
}

export async function run(input: unknown, deps: PlanDeps): Promise<PlanOutput> {
  const { event, executionName } = checkPlanInput(input);
  const now = deps.now ?? (() => new Date());
  const started = startTimeOf(event, now());
  const runId = runIdOf(started, executionName);
  const startedAt = started.toISOString();
  const { clients, scope, policy, homeRegion, logger } = deps;
  const selfId = deps.accountId ?? (await callerAccountId(clients, homeRegion));
  const targets = await resolveAccounts(scope, selfId, deps);

  const planned = await mapLimit(targets, deps.concurrency ?? PLAN_ACCOUNT_CONCURRENCY, async (target): Promise<Planned> => {
    const named = target.name ? { name: target.name } : {};
    const own = target.accountId === selfId;
    let operation = 'AssumeRole';
    try {
      if (!own) {
        const provider = memberRoleCredentials(clients, { accountId: target.accountId, roleName: scope.memberRole, homeRegion, runId, ...(scope.externalId ? { externalId: scope.externalId } : {}) });
        clients.setAccountCredentials(target.accountId, provider);
        await provider(); // a refusal is one account error, before any Region is planned
      }
      operation = 'ListRegions';
      const regions = policy.regions === 'all' ? await enabledRegions(clients, homeRegion, own ? undefined : target.accountId) : [...policy.regions];
      return { account: { accountId: target.accountId, ...named, status: 'SCANNED', regions } };
    } catch (error) {
      const op = (error as { operation?: string }).operation ?? operation;
      const failure: AccountError = { accountId: target.accountId, ...named, operation: op, errorName: awsErrorName(error), message: errorMessage(error), fix: fixFor(op, scope) };
      const { message, ...fields } = failure;
      logger.error('could not plan account', { event: 'account-error', runId, ...fields, errorMessage: message, roleArn: memberRoleArn(target.accountId, scope.memberRole, homeRegion) });
      return { account: { accountId: target.accountId, ...named, status: 'ERROR', error: failure.message }, error: failure };
    }
  });

  const shards: ShardItem[] = [];
  const regions = new Set<string>();
  for (const p of planned) {
    for (const region of p.account.regions ?? []) {
      regions.add(region);
      shards.push({ runId, bucket: deps.bucket, accountId: p.account.accountId, ...(p.account.name ? { name: p.account.name } : {}), region, startedAt });
    }
  }
  const plan: RunPlan = {
    runId,
    startedAt,
    accountId: selfId,
    homeRegion,
    policy: { minRecoveryDays: policy.minRecoveryDays, exemptTag: policy.exemptTag, mode: policy.mode, dryRun: policy.dryRun },
    accounts: planned.map((p) => p.account),
    accountErrors: planned.flatMap((p) => (p.error ? [p.error] : [])),
    regions: [...regions].sort(),
    shardCount: shards.length,
  };
  const where = { clients, region: homeRegion, bucket: deps.bucket };
  // shards.json first: a plan.json on S3 always has its shards beside it.
  await putRunFile(where, shardsKey(runId), shards);
  await putRunFile(where, planKey(runId), plan);
  logger.info('planned the organization scan', { event: 'plan', runId, accounts: plan.accounts.length, accountErrors: plan.accountErrors.length, shards: shards.length, regions: plan.regions.length, maxConcurrency: deps.maxConcurrency });
  return { runId, bucket: deps.bucket, planKey: planKey(runId), shardsKey: shardsKey(runId), maxConcurrency: deps.maxConcurrency, shardCount: shards.length, startedAt };
}

/** No AWS command of its own: inventory, member-credentials, organization and report-bucket declare theirs. */
export const permissions: readonly import('../../core/iam').Permission[] = [];
