/**
 * Which accounts a scan covers and how it reaches them (PITR_GUARD_ACCOUNTS, _EXCLUDE_ACCOUNTS,
 * _MEMBER_ROLE, _EXTERNAL_ID; lib/core/config.ts reads them from the environment). Pure: every
 * bad value is a ConfigError naming the variable (or the CLI flag the caller passes).
 */
import { ConfigError } from './errors';
import { ACCOUNT_ID, EXTERNAL_ID, EXTERNAL_ID_RULE, ROLE_NAME, ROLE_NAME_RULE } from './ids';

export const DEFAULT_MEMBER_ROLE = 'pitr-guard-member';

/** `self` (the account pitr-guard runs in), `org` (every ACTIVE account of the Organization) or account IDs. */
export type AccountSelection = 'self' | 'org' | string[];

export interface Scope {
  accounts: AccountSelection;
  /** Accounts never scanned (also when `org` lists them). */
  excludeAccounts: string[];
  /** The role assumed in every account but the one pitr-guard runs in. */
  memberRole: string;
  /** sts:ExternalId sent with every AssumeRole, when set. */
  externalId?: string;
}

function accountList(value: string, variable: string, what: string): string[] {
  const parts = value.split(',').map((p) => p.trim());
  const bad = parts.find((p) => !ACCOUNT_ID.test(p));
  if (bad !== undefined) {
    throw new ConfigError(variable, value, `${bad === '' ? 'has an empty item' : `${JSON.stringify(bad)} is not a 12-digit account ID`}; must be ${what}`);
  }
  return [...new Set(parts)];
}

export function parseAccounts(value: string | undefined, variable = 'PITR_GUARD_ACCOUNTS'): AccountSelection {
  if (value === undefined) return 'self';
  const lower = value.toLowerCase();
  if (lower === 'self' || lower === 'org') return lower;
  return accountList(value, variable, 'self, org, or a comma-separated list of 12-digit account IDs');
}

export function parseExcludeAccounts(value: string | undefined, variable = 'PITR_GUARD_EXCLUDE_ACCOUNTS'): string[] {
  if (value === undefined) return [];
  return accountList(value, variable, 'a comma-separated list of 12-digit account IDs');
}

export function parseMemberRole(value: string | undefined, variable = 'PITR_GUARD_MEMBER_ROLE'): string {
  if (value === undefined) return DEFAULT_MEMBER_ROLE;
  if (!ROLE_NAME.test(value)) throw new ConfigError(variable, value, `must be an IAM role name of ${ROLE_NAME_RULE}`);
  return value;
}

export function parseExternalId(value: string | undefined, variable = 'PITR_GUARD_EXTERNAL_ID'): string | undefined {
  if (value === undefined) return undefined;
  if (!EXTERNAL_ID.test(value)) throw new ConfigError(variable, '(hidden)', `must be an external ID of ${EXTERNAL_ID_RULE}`);
  return value;
}

