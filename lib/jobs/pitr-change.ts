// Why this file stays whole (over 300 lines): `run`, the two paths it branches to (unreachable account, deleted table), its de-duplication wiring and its deps factory are the reactor's one sequence over PitrChangeDeps; what has logic of its own lives apart (pitr-change-alerts.ts, pitr-change-record.ts, pitr-change-read.ts, aws/org/event-accounts.ts, state/incidents.ts).
/**
 * The CloudTrail reactor (Lambda handler: functions/pitr-change.ts). EventBridge delivers DynamoDB
 * calls that disable PITR or shorten its period, and the calls that create tables without it. The
 * event is only a hint: the table is read again and goes through the one act path
 * (lib/act/remediate), and the alert carries the attribution from the event.
 *
 * `run` is a sequence: parse → scope → claim ∥ read → act → record → say (∥ complete) → finish.
 * The table's reads (pitr-change-read.ts) and its findings-ledger item go out together with the
 * de-duplication claim, and nothing is changed or sent before the claim is won (docs/reactor.md,
 * the call sequence). `record` (pitr-change-record.ts, with a findings ledger) opens or joins the
 * table's incident, closes it when pitr-guard re-enabled PITR, and counts disables for loop
 * protection: disables below PITR_GUARD_LOOP_LIMIT within the window alert as usual, the one that
 * reaches it sends one escalation instead, later ones send nothing; after a re-enable its write
 * travels with the verifying read. De-duplication is middleware
 * around it (lib/state/idempotent.ts, `reactorHandler`); `run` only reads which attempt this is
 * and what an earlier attempt remembered (which channel got which alert).
 *
 * What fails the invocation (Lambda retries it twice, after 1 and 2 minutes, then the event lands in
 * the failed-events queue, whose alarm fires): a transient AWS failure (throttling, 5xx, timeout,
 * network), a table not ready yet (DEFERRED), an alert channel that did not deliver. A permanent
 * failure (AccessDenied, ValidationException, a table in a state PITR cannot be enabled in) alerts
 * once and completes. A table that does not exist is GONE: logged, no alert, no retry. A malformed
 * or out-of-scope event is logged once and dropped: retrying garbage cannot help.
 */
import { lambdaHandler, type Middleware } from '../runtime/handler';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Clients } from '../aws/clients';
import { AlertNotDeliveredError, RemediationDeferredError, RemediationRetryError } from '../core/errors';
import { DynamoIdempotencyStore, type IdempotencyStore } from '../state/idempotency';
import { idempotent, type ContextWithIdempotency, type IdempotencyHandle } from '../state/idempotent';
import { callerAccountId, PacerPool } from '../aws/inventory';
import type { Logger } from '../runtime/logger';
import { silentMetrics, type Metrics } from '../runtime/metrics';
import { depsOf, injectDeps, type ContextWithDeps } from '../runtime/middleware';
import { buildNotifiers, type Channel, type DeliveryFailure, type Notifier } from '../notify';
import type { Sleep } from '../aws/pace';
import { act, type RemediateOptions } from '../act/remediate';
import type { RemediationOutcome, RemediationResult } from '../act/outcome';
import { outOfScope, parseCloudTrailEvent } from '../events/cloudtrail';
import type { Policy, TableChange } from '../core/types';
import { forLog } from '../core/text';
import { alertPlan, deliverPlan, eventAge, nextStep, type EventMemory } from './pitr-change-alerts';
import { EventAccounts, surelyOutOfScope, type AssumeFailure } from '../aws/org/event-accounts';
import { readEarly, unreachableOutcome, type EarlyRead } from './pitr-change-read';
import { findSystemBackup } from '../aws/inventory/backups';
import { renderDeletedTableAlert, type DeletedBackup } from '../notify/format';
import type { Scope } from '../core/scope';
import { IncidentLedger } from '../state/incidents';
import type { LifecycleSettings } from '../core/lifecycle';
import { ChangeRecorder, loopPlan } from './pitr-change-record';

export { REACTOR_MAX_ATTEMPTS, eventAge, weakensPitr } from './pitr-change-alerts';

export interface PitrChangeDeps {
  policy: Policy;
  clients: Clients;
  logger: Logger;
  /** Region of the function (SSM, STS). */
  homeRegion: string;
  /** This deployment's account; asked of STS on first use when not known. */
  accountId?: string;
  /** Whose events are acted on (PITR_GUARD_ACCOUNTS and friends); none = this account only. */
  scope?: Scope;
  /** Scope verdicts and member-role sessions for the container (made from `scope`). */
  accounts?: EventAccounts;
  notifiers: Notifier[];
  /** De-duplication by CloudTrail eventID (used by the middleware); without it every delivery is acted on. */
  idempotency?: IdempotencyStore;
  metrics?: Metrics;
  /** Pacers per (account, Region), for the life of the container (default: one set per invocation). */
  pacers?: PacerPool;
  now?: () => Date;
  sleep?: Sleep;
  /** Remediation timing (waitForActiveMs: how long a CREATING table is waited for). */
  remediate?: RemediateOptions;
  /** Read retries (tests shorten them). */
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** The findings ledger (PITR_GUARD_FINDINGS_TABLE): the table's incident, shared with the scan, and loop protection. */
  ledger?: IncidentLedger;
  /** Reminders and loop protection (default LIFECYCLE_DEFAULTS). */
  lifecycle?: LifecycleSettings;
}

export interface PitrChangeResult {
  status: 'rejected' | 'ignored' | 'duplicate' | 'handled';
  reason?: string;
  eventId?: string;
  table?: { accountId: string; region: string; tableName: string };
  result?: RemediationResult;
  message?: string;
  /** DeleteTable: whether a system backup was found (FOUND), is known not to exist (NONE), or could not be checked. */
  deleted?: { backup: DeletedBackup['state'] };
  /** The event's account could not be reached through its member role. */
  unreachable?: AssumeFailure;
  /** The alert sent (subject and plain-text lines), and where it went. */
  alert?: { subject: string; lines: string[]; delivered: Channel[]; failed: DeliveryFailure[] };
}

/** What the middleware hands the run: the attempt and memory of this event, the time left. */
export interface Invocation {
  idempotency?: IdempotencyHandle;
  remainingMs?: () => number;
}

export async function run(event: unknown, deps: PitrChangeDeps, invocation: Invocation = {}): Promise<PitrChangeResult> {
  const { logger, policy } = deps;
  const now = deps.now ?? (() => new Date());
  const receivedAt = now();

  // parse
  const parsed = parseCloudTrailEvent(event);
  const envelopeId = typeof (event as { id?: unknown } | null)?.id === 'string' ? forLog((event as { id: string }).id, 80) : undefined;
  if (parsed.status === 'invalid') {
    logger.warn(`rejected malformed event: ${parsed.reason}`, { event: 'event-rejected', missing: parsed.missing, eventBridgeId: envelopeId });
    return { status: 'rejected', reason: parsed.reason };
  }
  if (parsed.status === 'ignored') {
    logger.info(`ignored event: ${parsed.reason}`, { event: 'event-ignored', eventBridgeId: envelopeId });
    return { status: 'ignored', reason: parsed.reason };
  }
  const change = parsed.change;
  const table = { accountId: change.accountId, region: change.region, tableName: change.tableName };

  // scope: the event's account (the scan's scope rules) and Region
  deps.accountId ??= await callerAccountId(deps.clients, deps.homeRegion);
  const selfId = deps.accountId;
  const accountVerdict = deps.accounts
    ? await deps.accounts.verdict(change.accountId, selfId)
    : change.accountId === selfId
      ? { inScope: true as const }
      : { inScope: false as const, reason: outOfScope(change, { accountId: selfId, regions: 'all' }) as string };
  const scope = accountVerdict.inScope ? outOfScope(change, { accountId: change.accountId, regions: policy.regions }) : accountVerdict.reason;
  if (scope) {
    logger.info(`ignored event: ${scope}`, { event: 'event-ignored', eventId: change.eventId, eventName: change.eventName, ...table, actor: change.actor.arn });
    return { status: 'ignored', reason: scope, eventId: change.eventId, table };
  }
  const accountName = accountVerdict.inScope ? accountVerdict.name : undefined;
  const age = eventAge(change.actor.eventTime, receivedAt);
  const pacers = deps.pacers ?? new PacerPool();

  // claim ∥ read: the table (in its own account) and its ledger item are read while the de-duplication claim is on its way; a lost claim drops the reads
  const early = change.kind === 'TABLE_DELETED' ? undefined : readEarly(change, deps, pacers, selfId, logger.child({ eventId: change.eventId }));
  const recorder = deps.ledger && change.kind !== 'TABLE_DELETED' ? new ChangeRecorder(change, { ledger: deps.ledger, ...(deps.lifecycle ? { lifecycle: deps.lifecycle } : {}) }, now, policy.minRecoveryDays) : undefined;
  const settle = invocation.idempotency?.settle;
  if (settle) {
    const claim = await settle().catch(async (error: unknown) => {
      await early; // never rejects: the reads end before the invocation does
      throw error;
    });
    if (!claim.go) {
      await early;
      await recorder?.drain();
      return claim.response as PitrChangeResult;
    }
  }
  const attempt = invocation.idempotency?.attempt;
  const log = logger.child({ eventId: change.eventId, eventName: change.eventName, ...table, eventAgeMs: age.ageMs, ...(attempt ? { attempt } : {}) });
  if (age.problem) log.warn(`event time ${age.problem}: the event's age is taken from the time it was received`, { event: 'event-time-invalid' });
  const memory: EventMemory = { ...(invocation.idempotency?.memory as EventMemory | undefined) };
  const remember = () => invocation.idempotency?.remember(memory as Record<string, unknown>);
  const delivery = { deps, log, remainingMs: invocation.remainingMs };
  const base = { status: 'handled' as const, eventId: change.eventId, table };

  // An earlier attempt did the work; some channels still miss its alert: send it there only.
  if (memory.pending?.final) {
    await early;
    await recorder?.drain();
    const pending = memory.pending;
    const sent = await deliverPlan({ alert: pending.alert, final: true, already: pending.delivered, only: missingChannels(deps.notifiers, pending.delivered), ...(pending.result ? { result: pending.result } : {}) }, memory, delivery);
    remember();
    if (sent.missing.length > 0) throw new AlertNotDeliveredError(sent.missing, sent.detail);
    return { ...base, ...(pending.result ? { result: pending.result } : {}), message: 'delivered the alert of an earlier attempt', alert: sent.summary };
  }

  // DeleteTable: nothing to remediate; one alert about the backup
  if (change.kind === 'TABLE_DELETED') return deleted(change, deps, { log, memory, remember, delivery, base, selfId, accountName });

  // the account reached (its member role; nothing for this account) and the table read, in the first round trip
  const { unreachable, facts } = await (early as Promise<EarlyRead>);
  if (unreachable) log.error(`could not reach account ${change.accountId}: AssumeRole failed (${unreachable.errorName})`, { event: 'account-error', roleArn: unreachable.roleArn, errorName: unreachable.errorName, errorMessage: unreachable.message, transient: unreachable.transient, fix: unreachable.fix });

  // act (the one act path: evaluate → decide → apply → verify, on what was just read); the ledger write goes out with the verify
  const acted: RemediationOutcome = unreachable ? unreachableOutcome(change, unreachable, policy, now()) : await act({ ...table, ...(facts ? { facts } : {}) }, {
    clients: deps.clients,
    policy,
    logger: log,
    pacers,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
    ...(deps.retry ? { inventory: { retry: deps.retry } } : {}),
    ...(recorder ? { onApplied: (answer: { compliant: boolean }) => recorder.applied(answer) } : {}),
  }, deps.remediate);
  const retry = acted.result === 'DEFERRED' || (acted.result === 'FAILED' && acted.transient === true);
  const outcome: RemediationOutcome = acted.result === 'FAILED' ? { ...acted, nextStep: nextStep(acted, attempt) } : acted;
  const result = { ...base, result: outcome.result, message: outcome.message };

  // say
  const channels = deps.notifiers.map((n) => n.channel);
  let plan = alertPlan(change, outcome, policy, memory, retry, channels, accountName ? { accountName } : {});
  if (plan.log) log[plan.log.level](plan.log.message, plan.log.fields);

  // record (the incident shared with the scan; loop protection): committed before the alert is planned from it
  const recorded = await recorder?.record(outcome, plan, log);
  plan = loopPlan(plan, change, outcome, recorded, deps, log, accountName);
  let alert: PitrChangeResult['alert'];
  let undelivered = '';
  if (plan.alert) {
    // A final alert: COMPLETED is written while it is sent (a failed delivery then releases the event for Lambda's retry); so is a correction of the incident.
    remember();
    if (!retry) void invocation.idempotency?.completeNow?.(outcome.result);
    const [sent] = await Promise.all([deliverPlan({ alert: plan.alert, final: !retry, only: plan.only ?? channels, ...(plan.already ? { already: plan.already } : {}), result: outcome.result }, memory, delivery), recorder?.drain()]);
    alert = sent.summary;
    if (!retry && sent.missing.length > 0) {
      remember();
      throw new AlertNotDeliveredError(sent.missing, sent.detail);
    }
    if (sent.missing.length > 0) undelivered = ` The alert was not delivered on ${sent.missing.join(', ')} (${sent.detail}).`;
  } else await recorder?.drain();
  remember();

  // finish: a passing failure goes back to Lambda for a retry
  if (outcome.result === 'DEFERRED') throw new RemediationDeferredError(`${change.tableName}: ${outcome.message}${undelivered}`);
  if (retry) throw new RemediationRetryError(`${change.tableName}: ${outcome.message} ${outcome.nextStep ?? ''}`.trim() + undelivered, outcome.errorName ?? 'UnknownError');
  const done = unreachable ? { ...result, unreachable } : result;
  return alert ? { ...done, alert } : done;
}

interface DeletedContext {
  log: Logger;
  memory: EventMemory;
  remember: () => Promise<void> | void | undefined;
  delivery: Parameters<typeof deliverPlan>[2];
  base: { status: 'handled'; eventId: string; table: NonNullable<PitrChangeResult['table']> };
  selfId: string;
  accountName?: string;
}

/**
 * DeleteTable: never any remediation (no UpdateContinuousBackups, nothing re-created). Whether a
 * system backup exists comes from ListBackups (BackupType SYSTEM) in the table's account and
 * Region; one alert per event (report mode: a log line), naming who deleted it.
 */
async function deleted(change: TableChange, deps: PitrChangeDeps, c: DeletedContext): Promise<PitrChangeResult> {
  const unreachable = await deps.accounts?.reach(change.accountId, c.selfId);
  let backup: DeletedBackup;
  if (unreachable) {
    backup = { state: 'UNKNOWN', why: `AssumeRole of ${unreachable.roleArn} failed with ${unreachable.errorName}; fix: ${unreachable.fix}` };
  } else {
    const eventTime = change.actor.eventTime ? new Date(change.actor.eventTime) : undefined;
    const looked = await findSystemBackup(deps.clients.get(DynamoDBClient, change.region, change.accountId), change.tableName, eventTime && Number.isFinite(eventTime.getTime()) ? eventTime : undefined);
    if ('error' in looked) backup = { state: 'UNKNOWN', why: `ListBackups failed with ${looked.error.errorName}: ${forLog(looked.error.message, 200)}` };
    else if (looked.found) backup = { state: 'FOUND', ...looked.found };
    else backup = { state: 'NONE' };
  }
  const fields = { event: 'table-deleted', backup: backup.state, actor: change.actor.arn, ...(backup.state === 'FOUND' ? { backupArn: backup.backupArn } : {}), ...(backup.state === 'UNKNOWN' ? { why: backup.why } : {}) };
  const message = backup.state === 'FOUND' ? 'table deleted; a system backup exists' : backup.state === 'NONE' ? 'table deleted without PITR: no system backup' : 'table deleted; the system backup could not be checked';
  const result = { ...c.base, message, deleted: { backup: backup.state }, ...(unreachable ? { unreachable } : {}) };
  if (deps.policy.mode === 'report') {
    c.log.warn(`${message} (mode report: no alert)`, fields);
    return result;
  }
  c.log.warn(message, fields);
  const alert = renderDeletedTableAlert({ change, backup, ...(c.accountName ? { accountName: c.accountName } : {}) });
  const sent = await deliverPlan({ alert, final: true, only: deps.notifiers.map((n) => n.channel) }, c.memory, c.delivery);
  await c.remember();
  if (sent.missing.length > 0) throw new AlertNotDeliveredError(sent.missing, sent.detail);
  return { ...result, alert: sent.summary };
}

function missingChannels(notifiers: readonly Notifier[], delivered: readonly Channel[]): Channel[] {
  return notifiers.map((n) => n.channel).filter((c) => !delivered.includes(c));
}

/**
 * The de-duplication key: the CloudTrail eventID of an event `run` will act on. A malformed,
 * ignored or (when the account is known) out-of-scope event gets none, so nothing is written for it.
 */
export function eventKey(event: unknown, deps?: Pick<PitrChangeDeps, 'accountId' | 'policy' | 'scope'>): string | undefined {
  const parsed = parseCloudTrailEvent(event);
  if (parsed.status !== 'ok') return undefined;
  const change = parsed.change;
  if (deps && outOfScope(change, { accountId: change.accountId, regions: deps.policy.regions })) return undefined;
  if (deps?.accountId && surelyOutOfScope(change.accountId, deps.accountId, deps.scope ?? { accounts: 'self', excludeAccounts: [] })) return undefined;
  return change.eventId;
}

export type ReactorContext = ContextWithDeps<PitrChangeDeps> & ContextWithIdempotency;

/** The reactor as Lambda runs it: deps once per cold start, de-duplication around `run`. */
export function reactorHandler(factory: (context: ReactorContext) => PitrChangeDeps | Promise<PitrChangeDeps>, outer: Middleware<unknown, PitrChangeResult, ReactorContext>[] = []) {
  const handler = lambdaHandler<unknown, PitrChangeResult, ReactorContext>();
  for (const m of outer) handler.use(m);
  return handler
    .use(injectDeps<unknown, PitrChangeResult, PitrChangeDeps>(factory))
    .use(
      idempotent<unknown, PitrChangeResult, ReactorContext>({
        key: (event, c) => eventKey(event, depsOf(c)),
        store: (c) => depsOf(c).idempotency,
        logger: (c) => depsOf(c).logger,
        metrics: (c) => depsOf(c).metrics ?? silentMetrics,
        duplicate: (record) => ({ status: 'duplicate', eventId: record.eventId, ...(record.result ? { result: record.result as RemediationResult } : {}) }),
        resultOf: (response) => response.result ?? response.status,
        concurrent: true,
      }),
    )
    .handler((event, context) =>
      run(event, depsOf(context), {
        ...(context.idempotency ? { idempotency: context.idempotency } : {}),
        ...(typeof context.getRemainingTimeInMillis === 'function' ? { remainingMs: () => context.getRemainingTimeInMillis() } : {}),
      }),
    );
}

export interface PitrChangeSettings {
  policy: Policy;
  clients: Clients;
  logger: Logger;
  homeRegion: string;
  accountId?: string;
  /** Whose events are acted on; none = this account only. */
  scope?: Scope;
  /** De-duplication table; none = no de-duplication (a warning and a DeduplicationUnavailable metric). */
  idempotencyTable?: string;
  /** Use this Slack webhook URL instead of reading the SSM parameter (demo). */
  slackWebhookUrl?: string;
  /** Where alert channel failures (AlertDeliveryFailed) and a missing de-duplication table are counted; none: not counted (demo, tests). */
  metrics?: Metrics;
  remediate?: RemediateOptions;
  /** The findings ledger (PITR_GUARD_FINDINGS_TABLE): incidents shared with the scan, loop protection; none = neither. */
  findingsTable?: string;
  lifecycle?: LifecycleSettings;
}

/** Dependencies from explicit settings (the handler at cold start, the demo and tests). */
export function makeDeps(settings: PitrChangeSettings): PitrChangeDeps {
  const { policy, clients, logger, homeRegion } = settings;
  const metrics = settings.metrics ?? silentMetrics;
  const deps: PitrChangeDeps = {
    policy,
    clients,
    logger,
    homeRegion,
    metrics,
    pacers: new PacerPool(),
    notifiers: buildNotifiers({ policy, clients, logger, homeRegion, metrics: settings.metrics, ...(settings.slackWebhookUrl ? { slackWebhookUrl: settings.slackWebhookUrl } : {}) }),
  };
  if (settings.accountId) deps.accountId = settings.accountId;
  if (settings.scope) {
    deps.scope = settings.scope;
    deps.accounts = new EventAccounts({ clients, scope: settings.scope, homeRegion });
  }
  if (settings.idempotencyTable) {
    deps.idempotency = new DynamoIdempotencyStore(clients.get(DynamoDBClient, homeRegion), settings.idempotencyTable);
  } else {
    logger.warn('no de-duplication table (PITR_GUARD_IDEMPOTENCY_TABLE is not set): every copy of an event is acted on and alerted', { event: 'deduplication-unavailable' });
    metrics.count('DeduplicationUnavailable');
  }
  if (settings.remediate) deps.remediate = settings.remediate;
  if (settings.findingsTable) deps.ledger = new IncidentLedger(clients.get(DynamoDBClient, homeRegion), settings.findingsTable);
  if (settings.lifecycle) deps.lifecycle = settings.lifecycle;
  return deps;
}
