/**
 * How every report format shows a finding's cost, restore source and replica set, and the report's
 * cost totals: the same words in the table, CSV and HTML (lib/report/table|csv|html).
 */
import { costTotals, usd, type CostTotals } from '../core/cost';
import type { Finding, ReplicaSetInfo } from '../core/types';
import { escapeHtml } from './html-escape';

/** The report's totals: as the scan computed them, else summed from the findings (a report built elsewhere). */
export function reportCost(report: { cost?: CostTotals; findings?: readonly Finding[] }): CostTotals {
  return report.cost ?? costTotals(report.findings ?? []);
}

/** "eu-west-1=COMPLIANT;us-east-1=NOT_SCANNED" (another account's replica as account/region). */
export function replicasCell(set: ReplicaSetInfo, ownAccount: string): string {
  return set.replicas.map((r) => `${r.accountId === ownAccount ? '' : `${r.accountId}/`}${r.region}=${r.status}`).join(';');
}

/** One line per replica set in the report (deduplicated by set id, first seen first). */
export function replicaSetLines(findings: readonly Finding[]): string[] {
  const seen = new Map<string, string>();
  for (const f of findings) {
    const set = f.replicaSet;
    if (!set || seen.has(set.setId)) continue;
    const replicas = set.replicas.map((r) => `${r.region} ${r.status === 'NOT_SCANNED' ? 'not scanned' : r.status}`).join(', ');
    seen.set(set.setId, `Global table ${set.setId} (${set.globalTableVersion ?? 'version unknown'}): ${set.compliant ? 'compliant' : 'NOT compliant'}: ${replicas}`);
  }
  return [...seen.values()];
}

/** "restored from table …orders (source COMPLIANT)" or undefined for a table that was not restored. */
export function restoreText(f: Pick<Finding, 'restore'>): string | undefined {
  const r = f.restore;
  if (!r) return undefined;
  const source = r.sourceBackupArn ? `backup ${r.sourceBackupArn}` : r.sourceTableArn ? `table ${r.sourceTableArn}` : 'an unnamed source';
  const status = r.sourceStatus === null ? '' : ` (source ${r.sourceStatus === 'NOT_SCANNED' ? 'not scanned' : r.sourceStatus})`;
  return `restored from ${source}${r.restoreDateTime ? ` at ${r.restoreDateTime}` : ''}${r.restoreInProgress ? ', restore in progress' : ''}${status}`;
}

/** The table's monthly PITR estimate: "$1.20", "no price for us-east-1", "size unknown". */
export function costCell(f: Pick<Finding, 'cost' | 'region'>): string {
  const c = f.cost;
  if (!c || c.tableSizeBytes === null) return 'size unknown';
  if (c.pitrMonthlyUsd === null) return `no price for ${f.region}`;
  return usd(c.pitrMonthlyUsd);
}

/** The HTML row's extra lines: restore source, replica set badge, cost. */
export function htmlLinkDetails(f: Finding): string[] {
  const out: string[] = [];
  const restore = restoreText(f);
  if (restore) out.push(`<div class="msg" data-testid="restore">${escapeHtml(restore.charAt(0).toUpperCase() + restore.slice(1))}</div>`);
  if (f.replicaSet) {
    const s = f.replicaSet;
    const replicas = s.replicas.map((r) => `<span class="badge s-${r.status === 'NOT_SCANNED' ? 'ERROR' : escapeHtml(r.status)}" data-replica="${escapeHtml(`${r.accountId}/${r.region}`)}">${escapeHtml(`${r.region} ${r.status === 'NOT_SCANNED' ? 'not scanned' : r.status}`)}</span>`);
    out.push(`<div class="msg" data-testid="replica-set" data-set="${escapeHtml(s.setId)}" data-compliant="${s.compliant}">${escapeHtml(`Global table ${s.setId}: set ${s.compliant ? 'compliant' : 'NOT compliant'}`)} ${replicas.join(' ')}</div>`);
  }
  const cost = costCell(f);
  out.push(`<div class="msg" data-testid="cost">${escapeHtml(`PITR estimate: ${cost}${cost.startsWith('$') ? '/month' : ''}`)}</div>`);
  return out;
}

/** The HTML cost section (above the findings). */
export function htmlCostSection(c: CostTotals): string {
  const missing = c.tablesWithoutPrice ? ` ${c.tablesWithoutPrice} table(s) not priced${c.regionsWithoutPrice.length ? `: no price for ${c.regionsWithoutPrice.join(', ')}` : ' (size unknown)'}.` : '';
  return (
    `<section data-testid="cost-totals" data-current="${c.currentMonthlyUsd}" data-to-enable="${c.toEnableMonthlyUsd}"><h2>What PITR costs</h2><div class="panel"><p class="msg">` +
    escapeHtml(`Now: ${usd(c.currentMonthlyUsd)}/month for the tables with PITR on. Enabling PITR on every non-compliant table would add ${usd(c.toEnableMonthlyUsd)}/month. Estimate from table and LSI sizes and the price table of ${c.priceTableDate} (docs/cost.md).${missing}`) +
    `</p></div></section>`
  );
}
