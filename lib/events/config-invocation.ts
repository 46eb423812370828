/**
 * The AWS Config rule invocation (aws-facts §3.1): parsing and validation, before anything is read
 * or sent. `invokingEvent` is a JSON string with a supported messageType; the configuration item
 * (or the oversized summary) names the table: identity (resourceId, ARN, Region, account) and
 * whether it still exists (status). Anything malformed or foreign (another account or Region,
 * names that disagree) is an InvalidEventError: the job logs it in one line and sends nothing.
 * Bad rule parameters are a ConfigError naming the parameter. No AWS calls here.
 */
import type { ConfigurationItem } from '@aws-sdk/client-config-service';
import { parseExemptTag, parseRecoveryDays } from '../core/config';
import { ConfigError, InvalidEventError } from '../core/errors';
import { isAccountId, isTableName, parseTableArn } from '../core/ids';
import { forLog } from '../core/text';

/** The result token of a test invocation (the AWS rule development kit's convention): PutEvaluations then runs with TestMode. */
export const TEST_MODE_TOKEN = 'TESTMODE';

export const MESSAGE_TYPES = {
  change: 'ConfigurationItemChangeNotification',
  oversized: 'OversizedConfigurationItemChangeNotification',
  scheduled: 'ScheduledNotification',
} as const;

/** Item statuses for which there is no table to evaluate. */
export const GONE_STATUSES = ['ResourceDeleted', 'ResourceDeletedNotRecorded', 'ResourceNotRecorded'] as const;

/** The rule parameters pitr-guard understands; anything else is a configuration mistake. */
export const RULE_PARAMETERS = ['minRecoveryDays', 'exemptTag'] as const;

/** Identity and status of one resource, from a configuration item in any of its forms. */
export interface ResourceItem {
  resourceType: string;
  resourceId: string;
  resourceName?: string;
  arn?: string;
  awsRegion?: string;
  awsAccountId?: string;
  status?: string;
  captureTime: Date;
  /** `configuration.tableName`, when the item carries its configuration. */
  tableName?: string;
  /** `configuration.tableId`, when the item carries its configuration. */
  tableId?: string;
}

interface Common {
  resultToken: string;
  testMode: boolean;
  eventLeftScope: boolean;
  /** The raw `ruleParameters` string (or undefined). Parsed separately: a bad value is a ConfigError. */
  ruleParameters: unknown;
  accountId?: string;
  configRuleName?: string;
  configRuleRegion?: string;
  notificationCreationTime?: Date;
}

export type ConfigInvocation =
  | (Common & { messageType: typeof MESSAGE_TYPES.change; item: ResourceItem })
  | (Common & { messageType: typeof MESSAGE_TYPES.oversized; summary: ResourceItem })
  | (Common & { messageType: typeof MESSAGE_TYPES.scheduled; notificationCreationTime: Date });

/** What a value is, for an error message: null and arrays by name, not as "object". */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function optionalString(obj: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InvalidEventError(`${where}.${key} must be a string, got ${typeof v}`);
  return v;
}

function requiredString(obj: Record<string, unknown>, key: string, where: string, maxLength = 1024): string {
  const v = optionalString(obj, key, where);
  if (!v) throw new InvalidEventError(`${where}.${key} is missing`);
  if (v.length > maxLength) throw new InvalidEventError(`${where}.${key} is longer than ${maxLength} characters`);
  return v;
}

function parseTime(value: unknown, where: string): Date {
  const d = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (!d || Number.isNaN(d.getTime())) throw new InvalidEventError(`${where} is not a timestamp: ${forLog(value, undefined, true)}`);
  return d;
}

/** A JSON value that may arrive as a JSON string (API form, invoking-event strings) or already parsed. */
function parseJsonField(value: unknown, where: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new InvalidEventError(`${where} is not valid JSON`);
  }
}

function configurationFields(configuration: unknown, where: string): Pick<ResourceItem, 'tableName' | 'tableId'> {
  const c = parseJsonField(configuration, where);
  if (!isObject(c)) return {};
  const out: Pick<ResourceItem, 'tableName' | 'tableId'> = {};
  const tableName = optionalString(c, 'tableName', where);
  const tableId = optionalString(c, 'tableId', where);
  if (tableName) out.tableName = tableName;
  if (tableId) out.tableId = tableId;
  return out;
}

/** A configuration item (invoking-event form) or its oversized summary → ResourceItem. */
export function itemFromInvokingEvent(raw: unknown, where: string): ResourceItem {
  if (!isObject(raw)) throw new InvalidEventError(`${where} is missing or not an object`);
  const item: ResourceItem = {
    resourceType: requiredString(raw, 'resourceType', where, 256),
    resourceId: requiredString(raw, 'resourceId', where, 768),
    captureTime: parseTime(raw.configurationItemCaptureTime, `${where}.configurationItemCaptureTime`),
  };
  const set = <K extends keyof ResourceItem>(key: K, value: ResourceItem[K] | undefined) => {
    if (value !== undefined && value !== '') item[key] = value;
  };
  set('resourceName', optionalString(raw, 'resourceName', where));
  set('arn', optionalString(raw, 'ARN', where) ?? optionalString(raw, 'arn', where));
  set('awsRegion', optionalString(raw, 'awsRegion', where));
  set('awsAccountId', optionalString(raw, 'awsAccountId', where) ?? optionalString(raw, 'accountId', where));
  set('status', optionalString(raw, 'configurationItemStatus', where));
  Object.assign(item, configurationFields(raw.configuration, `${where}.configuration`));
  return item;
}

/** A configuration item in the API form (GetResourceConfigHistory: `configuration` is a JSON string). */
export function itemFromApi(ci: ConfigurationItem, where = 'GetResourceConfigHistory item'): ResourceItem {
  return itemFromInvokingEvent(
    {
      resourceType: ci.resourceType,
      resourceId: ci.resourceId,
      resourceName: ci.resourceName,
      arn: ci.arn,
      awsRegion: ci.awsRegion,
      accountId: ci.accountId,
      configurationItemStatus: ci.configurationItemStatus,
      configurationItemCaptureTime: ci.configurationItemCaptureTime,
      configuration: ci.configuration,
    },
    where,
  );
}

/**
 * Validates the Config invocation event (aws-facts §3.1): `invokingEvent` (a JSON string) with a
 * supported messageType, a result token, and the item or summary the message type requires.
 * Throws InvalidEventError on anything else.
 */
export function parseInvocation(event: unknown): ConfigInvocation {
  if (!isObject(event)) throw new InvalidEventError(`a Config rule invocation must be an object, got ${describe(event)}`);
  if (typeof event.invokingEvent !== 'string') {
    throw new InvalidEventError('invokingEvent is missing or not a string (Config sends it as a JSON string)');
  }
  const invoking = parseJsonField(event.invokingEvent, 'invokingEvent');
  if (!isObject(invoking)) throw new InvalidEventError('invokingEvent is not a JSON object');
  const resultToken = requiredString(event, 'resultToken', 'event', 1_000_000);
  if (event.eventLeftScope !== undefined && typeof event.eventLeftScope !== 'boolean') {
    throw new InvalidEventError('eventLeftScope must be a boolean');
  }
  const accountId = optionalString(event, 'accountId', 'event');
  if (accountId !== undefined && !isAccountId(accountId)) throw new InvalidEventError(`event.accountId ${forLog(accountId, undefined, true)} is not an account ID`);
  const configRuleArn = optionalString(event, 'configRuleArn', 'event');
  const common: Common = {
    resultToken,
    testMode: resultToken === TEST_MODE_TOKEN,
    eventLeftScope: event.eventLeftScope === true,
    ruleParameters: event.ruleParameters,
  };
  if (accountId) common.accountId = accountId;
  const ruleName = optionalString(event, 'configRuleName', 'event');
  if (ruleName) common.configRuleName = ruleName;
  const ruleRegion = configRuleArn?.split(':')[3];
  if (ruleRegion) common.configRuleRegion = ruleRegion;
  if (invoking.notificationCreationTime !== undefined) {
    common.notificationCreationTime = parseTime(invoking.notificationCreationTime, 'invokingEvent.notificationCreationTime');
  }

  const messageType = invoking.messageType;
  switch (messageType) {
    case MESSAGE_TYPES.change:
      return { ...common, messageType, item: itemFromInvokingEvent(invoking.configurationItem, 'configurationItem') };
    case MESSAGE_TYPES.oversized:
      return { ...common, messageType, summary: itemFromInvokingEvent(invoking.configurationItemSummary, 'configurationItemSummary') };
    case MESSAGE_TYPES.scheduled: {
      const awsAccountId = optionalString(invoking, 'awsAccountId', 'invokingEvent');
      if (awsAccountId && accountId && awsAccountId !== accountId) {
        throw new InvalidEventError(`invokingEvent.awsAccountId ${awsAccountId} differs from event.accountId ${accountId}`);
      }
      if (awsAccountId && !common.accountId) common.accountId = awsAccountId;
      return { ...common, messageType, notificationCreationTime: parseTime(invoking.notificationCreationTime, 'invokingEvent.notificationCreationTime') };
    }
    default:
      throw new InvalidEventError(
        `unsupported invokingEvent.messageType ${forLog(messageType, undefined, true)}; expected one of ${Object.values(MESSAGE_TYPES).join(', ')}`,
      );
  }
}

export interface RuleOverrides {
  minRecoveryDays?: number;
  exemptTag?: string;
}

/**
 * `ruleParameters` (a JSON string of string values) → overrides of the environment's policy. An
 * empty value counts as unset; an unknown name or a bad value is a ConfigError naming the parameter.
 */
export function parseRuleParameters(raw: unknown): RuleOverrides {
  if (raw === undefined || raw === null || raw === '') return {};
  let params: unknown = raw;
  if (typeof raw === 'string') {
    try {
      params = JSON.parse(raw) as unknown;
    } catch {
      throw new ConfigError('ruleParameters', raw, 'must be a JSON object such as {"minRecoveryDays":"35"}');
    }
  }
  if (!isObject(params)) throw new ConfigError('ruleParameters', String(raw), 'must be a JSON object such as {"minRecoveryDays":"35"}');
  const out: RuleOverrides = {};
  for (const [name, value] of Object.entries(params)) {
    const variable = `rule parameter ${name}`;
    if (!(RULE_PARAMETERS as readonly string[]).includes(name)) {
      throw new ConfigError(variable, stringify(value), `is not a parameter of this rule; allowed: ${RULE_PARAMETERS.join(', ')}`);
    }
    if (value !== null && typeof value !== 'string' && typeof value !== 'number') {
      throw new ConfigError(variable, stringify(value), 'must be a string');
    }
    const text = value === null ? '' : String(value).trim();
    if (text === '') continue;
    if (name === 'minRecoveryDays') out.minRecoveryDays = parseRecoveryDays(text, variable);
    else out.exemptTag = parseExemptTag(text, variable);
  }
  return out;
}

function stringify(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
}

/** The table an item names: its configuration's tableName, resourceName and ARN must agree. */
export function tableOfItem(item: ResourceItem, expected: { accountId?: string; region: string }): { tableName: string; region: string; accountId: string } {
  const names = new Set<string>();
  if (item.tableName) names.add(item.tableName);
  if (item.resourceName) names.add(item.resourceName);
  let arnRegion: string | undefined;
  let arnAccount: string | undefined;
  if (item.arn) {
    const arn = parseTableArn(item.arn);
    if (!arn) throw new InvalidEventError(`configuration item ARN ${forLog(item.arn, undefined, true)} is not a DynamoDB table ARN`);
    arnRegion = arn.region;
    arnAccount = arn.accountId;
    names.add(arn.tableName);
  }
  if (names.size === 0) names.add(item.resourceId);
  if (names.size > 1) throw new InvalidEventError(`configuration item names different tables: ${[...names].join(', ')}`);
  const tableName = [...names][0] as string;
  if (!isTableName(tableName)) throw new InvalidEventError(`configuration item names an invalid table ${forLog(tableName, undefined, true)}`);

  const region = item.awsRegion ?? arnRegion ?? expected.region;
  if (arnRegion && arnRegion !== region) throw new InvalidEventError(`configuration item ARN is in ${arnRegion} but awsRegion is ${region}`);
  if (region !== expected.region) throw new InvalidEventError(`configuration item is in ${region}, not in this rule's Region ${expected.region}`);

  const accountId = item.awsAccountId ?? arnAccount ?? expected.accountId;
  if (!accountId || !isAccountId(accountId)) throw new InvalidEventError('configuration item names no valid account ID');
  if (arnAccount && arnAccount !== accountId) throw new InvalidEventError(`configuration item ARN is in account ${arnAccount} but awsAccountId is ${accountId}`);
  if (expected.accountId && accountId !== expected.accountId) {
    throw new InvalidEventError(`configuration item is in account ${accountId}, not in this function's account ${expected.accountId}`);
  }
  return { tableName, region, accountId };
}
