/**
 * What the scheduled scan does with its report, per mode:
 *
 * - every NON_COMPLIANT finding gets an effective mode from what the scan already read: the
 *   policy's, made stricter by the table's `pitr-guard:mode` tag (`Finding.modeTag`). Only the
 *   tables whose effective mode is `remediate` go through `remediateTable`, which re-reads the real
 *   state before it acts; the others get a SKIPPED_MODE outcome built from the finding, with no
 *   further AWS call (a big account must fit in the function's timeout);
 * - remediation reads are paced per account and Region (DynamoDB's limits are per Region), never
 *   with one pacer set shared by every Region;
 * - then ONE digest per scan (never one message per table) is sent when anything needs telling:
 *   tables whose effective mode is `alert` or `remediate`, and — unless the policy mode is
 *   `report` — tables that could not be read and Regions that could not be listed. The digest
 *   lists the worst first and counts the rest.
 *
 * Logging: the scan itself logs one line per NON_COMPLIANT / ERROR finding and a summary; this
 * module adds one `remediation` line per table it actually tried to remediate and one
 * `scan-actions` line with the counts (and any ignored `pitr-guard:mode` tags).
 *
 * If every alert channel fails, the hook throws: the invocation fails, Lambda retries it and
 * finally sends it to the on-failure queue.
 */
import type { Clients } from '../aws/clients';
import { createPacers, type InventoryOptions, type Pacers } from '../aws/inventory';
import { silentLogger, type Logger } from '../runtime/logger';
import { deliver, type DeliveryReport, type Notifier } from '../notify';
import { renderDigest, type RenderedAlert } from '../notify/format';
import { mapLimit, type Sleep } from '../aws/pace';
import { effectiveMode, remediateTable, type RemediateOptions, type RemediationOutcome } from './remediate';
import type { ScanReport } from '../aws/scan';
import { MODE_TAG, type Finding, type Policy } from '../core/types';

export interface ScanActionDeps {
  policy: Policy;
  clients: Clients;
  logger?: Logger;
  now?: () => Date;
  /** The scan's inventory options: `ratePerSecond` paces remediation reads too (default 10 per Region). */
  inventory?: Partial<InventoryOptions>;
}

export interface ScanActionOptions {
  notifiers: Notifier[];
  /** Tables remediated at once (default 3; remediation calls are paced at 10/s anyway). */
  concurrency?: number;
  /** Remediation timing; a scan waits less for a CREATING table than the reactor (default 20 s). */
  remediate?: RemediateOptions;
  sleep?: Sleep;
  /** Lines listed in the email digest / in Slack. */
  maxListed?: number;
  maxListedSlack?: number;
}

export interface ScanActionsResult {
  outcomes: RemediationOutcome[];
  alert?: RenderedAlert;
  delivery?: DeliveryReport;
}

export async function actOnScan(report: ScanReport, deps: ScanActionDeps, options: ScanActionOptions): Promise<ScanActionsResult> {
  const logger = deps.logger ?? silentLogger;
  const policy = deps.policy;
  const nonCompliant = report.findings.filter((f) => f.status === 'NON_COMPLIANT');
  const rate = deps.inventory?.ratePerSecond ?? 10;
  const pacers = new Map<string, Pacers>();
  const pacersFor = (f: Finding): Pacers => {
    const key = `${f.accountId}/${f.region}`;
    let p = pacers.get(key);
    if (!p) pacers.set(key, (p = createPacers(rate)));
    return p;
  };
  const ignoredModeTags: { region: string; tableName: string; value: string }[] = [];
  const outcomes = await mapLimit(nonCompliant, options.concurrency ?? 3, (f) => {
    const { mode, ignoredTag } = effectiveMode(policy.mode, f.modeTag === null ? undefined : { [MODE_TAG]: f.modeTag }, policy.readOnly);
    if (mode === 'remediate') {
      // remediateTable re-reads the table before it acts (and logs an ignored tag itself).
      return remediateTable(
        { accountId: f.accountId, region: f.region, tableName: f.tableName },
        { clients: deps.clients, policy, logger, now: deps.now, sleep: options.sleep, pacers: pacersFor(f), ...(deps.inventory ? { inventory: deps.inventory } : {}) },
        { waitForActiveMs: 20_000, ...options.remediate },
      );
    }
    if (ignoredTag !== undefined) ignoredModeTags.push({ region: f.region, tableName: f.tableName, value: ignoredTag });
    return Promise.resolve(skippedByMode(f, mode));
  });
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o.result] = (counts[o.result] ?? 0) + 1;
  if (outcomes.length > 0) {
    logger.info('scan actions done', {
      event: 'scan-actions',
      results: counts,
      ...(ignoredModeTags.length > 0 ? { ignoredModeTags: ignoredModeTags.slice(0, 50), ignoredModeTagCount: ignoredModeTags.length } : {}),
    });
  }

  // Tables whose mode asks for an alert (report-mode tables are only logged, by the scan itself).
  const listed = outcomes.filter((o) => o.mode !== 'report' && o.result !== 'ALREADY_COMPLIANT' && !(o.result === 'FAILED' && o.errorName === 'ResourceNotFoundException'));
  const includeErrors = policy.mode !== 'report';
  const errors = includeErrors ? report.summary.error + report.regionErrors.length : 0;
  if (listed.length === 0 && errors === 0) return { outcomes };

  const alert = renderDigest({
    report,
    outcomes: listed,
    mode: policy.mode,
    dryRun: policy.dryRun,
    includeErrors,
    ...(options.maxListed ? { maxListed: options.maxListed } : {}),
    ...(options.maxListedSlack ? { maxListedSlack: options.maxListedSlack } : {}),
  });
  const delivery = await deliver(options.notifiers, alert, logger);
  return { outcomes, alert, delivery };
}

/** A NON_COMPLIANT finding whose effective mode is `alert` or `report`: left as it is, decided without reading it again. */
export function skippedByMode(f: Finding, mode: RemediationOutcome['mode']): RemediationOutcome {
  return {
    accountId: f.accountId,
    region: f.region,
    tableName: f.tableName,
    result: 'SKIPPED_MODE',
    before: f,
    message: `Mode is ${mode}: PITR was left as it is.`,
    mode,
    attempts: 0,
    waitedMs: 0,
  };
}

/** The scheduled scan's afterScan hook. */
export function scanActionsHook(options: ScanActionOptions): (report: ScanReport, deps: ScanActionDeps) => Promise<void> {
  return async (report, deps) => {
    await actOnScan(report, deps, options);
  };
}
