/**
 * The findings ledger's item, shared by its two writers (the scan: ledger.ts; the reactor:
 * incidents.ts): the key, the lifecycle attributes read back from DynamoDB, the errors worth a
 * retry. No AWS calls here (so no IAM of its own).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DisableRecord, IncidentFacts } from '../core/lifecycle';
import type { DrillRecord, DrillSummary } from '../core/types';

export const LEDGER_KEY = 'tableArn';

export const RETRYABLE = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
]);

export interface OpenIncident {
  tableArn: string;
  incidentId: string;
  openedAt: string;
}

/** The lifecycle attributes of an item (AttributeValues → IncidentFacts); malformed values count as absent. */
export function incidentFacts(item: Record<string, AttributeValue>): IncidentFacts {
  const facts: IncidentFacts = {};
  const str = (name: keyof IncidentFacts) => {
    const v = item[name]?.S;
    if (typeof v === 'string') (facts as Record<string, unknown>)[name] = v;
  };
  const num = (name: keyof IncidentFacts) => {
    const v = item[name]?.N;
    if (typeof v === 'string' && Number.isFinite(Number(v))) (facts as Record<string, unknown>)[name] = Number(v);
  };
  for (const n of ['incidentId', 'openedAt', 'closedAt', 'lastAlertedAt', 'reminderDueAt', 'fixedBy', 'fixedAt'] as const) str(n);
  for (const n of ['reminders', 'silencedDisables', 'lifecycleVersion'] as const) num(n);
  const state = item.incidentState?.S;
  if (state === 'OPEN' || state === 'CLOSED') facts.incidentState = state;
  const list = item.disables?.L;
  if (list) {
    facts.disables = list.flatMap((v) => {
      const m = v.M;
      const eventId = m?.eventId?.S;
      const at = m?.at?.S;
      const principal = m?.principal?.S;
      if (!eventId || !at || !principal) return [];
      return [{ eventId, at, principal, ...(m?.userAgent?.S ? { userAgent: m.userAgent.S } : {}) }];
    });
  }
  return facts;
}

export const optionalOpen = (open: OpenIncident | undefined): { open?: OpenIncident } => (open ? { open } : {});

export function disableValue(d: DisableRecord): AttributeValue {
  return { M: { eventId: { S: d.eventId }, at: { S: d.at }, principal: { S: d.principal }, ...(d.userAgent ? { userAgent: { S: d.userAgent } } : {}) } };
}

/**
 * `lastSuccessfulDrill` of a ledger item (the DrillRecord as a JSON string, written by
 * lib/state/drills.ts), as reports show it; undefined when absent or malformed.
 */
export function lastSuccessfulDrill(value: string | undefined): DrillSummary | undefined {
  if (!value) return undefined;
  try {
    const r = JSON.parse(value) as Partial<DrillRecord>;
    if (typeof r.drillId !== 'string' || typeof r.finishedAt !== 'string') return undefined;
    return { drillId: r.drillId, at: r.finishedAt, restoreSeconds: typeof r.restoreSeconds === 'number' ? r.restoreSeconds : 0, restorePoint: typeof r.restorePoint === 'string' ? r.restorePoint : null };
  } catch {
    return undefined;
  }
}
