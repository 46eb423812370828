/**
 * The one place that decides whether an event is trusted: the envelope checks, the account
 * agreement (account, recipientAccountId, resources) and each call's field checks, read and changed
 * together. How its fields are read, and the attribution, are in fields.ts.
 *
 * CloudTrail events (via EventBridge) → the one table they concern, plus who did what.
 *
 * The event is only a hint: the reactor re-reads the table and evaluates its real state. This
 * module validates the envelope (it must carry source `aws.dynamodb`, detail-type `AWS API Call via
 * CloudTrail` and detail.eventSource `dynamodb.amazonaws.com`: missing is malformed, anything else
 * is rejected as not ours; values are compared exactly, as EventBridge does, never trimmed), requires
 * a CloudTrail event ID that is a UUID (it is the de-duplication key), finds the table the call
 * created or changed (the *target* table
 * of a restore or import), normalises a table ARN to its name, and extracts the attribution
 * (userIdentity ARN, source IP, user agent, event time).
 *
 * Every event-sourced value quoted in a reason is capped (lib/core/text.ts `forLog`), so a reason
 * is always a short, safe log line.
 *
 * CloudTrail's key casing under requestParameters/responseElements is inferred (lowerCamelCase)
 * for these calls, so parameters are read case-insensitively.
 */
import { isAccountId, isEventId, isRegionCode, isTableName, splitTableRef } from '../core/ids';
import { forLog } from '../core/text';
import { REACTOR_EVENT_NAMES, type DeletedTableFacts, type ReactorEventName, type TableChange } from '../core/types';
import { actorOf, getCI, isObj, pathCI, str, type Obj } from './fields';

export { actorOf, getCI, pathCI } from './fields';

export { REACTOR_EVENT_NAMES } from '../core/types';
export type { Actor, ChangeKind, DeletedTableFacts, ReactorEventName, TableChange } from '../core/types';

export type ParseResult =
  | { status: 'ok'; change: TableChange }
  | { status: 'ignored'; reason: string }
  | { status: 'invalid'; reason: string; missing: string[] };

/** The envelope every event must carry (serverless.yml's rules match these; anything else is rejected). */
export const EXPECTED_SOURCE = 'aws.dynamodb';
export const EXPECTED_DETAIL_TYPE = 'AWS API Call via CloudTrail';
export const EXPECTED_EVENT_SOURCE = 'dynamodb.amazonaws.com';

/** A field present at all (a non-string or blank value is present, and wrong). */
const present = (v: unknown): boolean => v !== undefined && v !== null && v !== '';
/** An event-sourced value quoted for a reason or a log line: JSON-quoted (whitespace visible), capped. */
const quoted = (v: unknown, max = 80): string => forLog(v, max, true);

/**
 * A table name, or the name inside a table ARN (text after `:table/`, without any `/…` suffix
 * such as `/stream/…` or `/index/…`). Also returns the ARN's Region and account when it is one.
 */
export const normaliseTableName = splitTableRef;

/** Where each call names the table it created or changed: request first, then the response. */
const TABLE_PATHS: Record<ReactorEventName, string[]> = {
  UpdateContinuousBackups: ['requestParameters.tableName'],
  CreateTable: ['requestParameters.tableName', 'responseElements.tableDescription.tableName', 'responseElements.tableDescription.tableArn'],
  RestoreTableToPointInTime: ['requestParameters.targetTableName', 'responseElements.tableDescription.tableName', 'responseElements.tableDescription.tableArn'],
  RestoreTableFromBackup: ['requestParameters.targetTableName', 'responseElements.tableDescription.tableName', 'responseElements.tableDescription.tableArn'],
  ImportTable: ['requestParameters.tableCreationParameters.tableName', 'responseElements.importTableDescription.tableArn'],
  DeleteTable: ['requestParameters.tableName', 'responseElements.tableDescription.tableName', 'responseElements.tableDescription.tableArn'],
};

export function parseCloudTrailEvent(event: unknown): ParseResult {
  if (!isObj(event)) {
    return { status: 'invalid', reason: `expected an EventBridge event object, got ${event === null ? 'null' : Array.isArray(event) ? 'an array' : typeof event}`, missing: ['event'] };
  }
  // The envelope is checked, never assumed: only DynamoDB API calls recorded by CloudTrail are acted
  // on. A missing field is malformed; a different value is not an event our rules deliver (a
  // misrouted or forged event): both are rejected, nothing is read or changed.
  const detail = event.detail;
  const source: unknown = event.source;
  const detailType: unknown = event['detail-type'];
  const eventSource: unknown = isObj(detail) ? detail.eventSource : undefined;
  const absent = [
    ...(!present(source) ? ['source'] : []),
    ...(!present(detailType) ? ['detail-type'] : []),
    ...(!isObj(detail) ? ['detail'] : !present(eventSource) ? ['detail.eventSource'] : []),
  ];
  if (absent.length > 0) return invalid(absent);
  // Exact comparison, as EventBridge's rules do: "aws.dynamodb " or a trailing newline is not ours.
  const wrong = [
    ...(source !== EXPECTED_SOURCE ? [`source ${quoted(source)} is not ${EXPECTED_SOURCE}`] : []),
    ...(detailType !== EXPECTED_DETAIL_TYPE ? [`detail-type ${quoted(detailType)} is not ${EXPECTED_DETAIL_TYPE}`] : []),
    ...(eventSource !== EXPECTED_EVENT_SOURCE ? [`detail.eventSource ${quoted(eventSource)} is not ${EXPECTED_EVENT_SOURCE}`] : []),
  ];
  if (wrong.length > 0) return { status: 'invalid', reason: `not a DynamoDB API call recorded by CloudTrail: ${wrong.join('; ')}`, missing: [] };
  if (!isObj(detail)) return invalid(['detail']); // (narrows the type; checked above)
  if (!present(detail.eventName)) return invalid(['detail.eventName']);
  const eventName = detail.eventName;
  if (typeof eventName !== 'string' || !(REACTOR_EVENT_NAMES as readonly string[]).includes(eventName)) {
    // Close to a name we react to (spaces, a line break, another case)? Then it is forged or mangled, not someone else's call.
    const near = typeof eventName === 'string' && REACTOR_EVENT_NAMES.some((n) => n.toLowerCase() === eventName.trim().toLowerCase());
    if (near) return { status: 'invalid', reason: `detail.eventName ${quoted(eventName)} is not exactly an API name`, missing: [] };
    return { status: 'ignored', reason: `eventName ${quoted(eventName)} is not one pitr-guard reacts to` };
  }
  const name = eventName as ReactorEventName;
  if (detail.errorCode !== undefined && detail.errorCode !== null) {
    return { status: 'ignored', reason: `the ${name} call failed (${forLog(detail.errorCode, 120)}): nothing changed` };
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

  const table = splitTableRef(rawTable as string);
  const bad: string[] = [];
  // The idempotency key must be a real CloudTrail event ID: a 200 KB "ID" would switch de-duplication off.
  if (!isEventId(eventId as string)) bad.push(`event ID ${quoted(eventId, 60)} is not a CloudTrail event ID (a UUID)`);
  if (!isTableName(table.tableName)) bad.push(`table name ${quoted(table.tableName)} is not a valid DynamoDB table name`);
  // The event's own account and Region are checked even when a table ARN names others: a malformed field is rejected, never skipped.
  for (const [what, value] of [
    ['account', accountId],
    ['table ARN account', table.accountId],
  ] as const) {
    if (value !== undefined && !isAccountId(value)) bad.push(`${what} ${quoted(value, 40)} is not a 12-digit account ID`);
  }
  for (const [what, value] of [
    ['region', region],
    ['table ARN region', table.region],
  ] as const) {
    if (value !== undefined && !isRegionCode(value)) bad.push(`${what} ${quoted(value, 40)} is not a Region code`);
  }
  if (bad.length > 0) return { status: 'invalid', reason: bad.join('; '), missing: [] };
  // The envelope's account is set by EventBridge (kept as the sender's when a member forwards it);
  // the record's recipientAccountId by CloudTrail. They name the same account, or the event is
  // forged or mangled: never acted on (the central bus accepts events from many accounts).
  const agreement = accountsDisagree(event, detail);
  if (agreement) return { status: 'invalid', reason: agreement, missing: [] };
  // A table ARN of another account: a cross-account call, seen in the caller's copy. CloudTrail also
  // delivers the event to the owner's account (since 2021), whose copy is the one acted on.
  if (table.accountId !== undefined && table.accountId !== accountId) {
    return { status: 'ignored', reason: `the table ARN names account ${table.accountId}, not the event's account ${quoted(accountId, 40)}: the table owner's copy of the event is acted on` };
  }
  // A table ARN names where the table lives.
  accountId = table.accountId ?? accountId;
  region = table.region ?? region;

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
    case 'DeleteTable': {
      const deleted = deletedTableFacts(detail, change.tableName);
      if (typeof deleted === 'string') return { status: 'invalid', reason: deleted, missing: [] };
      change.kind = 'TABLE_DELETED';
      change.deleted = deleted;
      break;
    }
  }
  return { status: 'ok', change };
}

/**
 * `account`, `detail.recipientAccountId` and the accounts of `detail.resources[]` must agree (each
 * where present). A forged event naming a member account in its envelope and another in its
 * record is rejected, never acted on in either.
 */
function accountsDisagree(event: Obj, detail: Obj): string | undefined {
  const envelope = str(event.account);
  const recipient = str(detail.recipientAccountId);
  if (envelope !== undefined && recipient !== undefined && envelope !== recipient) {
    return `the envelope account ${quoted(envelope, 40)} is not detail.recipientAccountId ${quoted(recipient, 40)} (a forged or mangled event)`;
  }
  const owner = recipient ?? envelope;
  const resources = getCI(detail, 'resources');
  if (owner !== undefined && Array.isArray(resources)) {
    for (const r of resources) {
      const account = str(getCI(r, 'accountId'));
      if (account !== undefined && account !== owner) return `detail.resources names account ${quoted(account, 40)}, not the event's account ${quoted(owner, 40)} (a forged or mangled event)`;
    }
  }
  return undefined;
}

/**
 * DeleteTable's response: the table description as the table went into DELETING. Required (a
 * successful DeleteTable always returns it); its table name, when present, must be the one deleted.
 */
function deletedTableFacts(detail: Obj, tableName: string): DeletedTableFacts | string {
  const d = pathCI(detail, 'responseElements.tableDescription');
  if (!isObj(d)) return 'missing detail.responseElements.tableDescription (a successful DeleteTable returns the deleted table\'s description)';
  const name = getCI(d, 'tableName');
  if (name !== undefined && name !== tableName) return `detail.responseElements.tableDescription.tableName ${quoted(name)} is not the table deleted (${tableName})`;
  const facts: DeletedTableFacts = {};
  const arn = str(getCI(d, 'tableArn'));
  if (arn !== undefined) {
    const ref = splitTableRef(arn);
    if (ref.tableName !== tableName || ref.accountId === undefined) return `detail.responseElements.tableDescription.tableArn ${quoted(arn, 120)} is not the ARN of the table deleted (${tableName})`;
    facts.tableArn = arn;
  }
  const id = str(getCI(d, 'tableId'));
  if (id !== undefined) facts.tableId = forLog(id, 80);
  const status = str(getCI(d, 'tableStatus'));
  if (status !== undefined) facts.tableStatus = forLog(status, 40);
  const items = asNumber(getCI(d, 'itemCount'));
  if (items !== undefined) facts.itemCount = items;
  const size = asNumber(getCI(d, 'tableSizeBytes'));
  if (size !== undefined) facts.tableSizeBytes = size;
  const protection = asBoolean(getCI(d, 'deletionProtectionEnabled'));
  if (protection !== undefined) facts.deletionProtectionEnabled = protection;
  return facts;
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

/** Whether the change concerns this deployment: its own account and a configured Region. */
export function outOfScope(change: Pick<TableChange, 'accountId' | 'region'>, scope: { accountId: string; regions: string[] | 'all' }): string | undefined {
  if (change.accountId !== scope.accountId) return `account ${change.accountId} is not this deployment's account ${scope.accountId}`;
  if (scope.regions !== 'all' && !scope.regions.includes(change.region)) {
    return `Region ${change.region} is not configured (PITR_GUARD_REGIONS: ${scope.regions.join(',')})`;
  }
  return undefined;
}
