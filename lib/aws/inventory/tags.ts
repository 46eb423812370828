/**
 * Table tags in bulk: the Resource Groups Tagging API's GetResources with a ResourceARNList of at
 * most 100 table ARNs per call, instead of one ListTagsOfResource per table.
 *
 * - GetResources returns only resources that are (or were) tagged: an ARN that was asked for and
 *   is missing from the answer has no tags (AWS API reference, GetResources; moto does the same).
 * - With a ResourceARNList, AWS answers every listed ARN at once and refuses pagination
 *   parameters; a PaginationToken that comes back anyway (moto pages at 50) is followed.
 * - Its rate quota is not documented: the calls are paced at BULK_TAGS_PER_SECOND (2/s, well
 *   below any quota seen for the Tagging API; at 100 tables a call that is 200 tables/s, far ahead
 *   of DescribeContinuousBackups' 10/s).
 * - A chunk that cannot be read (AccessDenied where an SCP or the role denies tag:GetResources,
 *   the API unavailable in the Region, retries exhausted) is not an error: its tables fall back to
 *   ListTagsOfResource one by one (lib/aws/inventory/tables.ts), and a log line says so.
 * - Freshness: the Tagging API is eventually consistent with DynamoDB (a tag added seconds ago may
 *   be missing). The scan reports from it; remediation re-reads the table's own tags
 *   (ListTagsOfResource, readTable) before it changes anything.
 *
 * IAM: tag:GetResources (Resource "*": the Tagging API has no resource-level permissions).
 */
import { GetResourcesCommand, type ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { awsErrorName, errorMessage } from '../../core/errors';
import type { Logger } from '../../runtime/logger';
import { RateLimiter, isThrottle, paced, retrying, type RetryOptions, type Sleep } from '../pace';

/** ARNs per GetResources call (the API's maximum for ResourceARNList). */
export const BULK_TAGS_CHUNK = 100;
/** GetResources calls per second: its quota is undocumented, so this is a conservative guess. */
export const BULK_TAGS_PER_SECOND = 2;

export type Tags = Record<string, string>;

/** Tags by ARN for the ARNs of one chunk; `undefined` for a chunk that could not be read (fall back). */
export type TagLookup = (arn: string) => Promise<Tags | undefined>;

/** The ARN of a table, built from its name (the partition from the Region's prefix). */
export function tableArn(where: { accountId: string; region: string }, tableName: string): string {
  const partition = where.region.startsWith('cn-') ? 'aws-cn' : where.region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
  return `arn:${partition}:dynamodb:${where.region}:${where.accountId}:table/${tableName}`;
}

export interface BulkTagOptions {
  retry: Partial<RetryOptions>;
  sleep: Sleep;
  logger: Logger;
  region: string;
}

/** Reads the tags of one chunk of ≤ 100 ARNs; every asked ARN gets an entry (missing: no tags). */
export async function getResourcesTags(tagging: ResourceGroupsTaggingAPIClient, arns: readonly string[], pacer: RateLimiter, o: BulkTagOptions): Promise<Map<string, Tags>> {
  if (arns.length > BULK_TAGS_CHUNK) throw new RangeError(`at most ${BULK_TAGS_CHUNK} ARNs per GetResources call, got ${arns.length}`);
  const out = new Map<string, Tags>(arns.map((a) => [a, {}]));
  let token: string | undefined;
  do {
    const pageToken = token;
    const page = await retrying(
      () => paced(pacer, () => tagging.send(new GetResourcesCommand({ ResourceARNList: [...arns], ...(pageToken ? { PaginationToken: pageToken } : {}) }))),
      { ...o.retry, sleep: o.sleep, onRetry: (error, _attempt, delayMs) => isThrottle(error) && pacer.backOff(delayMs) },
    );
    for (const mapping of page.ResourceTagMappingList ?? []) {
      const tags = mapping.ResourceARN ? out.get(mapping.ResourceARN) : undefined;
      if (!tags) continue; // not one we asked for
      for (const t of mapping.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
    }
    token = page.PaginationToken || undefined;
  } while (token);
  return out;
}

/**
 * Starts reading the tags of every table in `names` (chunks of 100, in listing order, paced) and
 * returns a lookup that waits only for its table's chunk. Nothing throws: a failed chunk answers
 * `undefined` for its tables, which then read their own tags.
 */
export function bulkTagLookup(tagging: ResourceGroupsTaggingAPIClient, where: { accountId: string; region: string }, names: readonly string[], o: BulkTagOptions): TagLookup {
  const pacer = new RateLimiter(BULK_TAGS_PER_SECOND);
  const chunkOf = new Map<string, Promise<Map<string, Tags> | undefined>>();
  let warned = false;
  for (let i = 0; i < names.length; i += BULK_TAGS_CHUNK) {
    const arns = names.slice(i, i + BULK_TAGS_CHUNK).map((n) => tableArn(where, n));
    const chunk = getResourcesTags(tagging, arns, pacer, o).catch((error: unknown) => {
      if (!warned) o.logger.warn('Tagging API GetResources failed; reading tags per table (ListTagsOfResource)', { region: o.region, errorName: awsErrorName(error), message: errorMessage(error) });
      warned = true;
      return undefined;
    });
    for (const arn of arns) chunkOf.set(arn, chunk);
  }
  return async (arn) => (await chunkOf.get(arn))?.get(arn);
}

/** IAM for the call above (scripts/iam/derive.ts builds each function's role from these). */
export const permissions: readonly import('../../core/iam').Permission[] = [
  { sid: 'TagsInBulk', actions: ['tag:GetResources'], resource: '*', why: 'reads the tags of up to 100 tables per call (the Tagging API has no resource-level permissions)', calledBy: ['getResourcesTags'] },
];
