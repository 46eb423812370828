/**
 * What the scheduled scan does with its report, per mode:
 *
 * - every NON_COMPLIANT table goes through `remediateTable`, which re-reads it and applies the
 *   effective mode (the policy's, made stricter by a `pitr-guard:mode` tag): in `remediate` mode
 *   it is fixed, in `alert`/`report` mode it is left as it is (SKIPPED_MODE);
 * - then ONE digest per scan (never one message per table) is sent when anything needs telling:
 *   tables whose effective mode is `alert` or `remediate`, and — unless the policy mode is
 *   `report` — tables that could not be read and Regions that could not be listed. The digest
 *   lists the worst first and counts the rest.
 *
 * If every alert channel fails, the hook throws: the invocation fails, Lambda retries it and
 * finally sends it to the on-failure queue.
 */
import type { Clients } from './clients';
import { createPacers } from './inventory';
import { silentLogger, type Logger } from './logger';
import { deliver, type DeliveryReport, type Notifier } from './notifiers';
import { renderDigest, type RenderedAlert } from './notifiers/format';
import { mapLimit, type Sleep } from './pace';
import { remediateTable, type RemediateOptions, type RemediationOutcome } from './remediate';
import type { ScanReport } from './scan';
import type { Policy } from './types';

export interface ScanActionDeps {
  policy: Policy;
  clients: Clients;
  logger?: Logger;
  now?: () => Date;
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
  const pacers = createPacers(10);
  const outcomes = await mapLimit(nonCompliant, options.concurrency ?? 3, (f) =>
    remediateTable(
      { accountId: f.accountId, region: f.region, tableName: f.tableName },
      { clients: deps.clients, policy, logger, now: deps.now, sleep: options.sleep, pacers },
      { waitForActiveMs: 20_000, ...options.remediate },
    ),
  );
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o.result] = (counts[o.result] ?? 0) + 1;
  if (outcomes.length > 0) logger.info('scan actions done', { event: 'scan-actions', results: counts });

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

/** The scheduled scan's afterScan hook. */
export function scanActionsHook(options: ScanActionOptions): (report: ScanReport, deps: ScanActionDeps) => Promise<void> {
  return async (report, deps) => {
    await actOnScan(report, deps, options);
  };
}
