/**
 * Security Hub CSPM: pitr-guard's findings imported as custom ASFF findings (lib/report/asff.ts),
 * in each table's own account and Region, with the clients of that (account, Region): the member
 * role's credentials for another account (Security Hub accepts a custom finding only from the
 * account it belongs to, with the default product ARN of the Region called).
 *
 * Per (account, Region) that was listed (a Region that could not be listed is never touched):
 *   1. GetFindings: pitr-guard's own ACTIVE findings there (GeneratorId, AwsAccountId, Region,
 *      RecordState filters; filtered again here, as moto ignores filters), paged, 3 calls/s.
 *   2. Each table's record is imported only when it changed or is due for refresh
 *      (lib/report/asff-lifecycle.ts), with an UpdatedAt newer than the stored one.
 *   3. Stored findings whose table is not in the listing are re-imported ARCHIVED. A Region an
 *      Organization shard reads in parts: only its final part archives, against the Region's
 *      whole listing, read again at that point (`listed`).
 *   4. BatchImportFindings: ≤100 findings and ≤6 MB per call, 10 calls/s; throttling and 5xx are
 *      retried with backoff; FailedFindings (FailedCount) are resent with backoff, then reported.
 * A GetFindings failure leaves that Region's findings unimported and reported (importing blind
 * could be silently ignored against a newer stored UpdatedAt). Nothing is dropped: every record
 * that did not arrive is in `failures`, and callers fail the run on them.
 */
// The client loads on first use (only with Security Hub on), not at module init.
import type { AwsSecurityFinding, SecurityHubClient } from '@aws-sdk/client-securityhub';
import type { Clients } from './clients';
import type { ScanReport, SecurityHubDelivery, SecurityHubFailure } from './scan';
import { RateLimiter, isRetryable, retrying, sleep as realSleep, type Sleep } from './pace';
import { awsErrorName, errorMessage } from '../core/errors';
import { GENERATOR_ID, findingId, partitionOfFinding, productArn, toAsff } from '../report/asff';
import { archivable, archivedRecord, isOwnActive, needsImport, nextUpdatedAt } from '../report/asff-lifecycle';
import { partitionOf } from '../core/ids';
import type { Finding } from '../core/types';
import { silentLogger, type Logger } from '../runtime/logger';

/** BatchImportFindings and GetFindings limits (aws-facts-org.md §4.1). */
export const MAX_FINDINGS_PER_CALL = 100;
export const MAX_BATCH_BYTES = 6 * 1024 * 1024;
export const MAX_FINDING_BYTES = 240 * 1024;
export const GET_FINDINGS_PER_SECOND = 3;
export const IMPORTS_PER_SECOND = 10;

/** One (account, Region) to sync: its findings (may be empty), and whether gone tables are archived. */
export interface SecurityHubTarget {
  accountId: string;
  region: string;
  findings: readonly Finding[];
  /** True when the Region was listed completely: stored findings of tables not in `findings` (nor in `listed`) are archived. */
  archive: boolean;
  /** A Region read in parts (an Organization shard): the names of its whole listing, whose findings an earlier part imported. */
  listed?: ReadonlySet<string>;
}

export interface SecurityHubRun {
  /** The scan's evaluation time (ScanReport.generatedAt). */
  generatedAt: string;
  minRecoveryDays: number;
  exemptTag?: string;
}

export type { SecurityHubFailure } from './scan';
export type SecurityHubSummary = SecurityHubDelivery;

export interface SecurityHubDeps {
  clients: Clients;
  logger?: Logger;
  /** The Clients account key of an account (Clients.setAccountCredentials); default: the caller's own. */
  clientAccount?: (accountId: string) => string | undefined;
  sleep?: Sleep;
  /** The pacers' clock, ms (tests pair it with a fake sleep); default Date.now. */
  clock?: () => number;
  /** Attempts per call and per failed record, first included (default 5). */
  attempts?: number;
  baseDelayMs?: number;
}

/**
 * The (account, Region) pairs of a report: every Region listed in every scanned account (archive
 * on), and any other pair a finding names (archive off). A Region that could not be listed is
 * left out entirely: nothing is archived on a guess.
 */
export function targetsOf(report: Pick<ScanReport, 'accountId' | 'accounts' | 'regions' | 'regionErrors' | 'findings' | 'range'>, listed?: ReadonlySet<string>): SecurityHubTarget[] {
  const key = (accountId: string, region: string) => `${accountId}/${region}`;
  const unlisted = new Set(report.regionErrors.map((e) => key(e.accountId ?? report.accountId, e.region)));
  const targets = new Map<string, { accountId: string; region: string; findings: Finding[]; archive: boolean; listed?: ReadonlySet<string> }>();
  // A ranged scan (one part of a shard): only the part that ends the Region archives, and only
  // what the Region's whole listing (`listed`) no longer holds; a part that started mid-Region
  // without that listing archives nothing.
  const r = report.range;
  const partial = r !== undefined && (!r.done || (r.startAfter !== undefined && !listed));
  for (const a of report.accounts) {
    if (a.status !== 'SCANNED') continue;
    for (const region of a.regions ?? report.regions) {
      if (unlisted.has(key(a.accountId, region))) continue;
      const ranged = r?.region === region;
      targets.set(key(a.accountId, region), { accountId: a.accountId, region, findings: [], archive: !(ranged && partial), ...(ranged && listed && r?.startAfter !== undefined ? { listed } : {}) });
    }
  }
  for (const f of report.findings) {
    let t = targets.get(key(f.accountId, f.region));
    if (!t) {
      t = { accountId: f.accountId, region: f.region, findings: [], archive: false };
      targets.set(key(f.accountId, f.region), t);
    }
    t.findings.push(f);
  }
  return [...targets.values()];
}

/**
 * Imports a report into Security Hub and records the delivery on it (`report.securityHub`).
 * Clients: the report's own account with the caller's credentials, any other with the account's
 * (Clients.setAccountCredentials, as the scan set them), unless `deps.clientAccount` says otherwise.
 */
export async function publishReport(report: ScanReport, deps: SecurityHubDeps, listed?: ReadonlySet<string>): Promise<SecurityHubSummary> {
  const clientAccount = deps.clientAccount ?? ((id: string) => (id === report.accountId ? undefined : id));
  const delivery = await publishToSecurityHub(targetsOf(report, listed), { generatedAt: report.generatedAt, minRecoveryDays: report.policy.minRecoveryDays, exemptTag: report.policy.exemptTag }, { ...deps, clientAccount });
  report.securityHub = { ...delivery, failures: delivery.failures.slice(0, 100) };
  return delivery;
}

/** One line per Security Hub failure (for stderr, logs and run errors). */
export function failureLines(delivery: Pick<SecurityHubSummary, 'failures'>): string[] {
  return delivery.failures.map((f) => `Security Hub ${f.operation} in account ${f.accountId} ${f.region}${f.id ? ` for ${f.id}` : ''} failed: ${f.errorName}: ${f.message}`);
}

/**
 * Syncs the given (account, Region) targets. Also the entry point for a single table (the reactor,
 * later): one target with `archive: false` applies the change check and the UpdatedAt rule and
 * archives nothing.
 */
export async function publishToSecurityHub(targets: readonly SecurityHubTarget[], run: SecurityHubRun, deps: SecurityHubDeps): Promise<SecurityHubSummary> {
  const summary: SecurityHubSummary = { imported: 0, unchanged: 0, archived: 0, failed: 0, failures: [] };
  for (const target of targets) {
    const one = await syncTarget(target, run, deps);
    summary.imported += one.imported;
    summary.unchanged += one.unchanged;
    summary.archived += one.archived;
    summary.failed += one.failed;
    summary.failures.push(...one.failures);
  }
  const logger = deps.logger ?? silentLogger;
  for (const f of summary.failures.slice(0, 100)) logger.error('Security Hub import failed', { event: 'security-hub-failed', ...f });
  logger.info('Security Hub', { event: 'security-hub', imported: summary.imported, unchanged: summary.unchanged, archived: summary.archived, failed: summary.failed });
  return summary;
}

async function syncTarget(target: SecurityHubTarget, run: SecurityHubRun, deps: SecurityHubDeps): Promise<SecurityHubSummary> {
  const { accountId, region } = target;
  const { SecurityHubClient } = await import('./sdk/client-securityhub');
  const client = deps.clients.get(SecurityHubClient, region, deps.clientAccount?.(accountId));
  const summary: SecurityHubSummary = { imported: 0, unchanged: 0, archived: 0, failed: 0, failures: [] };
  const fail = (operation: SecurityHubFailure['operation'], error: { errorName: string; message: string }, id?: string) => {
    summary.failed++;
    summary.failures.push({ accountId, region, operation, ...(id ? { id } : {}), errorName: error.errorName, message: error.message });
  };
  let stored: Map<string, AwsSecurityFinding>;
  try {
    const partition = target.findings[0] ? partitionOfFinding(target.findings[0]) : partitionOf(region);
    stored = await ownActiveFindings(client, { accountId, region, productArn: productArn(partition, region, accountId) }, deps);
  } catch (error) {
    const e = { errorName: awsErrorName(error), message: `${errorMessage(error)} (${target.findings.length} finding(s) not imported)` };
    fail('GetFindings', e);
    summary.failed = Math.max(1, target.findings.length);
    return summary;
  }

  const records: AwsSecurityFinding[] = [];
  for (const f of target.findings) {
    const id = findingId(f);
    const old = stored.get(id);
    stored.delete(id);
    const createdAt = old?.CreatedAt ?? f.since ?? run.generatedAt;
    const next = toAsff(f, { ...run, createdAt, updatedAt: nextUpdatedAt(run.generatedAt, old?.UpdatedAt) });
    if (needsImport(next, old, run.generatedAt)) records.push(next);
    else summary.unchanged++;
  }
  const archived = target.archive ? [...stored.values()].filter((f) => archivable(f, target.listed)).map((s) => archivedRecord(s, run.generatedAt, `the tables of account ${accountId} in ${region}`)) : [];
  const result = await importFindings(client, [...records, ...archived], deps);
  const failedIds = new Set(result.failures.map((f) => f.id));
  summary.imported += records.filter((r) => !failedIds.has(r.Id as string)).length;
  summary.archived += archived.filter((r) => !failedIds.has(r.Id as string)).length;
  for (const f of result.failures) fail('BatchImportFindings', f, f.id);
  return summary;
}

/** pitr-guard's ACTIVE findings in this account and Region, by Id (every page, paced). */
export async function ownActiveFindings(client: SecurityHubClient, where: { accountId: string; region: string; productArn: string }, deps: Pick<SecurityHubDeps, 'sleep' | 'clock' | 'attempts' | 'baseDelayMs'> = {}): Promise<Map<string, AwsSecurityFinding>> {
  const { GetFindingsCommand } = await import('./sdk/client-securityhub');
  const pace = new RateLimiter(GET_FINDINGS_PER_SECOND, deps.clock, deps.sleep ?? realSleep);
  const eq = (Value: string) => [{ Value, Comparison: 'EQUALS' as const }];
  const found = new Map<string, AwsSecurityFinding>();
  let NextToken: string | undefined;
  do {
    await pace.take();
    const page = await retrying(
      () =>
        client.send(
          new GetFindingsCommand({
            Filters: { ProductArn: eq(where.productArn), GeneratorId: eq(GENERATOR_ID), AwsAccountId: eq(where.accountId), Region: eq(where.region), RecordState: eq('ACTIVE') },
            MaxResults: 100,
            ...(NextToken ? { NextToken } : {}),
          }),
        ),
      retryOptions(deps),
    );
    for (const f of page.Findings ?? []) if (f.Id && isOwnActive(f, where.accountId, where.region)) found.set(f.Id, f);
    NextToken = page.NextToken || undefined;
  } while (NextToken);
  return found;
}

/** Batches of ≤100 records and ≤6 MB (JSON size), in order. A record over 240 KB goes alone (and AWS rejects it: reported). */
export function batches(records: readonly AwsSecurityFinding[]): AwsSecurityFinding[][] {
  const out: AwsSecurityFinding[][] = [];
  let current: AwsSecurityFinding[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = Buffer.byteLength(JSON.stringify(r), 'utf8');
    if (current.length > 0 && (current.length >= MAX_FINDINGS_PER_CALL || bytes + size > MAX_BATCH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * BatchImportFindings of `records` (all of one account and Region) with the client of that
 * account and Region. Returns the records that still failed after the retries.
 */
export async function importFindings(client: SecurityHubClient, records: readonly AwsSecurityFinding[], deps: Pick<SecurityHubDeps, 'sleep' | 'clock' | 'attempts' | 'baseDelayMs'> = {}): Promise<{ failures: { id: string; errorName: string; message: string }[] }> {
  const { BatchImportFindingsCommand } = await import('./sdk/client-securityhub');
  const pace = new RateLimiter(IMPORTS_PER_SECOND, deps.clock, deps.sleep ?? realSleep);
  const attempts = deps.attempts ?? 5;
  const wait = deps.sleep ?? realSleep;
  const failures: { id: string; errorName: string; message: string }[] = [];
  for (const batch of batches(records)) {
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      await pace.take();
      let failed: { id: string; errorName: string; message: string }[];
      try {
        const out = await retrying(() => client.send(new BatchImportFindingsCommand({ Findings: pending })), retryOptions(deps));
        failed = (out.FailedFindings ?? []).map((f) => ({ id: f.Id ?? '', errorName: f.ErrorCode ?? 'Unknown', message: f.ErrorMessage ?? 'no message' }));
        // FailedCount without FailedFindings: nothing says which, so the whole batch counts as failed.
        if ((out.FailedCount ?? 0) > failed.length) failed = pending.map((r) => ({ id: r.Id as string, errorName: 'FailedCount', message: `FailedCount ${out.FailedCount} without FailedFindings` }));
      } catch (error) {
        // `retrying` already backed off on throttling and 5xx: a call that still fails ends this batch.
        failed = pending.map((r) => ({ id: r.Id as string, errorName: awsErrorName(error), message: errorMessage(error) }));
        attempt = attempts;
      }
      if (failed.length === 0) break;
      if (attempt >= attempts) {
        failures.push(...failed);
        break;
      }
      const ids = new Set(failed.map((f) => f.id));
      pending = pending.filter((r) => ids.has(r.Id as string));
      await wait(Math.round(Math.random() * Math.min(8000, (deps.baseDelayMs ?? 250) * 2 ** (attempt - 1))));
    }
  }
  return { failures };
}

function retryOptions(deps: Pick<SecurityHubDeps, 'sleep' | 'attempts' | 'baseDelayMs'>) {
  const retryable = (error: unknown) => isRetryable(error) || ['LimitExceededException', 'TooManyRequestsException'].includes(awsErrorName(error));
  return { retryable, ...(deps.sleep ? { sleep: deps.sleep } : {}), ...(deps.attempts ? { attempts: deps.attempts } : {}), ...(deps.baseDelayMs !== undefined ? { baseDelayMs: deps.baseDelayMs } : {}) };
}

export const permissions: readonly import('../core/iam').Permission[] = [
  {
    sid: 'SecurityHubImport',
    actions: ['securityhub:BatchImportFindings'],
    resource: 'securityHubProduct',
    why: 'imports pitr-guard’s findings into Security Hub with the account’s default product ARN (param securityHub=true only)',
    calledBy: ['importFindings'],
    securityHub: true,
  },
  {
    sid: 'SecurityHubRead',
    actions: ['securityhub:GetFindings'],
    resource: 'securityHubHub',
    why: 'reads back pitr-guard’s own active findings: what changed, and which tables are gone (param securityHub=true only)',
    calledBy: ['ownActiveFindings'],
    securityHub: true,
  },
];
