/**
 * CloudTrail events (via EventBridge) → the one table they concern, plus who did what.
 *
 * The event is only a hint: the reactor re-reads the table and evaluates its real state. This
 * module validates the envelope (it must carry source `aws.dynamodb`, detail-type `AWS API Call via
 * CloudTrail` and detail.eventSource `dynamodb.amazonaws.com`: missing is malformed, anything else
 * is rejected as not ours), finds the table the call created or changed (the *target* table
 * of a restore or import), normalises a table ARN to its name, and extracts the attribution
 * (userIdentity ARN, source IP, user agent, event time).
 *
 * CloudTrail's key casing under requestParameters/responseElements is inferred (lowerCamelCase)
 * for these calls, so parameters are read case-insensitively.
 */
import { isRegionCode } from '../core/regions';

export const REACTOR_EVENT_NAMES = ['UpdateContinuousBackups', 'CreateTable', 'RestoreTableToPointInTime', 'RestoreTableFromBackup', 'ImportTable'] as const;
export type ReactorEventName = (typeof REACTOR_EVENT_NAMES)[number];

/** What the call did, as far as the event tells. */
export type ChangeKind = 'PITR_DISABLED' | 'PERIOD_SET' | 'PITR_UPDATED' | 'TABLE_CREATED' | 'TABLE_RESTORED' | 'TABLE_IMPORTED';

/** Who made the call, from the CloudTrail record. Every field is event-derived (untrusted text). */
export interface Actor {
  /** userIdentity.arn; for AWS services / accounts without an ARN, a readable stand-in. */
  arn: string;
  type?: string;
  accountId?: string;
  /** The service that made the call on the principal's behalf (userIdentity.invokedBy). */
  invokedBy?: string;
  /** The role behind an assumed-role session (sessionContext.sessionIssuer.arn). */
  sessionIssuer?: string;
  sourceIp?: string;
  userAgent?: string;
  /** detail.eventTime (ISO 8601). */
  eventTime?: string;
}

export interface TableChange {
  /** The idempotency key: addendum.originalEventID for a re-delivery, else detail.eventID. */
  eventId: string;
  eventName: ReactorEventName;
  kind: ChangeKind;
  accountId: string;
  region: string;
  tableName: string;
  /** UpdateContinuousBackups: what the caller asked for. */
  requested?: { enabled?: boolean; recoveryPeriodInDays?: number };
  /** Restores: the source table or backup. */
  source?: string;
  actor: Actor;
}

export type ParseResult =
  | { status: 'ok'; change: TableChange }
  | { status: 'ignored'; reason: string }
  | { status: 'invalid'; reason: string; missing: string[] };

/** The envelope every event must carry (serverless.yml's rules match these; anything else is rejected). */
export const EXPECTED_SOURCE = 'aws.dynamodb';
export const EXPECTED_DETAIL_TYPE = 'AWS API Call via CloudTrail';
export const EXPECTED_EVENT_SOURCE = 'dynamodb.amazonaws.com';

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const ACCOUNT = /^\d{12}$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

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

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/**
 * A table name, or the name inside a table ARN (text after `:table/`, without any `/…` suffix
 * such as `/stream/…` or `/index/…`). Also returns the ARN's Region and account when it is one.
 */
export function normaliseTableName(raw: string): { tableName: string; region?: string; accountId?: string } {
  const at = raw.indexOf(':table/');
  if (at < 0) return { tableName: raw };
  const tableName = raw.slice(at + ':table/'.length).split('/')[0] ?? '';
  const parts = raw.slice(0, at).split(':'); // arn, partition, dynamodb, region, account
  return { tableName, region: parts[3] || undefined, accountId: parts[4] || undefined };
}

/** Where each call names the table it created or changed: request first, then the response. */
const TABLE_PATHS: Record<ReactorEventName, string[]> = {
  UpdateContinuousBackups: ['requestParameters.tableName'],
  CreateTable: ['requestParameters.tableName', 'responseElements.tableDescription.tableName', 'responseElements.tableDescription.tableArn'],
  RestoreTableToPointInTime: ['requestParameters.targetTableName', 'responseElements.tableDescription.tableName', 'responseElements.tableDescription.tableArn'],
  RestoreTableFromBackup: ['requestParameters.targetTableName', 'responseElements.tableDescription.tableName', 'responseElements.tableDescription.tableArn'],
  ImportTable: ['requestParameters.tableCreationParameters.tableName', 'responseElements.importTableDescription.tableArn'],
};

export function parseCloudTrailEvent(event: unknown): ParseResult {
  if (!isObj(event)) {
    return { status: 'invalid', reason: `expected an EventBridge event object, got ${event === null ? 'null' : Array.isArray(event) ? 'an array' : typeof event}`, missing: ['event'] };
  }
  // The envelope is checked, never assumed: only DynamoDB API calls recorded by CloudTrail are acted
  // on. A missing field is malformed; a different value is not an event our rules deliver (a
  // misrouted or forged event): both are rejected, nothing is read or changed.
  const detail = event.detail;
  const source = str(event.source);
  const detailType = str(event['detail-type']);
  const eventSource = isObj(detail) ? str(detail.eventSource) : undefined;
  const absent = [
    ...(source === undefined ? ['source'] : []),
    ...(detailType === undefined ? ['detail-type'] : []),
    ...(!isObj(detail) ? ['detail'] : eventSource === undefined ? ['detail.eventSource'] : []),
  ];
  if (absent.length > 0) return invalid(absent);
  const wrong = [
    ...(source !== EXPECTED_SOURCE ? [`source ${JSON.stringify(truncate(source as string, 60))} is not ${EXPECTED_SOURCE}`] : []),
    ...(detailType !== EXPECTED_DETAIL_TYPE ? [`detail-type ${JSON.stringify(truncate(detailType as string, 60))} is not ${EXPECTED_DETAIL_TYPE}`] : []),
    ...(eventSource !== EXPECTED_EVENT_SOURCE ? [`detail.eventSource ${JSON.stringify(truncate(eventSource as string, 60))} is not ${EXPECTED_EVENT_SOURCE}`] : []),
  ];
  if (wrong.length > 0) return { status: 'invalid', reason: `not a DynamoDB API call recorded by CloudTrail: ${wrong.join('; ')}`, missing: [] };
  if (!isObj(detail)) return invalid(['detail']); // (narrows the type; checked above)
  const eventName = str(detail.eventName);
  if (!eventName) return invalid(['detail.eventName']);
  if (!(REACTOR_EVENT_NAMES as readonly string[]).includes(eventName)) {
    return { status: 'ignored', reason: `eventName ${eventName} is not one pitr-guard reacts to` };
  }
  const name = eventName as ReactorEventName;
  if (detail.errorCode !== undefined && detail.errorCode !== null) {
    return { status: 'ignored', reason: `the ${name} call failed (${String(detail.errorCode)}): nothing changed` };
  }

  const missing: string[] = [];
  const eventId = str(pathCI(detail, 'addendum.originalEventID')) ?? str(detail.eventID);
  if (!eventId) missing.push('detail.eventID');
  let accountId = str(detail.recipientAccountId) ?? str(event.account);
  let region = str(detail.awsRegion) ?? str(event.region);
  let rawTable: string | undefined;
  for (const p of TABLE_PATHS[name]) {
    rawTable = str(pathCI(detail, p));
    if (rawTable) break;
  }
  if (!rawTable) missing.push(`detail.${TABLE_PATHS[name][0]}`);
  if (!accountId) missing.push('account (detail.recipientAccountId or account)');
  if (!region) missing.push('region (detail.awsRegion or region)');
  if (missing.length > 0) return invalid(missing);

  const table = normaliseTableName(rawTable as string);
  // A table ARN names where the table lives.
  accountId = table.accountId ?? accountId;
  region = table.region ?? region;
  const bad: string[] = [];
  if (!TABLE_NAME.test(table.tableName)) bad.push(`table name ${JSON.stringify(truncate(table.tableName, 80))} is not a valid DynamoDB table name`);
  if (!ACCOUNT.test(accountId as string)) bad.push(`account ${JSON.stringify(truncate(accountId as string, 40))} is not a 12-digit account ID`);
  if (!isRegionCode(region as string)) bad.push(`region ${JSON.stringify(truncate(region as string, 40))} is not a Region code`);
  if (bad.length > 0) return { status: 'invalid', reason: bad.join('; '), missing: [] };

  const change: TableChange = {
    eventId: eventId as string,
    eventName: name,
    kind: 'TABLE_CREATED',
    accountId: accountId as string,
    region: region as string,
    tableName: table.tableName,
    actor: actorOf(detail),
  };
  switch (name) {
    case 'UpdateContinuousBackups': {
      const spec = pathCI(detail, 'requestParameters.pointInTimeRecoverySpecification');
      const enabled = asBoolean(getCI(spec, 'pointInTimeRecoveryEnabled'));
      const period = asNumber(getCI(spec, 'recoveryPeriodInDays'));
      change.requested = { ...(enabled !== undefined ? { enabled } : {}), ...(period !== undefined ? { recoveryPeriodInDays: period } : {}) };
      change.kind = enabled === false ? 'PITR_DISABLED' : period !== undefined ? 'PERIOD_SET' : 'PITR_UPDATED';
      break;
    }
    case 'CreateTable':
      change.kind = 'TABLE_CREATED';
      break;
    case 'RestoreTableToPointInTime': {
      change.kind = 'TABLE_RESTORED';
      const source = str(pathCI(detail, 'requestParameters.sourceTableName')) ?? str(pathCI(detail, 'requestParameters.sourceTableArn'));
      if (source) change.source = source;
      break;
    }
    case 'RestoreTableFromBackup': {
      change.kind = 'TABLE_RESTORED';
      const source = str(pathCI(detail, 'requestParameters.backupArn'));
      if (source) change.source = source;
      break;
    }
    case 'ImportTable':
      change.kind = 'TABLE_IMPORTED';
      break;
  }
  return { status: 'ok', change };
}

function invalid(missing: string[]): ParseResult {
  return { status: 'invalid', reason: `missing ${missing.join(', ')}`, missing };
}

function asBoolean(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

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

/** Whether the change concerns this deployment: its own account and a configured Region. */
export function outOfScope(change: Pick<TableChange, 'accountId' | 'region'>, scope: { accountId: string; regions: string[] | 'all' }): string | undefined {
  if (change.accountId !== scope.accountId) return `account ${change.accountId} is not this deployment's account ${scope.accountId}`;
  if (scope.regions !== 'all' && !scope.regions.includes(change.region)) {
    return `Region ${change.region} is not configured (PITR_GUARD_REGIONS: ${scope.regions.join(',')})`;
  }
  return undefined;
}
