/**
 * A ledger item's `history` (docs/ledger.md#history): a list of the last HISTORY_LIMIT entries
 * (HistoryEntry), appended inside the UpdateItem that already records the change (the scan's
 * status and lifecycle writes in ledger.ts, the reactor's incident write in incidents.ts, drills)
 * with `list_append(if_not_exists(history, :historyEmpty), :history)`, so the steady state (status
 * unchanged, no incident step) appends nothing and costs no call. A write that appends asks for
 * ReturnValues UPDATED_NEW; when the returned list is longer than the limit, one more UpdateItem
 * REMOVEs the oldest entries, conditioned on the length it saw (a concurrent append makes it fail:
 * the next append trims). Trimming is best effort: a failed trim leaves a longer list, never a lost
 * entry or a failed ledger write. Pure helpers: the writers send the calls (their IAM covers them).
 */
import type { AttributeValue, UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import type { HistoryEntry } from '../core/types';

export const HISTORY_LIMIT = 100;

/** The SET clause that appends the entries in `:history`. */
export const HISTORY_APPEND = 'history = list_append(if_not_exists(history, :historyEmpty), :history)';

const EVENTS = new Set<HistoryEntry['event']>(['STATUS_CHANGED', 'INCIDENT_OPENED', 'INCIDENT_CLOSED', 'PITR_DISABLED', 'REMEDIATED', 'DRILL']);

export function historyEntryValue(e: HistoryEntry): AttributeValue {
  return { M: { at: { S: e.at }, event: { S: e.event }, detail: { S: e.detail.slice(0, 2048) }, ...(e.actor ? { actor: { S: e.actor.slice(0, 2048) } } : {}) } };
}

/** The expression values HISTORY_APPEND needs. */
export function historyValues(entries: readonly HistoryEntry[]): Record<string, AttributeValue> {
  return { ':historyEmpty': { L: [] }, ':history': { L: entries.map(historyEntryValue) } };
}

/** An item's history (oldest first); malformed entries are skipped. */
export function parseHistory(item: Record<string, AttributeValue> | undefined): HistoryEntry[] {
  return (item?.history?.L ?? []).flatMap((v) => {
    const m = v.M;
    const at = m?.at?.S;
    const event = m?.event?.S as HistoryEntry['event'] | undefined;
    if (!at || !event || !EVENTS.has(event)) return [];
    return [{ at, event, detail: m?.detail?.S ?? '', ...(m?.actor?.S ? { actor: m.actor.S } : {}) }];
  });
}

/**
 * The UpdateItem input (without TableName and Key) that trims a list of `length` entries to the
 * newest `limit`: one REMOVE of the oldest, conditioned on the length seen; undefined when it is
 * not over. The writers send it themselves (ledger.ts, incidents.ts), best effort, so this module
 * makes no AWS call (and needs no IAM of its own).
 */
export function trimInput(length: number, limit: number = HISTORY_LIMIT): Pick<UpdateItemCommandInput, 'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeValues'> | undefined {
  if (length <= limit) return undefined;
  const paths = Array.from({ length: length - limit }, (_, i) => `history[${i}]`);
  return { UpdateExpression: `REMOVE ${paths.join(', ')}`, ConditionExpression: 'size(history) = :historyLength', ExpressionAttributeValues: { ':historyLength': { N: String(length) } } };
}

/** How many entries the attributes a write returned (ReturnValues UPDATED_NEW) hold. */
export function historyLength(attributes: Record<string, AttributeValue> | undefined): number {
  return attributes?.history?.L?.length ?? 0;
}
