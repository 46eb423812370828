/**
 * The custom AWS Config rule: a Config invocation event → evaluations sent with PutEvaluations.
 *
 * IAM: config:PutEvaluations, config:GetResourceConfigHistory (oversized items), and the inventory
 * reads: dynamodb:DescribeTable, dynamodb:DescribeContinuousBackups, dynamodb:ListTagsOfResource
 * (table ARNs), dynamodb:ListTables (periodic runs; Resource "*").
 *
 * The event is never trusted alone. The configuration item names the table (identity: resourceId,
 * ARN, Region, account) and says whether it still exists (status); the decision always comes from
 * the table's real state, read now (DescribeTable, DescribeContinuousBackups, ListTagsOfResource),
 * because the item may lag and carries no recovery period. A malformed or foreign event (another
 * account or Region, inconsistent names) is rejected with a log line and nothing is sent.
 * Sending the same evaluation twice (Config, like every async Lambda source, may deliver an event
 * twice) is harmless: Config keeps one result per resource and ordering timestamp.
 */
import { ConfigServiceClient, GetResourceConfigHistoryCommand, type ConfigurationItem } from '@aws-sdk/client-config-service';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseExemptTag, parseRecoveryDays } from '../core/config';
import { AwsCallError, ConfigError, IncompleteReportError, InvalidEventError, awsErrorName } from '../core/errors';
import { evaluate, type EvaluationPolicy } from '../core/evaluate';
import { DEFAULT_INVENTORY, createPacers, readTable } from '../aws/inventory';
import { silentLogger, type Logger } from '../runtime/logger';
import { retrying, type RetryOptions } from '../aws/pace';
import {
  TABLE_RESOURCE_TYPE,
  TEST_MODE_TOKEN,
  sendEvaluations,
  toEvaluation,
  annotation,
  type ConfigEvaluation,
  type SendResult,
} from '../report/config';
import { scan, type ScanDeps } from '../aws/scan';
import type { Finding } from '../core/types';

export const MESSAGE_TYPES = {
  change: 'ConfigurationItemChangeNotification',
  oversized: 'OversizedConfigurationItemChangeNotification',
  scheduled: 'ScheduledNotification',
} as const;

/** Item statuses for which there is no table to evaluate. */
export const GONE_STATUSES = ['ResourceDeleted', 'ResourceDeletedNotRecorded', 'ResourceNotRecorded'] as const;

/** The rule parameters pitr-guard understands; anything else is a configuration mistake. */
export const RULE_PARAMETERS = ['minRecoveryDays', 'exemptTag'] as const;

const TABLE_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;
const ACCOUNT_ID = /^\d{12}$/;
const TABLE_ARN = /^arn:(aws[a-z-]*):dynamodb:([a-z0-9-]+):(\d{12}):table\/([a-zA-Z0-9_.-]{3,255})$/;

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
  if (!d || Number.isNaN(d.getTime())) throw new InvalidEventError(`${where} is not a timestamp: ${JSON.stringify(value)}`);
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
  if (!isObject(event)) throw new InvalidEventError(`a Config rule invocation must be an object, got ${Array.isArray(event) ? 'an array' : typeof event}`);
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
  if (accountId !== undefined && !ACCOUNT_ID.test(accountId)) throw new InvalidEventError(`event.accountId ${JSON.stringify(accountId)} is not an account ID`);
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
        `unsupported invokingEvent.messageType ${JSON.stringify(messageType)}; expected one of ${Object.values(MESSAGE_TYPES).join(', ')}`,
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

export interface ConfigRuleDeps extends ScanDeps {
  /** The environment's policy; rule parameters override minRecoveryDays and exemptTag. */
  policy: EvaluationPolicy;
  logger: Logger;
  /** The function's (and so the rule's) Region: the Region evaluated and reported to. */
  homeRegion: string;
  /** The function's account (from its ARN), when known: items from other accounts are rejected. */
  accountId?: string;
}

/** An evaluation as sent, with the timestamp as ISO text (what the handler returns and logs). */
export interface SentEvaluation {
  ComplianceResourceType: string;
  ComplianceResourceId: string;
  ComplianceType: string;
  Annotation: string;
  OrderingTimestamp: string;
}

export interface ConfigRuleResult {
  outcome: 'reported' | 'rejected';
  messageType?: string;
  /** Why the event was rejected (outcome `rejected`: nothing was sent). */
  reason?: string;
  testMode?: boolean;
  batches: number;
  evaluations: SentEvaluation[];
}

function sent(e: ConfigEvaluation): SentEvaluation {
  return { ...e, OrderingTimestamp: e.OrderingTimestamp.toISOString() };
}

/**
 * Handles one Config invocation: validate, read the real state, evaluate, send. Rejected events
 * resolve with outcome `rejected`; invalid rule parameters, tables that could not be read and
 * evaluations Config did not store make it throw (after everything else was sent).
 */
export async function handleConfigInvocation(event: unknown, deps: ConfigRuleDeps): Promise<ConfigRuleResult> {
  const logger = deps.logger ?? silentLogger;
  const reject = (error: InvalidEventError): ConfigRuleResult => {
    logger.error('rejected Config rule invocation; nothing evaluated or sent', { reason: error.message, errorCode: error.code });
    return { outcome: 'rejected', reason: error.message, batches: 0, evaluations: [] };
  };
  let invocation: ConfigInvocation;
  try {
    invocation = parseInvocation(event);
    checkOrigin(invocation, deps);
  } catch (error) {
    if (error instanceof InvalidEventError) return reject(error);
    throw error;
  }
  const overrides = parseRuleParameters(invocation.ruleParameters); // ConfigError: nothing sent
  const policy: EvaluationPolicy = {
    minRecoveryDays: overrides.minRecoveryDays ?? deps.policy.minRecoveryDays,
    exemptTag: overrides.exemptTag ?? deps.policy.exemptTag,
  };
  const log = logger.child({ messageType: invocation.messageType, configRule: invocation.configRuleName, testMode: invocation.testMode });

  let planned: Planned;
  try {
    planned =
      invocation.messageType === MESSAGE_TYPES.scheduled
        ? await periodic(invocation, policy, deps, log)
        : await changeTriggered(invocation, policy, deps, log);
  } catch (error) {
    // An item naming another account's or Region's table, or no table at all: nothing was read.
    if (error instanceof InvalidEventError) return reject(error);
    throw error;
  }
  const { evaluations, unreported } = planned;

  const client = deps.clients.get(ConfigServiceClient, deps.homeRegion);
  const result: SendResult =
    evaluations.length > 0
      ? await sendEvaluations(client, evaluations, invocation.resultToken, { logger: log, retry: retryOptions(deps) })
      : { testMode: invocation.testMode, batches: 0, accepted: 0, failedEvaluations: [], failedBatches: [] };

  const counts: Record<string, number> = {};
  for (const e of evaluations) counts[e.ComplianceType] = (counts[e.ComplianceType] ?? 0) + 1;
  log.info('Config evaluations sent', {
    batches: result.batches,
    accepted: result.accepted,
    counts,
    ...(evaluations.length === 1 ? { evaluation: sent(evaluations[0] as ConfigEvaluation) } : {}),
  });

  const problems = [
    ...unreported.map((u) => `${u.tableName}: ${u.message}`),
    ...result.failedEvaluations.map(
      (e) => `${e.ComplianceResourceId ?? '?'}: rejected by Config (FailedEvaluations)`,
    ),
    ...result.failedBatches.flatMap((b) => b.evaluations.map((e) => `${e.ComplianceResourceId}: ${b.error.message}`)),
  ];
  if (problems.length > 0) {
    const causes = [...result.failedBatches.map((b) => b.error)];
    const parts = [
      unreported.length ? `${unreported.length} table(s) could not be evaluated` : '',
      result.failedEvaluations.length ? `Config rejected ${result.failedEvaluations.length} evaluation(s)` : '',
      result.failedBatches.length ? `${result.failedBatches.length} PutEvaluations call(s) failed` : '',
    ].filter(Boolean);
    throw new IncompleteReportError(
      `Config rule run incomplete: ${parts.join('; ')} (${result.accepted} evaluation(s) stored). First: ${problems.slice(0, 5).join(' | ')}`,
      problems,
      causes.length ? { cause: causes.length === 1 ? causes[0] : new AggregateError(causes, 'PutEvaluations failures') } : undefined,
    );
  }
  return {
    outcome: 'reported',
    messageType: invocation.messageType,
    testMode: result.testMode,
    batches: result.batches,
    evaluations: evaluations.map(sent),
  };
}

/** Backoff for Config calls: the inventory's retry settings (and its sleep, so tests need not wait). */
function retryOptions(deps: Pick<ConfigRuleDeps, 'inventory'>): Partial<RetryOptions> {
  return { ...deps.inventory?.retry, ...(deps.inventory?.sleep ? { sleep: deps.inventory.sleep } : {}) };
}

/** Rejects invocations that cannot be about this function's account and Region. */
function checkOrigin(invocation: ConfigInvocation, deps: Pick<ConfigRuleDeps, 'accountId' | 'homeRegion'>): void {
  if (deps.accountId && invocation.accountId && invocation.accountId !== deps.accountId) {
    throw new InvalidEventError(`event.accountId ${invocation.accountId} is not this function's account ${deps.accountId}`);
  }
  if (invocation.configRuleRegion && deps.homeRegion && invocation.configRuleRegion !== deps.homeRegion) {
    throw new InvalidEventError(`configRuleArn is in ${invocation.configRuleRegion}, not in this function's Region ${deps.homeRegion}`);
  }
}

interface Unreported {
  tableName: string;
  message: string;
}

interface Planned {
  evaluations: ConfigEvaluation[];
  unreported: Unreported[];
}

function notApplicable(item: ResourceItem, orderingTimestamp: Date, sentence: string): Planned {
  return {
    evaluations: [
      {
        ComplianceResourceType: item.resourceType,
        ComplianceResourceId: item.resourceId,
        ComplianceType: 'NOT_APPLICABLE',
        Annotation: annotation(sentence),
        OrderingTimestamp: orderingTimestamp,
      },
    ],
    unreported: [],
  };
}

/** The table an item names: its configuration's tableName, resourceName and ARN must agree. */
export function tableOfItem(item: ResourceItem, expected: { accountId?: string; region: string }): { tableName: string; region: string; accountId: string } {
  const names = new Set<string>();
  if (item.tableName) names.add(item.tableName);
  if (item.resourceName) names.add(item.resourceName);
  let arnRegion: string | undefined;
  let arnAccount: string | undefined;
  if (item.arn) {
    const m = TABLE_ARN.exec(item.arn);
    if (!m) throw new InvalidEventError(`configuration item ARN ${JSON.stringify(item.arn)} is not a DynamoDB table ARN`);
    arnRegion = m[2];
    arnAccount = m[3];
    names.add(m[4] as string);
  }
  if (names.size === 0) names.add(item.resourceId);
  if (names.size > 1) throw new InvalidEventError(`configuration item names different tables: ${[...names].join(', ')}`);
  const tableName = [...names][0] as string;
  if (!TABLE_NAME.test(tableName)) throw new InvalidEventError(`configuration item names an invalid table ${JSON.stringify(tableName)}`);

  const region = item.awsRegion ?? arnRegion ?? expected.region;
  if (arnRegion && arnRegion !== region) throw new InvalidEventError(`configuration item ARN is in ${arnRegion} but awsRegion is ${region}`);
  if (region !== expected.region) throw new InvalidEventError(`configuration item is in ${region}, not in this rule's Region ${expected.region}`);

  const accountId = item.awsAccountId ?? arnAccount ?? expected.accountId;
  if (!accountId || !ACCOUNT_ID.test(accountId)) throw new InvalidEventError('configuration item names no valid account ID');
  if (arnAccount && arnAccount !== accountId) throw new InvalidEventError(`configuration item ARN is in account ${arnAccount} but awsAccountId is ${accountId}`);
  if (expected.accountId && accountId !== expected.accountId) {
    throw new InvalidEventError(`configuration item is in account ${accountId}, not in this function's account ${expected.accountId}`);
  }
  return { tableName, region, accountId };
}

/** Oversized items: the full item from GetResourceConfigHistory; the summary if Config has none. */
async function fetchOversized(summary: ResourceItem, deps: ConfigRuleDeps, logger: Logger): Promise<ResourceItem> {
  const client = deps.clients.get(ConfigServiceClient, deps.homeRegion);
  let items: ConfigurationItem[];
  try {
    const out = await retrying(
      () =>
        client.send(
          new GetResourceConfigHistoryCommand({
            resourceType: summary.resourceType as never,
            resourceId: summary.resourceId,
            laterTime: summary.captureTime,
            limit: 1,
          }),
        ),
      retryOptions(deps),
    );
    items = out.configurationItems ?? [];
  } catch (error) {
    // Config keeps no history for the resource (moto never does): the summary still names it.
    if (awsErrorName(error) !== 'ResourceNotDiscoveredException') {
      throw new AwsCallError('GetResourceConfigHistory', error, `${summary.resourceType} ${summary.resourceId}`);
    }
    items = [];
  }
  const ci = items[0];
  if (!ci) {
    // Identity and status are all the rule takes from an item, and the summary carries both.
    logger.warn('GetResourceConfigHistory returned no item; using the oversized notification summary', {
      resourceType: summary.resourceType,
      resourceId: summary.resourceId,
    });
    return summary;
  }
  const item = itemFromApi(ci);
  if (item.resourceId !== summary.resourceId || item.resourceType !== summary.resourceType) {
    throw new InvalidEventError(
      `GetResourceConfigHistory returned ${item.resourceType} ${item.resourceId}, not the summary's ${summary.resourceType} ${summary.resourceId}`,
    );
  }
  return item;
}

async function changeTriggered(
  invocation: Extract<ConfigInvocation, { item: ResourceItem } | { summary: ResourceItem }>,
  policy: EvaluationPolicy,
  deps: ConfigRuleDeps,
  logger: Logger,
): Promise<Planned> {
  const first = 'item' in invocation ? invocation.item : invocation.summary;
  if (invocation.eventLeftScope) {
    return notApplicable(first, first.captureTime, 'The resource is no longer in the scope of this rule.');
  }
  if (first.resourceType !== TABLE_RESOURCE_TYPE) {
    return notApplicable(first, first.captureTime, `This rule evaluates ${TABLE_RESOURCE_TYPE} resources only, not ${first.resourceType}.`);
  }
  if (first.status && (GONE_STATUSES as readonly string[]).includes(first.status)) {
    return notApplicable(first, first.captureTime, `The table is not evaluated: its configuration item status is ${first.status}.`);
  }

  let item = first;
  if (invocation.messageType === MESSAGE_TYPES.oversized) {
    item = await fetchOversized(first, deps, logger);
    if (item.status && (GONE_STATUSES as readonly string[]).includes(item.status)) {
      return notApplicable(item, item.captureTime, `The table is not evaluated: its configuration item status is ${item.status}.`);
    }
  }

  const ref = tableOfItem(item, { accountId: deps.accountId ?? invocation.accountId, region: deps.homeRegion });
  const ddb = deps.clients.get(DynamoDBClient, ref.region);
  const options = { logger, ...deps.inventory };
  const facts = await readTable(ddb, ref, createPacers(deps.inventory?.ratePerSecond ?? DEFAULT_INVENTORY.ratePerSecond), options);
  if (facts === 'vanished') {
    return notApplicable(item, item.captureTime, 'The table no longer exists in DynamoDB (deleted after this configuration item was recorded).');
  }
  const finding = evaluate(facts, policy, (deps.now ?? (() => new Date()))());
  return plan([finding], { orderingTimestamp: item.captureTime, exemptTag: policy.exemptTag, resourceId: () => item.resourceId }, logger);
}

async function periodic(
  invocation: Extract<ConfigInvocation, { messageType: typeof MESSAGE_TYPES.scheduled }>,
  policy: EvaluationPolicy,
  deps: ConfigRuleDeps,
  logger: Logger,
): Promise<Planned> {
  const accountId = deps.accountId ?? invocation.accountId;
  const report = await scan(
    { policy: { ...policy, regions: [deps.homeRegion] }, homeRegion: deps.homeRegion, ...(accountId ? { accountId } : {}) },
    { ...deps, logger },
  );
  const listing = report.regionErrors[0];
  if (listing) {
    throw new AwsCallError(listing.operation, Object.assign(new Error(listing.message), { name: listing.errorName }), deps.homeRegion);
  }
  logger.info('periodic evaluation read the Region', { region: deps.homeRegion, tables: report.summary.total, vanished: report.vanished.length });
  return plan(report.findings, { orderingTimestamp: invocation.notificationCreationTime, exemptTag: policy.exemptTag, resourceId: (f) => f.tableName }, logger);
}

function plan(
  findings: readonly Finding[],
  target: { orderingTimestamp: Date; exemptTag: string; resourceId: (f: Finding) => string },
  logger: Logger,
): Planned {
  const out: Planned = { evaluations: [], unreported: [] };
  for (const finding of findings) {
    const evaluation = toEvaluation(finding, { resourceId: target.resourceId(finding), orderingTimestamp: target.orderingTimestamp, exemptTag: target.exemptTag });
    if (evaluation) {
      out.evaluations.push(evaluation);
      continue;
    }
    out.unreported.push({ tableName: finding.tableName, message: finding.message });
    logger.error('table not evaluated: its state could not be read; no Config evaluation sent for it', {
      table: finding.tableName,
      region: finding.region,
      error: finding.error,
    });
  }
  return out;
}

/** IAM for the calls above (scripts/iam/derive.ts builds each function's role from these). */
export const permissions: readonly import('../core/iam').Permission[] = [
  {
    sid: 'ReportToConfig',
    actions: ['config:GetResourceConfigHistory'],
    resource: '*',
    why: 'reads an oversized configuration item',
  },
];
