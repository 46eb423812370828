/**
 * The HTML report's inline stylesheet and script (hashed into its Content Security Policy by
 * lib/report/html.ts) and the status colours its cards, badges and chart share.
 */
import type { FindingStatus } from '../core/types';

export const COLOUR: Record<FindingStatus, string> = {
  NON_COMPLIANT: '#c62828',
  ERROR: '#6a1b9a',
  EXEMPT: '#ef8f00',
  COMPLIANT: '#2e7d32',
  NOT_APPLICABLE: '#78909c',
};

export const STYLE = `
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
td.tn{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:nowrap}
td.tn a{color:#0d47a1;text-decoration:none}td.tn a:hover,td.tn a:focus-visible{text-decoration:underline}
.fix{margin-top:4px;font-size:12px}.fix summary{cursor:pointer;color:#0d47a1}
.reasons .fix code{display:block;margin:3px 0 0;padding:4px 6px;background:#102a43;color:#e3f2fd;border-radius:3px;overflow-wrap:anywhere;user-select:all;font-size:11.5px}
.source{margin:0;padding:10px 28px;background:#fff3cd;border-bottom:2px solid #ef8f00;color:#5d4100;font-weight:600}
.pager{display:flex;gap:8px;align-items:center;margin:10px 0 0}.pager[hidden]{display:none}
.pager button{font:inherit;padding:4px 10px;border:1px solid #b8c0cc;border-radius:4px;background:#fff;cursor:pointer}
.pager button[disabled]{opacity:.45;cursor:default}
td.rg{white-space:nowrap}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;color:#fff;font-size:12px;font-weight:600;white-space:nowrap}
.badge.s-NON_COMPLIANT{background:${COLOUR.NON_COMPLIANT}}.badge.s-ERROR{background:${COLOUR.ERROR}}
.badge.s-EXEMPT{background:${COLOUR.EXEMPT}}.badge.s-COMPLIANT{background:${COLOUR.COMPLIANT}}
.badge.s-NOT_APPLICABLE{background:${COLOUR.NOT_APPLICABLE}}.badge.s-UNKNOWN{background:#37474f}
td.reasons{width:40%}
.reasons code{font-size:12px;background:#eef1f5;padding:0 4px;border-radius:3px;margin-right:3px;display:inline-block}
.msg{color:var(--muted);font-size:13px}
tr[hidden]{display:none}
footer{color:var(--muted);font-size:12px;margin-top:18px}
@media print{th{position:static}.controls,.pager{display:none}}
`;

export const SCRIPT = `
(function(){
  var table=document.getElementById('findings');
  var body=table.tBodies[0];
  var rows=Array.prototype.slice.call(body.rows);
  var filter=document.getElementById('filter');
  var status=document.getElementById('status-filter');
  var shown=document.getElementById('shown');
  var pager=document.getElementById('pager');
  var prev=document.getElementById('prev'),next=document.getElementById('next'),all=document.getElementById('all');
  var pageInfo=document.getElementById('page');
  var size=Number(table.getAttribute('data-page-size'))||25;var page=0;var showAll=false;
  function apply(){
    var q=filter.value.trim().toLowerCase();var s=status.value;
    var match=rows.filter(function(r){
      return (!s||r.getAttribute('data-status')===s)&&(!q||r.textContent.toLowerCase().indexOf(q)!==-1);
    });
    var pages=showAll?1:Math.max(1,Math.ceil(match.length/size));
    if(page>pages-1)page=pages-1;
    var from=showAll?0:page*size,to=showAll?match.length:Math.min(match.length,from+size);
    rows.forEach(function(r){r.hidden=true;});
    match.slice(from,to).forEach(function(r){r.hidden=false;});
    var of=match.length===rows.length?rows.length+' tables':match.length+' matching ('+rows.length+' tables)';
    shown.textContent=match.length===0?'No table matches':'Showing '+(from+1)+'\u2013'+to+' of '+of;
    pager.hidden=pages<2&&!showAll;
    pageInfo.textContent=showAll?'All rows':'Page '+(page+1)+' of '+pages;
    prev.disabled=showAll||page===0;next.disabled=showAll||page>=pages-1;
    all.textContent=showAll?'Show '+size+' per page':'Show all';
  }
  function reset(){page=0;apply();}
  filter.addEventListener('input',reset);status.addEventListener('change',reset);
  prev.addEventListener('click',function(){page--;apply();});
  next.addEventListener('click',function(){page++;apply();});
  all.addEventListener('click',function(){showAll=!showAll;page=0;apply();});
  window.addEventListener('beforeprint',function(){rows.forEach(function(r){r.hidden=false;});});
  window.addEventListener('afterprint',apply);
  var heads=Array.prototype.slice.call(table.tHead.rows[0].cells);
  heads.forEach(function(th,col){
    var b=th.querySelector('button');if(!b)return;
    b.addEventListener('click',function(){
      var dir=th.getAttribute('aria-sort')==='ascending'?'descending':'ascending';
      heads.forEach(function(h){h.removeAttribute('aria-sort');});
      th.setAttribute('aria-sort',dir);
      var type=th.getAttribute('data-type');var sign=dir==='ascending'?1:-1;
      var keyed=rows.map(function(r){var c=r.cells[col];var v=c.getAttribute('data-sort');if(v===null)v=c.textContent;return {r:r,v:v,i:Number(r.getAttribute('data-index'))};});
      keyed.sort(function(a,b){
        var x=a.v,y=b.v,d;
        if(type==='number'){var nx=x===''?NaN:Number(x),ny=y===''?NaN:Number(y);
          if(isNaN(nx)&&isNaN(ny))d=0;else if(isNaN(nx))return 1;else if(isNaN(ny))return -1;else d=nx-ny;}
        else d=x.localeCompare(y);
        return d*sign||a.i-b.i;
      });
      keyed.forEach(function(k){body.appendChild(k.r);});
      rows=keyed.map(function(k){return k.r;});
      page=0;apply();
    });
  });
  apply();
})();
`;
