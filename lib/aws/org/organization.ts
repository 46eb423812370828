/**
 * The accounts of the Organization: Organizations ListAccounts (management account or delegated
 * administrator only), every page. A page may be empty while NextToken is set (the API says so):
 * only a missing NextToken ends the listing. Only accounts whose `State` is ACTIVE are kept
 * (`Status` is retired and not read): a suspended or closing account cannot be assumed into.
 * The Organizations client is loaded on first use (dynamic import): only `accounts=org` needs it.
 */
import type { Clients } from '../clients';
import { AwsCallError, CredentialsError, isCredentialError } from '../../core/errors';

/** Organizations is a global service answered in us-east-1. */
export const ORGANIZATIONS_REGION = 'us-east-1';

export interface OrgAccount {
  accountId: string;
  name?: string;
}

export interface OrgListing {
  active: OrgAccount[];
  /** Accounts listed but not ACTIVE (suspended, pending closure…): not scanned, counted for the record. */
  skipped: { accountId: string; state: string }[];
}

export async function listOrganizationAccounts(clients: Clients): Promise<OrgListing> {
  const listing: OrgListing = { active: [], skipped: [] };
  let nextToken: string | undefined;
  try {
    const { ListAccountsCommand, OrganizationsClient } = await import('../sdk/client-organizations');
    const client = clients.get(OrganizationsClient, ORGANIZATIONS_REGION);
    do {
      const out = await client.send(new ListAccountsCommand({ MaxResults: 20, NextToken: nextToken }));
      for (const a of out.Accounts ?? []) {
        if (!a.Id) continue;
        if (a.State === 'ACTIVE') listing.active.push(a.Name ? { accountId: a.Id, name: a.Name } : { accountId: a.Id });
        else listing.skipped.push({ accountId: a.Id, state: a.State ?? 'UNKNOWN' });
      }
      nextToken = out.NextToken || undefined;
    } while (nextToken);
  } catch (error) {
    if (isCredentialError(error)) throw new CredentialsError(`AWS credentials are missing, expired or invalid: ${(error as Error).message}`, { cause: error });
    throw new AwsCallError('ListAccounts', error);
  }
  return listing;
}

/** IAM for the calls above (scripts/iam/derive.ts builds each function's role from these). */
export const permissions: readonly import('../../core/iam').Permission[] = [
  {
    sid: 'ListOrganizationAccounts',
    actions: ['organizations:ListAccounts'],
    resource: '*',
    why: 'the ACTIVE accounts of the Organization, for accounts=org (management account or delegated administrator)',
    calledBy: ['listOrganizationAccounts'],
    multiAccount: true,
  },
];
