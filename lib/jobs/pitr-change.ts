/**
 * The CloudTrail reactor's logic (Lambda handler: functions/pitr-change.ts): EventBridge delivers DynamoDB
 * UpdateContinuousBackups calls that disable PITR or shorten its period, and the calls that create
 * tables without PITR (CreateTable, RestoreTableToPointInTime, RestoreTableFromBackup, ImportTable).
 *
 * The event is only a hint. The handler re-reads the table and evaluates its real state
 * (lib/act/remediate → inventory + evaluate), acts per mode, and alerts with the attribution from the
 * event. Its own re-enable call (which CloudTrail reports too, and which matches the rule when
 * minRecoveryDays < 35) finds the table compliant and does nothing. An exempt table is never
 * changed; switching its PITR off or below the policy's period sends one informational alert (alert
 * and remediate mode). Duplicates are dropped by the idempotency table (CloudTrail eventID); if that
 * table cannot be used, the event is handled without de-duplication (logged), never dropped.
 *
 * Fails the invocation (so Lambda retries it, then sends it to the on-failure queue) when the table
 * is not ready yet (DEFERRED) or when every alert channel failed. A malformed or out-of-scope event
 * is logged once and dropped: retrying garbage cannot help.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Clients } from '../aws/clients';
import { AwsCallError, PitrGuardError, awsErrorName } from '../core/errors';
import { DynamoIdempotencyStore, type ClaimOutcome, type IdempotencyRecord, type IdempotencyStore } from '../state/idempotency';
import { callerAccountId } from '../aws/inventory';
import type { Logger } from '../runtime/logger';
import type { Metrics } from '../runtime/metrics';
import { AlertDeliveryError, buildNotifiers, deliver, type Channel, type DeliveryFailure, type Notifier } from '../notify';
import { renderChangeAlert, type RenderedAlert } from '../notify/format';
import type { Sleep } from '../aws/pace';
import { remediateTable, type RemediateOptions, type RemediationResult } from '../act/remediate';
import { outOfScope, parseCloudTrailEvent, type TableChange } from '../events/cloudtrail';
import type { Policy } from '../core/types';
import { forLog } from '../core/text';

export interface PitrChangeDeps {
  policy: Policy;
  clients: Clients;
  logger: Logger;
  /** Region of the function (SSM, STS). */
  homeRegion: string;
  /** This deployment's account; asked of STS on first use when not known. */
  accountId?: string;
  notifiers: Notifier[];
  /** De-duplication by CloudTrail eventID; without it every delivery is acted on. */
  idempotency?: IdempotencyStore;
  now?: () => Date;
  sleep?: Sleep;
  /** Remediation timing (waitForActiveMs: how long a CREATING table is waited for). */
  remediate?: RemediateOptions;
  /** How long a claim on an event is held before another invocation may take it over (ms). */
  leaseMs?: number;
}

export interface PitrChangeResult {
  status: 'rejected' | 'ignored' | 'duplicate' | 'handled';
  reason?: string;
  eventId?: string;
  table?: { accountId: string; region: string; tableName: string };
  result?: RemediationResult;
  message?: string;
  /** The alert sent (subject and plain-text lines), and where it went. */
  alert?: { subject: string; lines: string[]; delivered: Channel[]; failed: DeliveryFailure[] };
}

/** The table is not ready for PITR yet: the invocation fails so Lambda retries it later. */
export class RemediationDeferredError extends PitrGuardError {
  constructor(message: string) {
    super('REMEDIATION_DEFERRED', message);
  }
}

/** Another invocation holds this event right now: fail, so Lambda retries once it is done. */
export class EventInProgressError extends PitrGuardError {
  constructor(eventId: string) {
    super('EVENT_IN_PROGRESS', `event ${eventId} is being handled by another invocation; will look again on retry`);
  }
}

export const DEFAULT_LEASE_MS = 330_000; // the function timeout (300 s) plus a margin
const GONE = new Set(['ResourceNotFoundException', 'TableNotFoundException']);
/** DescribeTable is eventually consistent: a table created this recently may not be visible yet. */
export const NEW_TABLE_GRACE_MS = 15 * 60_000;
const CREATES = new Set(['TABLE_CREATED', 'TABLE_RESTORED', 'TABLE_IMPORTED']);

export async function run(event: unknown, deps: PitrChangeDeps): Promise<PitrChangeResult> {
  const { logger, policy } = deps;
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
  deps.accountId ??= await callerAccountId(deps.clients, deps.homeRegion);
  const scope = outOfScope(change, { accountId: deps.accountId, regions: policy.regions });
  if (scope) {
    logger.info(`ignored event: ${scope}`, { event: 'event-ignored', eventId: change.eventId, eventName: change.eventName, ...table });
    return { status: 'ignored', reason: scope, eventId: change.eventId, table };
  }
  const log = logger.child({ eventId: change.eventId, eventName: change.eventName, ...table });

  // De-duplication is a convenience, never a precondition: if the table cannot be used (throttled,
  // access denied, missing…), act without it. Remediation is idempotent, and a duplicate alert is
  // better than PITR left off.
  let record: IdempotencyRecord | undefined;
  let store: IdempotencyStore | undefined;
  if (deps.idempotency) {
    let claim: ClaimOutcome | undefined;
    try {
      claim = await deps.idempotency.claim(change.eventId, deps.leaseMs ?? DEFAULT_LEASE_MS);
    } catch (error) {
      log.warn('de-duplication unavailable: handling the event without it (a copy of this event may alert again)', {
        event: 'idempotency-unavailable',
        operation: error instanceof AwsCallError ? error.operation : 'claim',
        errorName: awsErrorName(error),
      });
    }
    if (claim?.state === 'completed') {
      log.info('duplicate event: already handled', { event: 'event-duplicate', result: claim.record.result });
      return { status: 'duplicate', eventId: change.eventId, table, ...(claim.record.result ? { result: claim.record.result as RemediationResult } : {}) };
    }
    if (claim?.state === 'in-progress') throw new EventInProgressError(change.eventId);
    if (claim) {
      record = claim.record;
      store = deps.idempotency;
    }
  }
  /** Marks the event handled. The work and its alert are done by now: a failure here is logged, never thrown. */
  const complete = async (result: string) => {
    try {
      await store?.complete(change.eventId, { result });
    } catch (error) {
      log.error('could not mark the event COMPLETED (a copy of it may be handled again)', {
        event: 'idempotency-complete-failed',
        errorName: awsErrorName(error),
        result,
      });
    }
  };
  const release = async (fields: { deferredAlertSent?: boolean; pendingAlert?: string | null }) => {
    try {
      await store?.release(change.eventId, fields);
    } catch (error) {
      log.error('could not release the event for retry', { event: 'idempotency-release-failed', errorName: awsErrorName(error) }); // the lease expires anyway
    }
  };
  /** Delivers; if every channel fails, releases the event for its retry (keeping a final alert to resend) and throws. */
  const send = async (alert: RenderedAlert, final: boolean) => {
    try {
      return await deliver(deps.notifiers, alert, log);
    } catch (error) {
      // Only a final alert is kept for the retry: a "deferred" one is not, or the retry would
      // resend it and complete the event without remediating.
      if (error instanceof AlertDeliveryError) await release(final ? { pendingAlert: JSON.stringify(alert) } : {});
      throw error;
    }
  };
  const alertResult = (alert: RenderedAlert, report: { delivered: Channel[]; failed: DeliveryFailure[] }) => ({
    subject: alert.subject,
    lines: alert.text.trimEnd().split('\n'),
    delivered: report.delivered,
    failed: report.failed,
  });

  // A previous run acted but could not deliver its alert: deliver that one (the table may be compliant by now).
  if (record?.pendingAlert) {
    const alert = JSON.parse(record.pendingAlert) as RenderedAlert;
    const report = await send(alert, true);
    await complete(alert.attributes.result ?? 'ALERTED');
    return { status: 'handled', eventId: change.eventId, table, message: 'delivered the alert of an earlier attempt', alert: alertResult(alert, report) };
  }

  let outcome;
  try {
    outcome = await remediateTable(table, { clients: deps.clients, policy, logger: log, now: deps.now, sleep: deps.sleep }, deps.remediate);
  } catch (error) {
    await release({});
    throw error;
  }
  const base = { status: 'handled' as const, eventId: change.eventId, table, result: outcome.result, message: outcome.message };
  const gone = outcome.result === 'FAILED' && GONE.has(outcome.errorName ?? '');
  const eventAge = (deps.now?.() ?? new Date()).getTime() - Date.parse(change.actor.eventTime ?? '');
  if (gone && CREATES.has(change.kind) && !(eventAge > NEW_TABLE_GRACE_MS)) {
    // Just created, restored or imported: not visible yet rather than deleted. Look again on the retry.
    await release({});
    throw new RemediationDeferredError(`${change.tableName}: the new table is not visible to DescribeTable yet`);
  }

  // An exempt table is left as it is, but switching its PITR off (or below the policy's period) is
  // still worth one informational alert in alert/remediate mode: who did it, and why nothing was done.
  const exemptWeakened = outcome.result === 'ALREADY_COMPLIANT' && outcome.before.status === 'EXEMPT' && weakensPitr(change, policy.minRecoveryDays);
  if ((outcome.result === 'ALREADY_COMPLIANT' && !exemptWeakened) || gone) {
    // e.g. pitr-guard's own re-enable call (it matches the rule when minRecoveryDays < 35), a
    // compliant or exempt table, or a table deleted since: nothing to say.
    await complete(outcome.result);
    return base;
  }
  if (exemptWeakened && outcome.mode === 'report') {
    log.info(`PITR weakened on an exempt table (mode report: no alert, no change): ${outcome.before.message}`, { event: 'exempt-change', status: outcome.before.status });
    await complete(outcome.result);
    return base;
  }
  if (outcome.mode === 'report') {
    log.warn(`not compliant (mode report: no alert, no change): ${outcome.before.message}`, { event: 'finding', status: outcome.before.status, reasons: outcome.before.reasons });
    await complete(outcome.result);
    return base;
  }

  const alert = renderChangeAlert({ change, outcome, minRecoveryDays: policy.minRecoveryDays });
  if (outcome.result === 'DEFERRED') {
    // Say it once (the first time), then fail so Lambda retries; the retry alerts again only with the final result.
    if (!record?.deferredAlertSent) await send(alert, false);
    await release({ deferredAlertSent: true });
    throw new RemediationDeferredError(`${change.tableName}: ${outcome.message}`);
  }
  const report = await send(alert, true);
  await complete(outcome.result);
  return { ...base, alert: alertResult(alert, report) };
}

/** The call switched PITR off, or set a recovery period below the policy's minimum. */
export function weakensPitr(change: TableChange, minRecoveryDays: number): boolean {
  if (change.eventName !== 'UpdateContinuousBackups') return false;
  const period = change.requested?.recoveryPeriodInDays;
  return change.requested?.enabled === false || (period !== undefined && period < minRecoveryDays);
}

export interface PitrChangeSettings {
  policy: Policy;
  clients: Clients;
  logger: Logger;
  homeRegion: string;
  accountId?: string;
  /** De-duplication table; none = no de-duplication. */
  idempotencyTable?: string;
  /** Use this Slack webhook URL instead of reading the SSM parameter (demo). */
  slackWebhookUrl?: string;
  /** Where alert channel failures are counted (AlertDeliveryFailed); none: not counted (demo, tests). */
  metrics?: Metrics;
  remediate?: RemediateOptions;
}

/** Dependencies from explicit settings (the demo and tests call this with their own clients). */
export function makeDeps(settings: PitrChangeSettings): PitrChangeDeps {
  const { policy, clients, logger, homeRegion } = settings;
  const deps: PitrChangeDeps = {
    policy,
    clients,
    logger,
    homeRegion,
    notifiers: buildNotifiers({ policy, clients, logger, homeRegion, metrics: settings.metrics, ...(settings.slackWebhookUrl ? { slackWebhookUrl: settings.slackWebhookUrl } : {}) }),
  };
  if (settings.accountId) deps.accountId = settings.accountId;
  if (settings.idempotencyTable) deps.idempotency = new DynamoIdempotencyStore(clients.get(DynamoDBClient, homeRegion), settings.idempotencyTable);
  if (settings.remediate) deps.remediate = settings.remediate;
  return deps;
}

