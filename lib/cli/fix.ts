/**
 * `scan --fix`: remediate the NON_COMPLIANT tables of a report through the one act path
 * (lib/act/remediate `actOnFindings`: decided from what the scan read, paced by the scan's own
 * pacers, no read before the update and one verifying read after it, only ever enables PITR,
 * honours dry-run).
 * The policy mode is remediate, the
 * strictest, so a per-table pitr-guard:mode tag (which may only make a mode stricter) never holds
 * a table back; an exemption does, but exempt tables are not NON_COMPLIANT. It lists the plan on
 * stderr first and, on a terminal without --yes, asks for confirmation. Returns the report as
 * it stands afterwards: each remediated table's finding is replaced by the one its verifying read gave after the
 * change, so the report and the exit code describe the account as it is now.
 */
import { costTotals } from '../core/cost';
import { linkFindings } from '../core/links';
import type { Clients } from '../aws/clients';
import type { InventoryOptions, PacerPool } from '../aws/inventory';
import type { Logger } from '../runtime/logger';
import type { actOnFindings } from '../act/remediate';
import { isBad, type RemediationResult } from '../act/outcome';
import { sortFindings, summarize, type ScanReport } from '../aws/scan';
import type { Finding, Policy } from '../core/types';
import { manualFixCommand } from '../act/outcome';
import type { Palette } from '../report/colour';
import type { CliIo } from './io';

export { shellQuote } from '../core/fix-hints';

export type Remediate = typeof actOnFindings;

export interface FixContext {
  remediate: Remediate;
  clients: Clients;
  logger: Logger;
  /** The scan's pacers: the fix draws on the same per-(account, Region) budget. */
  pacers?: PacerPool;
  inventory?: Partial<InventoryOptions>;
  /** mode 'remediate'; dryRun from --dry-run. */
  policy: Policy;
  /** Asks for confirmation; undefined when --yes or --dry-run. */
  confirm?: (question: string) => Promise<string>;
  io: CliIo;
  palette: Palette;
}

/** Tables changed at once: UpdateContinuousBackups has no documented rate, so stay gentle. */
const CONCURRENCY = 4;

export function fixCommand(f: Pick<Finding, 'region' | 'tableName'>, days: number): string {
  return manualFixCommand(f.region, f.tableName, days);
}

export async function applyFixes(report: ScanReport, ctx: FixContext): Promise<ScanReport> {
  const { io, palette: p, policy } = ctx;
  const targets = report.findings.filter((f) => f.status === 'NON_COMPLIANT');
  if (targets.length === 0) {
    io.stderr(`pitr-guard: nothing to fix: no table is NON_COMPLIANT.\n`);
    return report;
  }
  const verb = policy.dryRun ? 'would enable' : 'will enable';
  io.stderr(
    p.bold(`pitr-guard ${verb} PITR (recovery period ${policy.minRecoveryDays} days) on ${targets.length} table(s):`) +
      '\n' +
      targets.map((f) => `  ${f.region}  ${f.tableName}  ${f.reasons.join(',')}\n`).join(''),
  );
  if (ctx.confirm) {
    const answer = (await ctx.confirm(`Enable PITR on these ${targets.length} table(s)? [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') {
      io.stderr('pitr-guard: not confirmed; nothing was changed.\n');
      return report;
    }
  }

  const outcomes = await ctx.remediate(
    targets,
    { clients: ctx.clients, policy, logger: ctx.logger, ...(ctx.pacers ? { pacers: ctx.pacers } : {}), ...(ctx.inventory ? { inventory: ctx.inventory } : {}) },
    { concurrency: CONCURRENCY },
  );
  for (const o of outcomes) {
    const paint = o.result === 'ENABLED' || o.result === 'ALREADY_COMPLIANT' ? p.green : isBad(o.result) ? p.red : p.yellow;
    io.stderr(`  ${paint(o.result.padEnd(17))} ${o.region}  ${o.tableName}  ${o.message}\n`);
  }
  const count = (r: RemediationResult) => outcomes.filter((o) => o.result === r).length;
  io.stderr(
    policy.dryRun
      ? `pitr-guard: dry run: nothing was changed (${count('SKIPPED_DRY_RUN')} would be enabled).\n`
      : `pitr-guard: ${count('ENABLED')} enabled, ${count('ALREADY_COMPLIANT')} already compliant, ${count('FAILED')} failed, ${count('DEFERRED')} deferred` +
          (count('UNVERIFIED') ? `, ${count('UNVERIFIED')} enabled but NOT verified` : '') +
          (count('GONE') ? `, ${count('GONE')} deleted meanwhile` : '') +
          // --fix runs in mode remediate, the strictest, so a pitr-guard:mode tag cannot skip a table; say so only if it ever did.
          (count('SKIPPED_MODE') ? `, ${count('SKIPPED_MODE')} skipped by mode` : '') +
          '.\n',
  );
  if (policy.dryRun) return report;

  const after = new Map(outcomes.filter((o) => o.after).map((o) => [`${o.region}/${o.tableName}`, o.after as Finding]));
  if (after.size === 0) return report;
  // Re-linked: a source or replica that was just fixed has a new status.
  const findings = sortFindings(linkFindings(report.findings.map((f) => after.get(`${f.region}/${f.tableName}`) ?? f)));
  return { ...report, findings, summary: summarize(findings), cost: costTotals(findings) };
}
