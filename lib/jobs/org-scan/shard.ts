/**
 * One shard of the Organization scan (Lambda: functions/org-shard.ts; the child of ScanShards in
 * statemachine/org-scan.asl.json): exactly one account and one Region.
 *
 * - The item is checked strictly (shape, 12-digit account, Region code, run ID, the configured
 *   bucket); a malformed one is a ShardFailedError, which the state machine does not retry.
 * - The account pitr-guard runs in is read with its own credentials, any other through one
 *   member-role session; reads are paced at the documented per-account, per-Region rates (the
 *   shared PacerPool), so shards of different (account, Region) pairs run fully in parallel.
 * - Findings go to the findings ledger (batches, unprocessed items retried; `since` set on each);
 *   the NON_COMPLIANT tables go through the one act path (`actOnFindings`), in the table's own
 *   account and Region. A shard sends no alert: the aggregate sends the run's one digest. With
 *   the alert lifecycle (a ledger with lifecycle settings), the transitions this shard's writes won
 *   (and the closes of the tables it re-enabled: closeFixedIncidents, as the scheduled scan) go
 *   into the ShardFile's `lifecycle`, with the count still open.
 * - With PITR_GUARD_SECURITY_HUB=true the findings are imported into Security Hub in the shard's
 *   account (member role) and Region; what was not delivered goes into the ShardFile's `securityHub`
 *   and the aggregate fails the run's report on it (problems).
 * - Continuation (continuation.ts): the Region's tables are read in ListTables order from the
 *   item's `continuation.startAfter`, and no table is started once the read budget (half of the
 *   Lambda time left before the margin; at most ShardDeps.budgetMs) is spent. What was read is
 *   recorded, acted on and written as one part; the shard then answers CONTINUE with the next
 *   item (cursor: the part's last table), and the state machine invokes it again, until the
 *   Region is done (SCANNED with the number of parts). A retry of a part re-writes its file.
 * - The ShardFile is written to S3; the shard returns a pointer (ShardOutput), never the findings.
 * - Never a partial part: a Region whose tables cannot even be listed, or a session that cannot
 *   be had, fails the part: ShardRetryableError when it may pass (throttling, 5xx, timeouts,
 *   Lambda time running out: the state machine retries it with backoff), ShardFailedError
 *   otherwise (access denied…). After the retries the state machine turns it into a shard error.
 */
import { Clients } from '../../aws/clients';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PacerPool, listTableNames, type InventoryOptions } from '../../aws/inventory';
import { memberRoleCredentials } from '../../aws/org/member-credentials';
import { putRunFile } from '../../aws/report-bucket';
import { scan, type RegionError } from '../../aws/scan';
import { publishReport } from '../../aws/security-hub';
import { actOnFindings } from '../../act/remediate';
import { closeFixedIncidents } from '../../act/close-incidents';
import type { Scope } from '../../core/config';
import { awsErrorName, errorMessage, ShardFailedError, ShardRetryableError } from '../../core/errors';
import { isTransientError } from '../../core/decide';
import { isAccountId } from '../../core/ids';
import { isRegionCode } from '../../core/regions';
import { forLog } from '../../core/text';
import type { Policy } from '../../core/types';
import type { Logger } from '../../runtime/logger';
import type { FindingsLedger } from '../../state/ledger';
import { recordFindings } from '../scheduled-scan';
import { shardFileKey, type ShardContinueOutput, type ShardFile, type ShardItem, type ShardLifecycle, type ShardOutput } from './contract';
import { DEADLINE_MARGIN_MS, afterPart, checkContinuation, readBudgetMs } from './continuation';
import { RUN_ID } from './plan';

export { DEADLINE_MARGIN_MS } from './continuation';

export interface ShardDeps {
  /** A fresh Clients for this invocation (its own member-role session, named for the run). */
  newClients: () => Clients;
  /** Clients of the account pitr-guard runs in, in its Region (S3, the ledger). */
  ownClients: Clients;
  policy: Policy;
  scope: Scope;
  logger: Logger;
  homeRegion: string;
  /** The account the function runs in (from its ARN). */
  accountId: string;
  /** PITR_GUARD_REPORT_BUCKET: the only bucket a shard writes to. */
  bucket: string;
  ledger?: FindingsLedger;
  now?: () => Date;
  pacers?: PacerPool;
  /** Inventory options (retry backoff, rate); tests shorten the backoff. */
  inventory?: Partial<InventoryOptions>;
  /** Remediation timing (tests shorten it). */
  remediate?: { waitForActiveMs?: number; pollMs?: number; maxPollMs?: number };
  /** PITR_GUARD_SECURITY_HUB=true: import the shard's findings into Security Hub in its account (member role) and Region. */
  securityHub?: boolean;
  /** The most milliseconds one invocation reads tables (tests use a small one); the Lambda's remaining time bounds it anyway. */
  budgetMs?: number;
  /** The budget's clock, ms (tests); default Date.now. */
  clock?: () => number;
}

export interface ShardInvocation {
  remainingMs?: () => number;
}

const ITEM_KEYS = new Set(['runId', 'bucket', 'accountId', 'name', 'region', 'startedAt', 'continuation']);
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Checks a ShardItem strictly; throws ShardFailedError naming the first problem. */
export function checkShardItem(input: unknown, bucket: string): ShardItem {
  const bad = (why: string): never => {
    throw new ShardFailedError(`invalid shard item: ${why}`);
  };
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return bad(`expected an object, got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}`);
  const item = input as Record<string, unknown>;
  for (const key of Object.keys(item)) if (!ITEM_KEYS.has(key)) bad(`unexpected field ${forLog(key, 64, true)}`);
  const { runId, accountId, region, startedAt, name } = item;
  if (typeof runId !== 'string' || !RUN_ID.test(runId)) bad(`runId must look like 20260101T000000Z-<execution name>, got ${forLog(runId, 100, true)}`);
  if (typeof item.bucket !== 'string' || !BUCKET.test(item.bucket)) bad(`bucket must be an S3 bucket name, got ${forLog(item.bucket, 100, true)}`);
  if (item.bucket !== bucket) bad(`bucket ${forLog(item.bucket, 100, true)} is not the configured report bucket`);
  if (typeof accountId !== 'string' || !isAccountId(accountId)) bad(`accountId must be 12 digits, got ${forLog(accountId, 40, true)}`);
  if (typeof region !== 'string' || !isRegionCode(region)) bad(`region must be a Region code such as us-east-1, got ${forLog(region, 40, true)}`);
  if (typeof startedAt !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(startedAt) || Number.isNaN(Date.parse(startedAt))) {
    bad(`startedAt must be an ISO 8601 UTC time, got ${forLog(startedAt, 40, true)}`);
  }
  if (name !== undefined && (typeof name !== 'string' || name.length === 0 || name.length > 128)) bad('name must be a string of 1-128 characters');
  if (item.continuation !== undefined) checkContinuation(item.continuation);
  return item as unknown as ShardItem;
}

function failure(what: string, error: { errorName: string; message: string; status?: number }, cause?: unknown): Error {
  const message = `${what} failed: ${error.errorName}: ${error.message}`;
  return isTransientError(error.errorName, error.status) ? new ShardRetryableError(message, { cause }) : new ShardFailedError(message, { cause });
}

/** Rejects once the invocation is within DEADLINE_MARGIN_MS of Lambda's deadline. */
function deadline(invocation: ShardInvocation): { promise: Promise<never>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    const left = invocation.remainingMs?.();
    if (left === undefined) return;
    timer = setTimeout(() => reject(new ShardRetryableError(`Lambda time running out (${left} ms left at the start, stopping ${DEADLINE_MARGIN_MS} ms before the deadline)`)), Math.max(0, left - DEADLINE_MARGIN_MS));
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** An item for an account the scope leaves out (excluded, or not in the configured list) is refused, never scanned. */
export function checkInScope(item: ShardItem, scope: Scope, selfId: string): void {
  const { accountId } = item;
  const listed = scope.accounts === 'self' ? [selfId] : scope.accounts === 'org' ? undefined : scope.accounts;
  if (scope.excludeAccounts.includes(accountId) || (listed && !listed.includes(accountId))) {
    throw new ShardFailedError(`invalid shard item: account ${accountId} is not in scope (PITR_GUARD_ACCOUNTS / PITR_GUARD_EXCLUDE_ACCOUNTS)`);
  }
}

export async function run(input: unknown, deps: ShardDeps, invocation: ShardInvocation = {}): Promise<ShardOutput | ShardContinueOutput> {
  const item = checkShardItem(input, deps.bucket);
  checkInScope(item, deps.scope, deps.accountId);
  const logger = deps.logger.child({ runId: item.runId, accountId: item.accountId, region: item.region, part: item.continuation?.part ?? 0 });
  const limit = deadline(invocation);
  const clock = deps.clock ?? Date.now;
  const readUntil = clock() + readBudgetMs(invocation.remainingMs?.(), deps.budgetMs);
  try {
    return await Promise.race([scanShard(item, deps, logger, () => clock() >= readUntil), limit.promise]);
  } catch (error) {
    const named = error instanceof ShardRetryableError || error instanceof ShardFailedError ? error : failure('the shard', { errorName: awsErrorName(error), message: errorMessage(error) }, error);
    logger.error('shard failed', { event: 'shard-error', errorName: named.name, errorMessage: named.message, retryable: named instanceof ShardRetryableError });
    throw named;
  } finally {
    limit.cancel();
  }
}

async function scanShard(item: ShardItem, deps: ShardDeps, logger: Logger, stop: () => boolean): Promise<ShardOutput | ShardContinueOutput> {
  const { scope, homeRegion } = deps;
  const own = item.accountId === deps.accountId;
  const clients = deps.newClients();
  if (!own) {
    const provider = memberRoleCredentials(clients, { accountId: item.accountId, roleName: scope.memberRole, homeRegion, runId: item.runId, ...(scope.externalId ? { externalId: scope.externalId } : {}) });
    clients.setAccountCredentials(item.accountId, provider);
    try {
      await provider();
    } catch (error) {
      throw failure('AssumeRole', { errorName: awsErrorName(error), message: errorMessage(error) }, error);
    }
  }
  const pacers = deps.pacers ?? new PacerPool();
  const policy = { ...deps.policy, regions: [item.region] };
  const clientAccount = own ? undefined : item.accountId;
  const range = { ...(item.continuation ? { startAfter: item.continuation.startAfter } : {}), stop };
  const report = await scan({ policy, homeRegion, accountId: item.accountId, ...(clientAccount ? { clientAccount } : {}), range }, { clients, logger, pacers, ...(deps.inventory ? { inventory: deps.inventory } : {}), ...(deps.now ? { now: deps.now } : {}) });
  const listing: RegionError | undefined = report.regionErrors[0];
  // The Region error's message may already start with "<operation> failed: <error name>: ": say it once.
  if (listing) throw failure(`${listing.operation} in ${item.region}`, { ...listing, message: listing.message.replace(`${listing.operation} failed: ${listing.errorName}: `, '') });
  const scanned = report.range ?? { region: item.region, done: true };

  const recorded = deps.ledger ? await recordFindings(report, deps.ledger, item.runId, logger) : undefined;
  const unrecorded = recorded?.unrecorded ?? [];
  // In the shard's own account and Region: Security Hub takes a custom finding only from its account.
  if (deps.securityHub) {
    // The last of several parts archives against the Region's whole listing, read again now (an earlier part's tables are not in this report).
    const listed = scanned.done && scanned.startAfter !== undefined ? await wholeListing(clients, item.region, clientAccount, deps) : undefined;
    await publishReport(report, { clients, logger, clientAccount: () => clientAccount }, listed);
  }
  const nonCompliant = report.findings.filter((f) => f.status === 'NON_COMPLIANT');
  // The one act path, as the scheduled scan uses it: the policy's mode, made stricter by a table's mode tag.
  const outcomes = await actOnFindings(nonCompliant, { clients, policy: deps.policy, logger, pacers, ...(deps.inventory ? { inventory: deps.inventory } : {}), ...(deps.now ? { now: deps.now } : {}) }, { waitForActiveMs: 20_000, ...deps.remediate, concurrency: 3 });

  // As the scheduled scan: a table this shard re-enabled and verified is closed now, fixed by pitr-guard.
  const nowIso = () => (deps.now ? deps.now() : new Date()).toISOString();
  const closed = recorded?.lifecycle ? await closeFixedIncidents(recorded.lifecycle, outcomes, deps.ledger, nowIso, logger) : undefined;
  const lifecycle: ShardLifecycle | undefined = closed
    ? { transitions: closed.transitions, openIncidents: closed.open.size, repeatedlyDisabled: report.findings.filter((f) => f.reasons.includes('REPEATEDLY_DISABLED')).length }
    : undefined;

  const part = item.continuation?.part ?? 0;
  const file: ShardFile = {
    shard: { runId: item.runId, accountId: item.accountId, ...(item.name ? { name: item.name } : {}), region: item.region },
    part: { index: part, ...(scanned.startAfter ? { startAfter: scanned.startAfter } : {}), ...(scanned.lastTable ? { lastTable: scanned.lastTable } : {}), done: scanned.done },
    generatedAt: report.generatedAt,
    summary: report.summary,
    findings: report.findings,
    vanished: report.vanished.map((v) => ({ accountId: item.accountId, region: v.region, tableName: v.tableName })),
    outcomes,
    unrecorded,
    ...(lifecycle ? { lifecycle } : {}),
    ...(report.securityHub ? { securityHub: report.securityHub } : {}),
  };
  const key = shardFileKey(item.runId, item.accountId, item.region, part);
  try {
    await putRunFile({ clients: deps.ownClients, region: homeRegion, bucket: deps.bucket }, key, file);
  } catch (error) {
    throw failure('PutObject of the shard file', { errorName: awsErrorName(error), message: errorMessage(error) }, error);
  }
  const results: Record<string, number> = {};
  for (const o of outcomes) results[o.result] = (results[o.result] ?? 0) + 1;
  const told = lifecycle ? { transitions: lifecycle.transitions.length, openIncidents: lifecycle.openIncidents } : {};
  const answer = afterPart(item, key, scanned, report.summary);
  const cursor = answer.status === 'CONTINUE' ? { continuesAfter: answer.next.continuation.startAfter } : { parts: answer.parts };
  logger.info(answer.status === 'CONTINUE' ? 'shard part scanned' : 'shard scanned', { event: 'shard', key, ...report.summary, outcomes: results, unrecorded: unrecorded.length, ...told, ...cursor });
  return answer;
}

/** Every table name of the Region (ListTables only), for the archive of the last part. */
async function wholeListing(clients: Clients, region: string, clientAccount: string | undefined, deps: ShardDeps): Promise<Set<string>> {
  try {
    return new Set(await listTableNames(clients.get(DynamoDBClient, region, clientAccount), deps.inventory ?? {}));
  } catch (error) {
    throw failure(`ListTables in ${region} (for the Security Hub archive)`, { errorName: awsErrorName(error), message: errorMessage(error) }, error);
  }
}

/** No AWS command of its own: inventory, member-credentials, remediate, ledger and report-bucket declare theirs. */
export const permissions: readonly import('../../core/iam').Permission[] = [];
