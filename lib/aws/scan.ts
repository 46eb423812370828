/**
 * inventory → evaluate, over every configured Region in parallel, into one ScanReport.
 * Used by the scheduled scan, the Config rule's periodic run and the CLI.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { sleep } from './pace';
import type { Clients } from './clients';
import { awsErrorName, errorMessage } from '../core/errors';
import { costTotals, type CostTotals } from '../core/cost';
import { evaluate } from '../core/evaluate';
import { linkFindings } from '../core/links';
import { callerAccountId, enabledRegions, inventoryRegion, type InventoryOptions, type InventoryProgress, type PacerPool } from './inventory';
import { inventoryRange, type TableRange } from './inventory/range';
import { silentLogger, type Logger } from '../runtime/logger';
import type { Finding, Policy } from '../core/types';
import { regionSummaries, sortFindings, summarize, type RegionSummary, type ScanSummary } from '../core/summary';

export { countFinding, hasProblems, regionSummaries, sortFindings, summarize, type RegionSummary, type ScanSummary } from '../core/summary';


export interface RegionError {
  /** Set in a multi-account report: the account whose Region could not be listed. */
  accountId?: string;
  region: string;
  operation: string;
  errorName: string;
  message: string;
}

/** One account in scope: scanned (with its own summary), or not scanned at all (why is in accountErrors). */
export interface AccountResult {
  accountId: string;
  /** The account's name in the Organization (accounts=org only). */
  name?: string;
  status: 'SCANNED' | 'ERROR';
  /** SCANNED: the Regions read in this account. */
  regions?: string[];
  /** SCANNED: this account's counts. */
  summary?: ScanSummary;
  /** ERROR: one line, e.g. "AssumeRole on arn:aws:iam::…:role/pitr-guard-member failed: AccessDenied: …". */
  error?: string;
}

/** An account none of whose tables were read. */
export interface AccountError {
  accountId: string;
  name?: string;
  operation: string;
  errorName: string;
  message: string;
  /** What to do about it, e.g. "deploy the member template to this account". */
  fix: string;
}

/**
 * A shard of an Organization scan on Step Functions (one account and Region) that produced no
 * findings file: failed after its retries, never ran, or its file could not be read. Nothing of
 * that account and Region was evaluated. Always empty outside Step Functions runs.
 */
export interface ShardError {
  accountId: string;
  region: string;
  errorName: string;
  message: string;
}


export interface ScanReport {
  generatedAt: string;
  /** The account pitr-guard ran in (its own credentials). */
  accountId: string;
  /** Every account in scope, in scope order: one entry each, scanned or not. */
  accounts: AccountResult[];
  /** Accounts that could not be scanned at all (also counted as problems). */
  accountErrors: AccountError[];
  regions: string[];
  policy: { minRecoveryDays: number; exemptTag: string };
  summary: ScanSummary;
  /**
   * What PITR costs (lib/core/cost.ts): today, and what enabling it on every non-compliant table
   * would add; set by every scan path (reports built elsewhere may lack it: renderers then total the findings).
   */
  cost?: CostTotals;
  /** Worst first: NON_COMPLIANT, ERROR, EXEMPT, COMPLIANT, NOT_APPLICABLE; then Region and name. */
  findings: Finding[];
  /** Tables that were listed but deleted before they could be read. */
  vanished: { accountId?: string; region: string; tableName: string }[];
  /** Regions whose tables could not even be listed: nothing in them was evaluated. */
  regionErrors: RegionError[];
  /** Per Region (all accounts), then per (account, Region) in multi-account reports. */
  regionSummaries: RegionSummary[];
  /** Step Functions runs only: shards (account, Region) that produced no findings (also counted as problems). */
  shardErrors: ShardError[];
  /** Only when the run imports into Security Hub (docs/security-hub.md): what was delivered, and what was not. */
  securityHub?: SecurityHubDelivery;
  /** Only a ranged scan (ScanRequest.range: one part of an Organization shard): the range read. Never rendered. */
  range?: ScannedRange;
}

/** The contiguous range of one Region's tables (ListTables order) a ranged scan read. */
export interface ScannedRange {
  region: string;
  /** Exclusive; absent = from the Region's first table. */
  startAfter?: string;
  /** Inclusive; absent = the range held no table. */
  lastTable?: string;
  /** No table follows `lastTable`. */
  done: boolean;
}

/** The Security Hub delivery of a report (lib/aws/security-hub.ts). */
export interface SecurityHubDelivery {
  /** Records imported (new or changed, or refreshed before Security Hub's 90-day expiry). */
  imported: number;
  /** Records left as Security Hub holds them (unchanged). */
  unchanged: number;
  /** Findings of tables no longer listed, re-imported ARCHIVED. */
  archived: number;
  /** Records that could not be delivered (after retries), all in `failures`. */
  failed: number;
  failures: SecurityHubFailure[];
}

export interface SecurityHubFailure {
  accountId: string;
  region: string;
  operation: 'GetFindings' | 'BatchImportFindings';
  /** The finding Id, when one record failed; absent when the whole (account, Region) did. */
  id?: string;
  errorName: string;
  message: string;
}

export interface ScanDeps {
  clients: Clients;
  logger?: Logger;
  now?: () => Date;
  inventory?: Partial<InventoryOptions>;
  /** Pacers per (account, Region), shared with whatever acts on the report afterwards (default: the scan's own). */
  pacers?: PacerPool;
  /** Progress over all Regions (e.g. for a progress bar): called as Regions are listed and tables read. */
  onProgress?: (progress: ScanProgress) => void;
}

export interface ScanProgress {
  /** Tables read so far, all Regions. */
  done: number;
  /** Tables listed so far, all Regions (grows until every Region is listed). */
  total: number;
  /** Regions listed (or failed to list) so far, and in all. */
  regionsListed: number;
  regionsTotal: number;
}

export interface ScanRequest {
  policy: Pick<Policy, 'regions' | 'minRecoveryDays' | 'exemptTag'>;
  /** Region for account-level calls (STS GetCallerIdentity, Account ListRegions). */
  homeRegion: string;
  /** Known account ID (e.g. from the Lambda's ARN); otherwise asked of STS. */
  accountId?: string;
  /** The account key of the clients to use (Clients.setAccountCredentials); default: the caller's own. */
  clientAccount?: string;
  /** Read only this range of the one Region in `policy.regions` (lib/aws/inventory/range.ts); the report's `range` says what was read. */
  range?: TableRange;
}

export async function scan(request: ScanRequest, deps: ScanDeps): Promise<ScanReport> {
  const logger = deps.logger ?? silentLogger;
  const now = deps.now ?? (() => new Date());
  const { policy, homeRegion } = request;
  const accountId = request.accountId ?? (await callerAccountId(deps.clients, homeRegion));
  const regions = policy.regions === 'all' ? await enabledRegions(deps.clients, homeRegion, request.clientAccount) : [...policy.regions];
  if (request.range && regions.length !== 1) throw new Error(`a ranged scan reads exactly one Region, got ${regions.length}`);
  let range: ScannedRange | undefined;

  const progress = deps.onProgress ? progressTracker(regions, deps.onProgress) : undefined;
  const perRegion = await Promise.all(
    regions.map(async (region) => {
      try {
        const options = { logger, ...deps.inventory, ...(progress ? { onProgress: progress.update } : {}) };
        // The Tagging API client loads when the Region's tables are listed, not at module init (cold start: npm run bench:cold).
        const [{ ResourceGroupsTaggingAPIClient }, { bulkTagLookup }] = await Promise.all([import('./sdk/client-resource-groups-tagging-api'), import('./inventory/tags')]);
        const tagging = deps.clients.get(ResourceGroupsTaggingAPIClient, region, request.clientAccount);
        const bulkTags = (names: readonly string[]) => bulkTagLookup(tagging, { accountId, region }, names, { retry: options.retry ?? {}, sleep: options.sleep ?? sleep, logger, region });
        const ddb = deps.clients.get(DynamoDBClient, region, request.clientAccount);
        if (request.range) {
          const inv = await inventoryRange(ddb, { accountId, region }, request.range, options, deps.pacers?.for(accountId, region), bulkTags);
          range = { region, ...(inv.startAfter ? { startAfter: inv.startAfter } : {}), ...(inv.lastTable ? { lastTable: inv.lastTable } : {}), done: inv.done };
          return { region, inv };
        }
        const inv = await inventoryRegion(ddb, { accountId, region }, options, deps.pacers?.for(accountId, region), bulkTags);
        return { region, inv };
      } catch (error) {
        progress?.failed(region);
        const failure: RegionError = {
          region,
          operation: (error as { operation?: string }).operation ?? 'ListTables',
          errorName: awsErrorName(error),
          message: errorMessage(error),
        };
        logger.error('could not list tables in region', { ...failure });
        return { region, failure };
      }
    }),
  );

  const evaluatedAt = now();
  const findings: Finding[] = [];
  const vanished: ScanReport['vanished'] = [];
  const regionErrors: RegionError[] = [];
  for (const r of perRegion) {
    if ('failure' in r && r.failure) {
      regionErrors.push(r.failure);
      continue;
    }
    if (!('inv' in r) || !r.inv) continue;
    for (const facts of r.inv.tables) findings.push(evaluate(facts, policy, evaluatedAt));
    for (const tableName of r.inv.vanished) vanished.push({ region: r.region, tableName });
  }

  const linked = linkFindings(findings);
  const summary = summarize(linked);
  return {
    generatedAt: evaluatedAt.toISOString(),
    accountId,
    accounts: [{ accountId, status: 'SCANNED', regions, summary }],
    accountErrors: [],
    regions,
    policy: { minRecoveryDays: policy.minRecoveryDays, exemptTag: policy.exemptTag },
    summary,
    cost: costTotals(linked),
    findings: sortFindings(linked),
    vanished,
    regionErrors,
    regionSummaries: regionSummaries(findings, regions, false),
    shardErrors: [],
    ...(range ? { range } : {}),
  };
}


function progressTracker(regions: string[], report: (progress: ScanProgress) => void) {
  const byRegion = new Map<string, { total: number; done: number }>();
  const emit = () => {
    let done = 0;
    let total = 0;
    for (const r of byRegion.values()) {
      done += r.done;
      total += r.total;
    }
    report({ done, total, regionsListed: byRegion.size, regionsTotal: regions.length });
  };
  return {
    update: (p: InventoryProgress) => {
      byRegion.set(p.region, { total: p.total, done: p.done });
      emit();
    },
    failed: (region: string) => {
      byRegion.set(region, { total: 0, done: 0 });
      emit();
    },
  };
}
