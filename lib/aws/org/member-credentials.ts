/**
 * One AssumeRole session per member account, reused for the whole run by every client of that
 * account (all Regions, all services), refreshed before it expires. The SDK's own memoisation is
 * per client, so handing `fromTemporaryCredentials` to one client per Region would assume the role
 * once per Region; this provider caches once per account and shares one in-flight request.
 *
 * The session name identifies pitr-guard in the member account's CloudTrail
 * (`assumed-role/<role>/pitr-guard-<run>`); DurationSeconds is 3600 because a Lambda function's
 * AssumeRole is role chaining, which caps a session at one hour. The STS client is loaded on the
 * first AssumeRole (dynamic import): a deployment for its own account only never loads it.
 */
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { Clients } from '../clients';
import { AwsCallError } from '../../core/errors';
import { partitionOf } from '../../core/ids';

/** Refresh when fewer than this many ms are left (the SDK's own margin is 5 minutes). */
export const REFRESH_MARGIN_MS = 5 * 60_000;
export const SESSION_SECONDS = 3600;

export interface MemberRoleOptions {
  accountId: string;
  roleName: string;
  externalId?: string;
  /** Where STS is called (the central account's home Region: regional STS endpoint). */
  homeRegion: string;
  /** Part of the session name: pitr-guard-<runId> (cut to STS's 64 characters). */
  runId: string;
  now?: () => number;
}

export function memberRoleArn(accountId: string, roleName: string, region: string): string {
  return `arn:${partitionOf(region)}:iam::${accountId}:role/${roleName}`;
}

export function sessionName(runId: string): string {
  return `pitr-guard-${runId.replace(/[^\w+=,.@-]/g, '-')}`.slice(0, 64);
}

/** A refreshing credential provider for the member role of one account (assumes it with the caller's own credentials). */
export function memberRoleCredentials(clients: Clients, options: MemberRoleOptions): AwsCredentialIdentityProvider {
  const now = options.now ?? Date.now;
  const roleArn = memberRoleArn(options.accountId, options.roleName, options.homeRegion);
  let current: AwsCredentialIdentity | undefined;
  let inFlight: Promise<AwsCredentialIdentity> | undefined;
  const fetchNew = async (): Promise<AwsCredentialIdentity> => {
    try {
      const { AssumeRoleCommand, STSClient } = await import('../sdk/client-sts');
      const out = await clients.get(STSClient, options.homeRegion).send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: sessionName(options.runId),
          DurationSeconds: SESSION_SECONDS,
          ...(options.externalId ? { ExternalId: options.externalId } : {}),
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('AssumeRole returned no credentials');
      current = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}), ...(c.Expiration ? { expiration: c.Expiration } : {}) };
      return current;
    } catch (error) {
      throw new AwsCallError('AssumeRole', error, roleArn);
    }
  };
  return async () => {
    if (current && (!current.expiration || current.expiration.getTime() - now() > REFRESH_MARGIN_MS)) return current;
    inFlight ??= fetchNew().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}

/** IAM for the calls above (scripts/iam/derive.ts builds each function's role from these). */
export const permissions: readonly import('../../core/iam').Permission[] = [
  {
    sid: 'AssumeMemberRole',
    actions: ['sts:AssumeRole'],
    resource: 'memberRole',
    why: 'reads the tables of every other account in scope through its member role (param memberRole)',
    calledBy: ['memberRoleCredentials'],
    multiAccount: true,
  },
];
