// Why this file stays whole (over 300 lines): it is the one table of every PITR_GUARD_* variable beside its parser, checked against docs/configuration.md by test/unit/docs.test.ts; the parsers that grow on their own (scope, Regions, ids) live in scope.ts, regions.ts and ids.ts.
/**
 * The policy: read once per cold start (or once per CLI run), validated in full before anything
 * runs. Every invalid value fails with one line naming the variable, the bad value and what is
 * allowed. An empty value counts as unset, so a blank serverless param gives the default.
 */
import { ConfigError } from './errors';
import { isTableName, TABLE_NAME_RULE, TOPIC_ARN } from './ids';
import { parseAccounts, parseExcludeAccounts, parseExternalId, parseMemberRole, type Scope } from './scope';

export { parseAccounts, parseExcludeAccounts, parseExternalId, parseMemberRole, type AccountSelection, type Scope } from './scope';
import { KNOWN_REGIONS } from './regions';
import { parseDrillTables, type DrillTarget } from './drill';
import { MODES, type Mode, type Policy } from './types';
import { LIFECYCLE_DEFAULTS, type LifecycleSettings } from './lifecycle';

export const ENV = {
  mode: 'PITR_GUARD_MODE',
  minRecoveryDays: 'PITR_GUARD_MIN_RECOVERY_DAYS',
  exemptTag: 'PITR_GUARD_EXEMPT_TAG',
  regions: 'PITR_GUARD_REGIONS',
  dryRun: 'PITR_GUARD_DRY_RUN',
  logLevel: 'PITR_GUARD_LOG_LEVEL',
  alertTopicArn: 'PITR_GUARD_ALERT_TOPIC_ARN',
  slackWebhookParam: 'PITR_GUARD_SLACK_WEBHOOK_PARAM',
  idempotencyTable: 'PITR_GUARD_IDEMPOTENCY_TABLE',
  findingsTable: 'PITR_GUARD_FINDINGS_TABLE',
  readOnly: 'PITR_GUARD_READ_ONLY',
  accounts: 'PITR_GUARD_ACCOUNTS',
  excludeAccounts: 'PITR_GUARD_EXCLUDE_ACCOUNTS',
  memberRole: 'PITR_GUARD_MEMBER_ROLE',
  externalId: 'PITR_GUARD_EXTERNAL_ID',
  reportBucket: 'PITR_GUARD_REPORT_BUCKET',
  maxConcurrency: 'PITR_GUARD_MAX_CONCURRENCY',
  remindHours: 'PITR_GUARD_REMIND_HOURS',
  loopLimit: 'PITR_GUARD_LOOP_LIMIT',
  loopWindowMinutes: 'PITR_GUARD_LOOP_WINDOW_MINUTES',
  securityHub: 'PITR_GUARD_SECURITY_HUB',
  drillTables: 'PITR_GUARD_DRILL_TABLES',
} as const;

export const DEFAULTS = {
  mode: 'report' as Mode,
  minRecoveryDays: 35,
  exemptTag: 'pitr-guard:exempt',
  dryRun: false,
};

export type Source = Readonly<Record<string, string | undefined>>;

function read(source: Source, name: string): string | undefined {
  const value = source[name];
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

export function parseMode(value: string | undefined, variable: string = ENV.mode): Mode {
  if (value === undefined) return DEFAULTS.mode;
  if ((MODES as readonly string[]).includes(value)) return value as Mode;
  throw new ConfigError(variable, value, `must be one of ${MODES.join(', ')}`);
}

export function parseRecoveryDays(value: string | undefined, variable: string = ENV.minRecoveryDays): number {
  if (value === undefined) return DEFAULTS.minRecoveryDays;
  const n = /^\d{1,3}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 35) {
    throw new ConfigError(variable, value, 'must be a whole number of days from 1 to 35');
  }
  return n;
}

// DynamoDB tag keys: 1–128 Unicode letters, digits, spaces and _ . : / = + - @; `aws:` is reserved.
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;

export function parseExemptTag(value: string | undefined, variable: string = ENV.exemptTag): string {
  if (value === undefined) return DEFAULTS.exemptTag;
  if (!TAG_KEY.test(value) || value.toLowerCase().startsWith('aws:')) {
    throw new ConfigError(
      variable,
      value,
      'must be a tag key of 1-128 letters, digits, spaces or _ . : / = + - @, not starting with aws:',
    );
  }
  return value;
}

export function parseBoolean(value: string | undefined, variable: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const lower = value.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new ConfigError(variable, value, 'must be true or false');
}

/**
 * A comma list of Region codes, or `all`. Unknown codes are an error: scanning a misspelt Region
 * would report "no tables" and look like a clean bill of health.
 */
export function parseRegions(
  value: string | undefined,
  fallbackRegion: string | undefined,
  variable: string = ENV.regions,
): string[] | 'all' {
  if (value === undefined) {
    if (!fallbackRegion) {
      throw new ConfigError(variable, '', 'no Region given and AWS_REGION is not set; name one or more Region codes, or all');
    }
    return [checkRegion(fallbackRegion, 'AWS_REGION', fallbackRegion)];
  }
  if (value.toLowerCase() === 'all') return 'all';
  const parts = value.split(',').map((p) => p.trim().toLowerCase());
  if (parts.some((p) => p === '')) {
    throw new ConfigError(variable, value, 'must be a comma-separated list of Region codes (no empty items), or all');
  }
  if (parts.includes('all')) {
    throw new ConfigError(variable, value, 'all cannot be combined with Region codes');
  }
  return [...new Set(parts.map((p) => checkRegion(p, variable, value)))];
}

function checkRegion(code: string, variable: string, whole: string): string {
  if (!KNOWN_REGIONS.includes(code)) {
    throw new ConfigError(variable, whole, `${JSON.stringify(code)} is not a known AWS Region code (e.g. us-east-1, eu-west-1), or use all`);
  }
  return code;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function parseLogLevel(value: string | undefined, variable: string = ENV.logLevel): LogLevel {
  if (value === undefined) return 'info';
  const lower = value.toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(lower)) return lower as LogLevel;
  throw new ConfigError(variable, value, `must be one of ${LOG_LEVELS.join(', ')}`);
}

// Standard (not FIFO) SNS topic ARN: Publish to a FIFO topic would need a MessageGroupId.

export function parseTopicArn(value: string | undefined, variable: string = ENV.alertTopicArn): string | undefined {
  if (value === undefined) return undefined;
  if (!TOPIC_ARN.test(value)) {
    throw new ConfigError(variable, value, 'must be the ARN of a standard SNS topic, e.g. arn:aws:sns:us-east-1:123456789012:pitr-guard-alerts');
  }
  return value;
}

// SSM parameter names: a plain name, or a path starting with "/"; letters, digits and _ . - only;
// names starting with aws or ssm (any case) are reserved.
const SSM_NAME = /^(?:(?:\/[A-Za-z0-9_.-]+)+|[A-Za-z0-9_.-]+)$/;

export function parseSsmParameterName(value: string | undefined, variable: string = ENV.slackWebhookParam): string | undefined {
  if (value === undefined) return undefined;
  const first = value.replace(/^\//, '').toLowerCase();
  if (value.length > 1011 || !SSM_NAME.test(value) || first.startsWith('aws') || first.startsWith('ssm')) {
    throw new ConfigError(
      variable,
      value,
      'must be an SSM parameter name such as /pitr-guard/slack-webhook (letters, digits, _ . - and / path separators; not starting with aws or ssm)',
    );
  }
  return value;
}

export function parseTableName(value: string | undefined, variable: string): string | undefined {
  if (value === undefined) return undefined;
  if (!isTableName(value)) {
    throw new ConfigError(variable, value, `must be a DynamoDB table name of ${TABLE_NAME_RULE}`);
  }
  return value;
}

// S3 general purpose bucket names: 3-63 lowercase letters, digits, . and -, starting and ending
// with a letter or digit, no "..", not shaped like an IP address.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseBucketName(value: string | undefined, variable: string = ENV.reportBucket): string | undefined {
  if (value === undefined) return undefined;
  if (!BUCKET_NAME.test(value) || value.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(value)) {
    throw new ConfigError(variable, value, 'must be an S3 bucket name of 3-63 lowercase letters, digits, . or - (starting and ending with a letter or digit)');
  }
  return value;
}

export const DEFAULT_MAX_CONCURRENCY = 50;

/** The Organization scan's Distributed Map MaxConcurrency: 1 to 10,000 (Step Functions' ceiling). */
export function parseMaxConcurrency(value: string | undefined, variable: string = ENV.maxConcurrency): number {
  if (value === undefined) return DEFAULT_MAX_CONCURRENCY;
  const n = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 10_000) {
    throw new ConfigError(variable, value, 'must be a whole number of shards from 1 to 10000');
  }
  return n;
}

/** PITR_GUARD_REPORT_BUCKET: where reports (and the Organization scan's run files) go, or undefined (none). */
export function reportBucketFromEnv(source: Source = process.env): string | undefined {
  return parseBucketName(read(source, ENV.reportBucket), ENV.reportBucket);
}

/** PITR_GUARD_MAX_CONCURRENCY: shards scanned at once by the Organization scan (default 50). */
export function maxConcurrencyFromEnv(source: Source = process.env): number {
  return parseMaxConcurrency(read(source, ENV.maxConcurrency), ENV.maxConcurrency);
}

// ---------------------------------------------------------------- scope: which accounts

/** The accounts to scan and how to reach them, from environment-style variables. */
export function parseScope(source: Source): Scope {
  const scope: Scope = {
    accounts: parseAccounts(read(source, ENV.accounts)),
    excludeAccounts: parseExcludeAccounts(read(source, ENV.excludeAccounts)),
    memberRole: parseMemberRole(read(source, ENV.memberRole)),
  };
  const externalId = parseExternalId(read(source, ENV.externalId));
  if (externalId) scope.externalId = externalId;
  return scope;
}

/** Builds the policy from environment-style variables. Throws ConfigError on the first bad value. */
export function parsePolicy(source: Source): Policy {
  const policy: Policy = {
    mode: parseMode(read(source, ENV.mode)),
    minRecoveryDays: parseRecoveryDays(read(source, ENV.minRecoveryDays)),
    exemptTag: parseExemptTag(read(source, ENV.exemptTag)),
    regions: parseRegions(read(source, ENV.regions), envRegion(source)),
    dryRun: parseBoolean(read(source, ENV.dryRun), ENV.dryRun, DEFAULTS.dryRun),
  };
  // serverless param readOnly: the stack's roles hold no UpdateContinuousBackups, so remediate
  // would fail on every table. Refused at cold start rather than downgraded behind the user's back.
  if (parseBoolean(read(source, ENV.readOnly), ENV.readOnly, false)) {
    if (policy.mode === 'remediate') {
      throw new ConfigError(
        ENV.mode,
        'remediate',
        `not allowed with ${ENV.readOnly}=true (serverless param readOnly): the stack cannot call dynamodb:UpdateContinuousBackups; use alert or report`,
      );
    }
    policy.readOnly = true;
  }
  const alertTopicArn = parseTopicArn(read(source, ENV.alertTopicArn));
  if (alertTopicArn) policy.alertTopicArn = alertTopicArn;
  const slackWebhookParam = parseSsmParameterName(read(source, ENV.slackWebhookParam));
  if (slackWebhookParam) policy.slackWebhookParam = slackWebhookParam;
  return policy;
}

/** How each pitr-guard variable is checked (a new ENV entry without a check here does not compile). */
const ENV_CHECKS = {
  mode: (v, name) => parseMode(v, name),
  minRecoveryDays: (v, name) => parseRecoveryDays(v, name),
  exemptTag: (v, name) => parseExemptTag(v, name),
  regions: (v, name) => parseRegions(v, undefined, name),
  dryRun: (v, name) => parseBoolean(v, name, DEFAULTS.dryRun),
  logLevel: (v, name) => parseLogLevel(v, name),
  alertTopicArn: (v, name) => parseTopicArn(v, name),
  slackWebhookParam: (v, name) => parseSsmParameterName(v, name),
  idempotencyTable: (v, name) => parseTableName(v, name),
  findingsTable: (v, name) => parseTableName(v, name),
  readOnly: (v, name) => parseBoolean(v, name, false),
  accounts: (v, name) => parseAccounts(v, name),
  excludeAccounts: (v, name) => parseExcludeAccounts(v, name),
  memberRole: (v, name) => parseMemberRole(v, name),
  externalId: (v, name) => parseExternalId(v, name),
  reportBucket: (v, name) => parseBucketName(v, name),
  maxConcurrency: (v, name) => parseMaxConcurrency(v, name),
  remindHours: (v, name) => parseWholeNumber(v, name, LIFECYCLE_DEFAULTS.remindHours, 0, 8760, 'hours between reminders, from 0 (never remind) to 8760'),
  loopLimit: (v, name) => parseWholeNumber(v, name, LIFECYCLE_DEFAULTS.loopLimit, 0, 100, 'disables within the window that escalate, from 1 to 100, or 0 (loop protection off)'),
  loopWindowMinutes: (v, name) => parseWholeNumber(v, name, LIFECYCLE_DEFAULTS.loopWindowMinutes, 1, 10080, 'minutes, from 1 to 10080 (7 days)'),
  securityHub: (v, name) => parseBoolean(v, name, false),
  drillTables: (v, name) => parseDrillTables(v, name),
} satisfies Record<keyof typeof ENV, (value: string, variable: string) => unknown>;

/**
 * Checks every pitr-guard variable that is set in `source`, also those the caller does not use
 * (the CLI needs three, but a bad PITR_GUARD_MODE in the same shell is a mistake worth stopping
 * for). Throws ConfigError naming the first bad variable; unset or empty variables are fine.
 */
export function validateEnvironment(source: Source): void {
  for (const key of Object.keys(ENV_CHECKS) as (keyof typeof ENV)[]) {
    const value = read(source, ENV[key]);
    if (value !== undefined) ENV_CHECKS[key](value, ENV[key]);
  }
}

/** The Region the environment names, as the SDK reads it: AWS_REGION, then AWS_DEFAULT_REGION (blank = unset). */
export function envRegion(source: Source = process.env): string | undefined {
  return read(source, 'AWS_REGION') ?? read(source, 'AWS_DEFAULT_REGION');
}

/** The Lambda function's own Region (Lambda sets AWS_REGION): where it calls SSM, STS and its own tables. */
export function functionRegionFromEnv(source: Source = process.env): string {
  const region = envRegion(source);
  if (!region) throw new ConfigError('AWS_REGION', '', 'must name the Region the function runs in (Lambda sets it)');
  return region;
}

/** PITR_GUARD_IDEMPOTENCY_TABLE: the reactor's de-duplication table, or undefined (no de-duplication). */
export function idempotencyTableFromEnv(source: Source = process.env): string | undefined {
  return parseTableName(read(source, ENV.idempotencyTable), ENV.idempotencyTable);
}

let cachedScope: Scope | undefined;

/** The scope from process.env, parsed once per process (cold start). */
export function scopeFromEnv(): Scope {
  cachedScope ??= parseScope(process.env);
  return cachedScope;
}

/** PITR_GUARD_FINDINGS_TABLE: the findings ledger (lib/state/ledger.ts), or undefined (no ledger). */
export function findingsTableFromEnv(source: Source = process.env): string | undefined {
  return parseTableName(read(source, ENV.findingsTable), ENV.findingsTable);
}

/** PITR_GUARD_SECURITY_HUB: import findings into Security Hub (true | false, default false; docs/security-hub.md). */
export function securityHubFromEnv(source: Source = process.env): boolean {
  return ENV_CHECKS.securityHub(read(source, ENV.securityHub) as string, ENV.securityHub);
}

/** A whole number in [min, max]; unset = the default. */
export function parseWholeNumber(value: string | undefined, variable: string, fallback: number, min: number, max: number, rule: string): number {
  if (value === undefined) return fallback;
  const n = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(variable, value, `must be a whole number of ${rule}`);
  return n;
}

/** The alert lifecycle's settings (lib/core/lifecycle.ts): reminders and loop protection. */
export function parseLifecycle(source: Source): LifecycleSettings {
  return {
    remindHours: ENV_CHECKS.remindHours(read(source, ENV.remindHours) as string, ENV.remindHours),
    loopLimit: ENV_CHECKS.loopLimit(read(source, ENV.loopLimit) as string, ENV.loopLimit),
    loopWindowMinutes: ENV_CHECKS.loopWindowMinutes(read(source, ENV.loopWindowMinutes) as string, ENV.loopWindowMinutes),
  };
}

let cachedLifecycle: LifecycleSettings | undefined;

/** The lifecycle settings from process.env, parsed once per process (cold start). */
export function lifecycleFromEnv(): LifecycleSettings {
  cachedLifecycle ??= parseLifecycle(process.env);
  return cachedLifecycle;
}

let cached: Policy | undefined;

/** The policy from process.env, parsed once per process (cold start). */
export function policyFromEnv(): Policy {
  cached ??= parsePolicy(process.env);
  return cached;
}

/** For tests: forget the cached policy. */
export function resetPolicyCache(): void {
  cached = undefined;
  cachedScope = undefined;
  cachedLifecycle = undefined;
}

/** PITR_GUARD_DRILL_TABLES: the scheduled restore drill's tables (lib/jobs/drill.ts); empty = none. */
export function drillTablesFromEnv(source: Source = process.env): DrillTarget[] {
  return parseDrillTables(read(source, ENV.drillTables), ENV.drillTables);
}
