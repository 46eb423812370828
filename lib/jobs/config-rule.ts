/**
 * The custom AWS Config rule: a Config invocation event → evaluations sent with PutEvaluations.
 *
 * Parsing and validation: lib/events/config-invocation.ts; evaluations: lib/report/config.ts;
 * IAM: the `permissions` at the end of each module (docs/iam.md).
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
import { AwsCallError, IncompleteReportError, InvalidEventError, awsErrorName } from '../core/errors';
import { linkFindings } from '../core/links';
import { evaluate, type EvaluationPolicy } from '../core/evaluate';
import { DEFAULT_INVENTORY, callerAccountId, createPacers, inventoryRegion, readTable } from '../aws/inventory';
import { silentLogger, type Logger } from '../runtime/logger';
import { retrying, type RetryOptions } from '../aws/pace';
import { sortFindings, type ScanDeps } from '../aws/scan';
import {
  GONE_STATUSES,
  MESSAGE_TYPES,
  itemFromApi,
  parseInvocation,
  parseRuleParameters,
  tableOfItem,
  type ConfigInvocation,
  type ResourceItem,
} from '../events/config-invocation';
import {
  TABLE_RESOURCE_TYPE,
  notApplicable,
  plan,
  sendEvaluations,
  sent,
  type ConfigEvaluation,
  type Planned,
  type SendResult,
  type SentEvaluation,
} from '../report/config';

export type { SentEvaluation };

export interface ConfigRuleDeps extends ScanDeps {
  /** The environment's policy; rule parameters override minRecoveryDays and exemptTag. */
  policy: EvaluationPolicy;
  logger: Logger;
  /** The function's (and so the rule's) Region: the Region evaluated and reported to. */
  homeRegion: string;
  /** The function's account (from its ARN), when known: items from other accounts are rejected. */
  accountId?: string;
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

/**
 * Every table of the rule's Region. Reads the one Region directly (not through scan(), which can
 * list the account's Regions): the rule's role then holds no account:ListRegions (docs/iam.md).
 */
async function periodic(
  invocation: Extract<ConfigInvocation, { messageType: typeof MESSAGE_TYPES.scheduled }>,
  policy: EvaluationPolicy,
  deps: ConfigRuleDeps,
  logger: Logger,
): Promise<Planned> {
  const region = deps.homeRegion;
  const accountId = deps.accountId ?? invocation.accountId ?? (await callerAccountId(deps.clients, region));
  // A listing failure throws AwsCallError: the run fails and sends nothing (Lambda retries it).
  const inventory = await inventoryRegion(deps.clients.get(DynamoDBClient, region), { accountId, region }, { logger, ...deps.inventory });
  const evaluatedAt = (deps.now ?? (() => new Date()))();
  const findings = sortFindings(linkFindings(inventory.tables.map((facts) => evaluate(facts, policy, evaluatedAt))));
  logger.info('periodic evaluation read the Region', { region, tables: findings.length, vanished: inventory.vanished.length });
  return plan(findings, { orderingTimestamp: invocation.notificationCreationTime, exemptTag: policy.exemptTag, resourceId: (f) => f.tableName }, logger);
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
