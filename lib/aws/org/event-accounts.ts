/**
 * The reactor's view of accounts: which accounts' events it acts on (the scan's scope rules) and
 * how it reaches one (its member role). Lives for the container, so an Organization listing and
 * the member-role sessions are shared by every event a warm Lambda handles.
 *
 * - `self`: only the account pitr-guard runs in. A list: exactly those accounts. `org`: the ACTIVE
 *   accounts of the Organization (ListAccounts, cached `orgTtlMs`, default 15 minutes; an account
 *   not in the cache re-lists once the cache is a minute old, so a newly joined account is not
 *   refused for 15 minutes). Exclusions always win.
 * - Another account is reached through its member role, one refreshing session per account per
 *   container (member-credentials.ts), set as that account's credentials in `Clients` before its
 *   first client exists.
 * - A refused AssumeRole is classified by error name (`assumeFailure`): throttling, 5xx, timeouts
 *   and network failures are transient (the reactor fails the invocation and Lambda retries);
 *   everything else (AccessDenied: no member role or a trust that does not name this deployment,
 *   RegionDisabledException, a bad external ID, ExpiredToken...) is permanent: one alert that the
 *   table could not be checked, with the fix.
 */
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { Clients } from '../clients';
import type { Scope } from '../../core/scope';
import { awsErrorName, errorMessage } from '../../core/errors';
import { isTransientError } from '../../core/decide';
import { memberRoleArn, memberRoleCredentials } from './member-credentials';
import { listOrganizationAccounts, type OrgAccount } from './organization';

export const ORG_TTL_MS = 15 * 60_000;
/** An account missing from a listing at least this old re-lists the Organization once. */
export const ORG_MISS_REFRESH_MS = 60_000;
/** The member-role session name of the reactor: pitr-guard-reactor in the member account's CloudTrail. */
export const REACTOR_SESSION = 'reactor';

export type AccountVerdict = { inScope: true; name?: string } | { inScope: false; reason: string };

export interface AssumeFailure {
  operation: 'AssumeRole';
  roleArn: string;
  errorName: string;
  message: string;
  transient: boolean;
  /** What a person does about it. */
  fix: string;
}

export interface EventAccountsOptions {
  clients: Clients;
  scope: Scope;
  /** Where STS is called (the function's Region). */
  homeRegion: string;
  orgTtlMs?: number;
  now?: () => number;
}

export class EventAccounts {
  private org?: { at: number; accounts: Map<string, OrgAccount> };
  private readonly sessions = new Map<string, AwsCredentialIdentityProvider>();

  constructor(private readonly options: EventAccountsOptions) {}

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Whether events of `accountId` are acted on (`selfId`: the account pitr-guard runs in). */
  async verdict(accountId: string, selfId: string): Promise<AccountVerdict> {
    const { scope } = this.options;
    if (scope.excludeAccounts.includes(accountId)) return { inScope: false, reason: `account ${accountId} is excluded (PITR_GUARD_EXCLUDE_ACCOUNTS)` };
    if (scope.accounts === 'self') {
      return accountId === selfId ? { inScope: true } : { inScope: false, reason: `account ${accountId} is not this deployment's account ${selfId} (PITR_GUARD_ACCOUNTS is self)` };
    }
    if (Array.isArray(scope.accounts)) {
      return scope.accounts.includes(accountId) ? { inScope: true } : { inScope: false, reason: `account ${accountId} is not in PITR_GUARD_ACCOUNTS (${scope.accounts.length} listed)` };
    }
    let found = (await this.orgAccounts(false)).get(accountId);
    if (!found && this.now - (this.org?.at ?? 0) >= ORG_MISS_REFRESH_MS) found = (await this.orgAccounts(true)).get(accountId);
    if (!found) return { inScope: false, reason: `account ${accountId} is not an ACTIVE account of the Organization (PITR_GUARD_ACCOUNTS is org)` };
    return found.name ? { inScope: true, name: found.name } : { inScope: true };
  }

  /** The account's name, when the Organization listing has been read and names it. */
  nameOf(accountId: string): string | undefined {
    return this.org?.accounts.get(accountId)?.name;
  }

  private async orgAccounts(refresh: boolean): Promise<Map<string, OrgAccount>> {
    const ttl = this.options.orgTtlMs ?? ORG_TTL_MS;
    if (!refresh && this.org && this.now - this.org.at < ttl) return this.org.accounts;
    const listing = await listOrganizationAccounts(this.options.clients);
    this.org = { at: this.now, accounts: new Map(listing.active.map((a) => [a.accountId, a])) };
    return this.org.accounts;
  }

  /**
   * Makes `accountId`'s clients act through its member role (nothing for the own account) and
   * checks the session can be had. Undefined when it can; the failure otherwise (never throws).
   */
  async reach(accountId: string, selfId: string): Promise<AssumeFailure | undefined> {
    if (accountId === selfId) return undefined;
    const { clients, scope, homeRegion } = this.options;
    let provider = this.sessions.get(accountId);
    if (!provider) {
      provider = memberRoleCredentials(clients, { accountId, roleName: scope.memberRole, homeRegion, runId: REACTOR_SESSION, ...(scope.externalId ? { externalId: scope.externalId } : {}) });
      clients.setAccountCredentials(accountId, provider);
      this.sessions.set(accountId, provider);
    }
    try {
      await provider();
      return undefined;
    } catch (error) {
      return assumeFailure(error, memberRoleArn(accountId, scope.memberRole, homeRegion), accountId, scope);
    }
  }
}

/** A refused AssumeRole, classified: transient (retry) or permanent (alert once), with the fix. */
export function assumeFailure(error: unknown, roleArn: string, accountId: string, scope: Pick<Scope, 'memberRole' | 'externalId'>): AssumeFailure {
  const errorName = awsErrorName(error);
  const status = ((error as { cause?: unknown } | undefined)?.cause as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  const transient = isTransientError(errorName, status);
  const fix = transient
    ? 'none needed if it passes: STS was throttled or unavailable; pitr-guard retries the event'
    : `deploy the member template (member/template.yaml) to account ${accountId}: role ${scope.memberRole} trusting this pitr-guard deployment${scope.externalId ? ', with the same external ID' : ''}, with AllowRemediation=true to let pitr-guard re-enable PITR`;
  return { operation: 'AssumeRole', roleArn, errorName, message: errorMessage(error), transient, fix };
}

/**
 * Without any AWS call: true when the account is out of scope for sure (`self` and another
 * account, a list without it, an excluded account). `org` membership needs the listing: false.
 * The de-duplication middleware uses it to write no record for an event that is surely dropped.
 */
export function surelyOutOfScope(accountId: string, selfId: string, scope: Pick<Scope, 'accounts' | 'excludeAccounts'>): boolean {
  if (scope.excludeAccounts.includes(accountId)) return true;
  if (scope.accounts === 'self') return accountId !== selfId;
  if (Array.isArray(scope.accounts)) return !scope.accounts.includes(accountId);
  return false;
}
