/**
 * The multi-account scan: resolve the accounts in scope (self, the Organization's ACTIVE
 * accounts, or a list; minus the exclusions), reach each one (the account pitr-guard runs in with
 * its own credentials, every other through one member-role session), scan its Regions, and merge
 * everything into one ScanReport. Accounts run with a concurrency limit; reads are paced per
 * (account, Region), each of which has its own API budget. An account that cannot be reached is an
 * `accountErrors` entry with the fix; every other account is still scanned.
 */
import type { AccountSelection, Scope } from '../../core/config';
import { ConfigError, awsErrorName, errorMessage } from '../../core/errors';
import { costTotals } from '../../core/cost';
import { linkFindings } from '../../core/links';
import { callerAccountId } from '../inventory';
import { mapLimit } from '../pace';
import { regionSummaries, scan, sortFindings, summarize, type AccountError, type AccountResult, type ScanDeps, type ScanReport, type ScanRequest } from '../scan';
import { memberRoleArn, memberRoleCredentials } from './member-credentials';
import { listOrganizationAccounts, type OrgAccount } from './organization';

export const DEFAULT_ACCOUNT_CONCURRENCY = 8;

export interface AccountsScanRequest extends Omit<ScanRequest, 'clientAccount'> {
  scope: Scope;
  /** Names the member-role sessions (pitr-guard-<runId>). */
  runId: string;
  /** Accounts scanned at once (default 8); each scans its Regions in parallel. */
  concurrency?: number;
}

export interface AccountProgress {
  accountId: string;
  name?: string;
  status: AccountResult['status'];
  /** Accounts finished so far, and in scope. */
  done: number;
  total: number;
  tables: number;
  error?: string;
}

export interface AccountsScanDeps extends ScanDeps {
  /** Called once per account as it finishes. */
  onAccount?: (progress: AccountProgress) => void;
}

/** True when the scope reaches beyond the account pitr-guard runs in (`self` with no exclusions is the single-account scan). */
export function isMultiAccount(accounts: AccountSelection): boolean {
  return accounts !== 'self';
}

/** The accounts in scope, in order, without the excluded ones. Throws when nothing is left. */
export async function resolveAccounts(scope: Scope, selfId: string, deps: Pick<ScanDeps, 'clients'>): Promise<OrgAccount[]> {
  let listed: OrgAccount[];
  if (scope.accounts === 'self') listed = [{ accountId: selfId }];
  else if (scope.accounts === 'org') listed = (await listOrganizationAccounts(deps.clients)).active;
  else listed = scope.accounts.map((accountId) => ({ accountId }));
  const excluded = new Set(scope.excludeAccounts);
  const kept = listed.filter((a) => !excluded.has(a.accountId));
  if (kept.length === 0) {
    throw new ConfigError('PITR_GUARD_EXCLUDE_ACCOUNTS', scope.excludeAccounts.join(','), `excludes every account in scope (${listed.length} listed): nothing would be scanned`);
  }
  return kept;
}

/** The fix an account error names (AssumeRole refused: deploy the member template; another call refused: the role lacks it). */
export function fixFor(operation: string, scope: Scope): string {
  if (operation === 'AssumeRole') {
    return `deploy the member template to this account (role ${scope.memberRole} trusting this pitr-guard deployment${scope.externalId ? ', with the same external ID' : ''})`;
  }
  return `give the member role ${scope.memberRole} what the member template grants (${operation} was refused), or redeploy the member template`;
}

export async function scanAccounts(request: AccountsScanRequest, deps: AccountsScanDeps): Promise<ScanReport> {
  const { scope, homeRegion } = request;
  const selfId = request.accountId ?? (await callerAccountId(deps.clients, homeRegion));
  const targets = await resolveAccounts(scope, selfId, deps);
  let done = 0;

  const results = await mapLimit(targets, request.concurrency ?? DEFAULT_ACCOUNT_CONCURRENCY, async (target) => {
    const named = target.name ? { name: target.name } : {};
    const finish = (result: { report?: ScanReport; error?: AccountError }) => {
      done++;
      deps.onAccount?.({
        accountId: target.accountId,
        ...named,
        status: result.report ? 'SCANNED' : 'ERROR',
        done,
        total: targets.length,
        tables: result.report?.summary.total ?? 0,
        ...(result.error ? { error: `${result.error.operation} failed: ${result.error.errorName}` } : {}),
      });
      return { target, ...result };
    };
    const own = target.accountId === selfId;
    let operation = 'AssumeRole';
    try {
      if (!own) {
        const provider = memberRoleCredentials(deps.clients, { accountId: target.accountId, roleName: scope.memberRole, homeRegion, runId: request.runId, ...(scope.externalId ? { externalId: scope.externalId } : {}) });
        deps.clients.setAccountCredentials(target.accountId, provider);
        await provider(); // reach the account before anything else: a refusal is one account error, not one per Region
      }
      operation = 'ListRegions';
      const report = await scan({ policy: request.policy, homeRegion, accountId: target.accountId, ...(own ? {} : { clientAccount: target.accountId }) }, { ...deps, onProgress: undefined });
      return finish({ report });
    } catch (error) {
      const op = (error as { operation?: string }).operation ?? operation;
      const failure: AccountError = {
        accountId: target.accountId,
        ...named,
        operation: op,
        errorName: awsErrorName(error),
        message: errorMessage(error),
        fix: fixFor(op, scope),
      };
      const { message, ...fields } = failure; // `message` is the log line's own field
      deps.logger?.error('could not scan account', { event: 'account-error', ...fields, errorMessage: message, roleArn: memberRoleArn(target.accountId, scope.memberRole, homeRegion) });
      return finish({ error: failure });
    }
  });

  const accounts: AccountResult[] = [];
  const accountErrors: AccountError[] = [];
  const merged: Pick<ScanReport, 'findings' | 'vanished' | 'regionErrors'> = { findings: [], vanished: [], regionErrors: [] };
  const regions = new Set<string>();
  let generatedAt = new Date(0).toISOString();
  for (const r of results) {
    const named = r.target.name ? { name: r.target.name } : {};
    if (!r.report) {
      const e = r.error as AccountError;
      accountErrors.push(e);
      accounts.push({ accountId: r.target.accountId, ...named, status: 'ERROR', error: e.message });
      continue;
    }
    const rep = r.report;
    accounts.push({ accountId: r.target.accountId, ...named, status: 'SCANNED', regions: rep.regions, summary: rep.summary });
    for (const region of rep.regions) regions.add(region);
    merged.findings.push(...rep.findings);
    merged.vanished.push(...rep.vanished.map((v) => ({ accountId: r.target.accountId, ...v })));
    merged.regionErrors.push(...rep.regionErrors.map((e) => ({ accountId: r.target.accountId, ...e })));
    if (rep.generatedAt > generatedAt) generatedAt = rep.generatedAt;
  }
  if (generatedAt === new Date(0).toISOString()) generatedAt = (deps.now ?? (() => new Date()))().toISOString();

  return {
    generatedAt,
    accountId: selfId,
    accounts,
    accountErrors,
    regions: [...regions].sort(),
    policy: { minRecoveryDays: request.policy.minRecoveryDays, exemptTag: request.policy.exemptTag },
    summary: summarize(merged.findings),
    cost: costTotals(merged.findings),
    // Linked again across accounts: a restore source or replica in another account of the scope.
    findings: sortFindings(linkFindings(merged.findings)),
    vanished: merged.vanished,
    regionErrors: merged.regionErrors,
    regionSummaries: regionSummaries(merged.findings, [...regions].sort(), true, accounts.flatMap((a) => (a.status === 'SCANNED' ? (a.regions ?? []).map((region) => ({ accountId: a.accountId, region })) : []))),
    shardErrors: [],
  };
}

/** No AWS command of its own: organization.ts and member-credentials.ts declare theirs. */
export const permissions: readonly import('../../core/iam').Permission[] = [];
