/**
 * What `scan` and `explain` share: the policy from flags (then environment, then defaults), the
 * Region(s), the clients (profile, endpoint) and the logger. Every bad value is a one-line
 * UsageError or ConfigError naming the flag or variable, found before any AWS SDK client exists.
 */
import { STSClient } from '@aws-sdk/client-sts';
import { Clients, type SdkLogger } from '../aws/clients';
import { ENV, envRegion, parseExemptTag, parseRecoveryDays, parseRegions, validateEnvironment } from '../core/config';
import { UsageError } from '../core/errors';
import { createLogger, silentLogger, type Logger } from '../runtime/logger';
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

/** The Region in the profile's config, as the SDK resolves it (creates, but never calls, an STS client). */
export async function profileRegion(profile: string | undefined): Promise<string | undefined> {
  try {
    return await new STSClient(profile ? { profile } : {}).config.region();
  } catch {
    return undefined;
  }
}

/** The Region the SDK would use by default (AWS_REGION, then the profile's config), if any. */
export async function defaultRegion(profile: string | undefined, env: CliIo['env'], sdkRegion: SdkRegion = profileRegion): Promise<string | undefined> {
  const fromEnv = envRegion(env);
  if (fromEnv) return fromEnv;
  return sdkRegion(profile);
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

/** The policy values the flags (then environment) give, before anything touches AWS. */
export interface Validated {
  minRecoveryDays: number;
  exemptTag: string;
}

/**
 * Every check that needs no AWS: the flags, and every PITR_GUARD_* variable that is set (also
 * those this command does not use; a bad one is a mistake worth stopping for). Runs before any
 * SDK client exists, so a bad value is one line and nothing else.
 */
export function validateCommon(flags: CommonFlags, io: CliIo): Validated {
  const minRecoveryDays = parseRecoveryDays(
    flags.minRecoveryDays ?? envValue(io.env, ENV.minRecoveryDays),
    flags.minRecoveryDays !== undefined ? '--min-recovery-days' : ENV.minRecoveryDays,
  );
  const exemptTag = parseExemptTag(flags.exemptTag ?? envValue(io.env, ENV.exemptTag), flags.exemptTag !== undefined ? '--exempt-tag' : ENV.exemptTag);
  checkEndpoint(flags.endpointUrl);
  validateEnvironment(io.env);
  return { minRecoveryDays, exemptTag };
}

/** The SDK's Region lookup for a profile (its config file); injectable so tests can see when it runs. */
export type SdkRegion = (profile: string | undefined) => Promise<string | undefined>;

/** Marks the SDK's multi-line warning about a profile and static keys both being set. */
const MULTIPLE_CREDENTIAL_SOURCES = 'Multiple credential sources detected';

/**
 * The SDK's logger for CLI runs: per-request records (info) and failed calls (error, which the
 * CLI reports itself as one line with the exit code) are dropped; each warning is one
 * `pitr-guard:` line on stderr, except the credential-sources one, which `credentialSourceNote`
 * has already said in one line before any call.
 */
export function cliSdkLogger(io: Pick<CliIo, 'stderr'>): SdkLogger {
  const warn = (...content: unknown[]) => {
    const text = content.map((c) => (typeof c === 'string' ? c : c instanceof Error ? c.message : JSON.stringify(c))).join(' ');
    if (text.includes(MULTIPLE_CREDENTIAL_SOURCES)) return;
    io.stderr(`pitr-guard: AWS SDK warning: ${text.replace(/\s+/g, ' ').trim()}\n`);
  };
  return { debug: () => undefined, info: () => undefined, warn, error: () => undefined };
}

/** One line when a profile and static keys are both set: the SDK uses the profile and ignores the keys. */
export function credentialSourceNote(profileFlag: string | undefined, env: CliIo['env']): string | undefined {
  const profile = profileFlag ?? envValue(env, 'AWS_PROFILE');
  if (!profile || !envValue(env, 'AWS_ACCESS_KEY_ID') || !envValue(env, 'AWS_SECRET_ACCESS_KEY')) return undefined;
  const from = profileFlag !== undefined ? '--profile' : 'AWS_PROFILE';
  return `pitr-guard: note: using the profile ${JSON.stringify(profile)} (${from}); AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment are ignored\n`;
}

export async function resolveCommon(flags: CommonFlags, io: CliIo, validated: Validated, sdkRegion: SdkRegion = profileRegion): Promise<Resolved> {
  const note = credentialSourceNote(flags.profile, io.env);
  if (note) io.stderr(note);
  const clients = new Clients({ endpoint: flags.endpointUrl, profile: flags.profile, logger: cliSdkLogger(io) });
  const logger = flags.verbose ? createLogger({ level: 'debug', write: (line) => io.stderr(line + '\n') }) : silentLogger;
  return { ...validated, clients, logger, defaultRegion: await defaultRegion(flags.profile, io.env, sdkRegion) };
}

/** --regions, else PITR_GUARD_REGIONS, parsed; undefined when neither is set (the default Region applies). */
export function parseRegionsOption(flag: string | undefined, io: CliIo): string[] | 'all' | undefined {
  const value = flag ?? envValue(io.env, ENV.regions);
  if (value === undefined) return undefined;
  return parseRegions(value, undefined, flag !== undefined ? '--regions' : ENV.regions);
}

/** The Regions to scan: --regions, else PITR_GUARD_REGIONS, else the SDK's default Region. */
export function resolveRegions(flag: string | undefined, io: CliIo, fallback: string | undefined): string[] | 'all' {
  const parsed = parseRegionsOption(flag, io);
  if (parsed !== undefined) return parsed;
  if (!fallback) {
    throw new UsageError('no Region to scan: pass --regions (e.g. --regions us-east-1,eu-west-1 or --regions all) or set AWS_REGION');
  }
  return parseRegions(undefined, fallback, ENV.regions);
}

/** Checks one Region code; `source` names where it came from (--region, the table ARN, AWS_REGION). */
export function checkOneRegion(value: string, source: string): string {
  const parsed = parseRegions(value, undefined, source);
  if (parsed === 'all' || parsed.length !== 1) {
    throw new UsageError(`Invalid ${source}=${JSON.stringify(value)}: must be exactly one Region code, e.g. eu-west-1`);
  }
  return parsed[0] as string;
}

/** One Region for a single-table command: --region, else the SDK's default Region. */
export function resolveOneRegion(flag: string | undefined, fallback: string | undefined): string {
  if (flag !== undefined) return checkOneRegion(flag, '--region');
  if (!fallback) throw new UsageError('no Region given: pass --region (e.g. --region eu-west-1) or set AWS_REGION');
  return checkOneRegion(fallback, 'AWS_REGION');
}
