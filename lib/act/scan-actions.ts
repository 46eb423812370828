/**
 * What the scheduled scan does with its report, per mode:
 *
 * - every NON_COMPLIANT finding goes through the one act path (lib/act/remediate `actOnFindings`)
 *   with the finding the scan just read: decide (lib/core/decide: the policy's mode, made stricter
 *   by the table's `pitr-guard:mode` tag) needs no further AWS call, so only the tables decided
 *   ENABLE are touched again (a big account must fit in the function's timeout);
 * - those calls are paced by the scan's own pacers (one set per account and Region), never by a
 *   second budget next to the scan's;
 * - then ONE digest per scan (never one message per table) is sent when anything needs telling:
 *   tables whose effective mode is `alert` or `remediate`, and — unless the policy mode is
 *   `report` — tables that could not be read and Regions that could not be listed. The digest
 *   lists the worst first and counts the rest.
 *
 * Logging: the scan itself logs one line per NON_COMPLIANT / ERROR finding and a summary; this
 * module adds one `remediation` line per table it actually tried to remediate and one
 * `scan-actions` line with the counts (and any ignored `pitr-guard:mode` tags).
 *
 * With the alert lifecycle (a findings ledger with lifecycle settings: the scan hands the hook the
 * transitions its ledger write won), the digest is a CHANGE digest instead: new incidents,
 * resolved ones (who fixed them), reminders due, loop-protected disables, plus the count still
 * open; no digest at all when nothing changed (lib/notify/lifecycle-digest.ts). A table this scan
 * re-enabled and verified has its incident closed here, fixed by pitr-guard, and is listed once,
 * under New, as "fixed by pitr-guard". Mode report sends nothing.
 *
 * If every alert channel fails, the hook throws: the invocation fails, Lambda retries it and
 * finally sends it to the on-failure queue.
 */
import type { Clients } from '../aws/clients';
import type { InventoryOptions, PacerPool } from '../aws/inventory';
import { silentLogger, type Logger } from '../runtime/logger';
import { deliver, type DeliveryReport, type Notifier } from '../notify';
import { changeDigestHasNews, renderChangeDigest, renderDigest, type RenderedAlert } from '../notify/format';
import { lifecycleDigestInput } from '../notify/lifecycle-digest';
import type { FindingsLedger, OpenIncident, Transition } from '../state/ledger';
import { closeFixedIncidents } from './close-incidents';
import type { Sleep } from '../aws/pace';
import { actOnFindings, type RemediateOptions } from './remediate';
import type { RemediationOutcome } from './outcome';
import type { ScanReport } from '../aws/scan';
import type { Policy } from '../core/types';

export interface ScanActionDeps {
  policy: Policy;
  clients: Clients;
  logger?: Logger;
  now?: () => Date;
  /** The scan's inventory options (retry backoff, rate). */
  inventory?: Partial<InventoryOptions>;
  /** The scan's pacers per (account, Region): acting draws on the same budget. */
  pacers?: PacerPool;
  /** The findings ledger: closes the incidents this scan re-enabled (alert lifecycle). */
  ledger?: FindingsLedger;
}

/** What the ledger's alert lifecycle decided for this scan (lib/jobs/scheduled-scan.ts RecordedLifecycle). */
export interface ScanLifecycle {
  transitions: Transition[];
  openIncidents: OpenIncident[];
}

export interface ScanActionOptions {
  notifiers: Notifier[];
  /** Tables remediated at once (default 3; reads are paced per Region anyway). */
  concurrency?: number;
  /** Remediation timing; a scan waits less for a CREATING table than the reactor (default 20 s). */
  remediate?: RemediateOptions;
  sleep?: Sleep;
  /** Lines listed in the email digest / in Slack. */
  maxListed?: number;
  maxListedSlack?: number;
  /** Milliseconds the invocation has left: the digest's channel retries stay within it. */
  remainingMs?: () => number;
  /** The alert lifecycle of this scan: the digest becomes a change digest. */
  lifecycle?: ScanLifecycle;
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
  const outcomes = await actOnFindings(
    nonCompliant,
    {
      clients: deps.clients,
      policy,
      logger,
      ...(deps.now ? { now: deps.now } : {}),
      ...(options.sleep ? { sleep: options.sleep } : {}),
      ...(deps.pacers ? { pacers: deps.pacers } : {}),
      ...(deps.inventory ? { inventory: deps.inventory } : {}),
    },
    { waitForActiveMs: 20_000, ...options.remediate, concurrency: options.concurrency ?? 3 },
  );
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o.result] = (counts[o.result] ?? 0) + 1;
  const ignoredModeTags = outcomes.flatMap((o) => (o.ignoredModeTag !== undefined ? [{ region: o.region, tableName: o.tableName, value: o.ignoredModeTag }] : []));
  if (outcomes.length > 0) {
    logger.info('scan actions done', {
      event: 'scan-actions',
      results: counts,
      ...(ignoredModeTags.length > 0 ? { ignoredModeTags: ignoredModeTags.slice(0, 50), ignoredModeTagCount: ignoredModeTags.length } : {}),
    });
  }

  if (options.lifecycle) return { outcomes, ...(await changeDigest(report, deps, options, options.lifecycle, outcomes, logger)) };

  // Tables whose mode asks for an alert (report-mode tables are only logged, by the scan itself).
  const listed = outcomes.filter((o) => o.mode !== 'report' && o.result !== 'ALREADY_COMPLIANT' && o.result !== 'GONE');
  const includeErrors = policy.mode !== 'report';
  const errors = includeErrors ? report.summary.error + report.regionErrors.length + report.accountErrors.length + report.shardErrors.length : 0;
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
  const delivery = await deliver(options.notifiers, alert, { logger, ...(options.remainingMs ? { remainingMs: options.remainingMs } : {}) });
  return { outcomes, alert, delivery };
}

/** The change digest: close what this scan fixed, then tell what changed (or nothing at all). */
async function changeDigest(report: ScanReport, deps: ScanActionDeps, options: ScanActionOptions, lifecycle: ScanLifecycle, outcomes: RemediationOutcome[], logger: Logger): Promise<{ alert?: RenderedAlert; delivery?: DeliveryReport }> {
  const policy = deps.policy;
  const { transitions, open } = await closeFixedIncidents(lifecycle, outcomes, deps.ledger, () => (deps.now ? deps.now() : new Date()).toISOString(), logger);
  if (policy.mode === 'report') return {};
  const input = lifecycleDigestInput({
    report,
    transitions,
    outcomes,
    stillOpen: open.size,
    mode: policy.mode,
    dryRun: policy.dryRun,
    ...(options.maxListed ? { maxListed: options.maxListed } : {}),
    ...(options.maxListedSlack ? { maxListedSlack: options.maxListedSlack } : {}),
  });
  if (!changeDigestHasNews(input)) {
    logger.info('nothing changed since the last scan: no digest', { event: 'digest-skipped', stillOpen: open.size });
    return {};
  }
  const alert = renderChangeDigest(input);
  const delivery = await deliver(options.notifiers, alert, { logger, ...(options.remainingMs ? { remainingMs: options.remainingMs } : {}) });
  return { alert, delivery };
}

/** The scheduled scan's afterScan hook. */
export function scanActionsHook(options: ScanActionOptions): (report: ScanReport, deps: ScanActionDeps, invocation?: { remainingMs?: () => number; lifecycle?: ScanLifecycle }) => Promise<void> {
  return async (report, deps, invocation) => {
    await actOnScan(report, deps, {
      ...options,
      ...(invocation?.remainingMs ? { remainingMs: invocation.remainingMs } : {}),
      ...(invocation?.lifecycle ? { lifecycle: invocation.lifecycle } : {}),
    });
  };
}
