/**
 * HTML report: one self-contained file (inline CSS and JS, no network resources, a Content
 * Security Policy that allows nothing else) an auditor can open from disk or attach to a ticket.
 * Summary cards, a chart of statuses per Region (inline SVG), a sortable and filterable table of
 * findings with their reasons, and the generated time and account. What the scan could not
 * evaluate (Regions whose tables could not be listed, accounts and Organization shards that were
 * not scanned, tables deleted during the scan) is a warning
 * block above the cards, cards of its own, and a Coverage line in the header; while a Region is
 * missing, the Compliant card is marked as covering the scanned Regions only and is not green.
 * Every value from the report is HTML-escaped; the page works without JavaScript (sorting,
 * filtering and paging need it: without it every row shows). Findings come worst first, PAGE_SIZE
 * rows a page; each row links its table to the DynamoDB console and, when non-compliant, shows
 * the AWS CLI command that fixes it. A report whose data came from somewhere other than AWS (a
 * local emulator, an --endpoint-url) says so in a banner and in its title.
 */
import { createHash } from 'node:crypto';
import { escapeHtml } from './html-escape';
import { costTotals } from '../core/cost';
import { htmlCostSection, htmlLinkDetails } from './links-view';
import type { ScanReport } from '../aws/scan';
import type { ReportHead } from './csv';
import { drillText, regionErrorMessage, sinceText } from './table';
import { fixCommand, isFixable, tableConsoleUrl } from './fix-hints';
import { SCRIPT, STYLE } from './html-assets';
import { LABEL, SUMMARY_KEY, chart } from './html-chart';
import { FINDING_STATUSES, type Finding, type FindingStatus } from '../core/types';

export { escapeHtml } from './html-escape';

/** Rows per page of the findings table (worst first, so page 1 is what needs attention). */
export const PAGE_SIZE = 25;

export interface HtmlOptions {
  /**
   * Where the data came from when it was not AWS itself, e.g. "local emulator (moto,
   * http://127.0.0.1:5000)": shown in a banner above everything and in the title.
   */
  source?: string;
}

/** 2026-11-21T09:15:02.123Z → 2026-11-21 09:15:02 UTC (the datetime attribute keeps the exact value). */
export function displayTime(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}



function statusKey(status: string): FindingStatus | 'UNKNOWN' {
  return (FINDING_STATUSES as readonly string[]).includes(status) ? (status as FindingStatus) : 'UNKNOWN';
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

function card(cls: string, testId: string, count: number, label: string): string {
  return `<div class="card ${cls}" data-testid="card-${escapeHtml(testId)}" data-count="${count}"><div class="n">${count}</div><div class="l">${escapeHtml(label)}</div></div>`;
}

function num(value: number | null): string {
  return value === null ? '' : String(value);
}

/** One row of the findings table (`index`: its position in the report, worst first). */
export function htmlRow(f: Finding, index: number, minRecoveryDays: number): string {
  const k = statusKey(f.status);
  const rank = k === 'UNKNOWN' ? 99 : FINDING_STATUSES.indexOf(k);
  const details: string[] = [`<div class="msg">${escapeHtml(f.message)}</div>`];
  const since = sinceText(f);
  if (since) details.push(`<div class="msg since" data-testid="since">${escapeHtml(since.charAt(0).toUpperCase() + since.slice(1))}</div>`);
  const drill = drillText(f);
  if (drill) details.push(`<div class="msg drill" data-testid="last-drill">${escapeHtml(`Last successful restore drill: ${drill}`)}</div>`);
  if (f.error) details.push(`<div class="msg">${escapeHtml(`${f.error.operation}: ${f.error.errorName}`)}</div>`);
  if (f.exemption && !f.exemption.active) {
    const until = f.exemption.until ? ` until ${f.exemption.until}` : '';
    details.push(`<div class="msg">${escapeHtml(`Exemption not in force: ${JSON.stringify(f.exemption.reason)}${until}`)}</div>`);
  }
  details.push(...htmlLinkDetails(f));
  if (isFixable(f)) details.push(`<details class="fix" data-testid="fix"><summary>Fix with the AWS CLI</summary><code>${escapeHtml(fixCommand(f, minRecoveryDays))}</code></details>`);
  const consoleLink = `<a href="${escapeHtml(tableConsoleUrl(f.region, f.tableName))}" target="_blank" rel="noopener noreferrer" title="Open in the DynamoDB console${escapeHtml(f.tableArn ? `: ${f.tableArn}` : '')}">${escapeHtml(f.tableName)}</a>`;
  return (
    `<tr data-status="${escapeHtml(f.status)}" data-index="${index}">` +
    `<td data-sort="${rank}"><span class="badge s-${k}">${escapeHtml(k === 'UNKNOWN' ? f.status : LABEL[k])}</span></td>` +
    `<td class="rg">${escapeHtml(f.region)}</td>` +
    `<td class="tn" data-sort="${escapeHtml(f.tableName)}">${consoleLink}</td>` +
    `<td>${escapeHtml(f.pitr.status ?? '-')}</td>` +
    `<td class="num" data-sort="${num(f.pitr.recoveryPeriodInDays)}">${escapeHtml(num(f.pitr.recoveryPeriodInDays) || '-')}</td>` +
    `<td class="num" data-sort="${num(f.pitr.restorableDays)}">${escapeHtml(num(f.pitr.restorableDays) || '-')}</td>` +
    `<td class="reasons">${f.reasons.map((r) => `<code>${escapeHtml(r)}</code>`).join('')}${details.join('')}</td>` +
    `</tr>`
  );
}

/** Multi-account reports: one row per account in scope, scanned (its counts) or not (why, and the fix). */
function accountsSection(report: ReportHead): string {
  const rows = report.accounts
    .map((a) => {
      const e = report.accountErrors.find((x) => x.accountId === a.accountId);
      const s = a.summary;
      const detail = a.status === 'SCANNED' && s
        ? `${s.total} tables in ${(a.regions ?? []).join(', ')}: ${s.nonCompliant} non-compliant, ${s.error} error, ${s.exempt} exempt, ${s.compliant} compliant, ${s.notApplicable} not applicable`
        : e ? `${e.operation} failed with ${e.errorName}. Fix: ${e.fix}` : (a.error ?? 'not scanned');
      return `<tr data-account="${escapeHtml(a.accountId)}" class="s-${a.status === 'SCANNED' ? 'COMPLIANT' : 'ERROR'}"><td>${escapeHtml(a.accountId)}</td><td>${escapeHtml(a.name ?? '')}</td><td>${escapeHtml(a.status)}</td><td>${escapeHtml(detail)}</td></tr>`;
    })
    .join('');
  return `<section data-testid="accounts"><h2>Accounts</h2><div class="panel"><table><thead><tr><th scope="col">Account</th><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Tables</th></tr></thead><tbody>${rows}</tbody></table></div></section>`;
}

/** Multi-account reports: the counts of each (account, Region) read. */
function accountRegionsSection(report: ReportHead): string {
  const rows = report.regionSummaries
    .filter((r) => r.accountId !== undefined)
    .map((r) => {
      const s = r.summary;
      return `<tr data-account-region="${escapeHtml(`${r.accountId}/${r.region}`)}"><td>${escapeHtml(r.accountId)}</td><td>${escapeHtml(r.region)}</td><td class="num">${s.total}</td><td class="num">${s.nonCompliant}</td><td class="num">${s.error}</td><td class="num">${s.exempt}</td><td class="num">${s.compliant}</td><td class="num">${s.notApplicable}</td></tr>`;
    })
    .join('');
  if (!rows) return '';
  const th = ['Account', 'Region', 'Tables', 'Non-compliant', 'Error', 'Exempt', 'Compliant', 'Not applicable'].map((h) => `<th scope="col">${h}</th>`).join('');
  return `<section data-testid="account-regions"><h2>Per account and Region</h2><div class="panel"><table><thead><tr>${th}</tr></thead><tbody>${rows}</tbody></table></div></section>`;
}

/** What the page's header needs besides the report without its findings: how many cannot restore the full window yet. */
export type HtmlHead = ReportHead & { restoreWindowNotFull: number };

/**
 * The page in three pieces, so a report too big to hold (the Organization aggregate) is streamed
 * with the same markup: head (everything before the first finding row), htmlRow per finding
 * (joined by a line break), foot. renderHtml = head + rows + foot.
 */
export function renderHtml(report: ScanReport, options: HtmlOptions = {}): string {
  const head: HtmlHead = { ...report, cost: report.cost ?? costTotals(report.findings), restoreWindowNotFull: report.findings.filter((f) => f.reasons.includes('RESTORE_WINDOW_NOT_FULL')).length };
  return htmlHead(head, options) + report.findings.map((f, i) => htmlRow(f, i, report.policy.minRecoveryDays)).join('\n') + htmlFoot(head);
}

export function htmlHead(report: HtmlHead, options: HtmlOptions = {}): string {
  const s = report.summary;
  const generated = displayTime(report.generatedAt);
  const multi = report.accounts.length > 1 || report.accountErrors.length > 0;
  const who = multi ? `${report.accounts.length} accounts` : `account ${report.accountId}`;
  const title = `${options.source ? 'NOT AWS: ' : ''}${report.regionErrors.length || report.accountErrors.length || report.shardErrors.length ? 'INCOMPLETE ' : ''}PITR compliance report: ${who}, ${generated}`;
  const sourceBanner = options.source
    ? `<p class="source" role="note" data-testid="source">Not AWS data: this report was generated from ${escapeHtml(options.source)}. Its tables, accounts and findings are not those of a real AWS account.</p>\n`
    : '';
  const unscanned = report.regionErrors.length + report.accountErrors.length + report.shardErrors.length;
  const vanished = report.vanished.length;
  // The blind spots come right after the total, before any count that could look reassuring.
  const cards = [card('total', 'total', s.total, unscanned ? 'Tables (scanned Regions)' : 'Tables')];
  if (report.accountErrors.length) cards.push(card('alert', 'accountErrors', report.accountErrors.length, 'Accounts not scanned'));
  if (report.regionErrors.length) cards.push(card('alert', 'regionErrors', report.regionErrors.length, 'Regions not scanned'));
  if (report.shardErrors.length) cards.push(card('alert', 'shardErrors', report.shardErrors.length, 'Shards not scanned'));
  if (vanished) cards.push(card('warn', 'vanished', vanished, 'Deleted during scan'));
  for (const st of FINDING_STATUSES) {
    const partial = st === 'COMPLIANT' && unscanned > 0;
    cards.push(card(partial ? `s-${st} partial` : `s-${st}`, SUMMARY_KEY[st], s[SUMMARY_KEY[st]], partial ? `${LABEL[st]} (scanned Regions only)` : LABEL[st]));
  }

  const problems: string[] = [];
  for (const e of report.accountErrors) {
    const name = `${e.accountId}${e.name ? ` (${e.name})` : ''}`;
    problems.push(
      `<li data-account-error="${escapeHtml(e.accountId)}"><strong>Account ${escapeHtml(name)} was not scanned</strong>: ${escapeHtml(`${e.operation} failed with ${e.errorName}: ${regionErrorMessage(e)}`)}. None of its tables was evaluated. Fix: ${escapeHtml(e.fix)}.</li>`,
    );
  }
  for (const e of report.regionErrors) {
    problems.push(`<li data-region-error="${escapeHtml(e.region)}"><strong>${escapeHtml(`${e.region}${e.accountId ? ` of account ${e.accountId}` : ''}`)} was not scanned</strong>: ${escapeHtml(`${e.operation} failed with ${e.errorName}: ${regionErrorMessage(e)}`)}. None of its tables was evaluated.</li>`);
  }
  for (const e of report.shardErrors) {
    problems.push(`<li data-shard-error="${escapeHtml(`${e.accountId}/${e.region}`)}"><strong>${escapeHtml(`${e.region} of account ${e.accountId}`)} was not scanned</strong>: ${escapeHtml(`its shard failed with ${e.errorName}: ${e.message}`)}. None of its tables was evaluated.</li>`);
  }
  for (const v of report.vanished) {
    problems.push(`<li data-vanished="${escapeHtml(`${v.region}/${v.tableName}`)}">${escapeHtml(`${v.region}/${v.tableName}`)} was deleted while the scan ran and was not evaluated.</li>`);
  }
  const incomplete = [
    report.accountErrors.length ? `${report.accountErrors.length} account(s) not scanned` : '',
    report.regionErrors.length ? `${report.regionErrors.length} Region(s) not scanned` : '',
    report.shardErrors.length ? `${report.shardErrors.length} shard(s) (account and Region) not scanned` : '',
    vanished ? `${vanished} table(s) deleted during the scan` : '',
  ].filter(Boolean);
  const warning = problems.length
    ? `<section class="incomplete${unscanned ? '' : ' only-vanished'}" role="alert" data-testid="not-evaluated"><h2>${escapeHtml(
        unscanned ? `Incomplete report: ${incomplete.join(', ')}` : `Not evaluated: ${incomplete.join(', ')}`,
      )}</h2>${unscanned ? '<div>The counts below cover only the Regions that were scanned. A Region that was not scanned may hold tables without PITR.</div>' : ''}<ul>${problems.join('')}</ul></section>`
    : '';
  const notFull = report.restoreWindowNotFull;

  const styleHash = sha256(STYLE);
  const scriptHash = sha256(SCRIPT);
  const statusOptions = FINDING_STATUSES.map((st) => `<option value="${st}">${escapeHtml(LABEL[st])} (${s[SUMMARY_KEY[st]]})</option>`).join('');
  const head = [
    ['Status', 'text'],
    ['Region', 'text'],
    ['Table', 'text'],
    ['PITR', 'text'],
    ['Period (days)', 'number'],
    ['Restorable (days)', 'number'],
    ['Reasons and fix', 'text'],
  ]
    .map(([label, type]) => `<th scope="col" data-type="${type}"><button type="button">${escapeHtml(label)}</button></th>`)
    .join('');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${styleHash}; script-src ${scriptHash}; img-src data:">
<meta name="generator" content="pitr-guard">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${sourceBanner}<header>
<h1>DynamoDB point-in-time recovery: compliance report</h1>
<dl>
<div><dt>Account</dt><dd data-testid="account">${escapeHtml(report.accountId)}</dd></div>
<div><dt>Generated</dt><dd data-testid="generated"><time datetime="${escapeHtml(report.generatedAt)}">${escapeHtml(generated)}</time></dd></div>
<div><dt>Regions</dt><dd>${escapeHtml(report.regions.join(', ') || 'none')}</dd></div>
<div><dt>Coverage</dt><dd data-testid="coverage">${incomplete.length ? `<span class="incomplete-flag">${escapeHtml(incomplete.join(', '))}</span>` : 'complete'}</dd></div>
<div><dt>Policy</dt><dd>PITR on, recovery period at least ${escapeHtml(report.policy.minRecoveryDays)} days; exempt tag <code>${escapeHtml(report.policy.exemptTag)}</code></dd></div>
</dl>
</header>
<main>
${warning}
<section aria-label="Summary"><div class="cards">${cards.join('')}</div></section>
${multi ? accountsSection(report) + accountRegionsSection(report) : ''}
<section><h2>Status per Region</h2><div class="panel">${chart(report)}</div></section>
${report.cost ? htmlCostSection(report.cost) : ''}
<section>
<h2>Findings</h2>
${notFull ? `<p class="msg">${notFull} compliant table(s) cannot yet restore the full ${escapeHtml(report.policy.minRecoveryDays)} days because PITR was enabled or re-enabled recently (<code>RESTORE_WINDOW_NOT_FULL</code>).</p>` : ''}
<div class="controls">
<input id="filter" type="search" placeholder="Filter: table, Region, reason…" aria-label="Filter findings">
<select id="status-filter" aria-label="Status"><option value="">All statuses (${s.total})</option>${statusOptions}</select>
<span id="shown" aria-live="polite">Showing ${s.total} of ${s.total} tables</span>
</div>
<table id="findings" data-page-size="${PAGE_SIZE}">
<thead><tr>${head}</tr></thead>
<tbody>
`;
}

export function htmlFoot(report: Pick<HtmlHead, 'generatedAt'>): string {
  const generated = displayTime(report.generatedAt);
  return `
</tbody>
</table>
<nav class="pager" id="pager" aria-label="Pages of findings" hidden><button type="button" id="prev">\u2039 Previous</button><span id="page"></span><button type="button" id="next">Next \u203a</button><button type="button" id="all">Show all</button></nav>
</section>
<footer>Generated by pitr-guard from a ScanReport (${escapeHtml(generated)}). Worst first: non-compliant, error, exempt, compliant, not applicable; ${PAGE_SIZE} rows a page. Click a column heading to sort; a table name opens it in the DynamoDB console.</footer>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
