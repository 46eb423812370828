/**
 * Closes the incidents of the tables a scan re-enabled and verified, as fixed by pitr-guard (alert
 * lifecycle). Shared by the scheduled scan's actions (lib/act/scan-actions.ts) and the Organization
 * scan's shards (lib/jobs/org-scan/shard.ts), so both tell "fixed by pitr-guard" the same way: the
 * table is listed once, under New, and its incident is closed in the same run (conditional write:
 * the close this run wins is returned as a RESOLVED transition; lifecycle-digest.ts folds it into New).
 */
import type { Logger } from '../runtime/logger';
import { ledgerKey, type FindingsLedger, type OpenIncident, type Transition } from '../state/ledger';
import type { RemediationOutcome } from './outcome';

export interface ClosedIncidents {
  /** The run's transitions, followed by the RESOLVED ones this close won. */
  transitions: Transition[];
  /** Incidents still open after the close (by ledger key). */
  open: Map<string, OpenIncident>;
}

export async function closeFixedIncidents(
  lifecycle: { transitions: Transition[]; openIncidents: OpenIncident[] },
  outcomes: RemediationOutcome[],
  ledger: FindingsLedger | undefined,
  at: () => string,
  logger: Logger,
): Promise<ClosedIncidents> {
  const transitions = [...lifecycle.transitions];
  const open = new Map(lifecycle.openIncidents.map((o) => [o.tableArn, o]));
  if (!ledger) return { transitions, open };
  for (const o of outcomes) {
    if (o.result !== 'ENABLED') continue;
    const key = ledgerKey(o.before);
    const incident = open.get(key);
    if (!incident) continue;
    try {
      const closed = await ledger.resolve({ tableArn: key, accountId: o.accountId, region: o.region, tableName: o.tableName, incidentId: incident.incidentId, openedAt: incident.openedAt, status: 'COMPLIANT', reasons: ['PITR_ENABLED'] }, 'pitr-guard', at());
      open.delete(key);
      if (closed) transitions.push(closed);
    } catch (error) {
      // The incident stays open: the next scan finds the table compliant and resolves it then.
      logger.error('could not close the incident in the findings ledger', { event: 'ledger-failed', tableArn: key, message: (error as Error).message });
    }
  }
  return { transitions, open };
}

/** No AWS command of its own: the ledger declares its UpdateItem. */
export const permissions: readonly import('../core/iam').Permission[] = [];
