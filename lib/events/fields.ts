/**
 * Reading a CloudTrail event's fields (lib/events/cloudtrail.ts decides whether to trust it):
 * case-insensitive lookups (CloudTrail's key casing under requestParameters/responseElements is
 * inferred, lowerCamelCase), strings exactly as sent, and who made the call (userIdentity, source
 * IP, user agent, event time).
 */
import type { Actor } from '../core/types';

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `obj[key]`, matching the key case-insensitively (exact match first). */
export function getCI(obj: unknown, key: string): unknown {
  if (!isObj(obj)) return undefined;
  if (key in obj) return obj[key];
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** Follows a dotted path case-insensitively. */
export function pathCI(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    cur = getCI(cur, part);
    if (cur === undefined || cur === null) return cur;
  }
  return cur;
}

/**
 * A string field as sent: never trimmed (EventBridge compares exactly, and so does pitr-guard: a
 * value with a stray space or line break is not the value it resembles). Empty counts as absent.
 */
export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Who made the call, as precisely as the event names them (never empty: "unknown principal" at least). */
export function actorOf(detail: Obj): Actor {
  const id = getCI(detail, 'userIdentity');
  const type = str(getCI(id, 'type'));
  const invokedBy = str(getCI(id, 'invokedBy'));
  const accountId = str(getCI(id, 'accountId'));
  const arn =
    str(getCI(id, 'arn')) ??
    (invokedBy ? `${invokedBy} (AWS service)` : undefined) ??
    (accountId ? `account ${accountId}${type ? ` (${type})` : ''}` : undefined) ??
    (type ? `unknown ${type} principal` : 'unknown principal');
  const actor: Actor = { arn };
  if (type) actor.type = type;
  if (accountId) actor.accountId = accountId;
  if (invokedBy) actor.invokedBy = invokedBy;
  const issuer = str(pathCI(id, 'sessionContext.sessionIssuer.arn'));
  if (issuer) actor.sessionIssuer = issuer;
  const ip = str(getCI(detail, 'sourceIPAddress'));
  if (ip) actor.sourceIp = ip;
  const ua = str(getCI(detail, 'userAgent'));
  if (ua) actor.userAgent = ua;
  const time = str(getCI(detail, 'eventTime'));
  if (time) actor.eventTime = time;
  return actor;
}
