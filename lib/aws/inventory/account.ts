/**
 * Who and where: the caller's account (STS GetCallerIdentity, no IAM permission needed) and the
 * Regions enabled for it (Account ListRegions, IAM account:ListRegions on "*"), for `all`.
 * Both clients are loaded on first use (dynamic import): a function that never asks (the reactor
 * is told its account by the Lambda context; most policies list their Regions) never loads them.
 */
import type { Clients } from '../clients';
import { AwsCallError, CredentialsError, isCredentialError } from '../../core/errors';

export async function callerAccountId(clients: Clients, region: string): Promise<string> {
  try {
    const { GetCallerIdentityCommand, STSClient } = await import('../sdk/client-sts');
    const out = await clients.get(STSClient, region).send(new GetCallerIdentityCommand({}));
    if (!out.Account) throw new Error('GetCallerIdentity returned no Account');
    return out.Account;
  } catch (error) {
    if (isCredentialError(error)) {
      throw new CredentialsError(`AWS credentials are missing, expired or invalid (${(error as Error).name}): ${(error as Error).message}`, { cause: error });
    }
    throw new AwsCallError('GetCallerIdentity', error);
  }
}

/**
 * The Regions enabled for the account (enabled by default or opted in), sorted: Account
 * ListRegions (IAM account:ListRegions), paged.
 */
export async function enabledRegions(clients: Clients, region: string, clientAccount?: string): Promise<string[]> {
  const names: string[] = [];
  try {
    const { AccountClient, ListRegionsCommand } = await import('../sdk/client-account');
    const account = clients.get(AccountClient, region, clientAccount);
    let nextToken: string | undefined;
    do {
      const out = await account.send(
        new ListRegionsCommand({ RegionOptStatusContains: ['ENABLED', 'ENABLED_BY_DEFAULT'], MaxResults: 50, NextToken: nextToken }),
      );
      for (const r of out.Regions ?? []) if (r.RegionName) names.push(r.RegionName);
      nextToken = out.NextToken;
    } while (nextToken);
  } catch (error) {
    if (isCredentialError(error)) throw new CredentialsError(`AWS credentials are missing, expired or invalid: ${(error as Error).message}`, { cause: error });
    throw new AwsCallError('ListRegions', error);
  }
  if (names.length === 0) throw new AwsCallError('ListRegions', new Error('ListRegions returned no enabled Regions'));
  return names.sort();
}

/** IAM for the calls above (scripts/iam/derive.ts builds each function's role from these). */
export const permissions: readonly import('../../core/iam').Permission[] = [
  { sid: 'CallerIdentity', actions: ['sts:GetCallerIdentity'], resource: 'noGrantNeeded', why: 'the account being read (always allowed)', calledBy: ['callerAccountId'] },
  { sid: 'EnabledRegionsForAll', actions: ['account:ListRegions'], resource: '*', why: 'the Regions enabled for the account, for regions=all', calledBy: ['enabledRegions'] },
];
