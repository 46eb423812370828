/**
 * Identifier rules, in one place: DynamoDB table names, account IDs, Region codes, ARNs (table,
 * SNS topic, Lambda function) and CloudTrail event IDs. Pure: no I/O, no AWS SDK.
 */
import { isRegionCode } from './regions';

export { isRegionCode };

/** DynamoDB table names: 3-255 of A-Z a-z 0-9 _ . - */
export const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
export const TABLE_NAME_RULE = '3-255 letters, digits, _ . or -';

export function isTableName(value: string): boolean {
  return TABLE_NAME.test(value);
}

/** AWS account IDs: exactly 12 digits. */
export const ACCOUNT_ID = /^\d{12}$/;

export function isAccountId(value: string): boolean {
  return ACCOUNT_ID.test(value);
}

/** IAM role names (the member role): 1-64 letters, digits and + = , . @ _ -. */
export const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
export const ROLE_NAME_RULE = '1-64 letters, digits or + = , . @ _ -';

/** STS AssumeRole ExternalId: 2-1224 letters, digits and + = , . @ : / _ -. */
export const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
export const EXTERNAL_ID_RULE = '2-1224 letters, digits or + = , . @ : / _ -';

/** Partitions: aws, aws-cn, aws-us-gov, aws-iso…, aws-eusc. */
const PARTITION = 'aws[a-z-]*';
const REGION_PART = '[a-z]{2,4}(?:-[a-z]+)+-\\d{1,2}';

/**
 * A DynamoDB table ARN: arn:<partition>:dynamodb:<region>:<account>:table/<name>. The Region field
 * is only shape-checked loosely here, so a caller can say "unknown Region" rather than "not an ARN".
 */
export const TABLE_ARN = /^arn:(aws[a-z-]*):dynamodb:([a-z0-9-]+):(\d{12}):table\/([A-Za-z0-9_.-]{3,255})$/;

export interface TableArn {
  partition: string;
  region: string;
  accountId: string;
  tableName: string;
}

/** The parts of a table ARN, or undefined when `value` is not exactly one. */
export function parseTableArn(value: string): TableArn | undefined {
  const m = TABLE_ARN.exec(value);
  if (!m) return undefined;
  return { partition: m[1] as string, region: m[2] as string, accountId: m[3] as string, tableName: m[4] as string };
}

/** The partition a Region belongs to. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('eusc-')) return 'aws-eusc';
  return 'aws';
}

export function formatTableArn(t: { region: string; accountId: string; tableName: string; partition?: string }): string {
  return `arn:${t.partition ?? partitionOf(t.region)}:dynamodb:${t.region}:${t.accountId}:table/${t.tableName}`;
}

/**
 * The table named inside an ARN-like string (text after `:table/`, without a `/stream/…` or
 * `/index/…` suffix), with the ARN's Region and account; a plain name is returned as is. Lenient on
 * purpose (CloudTrail may name a table either way); callers validate the parts.
 */
export function splitTableRef(raw: string): { tableName: string; region?: string; accountId?: string } {
  const at = raw.indexOf(':table/');
  if (at < 0) return { tableName: raw };
  const tableName = raw.slice(at + ':table/'.length).split('/')[0] ?? '';
  const parts = raw.slice(0, at).split(':'); // arn, partition, dynamodb, region, account
  return { tableName, region: parts[3] || undefined, accountId: parts[4] || undefined };
}

/** A standard SNS topic ARN. */
export const TOPIC_ARN = new RegExp(`^arn:${PARTITION}:sns:${REGION_PART}:\\d{12}:[A-Za-z0-9_-]{1,256}$`);

/** The Region of an ARN (its fourth field), or '' when there is none. */
export function arnRegion(arn: string): string {
  return arn.split(':')[3] ?? '';
}

/** The account of an ARN (its fifth field) when it is a 12-digit account ID. */
export function arnAccount(arn: string | undefined): string | undefined {
  const account = arn?.split(':')[4];
  return account && isAccountId(account) ? account : undefined;
}

/** CloudTrail event IDs are UUIDs (8-4-4-4-12 hexadecimal digits). */
export const EVENT_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isEventId(value: string): boolean {
  return EVENT_ID.test(value);
}
