/**
 * What `scan` and `explain` share: the policy from flags (then environment, then defaults), the
 * Region(s), the clients (profile, endpoint) and the logger. Every bad value is a one-line
 * UsageError or ConfigError naming the flag or variable.
 */
import { STSClient } from '@aws-sdk/client-sts';
import { Clients } from '../clients';
import { ENV, parseExemptTag, parseRecoveryDays, parseRegions } from '../config';
import { UsageError } from '../errors';
import { createLogger, silentLogger, type Logger } from '../logger';
import type { CliIo } from './io';

export interface CommonFlags {
  minRecoveryDays?: string;
  exemptTag?: string;
  endpointUrl?: string;
  profile?: string;
  verbose?: boolean;
}

export interface Resolved {
  minRecoveryDays: number;
  exemptTag: string;
  clients: Clients;
  logger: Logger;
  /** The SDK's default Region (AWS_REGION, then the profile's), if any. */
  defaultRegion: string | undefined;
}

export function envValue(env: CliIo['env'], name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

/** The Region the SDK would use by default (AWS_REGION, then the profile's config), if any. */
export async function defaultRegion(profile: string | undefined, env: CliIo['env']): Promise<string | undefined> {
  const fromEnv = envValue(env, 'AWS_REGION') ?? envValue(env, 'AWS_DEFAULT_REGION');
  if (fromEnv) return fromEnv;
  try {
    return await new STSClient(profile ? { profile } : {}).config.region();
  } catch {
    return undefined;
  }
}

export function checkEndpoint(endpointUrl: string | undefined): void {
  if (!endpointUrl) return;
  let url: URL;
  try {
    url = new URL(endpointUrl);
  } catch {
    throw new UsageError(`Invalid --endpoint-url=${JSON.stringify(endpointUrl)}: must be an absolute URL such as http://127.0.0.1:5000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`Invalid --endpoint-url=${JSON.stringify(endpointUrl)}: must be an http:// or https:// URL`);
  }
}

export async function resolveCommon(flags: CommonFlags, io: CliIo): Promise<Resolved> {
  const minRecoveryDays = parseRecoveryDays(
    flags.minRecoveryDays ?? envValue(io.env, ENV.minRecoveryDays),
    flags.minRecoveryDays !== undefined ? '--min-recovery-days' : ENV.minRecoveryDays,
  );
  const exemptTag = parseExemptTag(flags.exemptTag ?? envValue(io.env, ENV.exemptTag), flags.exemptTag !== undefined ? '--exempt-tag' : ENV.exemptTag);
  checkEndpoint(flags.endpointUrl);
  const clients = new Clients({ endpoint: flags.endpointUrl, profile: flags.profile });
  const logger = flags.verbose ? createLogger({ level: 'debug', write: (line) => io.stderr(line + '\n') }) : silentLogger;
  return { minRecoveryDays, exemptTag, clients, logger, defaultRegion: await defaultRegion(flags.profile, io.env) };
}

/** The Regions to scan: --regions, else PITR_GUARD_REGIONS, else the SDK's default Region. */
export function resolveRegions(flag: string | undefined, io: CliIo, fallback: string | undefined): string[] | 'all' {
  const value = flag ?? envValue(io.env, ENV.regions);
  if (value === undefined && !fallback) {
    throw new UsageError('no Region to scan: pass --regions (e.g. --regions us-east-1,eu-west-1 or --regions all) or set AWS_REGION');
  }
  return parseRegions(value, fallback, flag !== undefined ? '--regions' : ENV.regions);
}

/** One Region for a single-table command: --region, else the SDK's default Region. */
export function resolveOneRegion(flag: string | undefined, fallback: string | undefined): string {
  const value = flag ?? fallback;
  if (!value) throw new UsageError('no Region given: pass --region (e.g. --region eu-west-1) or set AWS_REGION');
  const parsed = parseRegions(value, undefined, flag !== undefined ? '--region' : 'AWS_REGION');
  if (parsed === 'all' || parsed.length !== 1) {
    throw new UsageError(`Invalid --region=${JSON.stringify(value)}: must be exactly one Region code, e.g. eu-west-1`);
  }
  return parsed[0] as string;
}
