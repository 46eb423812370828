/**
 * HTML report: one self-contained file (inline CSS and JS, no network resources, a Content
 * Security Policy that allows nothing else) an auditor can open from disk or attach to a ticket.
 * Summary cards, a chart of statuses per Region (inline SVG), a sortable and filterable table of
 * findings with their reasons, and the generated time and account. What the scan could not
 * evaluate (Regions whose tables could not be listed, tables deleted during the scan) is a warning
 * block above the cards, cards of its own, and a Coverage line in the header; while a Region is
 * missing, the Compliant card is marked as covering the scanned Regions only and is not green.
 * Every value from the report is HTML-escaped; the page works without JavaScript (sorting and filtering need it).
 */
import { createHash } from 'node:crypto';
import { sanitise } from '../core/text';
import type { ScanReport } from '../aws/scan';
import { regionErrorMessage } from './table';
import { FINDING_STATUSES, type Finding, type FindingStatus } from '../core/types';

const LABEL: Record<FindingStatus, string> = {
  NON_COMPLIANT: 'Non-compliant',
  ERROR: 'Error',
  EXEMPT: 'Exempt',
  COMPLIANT: 'Compliant',
  NOT_APPLICABLE: 'Not applicable',
};

const SUMMARY_KEY: Record<FindingStatus, keyof ScanReport['summary']> = {
  NON_COMPLIANT: 'nonCompliant',
  ERROR: 'error',
  EXEMPT: 'exempt',
  COMPLIANT: 'compliant',
  NOT_APPLICABLE: 'notApplicable',
};

const COLOUR: Record<FindingStatus, string> = {
  NON_COMPLIANT: '#c62828',
  ERROR: '#6a1b9a',
  EXEMPT: '#ef8f00',
  COMPLIANT: '#2e7d32',
  NOT_APPLICABLE: '#78909c',
};

/** HTML-escaped, after the one sanitiser (control and bidi/format characters, lib/core/text.ts). */
export function escapeHtml(value: unknown): string {
  return sanitise(String(value ?? ''))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function statusKey(status: string): FindingStatus | 'UNKNOWN' {
  return (FINDING_STATUSES as readonly string[]).includes(status) ? (status as FindingStatus) : 'UNKNOWN';
}

const STYLE = `
:root{--fg:#1d2330;--muted:#5b6475;--line:#dde1e8;--bg:#f6f7f9;--card:#fff}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:20px 28px 12px;background:#102a43;color:#fff}
header h1{margin:0 0 6px;font-size:20px;font-weight:600}
header dl{display:flex;flex-wrap:wrap;gap:4px 22px;margin:0;font-size:13px;color:#d9e2ec}
header dt{display:inline;font-weight:600;color:#fff}header dd{display:inline;margin:0 0 0 4px}
main{padding:18px 28px 40px;max-width:1400px}
h2{font-size:16px;margin:22px 0 10px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-left:6px solid #90a4ae;border-radius:6px;padding:10px 14px}
.card .n{font-size:28px;font-weight:700;line-height:1.1}
.card .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card.s-NON_COMPLIANT{border-left-color:${COLOUR.NON_COMPLIANT}}.card.s-ERROR{border-left-color:${COLOUR.ERROR}}
.card.s-EXEMPT{border-left-color:${COLOUR.EXEMPT}}.card.s-COMPLIANT{border-left-color:${COLOUR.COMPLIANT}}
.card.s-NOT_APPLICABLE{border-left-color:${COLOUR.NOT_APPLICABLE}}.card.total{border-left-color:#102a43}
.card.alert{border-left-color:#b71c1c;background:#fdecea}.card.alert .n{color:#b71c1c}
.card.warn{border-left-color:#ef8f00;background:#fff8e1}
.card.partial{border-left-color:#ef8f00;border-left-style:dashed}
.panel{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:12px 16px}
.incomplete{margin:0 0 16px;padding:12px 16px;border:1px solid #f2b8b5;border-left:6px solid #b71c1c;border-radius:6px;background:#fdecea}
.incomplete.only-vanished{border-color:#ffe0a3;border-left-color:#ef8f00;background:#fff8e1}
.incomplete h2{margin:0 0 6px;color:#b71c1c}.incomplete.only-vanished h2{color:#8a5300}
.incomplete ul{margin:6px 0 0;padding-left:20px}.incomplete li{margin:2px 0}
header .incomplete-flag{color:#ffcdd2;font-weight:700}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;fill:#1d2330}
svg .seglabel{fill:#fff;font-weight:600}
.controls{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:0 0 10px}
.controls input,.controls select{font:inherit;padding:6px 8px;border:1px solid #b8c0cc;border-radius:4px;background:#fff}
.controls input{min-width:280px}
#shown{color:var(--muted)}
table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line)}
th,td{padding:6px 9px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#eef1f5;position:sticky;top:0;white-space:nowrap}
th button{all:unset;cursor:pointer;font-weight:600}
th button:focus-visible{outline:2px solid #1565c0}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.tn{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
td.rg{white-space:nowrap}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;color:#fff;font-size:12px;font-weight:600;white-space:nowrap}
.badge.s-NON_COMPLIANT{background:${COLOUR.NON_COMPLIANT}}.badge.s-ERROR{background:${COLOUR.ERROR}}
.badge.s-EXEMPT{background:${COLOUR.EXEMPT}}.badge.s-COMPLIANT{background:${COLOUR.COMPLIANT}}
.badge.s-NOT_APPLICABLE{background:${COLOUR.NOT_APPLICABLE}}.badge.s-UNKNOWN{background:#37474f}
.reasons code{font-size:12px;background:#eef1f5;padding:0 4px;border-radius:3px;margin-right:3px;display:inline-block}
.msg{color:var(--muted);font-size:13px}
tr[hidden]{display:none}
footer{color:var(--muted);font-size:12px;margin-top:18px}
@media print{th{position:static}.controls{display:none}}
`;

const SCRIPT = `
(function(){
  var table=document.getElementById('findings');
  var body=table.tBodies[0];
  var rows=Array.prototype.slice.call(body.rows);
  var filter=document.getElementById('filter');
  var status=document.getElementById('status-filter');
  var shown=document.getElementById('shown');
  function apply(){
    var q=filter.value.trim().toLowerCase();var s=status.value;var n=0;
    rows.forEach(function(r){
      var ok=(!s||r.getAttribute('data-status')===s)&&(!q||r.textContent.toLowerCase().indexOf(q)!==-1);
      r.hidden=!ok;if(ok)n++;
    });
    shown.textContent='Showing '+n+' of '+rows.length+' tables';
  }
  filter.addEventListener('input',apply);status.addEventListener('change',apply);
  var heads=Array.prototype.slice.call(table.tHead.rows[0].cells);
  heads.forEach(function(th,col){
    var b=th.querySelector('button');if(!b)return;
    b.addEventListener('click',function(){
      var dir=th.getAttribute('aria-sort')==='ascending'?'descending':'ascending';
      heads.forEach(function(h){h.removeAttribute('aria-sort');});
      th.setAttribute('aria-sort',dir);
      var type=th.getAttribute('data-type');var sign=dir==='ascending'?1:-1;
      var keyed=rows.map(function(r,i){var c=r.cells[col];var v=c.getAttribute('data-sort');if(v===null)v=c.textContent;return {r:r,v:v,i:i};});
      keyed.sort(function(a,b){
        var x=a.v,y=b.v,d;
        if(type==='number'){var nx=x===''?NaN:Number(x),ny=y===''?NaN:Number(y);
          if(isNaN(nx)&&isNaN(ny))d=0;else if(isNaN(nx))return 1;else if(isNaN(ny))return -1;else d=nx-ny;}
        else d=x.localeCompare(y);
        return d*sign||a.i-b.i;
      });
      keyed.forEach(function(k){body.appendChild(k.r);});
      rows=keyed.map(function(k){return k.r;});
    });
  });
  apply();
})();
`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

function card(cls: string, testId: string, count: number, label: string): string {
  return `<div class="card ${cls}" data-testid="card-${escapeHtml(testId)}" data-count="${count}"><div class="n">${count}</div><div class="l">${escapeHtml(label)}</div></div>`;
}

function chart(report: ScanReport): string {
  const regions = [...new Set([...report.regions, ...report.findings.map((f) => f.region)])].sort();
  if (regions.length === 0) return '<p>No Regions scanned.</p>';
  const counts = new Map(regions.map((r) => [r, new Map<FindingStatus, number>()]));
  for (const f of report.findings) {
    const k = statusKey(f.status);
    if (k === 'UNKNOWN') continue;
    const m = counts.get(f.region);
    if (m) m.set(k, (m.get(k) ?? 0) + 1);
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
    const notScanned = report.regionErrors.some((e) => e.region === region);
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

function num(value: number | null): string {
  return value === null ? '' : String(value);
}

function row(f: Finding, index: number): string {
  const k = statusKey(f.status);
  const rank = k === 'UNKNOWN' ? 99 : FINDING_STATUSES.indexOf(k);
  const details: string[] = [`<div class="msg">${escapeHtml(f.message)}</div>`];
  if (f.error) details.push(`<div class="msg">${escapeHtml(`${f.error.operation}: ${f.error.errorName}`)}</div>`);
  if (f.exemption && !f.exemption.active) {
    const until = f.exemption.until ? ` until ${f.exemption.until}` : '';
    details.push(`<div class="msg">${escapeHtml(`Exemption not in force: ${JSON.stringify(f.exemption.reason)}${until}`)}</div>`);
  }
  return (
    `<tr data-status="${escapeHtml(f.status)}" data-index="${index}">` +
    `<td data-sort="${rank}"><span class="badge s-${k}">${escapeHtml(k === 'UNKNOWN' ? f.status : LABEL[k])}</span></td>` +
    `<td class="rg">${escapeHtml(f.region)}</td>` +
    `<td class="tn" title="${escapeHtml(f.tableArn ?? '')}">${escapeHtml(f.tableName)}</td>` +
    `<td>${escapeHtml(f.pitr.status ?? '-')}</td>` +
    `<td class="num" data-sort="${num(f.pitr.recoveryPeriodInDays)}">${escapeHtml(num(f.pitr.recoveryPeriodInDays) || '-')}</td>` +
    `<td class="num" data-sort="${num(f.pitr.restorableDays)}">${escapeHtml(num(f.pitr.restorableDays) || '-')}</td>` +
    `<td class="reasons">${f.reasons.map((r) => `<code>${escapeHtml(r)}</code>`).join('')}${details.join('')}</td>` +
    `</tr>`
  );
}

export function renderHtml(report: ScanReport): string {
  const s = report.summary;
  const title = `${report.regionErrors.length ? 'INCOMPLETE ' : ''}PITR compliance report: account ${report.accountId}, ${report.generatedAt}`;
  const unscanned = report.regionErrors.length;
  const vanished = report.vanished.length;
  // The blind spots come right after the total, before any count that could look reassuring.
  const cards = [card('total', 'total', s.total, unscanned ? 'Tables (scanned Regions)' : 'Tables')];
  if (unscanned) cards.push(card('alert', 'regionErrors', unscanned, 'Regions not scanned'));
  if (vanished) cards.push(card('warn', 'vanished', vanished, 'Deleted during scan'));
  for (const st of FINDING_STATUSES) {
    const partial = st === 'COMPLIANT' && unscanned > 0;
    cards.push(card(partial ? `s-${st} partial` : `s-${st}`, SUMMARY_KEY[st], s[SUMMARY_KEY[st]], partial ? `${LABEL[st]} (scanned Regions only)` : LABEL[st]));
  }

  const problems: string[] = [];
  for (const e of report.regionErrors) {
    problems.push(`<li data-region-error="${escapeHtml(e.region)}"><strong>${escapeHtml(e.region)} was not scanned</strong>: ${escapeHtml(`${e.operation} failed with ${e.errorName}: ${regionErrorMessage(e)}`)}. None of its tables was evaluated.</li>`);
  }
  for (const v of report.vanished) {
    problems.push(`<li data-vanished="${escapeHtml(`${v.region}/${v.tableName}`)}">${escapeHtml(`${v.region}/${v.tableName}`)} was deleted while the scan ran and was not evaluated.</li>`);
  }
  const incomplete = [
    unscanned ? `${unscanned} Region(s) not scanned` : '',
    vanished ? `${vanished} table(s) deleted during the scan` : '',
  ].filter(Boolean);
  const warning = problems.length
    ? `<section class="incomplete${unscanned ? '' : ' only-vanished'}" role="alert" data-testid="not-evaluated"><h2>${escapeHtml(
        unscanned ? `Incomplete report: ${incomplete.join(', ')}` : `Not evaluated: ${incomplete.join(', ')}`,
      )}</h2>${unscanned ? '<div>The counts below cover only the Regions that were scanned. A Region that was not scanned may hold tables without PITR.</div>' : ''}<ul>${problems.join('')}</ul></section>`
    : '';
  const notFull = report.findings.filter((f) => f.reasons.includes('RESTORE_WINDOW_NOT_FULL')).length;

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
    ['Reasons', 'text'],
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
<header>
<h1>DynamoDB point-in-time recovery: compliance report</h1>
<dl>
<div><dt>Account</dt><dd data-testid="account">${escapeHtml(report.accountId)}</dd></div>
<div><dt>Generated</dt><dd data-testid="generated"><time datetime="${escapeHtml(report.generatedAt)}">${escapeHtml(report.generatedAt)}</time></dd></div>
<div><dt>Regions</dt><dd>${escapeHtml(report.regions.join(', ') || 'none')}</dd></div>
<div><dt>Coverage</dt><dd data-testid="coverage">${incomplete.length ? `<span class="incomplete-flag">${escapeHtml(incomplete.join(', '))}</span>` : 'complete'}</dd></div>
<div><dt>Policy</dt><dd>PITR on, recovery period at least ${escapeHtml(report.policy.minRecoveryDays)} days; exempt tag <code>${escapeHtml(report.policy.exemptTag)}</code></dd></div>
</dl>
</header>
<main>
${warning}
<section aria-label="Summary"><div class="cards">${cards.join('')}</div></section>
<section><h2>Status per Region</h2><div class="panel">${chart(report)}</div></section>
<section>
<h2>Findings</h2>
${notFull ? `<p class="msg">${notFull} compliant table(s) cannot yet restore the full ${escapeHtml(report.policy.minRecoveryDays)} days because PITR was enabled or re-enabled recently (<code>RESTORE_WINDOW_NOT_FULL</code>).</p>` : ''}
<div class="controls">
<input id="filter" type="search" placeholder="Filter: table, Region, reason…" aria-label="Filter findings">
<select id="status-filter" aria-label="Status"><option value="">All statuses (${s.total})</option>${statusOptions}</select>
<span id="shown" aria-live="polite">Showing ${report.findings.length} of ${report.findings.length} tables</span>
</div>
<table id="findings">
<thead><tr>${head}</tr></thead>
<tbody>
${report.findings.map(row).join('\n')}
</tbody>
</table>
</section>
<footer>Generated by pitr-guard from a ScanReport (${escapeHtml(report.generatedAt)}). Worst first: non-compliant, error, exempt, compliant, not applicable. Click a column heading to sort.</footer>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
