/** The HTML report's status labels and its chart of statuses per Region (inline SVG). */
import type { ScanReport } from '../aws/scan';
import { FINDING_STATUSES, type FindingStatus } from '../core/types';
import type { ReportHead } from './csv';
import { COLOUR } from './html-assets';
import { escapeHtml } from './html-escape';

export const LABEL: Record<FindingStatus, string> = {
  NON_COMPLIANT: 'Non-compliant',
  ERROR: 'Error',
  EXEMPT: 'Exempt',
  COMPLIANT: 'Compliant',
  NOT_APPLICABLE: 'Not applicable',
};

export const SUMMARY_KEY: Record<FindingStatus, keyof ScanReport['summary']> = {
  NON_COMPLIANT: 'nonCompliant',
  ERROR: 'error',
  EXEMPT: 'exempt',
  COMPLIANT: 'compliant',
  NOT_APPLICABLE: 'notApplicable',
};

/** The chart's counts come from the report's per-Region summaries (all accounts), not its findings. */
export function chart(report: ReportHead): string {
  const totals = report.regionSummaries.filter((r) => r.accountId === undefined);
  const regions = [...new Set([...report.regions, ...totals.map((r) => r.region)])].sort();
  if (regions.length === 0) return '<p>No Regions scanned.</p>';
  const counts = new Map(regions.map((r) => [r, new Map<FindingStatus, number>()]));
  for (const t of totals) {
    const m = counts.get(t.region);
    if (m) for (const st of FINDING_STATUSES) if (t.summary[SUMMARY_KEY[st]] > 0) m.set(st, t.summary[SUMMARY_KEY[st]]);
  }
  const max = Math.max(1, ...regions.map((r) => [...(counts.get(r)?.values() ?? [])].reduce((a, b) => a + b, 0)));
  const labelW = 130;
  const barW = 640;
  const rowH = 30;
  const top = 28;
  const height = top + regions.length * rowH + 8;
  const width = labelW + barW + 60;
  const parts: string[] = [];
  // legend
  let lx = labelW;
  for (const s of FINDING_STATUSES) {
    parts.push(`<rect x="${lx}" y="4" width="12" height="12" rx="2" fill="${COLOUR[s]}"/><text x="${lx + 16}" y="14">${escapeHtml(LABEL[s])}</text>`);
    lx += 28 + LABEL[s].length * 7;
  }
  regions.forEach((region, i) => {
    const y = top + i * rowH;
    const m = counts.get(region) ?? new Map<FindingStatus, number>();
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    const notScanned = report.regionErrors.some((e) => e.region === region) || (m.size === 0 && report.shardErrors.some((e) => e.region === region));
    parts.push(`<g data-region="${escapeHtml(region)}" data-total="${total}">`);
    parts.push(`<text x="0" y="${y + 16}">${escapeHtml(region)}</text>`);
    let x = labelW;
    for (const s of FINDING_STATUSES) {
      const n = m.get(s) ?? 0;
      if (n === 0) continue;
      const w = (n / max) * barW;
      parts.push(
        `<rect class="seg" data-status="${s}" data-count="${n}" x="${x.toFixed(1)}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${COLOUR[s]}"><title>${escapeHtml(`${region}: ${n} ${LABEL[s].toLowerCase()}`)}</title></rect>`,
      );
      if (w >= 22) parts.push(`<text class="seglabel" x="${(x + w / 2).toFixed(1)}" y="${y + 17}" text-anchor="middle">${n}</text>`);
      x += w;
    }
    parts.push(`<text x="${(x + 6).toFixed(1)}" y="${y + 17}">${notScanned ? 'NOT SCANNED' : total}</text>`);
    parts.push('</g>');
  });
  return `<svg role="img" aria-label="Table statuses per Region" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

