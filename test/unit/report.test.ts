/** The four report formats, all rendered from the same ScanReport. */
import { createHash } from 'node:crypto';
import { ansi } from '../../lib/report/colour';
import { evaluate } from '../../lib/core/evaluate';
import { AwsCallError } from '../../lib/core/errors';
import { CSV_COLUMNS, DELETED_DURING_SCAN, REGION_NOT_SCANNED, renderCsv } from '../../lib/report/csv';
import { escapeHtml, renderHtml } from '../../lib/report/html';
import { renderJson } from '../../lib/report/json';
import { regionErrorMessage, renderTable, summaryLine } from '../../lib/report/table';
import { regionSummaries, sortFindings, summarize, type ScanReport } from '../../lib/aws/scan';
import type { TableFacts } from '../../lib/core/types';
import { awsError } from '../helpers/aws-errors';
import { NOW, daysAgo, facts, pitrEnabled } from '../helpers/builders';
import { parseCsv } from '../helpers/csv';

const POLICY = { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };

function report(all: TableFacts[], extra: Partial<ScanReport> = {}): ScanReport {
  const findings = sortFindings(all.map((f) => evaluate(f, POLICY, NOW)));
  return {
    generatedAt: NOW.toISOString(),
    accountId: '123456789012',
    accounts: [{ accountId: '123456789012', status: 'SCANNED' }],
    accountErrors: [],
    regions: ['eu-west-1', 'us-east-1'],
    policy: POLICY,
    summary: summarize(findings),
    findings,
    vanished: [],
    regionErrors: [],
    regionSummaries: regionSummaries(findings, ['eu-west-1', 'us-east-1'], false),
    shardErrors: [],
    ...extra,
  };
}

const arn = (region: string, name: string) => `arn:aws:dynamodb:${region}:123456789012:table/${name}`;
const t = (region: string, tableName: string, over: Partial<TableFacts> = {}) => facts({ region, tableName, tableArn: arn(region, tableName), ...over });

const sample = report([
  t('eu-west-1', 'prod-orders'),
  t('eu-west-1', 'prod-payments', { pitr: { status: 'DISABLED' } }),
  t('us-east-1', 'prod-notifications', { pitr: pitrEnabled(7) }),
  t('us-east-1', 'prod-carts', { pitr: pitrEnabled(35, 3) }),
  t('us-east-1', 'prod-sessions', { pitr: { status: 'DISABLED' }, tags: { 'pitr-guard:exempt': 'TTL cache, "rebuilt", nightly' } }),
  t('us-east-1', 'evil', { pitr: { status: 'DISABLED' }, tags: { 'pitr-guard:exempt': '=HYPERLINK("http://x")<script>alert(1)</script>', 'pitr-guard:exempt-until': '2026-01-01' } }),
  t('eu-west-1', 'locked', { pitr: undefined, tags: undefined, error: { operation: 'DescribeContinuousBackups', errorName: 'AccessDeniedException', message: 'not allowed,\nreally' } }),
  t('eu-west-1', 'old', { tableStatus: 'DELETING', pitr: undefined }),
]);

describe('json', () => {
  it('is exactly the ScanReport', () => {
    expect(JSON.parse(renderJson(sample))).toEqual(JSON.parse(JSON.stringify(sample)));
    expect(renderJson(sample).endsWith('}\n')).toBe(true);
  });
});

describe('table', () => {
  const text = renderTable(sample);
  const lines = text.split('\n');

  it('has a header, one row per finding worst first, and the summary line', () => {
    expect(lines[0]).toMatch(/^STATUS\s+REGION\s+TABLE\s+PITR\s+PERIOD\s+RESTORABLE\s+PITR\/MONTH\s+REASONS$/);
    const statuses = lines.slice(1, 1 + sample.findings.length).map((l) => l.split(/\s+/)[0]);
    expect(statuses).toEqual(sample.findings.map((f) => f.status));
    expect(statuses[0]).toBe('NON_COMPLIANT');
    expect(statuses.at(-1)).toBe('NOT_APPLICABLE');
    expect(text).toContain(summaryLine(sample));
    expect(summaryLine(sample)).toBe('8 tables in 2 Regions of account 123456789012: 3 non-compliant, 1 error, 1 exempt, 2 compliant, 1 not applicable');
    expect(text).toContain('1 compliant table(s) cannot yet restore the full 35 days');
  });

  it('aligns the columns and carries no colour codes by default', () => {
    expect(text).not.toContain('\u001b[');
    const tableColumn = lines[0]!.indexOf('TABLE');
    for (const line of lines.slice(1, 1 + sample.findings.length)) expect(line.charAt(tableColumn - 1)).toBe(' ');
    const rows = lines.slice(1, 1 + sample.findings.length);
    const starts = rows.map((l) => l.indexOf(l.split(/\s+/)[2]!));
    expect(new Set(starts).size).toBe(1);
  });

  it('colours statuses on a terminal without breaking the alignment', () => {
    const coloured = renderTable(sample, { palette: ansi });
    expect(coloured).toContain('\u001b[31m');
    // eslint-disable-next-line no-control-regex
    expect(coloured.replace(/\u001b\[[0-9;]*m/g, '')).toBe(text);
  });

  it('keeps control characters from tags and errors out of the terminal', () => {
    expect(text).not.toMatch(/not allowed,\nreally/);
  });

  it('names Regions that were not scanned and tables deleted during the scan', () => {
    const r = report([t('eu-west-1', 'a')], {
      regionErrors: [{ region: 'ap-east-1', operation: 'ListTables', errorName: 'UnrecognizedClientException', message: 'bad token' }],
      vanished: [{ region: 'eu-west-1', tableName: 'tmp' }],
    });
    const out = renderTable(r);
    expect(out).toContain('Region ap-east-1 NOT SCANNED: ListTables failed with UnrecognizedClientException: bad token');
    expect(out).toContain('Deleted while scanning (not evaluated): eu-west-1/tmp');
    expect(out).toContain('1 Region could not be scanned');
  });

  it('says so when there are no tables', () => {
    expect(renderTable(report([]))).toContain('No tables found in eu-west-1, us-east-1.');
  });
});


describe('csv', () => {
  const text = renderCsv(sample);
  const rows = parseCsv(text);

  it('has a header row and one row per finding, CRLF line ends', () => {
    expect(rows[0]).toEqual(CSV_COLUMNS.map((c) => c.header));
    // header, one row per finding, the COST_TOTALS row
    expect(rows).toHaveLength(sample.findings.length + 2);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.split('\r\n')[0]).toBe(CSV_COLUMNS.map((c) => c.header).join(','));
    rows.forEach((r) => expect(r).toHaveLength(CSV_COLUMNS.length));
  });

  it('round-trips every value, quoting commas, quotes and line breaks', () => {
    const col = (name: string) => CSV_COLUMNS.findIndex((c) => c.header === name);
    sample.findings.forEach((f, i) => {
      const r = rows[i + 1]!;
      expect(r[col('table_name')]).toBe(f.tableName);
      expect(r[col('status')]).toBe(f.status);
      expect(r[col('reasons')]).toBe(f.reasons.join(';'));
      expect(r[col('recovery_period_days')]).toBe(f.pitr.recoveryPeriodInDays === null ? '' : String(f.pitr.recoveryPeriodInDays));
    });
    const sessions = rows.find((r) => r[col('table_name')] === 'prod-sessions')!;
    expect(sessions[col('exemption_reason')]).toBe('TTL cache, "rebuilt", nightly');
    expect(sessions[col('exemption_active')]).toBe('true');
    expect(text).toContain('"TTL cache, ""rebuilt"", nightly"');
    const locked = rows.find((r) => r[col('table_name')] === 'locked')!;
    expect(locked[col('error_message')]).toBe('not allowed,\nreally');
    expect(locked[col('error_name')]).toBe('AccessDeniedException');
  });

  it('stops a spreadsheet from running a formula from a tag value', () => {
    const col = CSV_COLUMNS.findIndex((c) => c.header === 'exemption_reason');
    const evil = rows.find((r) => r.includes('evil'))!;
    expect(evil[col]).toBe(`'=HYPERLINK("http://x")<script>alert(1)</script>`);
  });
});

describe('html', () => {
  const html = renderHtml(sample);

  it('is one self-contained file: no external resources, a CSP that allows only its own inline code', () => {
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/\bsrc=/i);
    expect(html).not.toMatch(/url\(/i);
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)![1]!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`style-src ${hash(style)}`);
    expect(csp).toContain(`script-src ${hash(script)}`);
  });

  it('escapes every value from the report', () => {
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(escapeHtml(`<a href="x" onclick='y'>&`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
  });

  it('has summary cards with the report counts, the account and the generated time', () => {
    const count = (id: string) => Number(new RegExp(`data-testid="card-${id}" data-count="(\\d+)"`).exec(html)?.[1]);
    expect(count('total')).toBe(sample.summary.total);
    expect(count('nonCompliant')).toBe(sample.summary.nonCompliant);
    expect(count('error')).toBe(sample.summary.error);
    expect(count('exempt')).toBe(sample.summary.exempt);
    expect(count('compliant')).toBe(sample.summary.compliant);
    expect(count('notApplicable')).toBe(sample.summary.notApplicable);
    expect(html).toContain('<dd data-testid="account">123456789012</dd>');
    expect(html).toContain(`datetime="${NOW.toISOString()}"`);
  });

  it('has one table row per finding in report order and a per-Region chart', () => {
    const rowStatuses = [...html.matchAll(/<tr data-status="([A-Z_]+)"/g)].map((m) => m[1]);
    expect(rowStatuses).toEqual(sample.findings.map((f) => f.status));
    const segs = [...html.matchAll(/<g data-region="([^"]+)" data-total="(\d+)">/g)].map((m) => [m[1], Number(m[2])]);
    expect(segs).toEqual([
      ['eu-west-1', sample.findings.filter((f) => f.region === 'eu-west-1').length],
      ['us-east-1', sample.findings.filter((f) => f.region === 'us-east-1').length],
    ]);
  });

  it('lists Regions that were not scanned', () => {
    const r = report([t('eu-west-1', 'a')], { regionErrors: [{ region: 'ap-east-1', operation: 'ListTables', errorName: 'AccessDenied', message: '<b>no</b>' }] });
    const out = renderHtml(r);
    expect(out).toContain('data-testid="card-regionErrors" data-count="1"');
    expect(out).toContain('ap-east-1 was not scanned');
    expect(out).toContain('&lt;b&gt;no&lt;/b&gt;');
  });

  it('uses the restorable-window dates in the table', () => {
    const carts = sample.findings.find((f) => f.tableName === 'prod-carts')!;
    expect(carts.pitr.earliestRestorableDateTime).toBe(daysAgo(3).toISOString());
    expect(carts.pitr.restorableDays).toBeGreaterThan(2.8);
    expect(html).toContain(`<td class="num" data-sort="${carts.pitr.restorableDays}">${carts.pitr.restorableDays}</td>`);
  });
});

describe('what the scan could not evaluate, in every format', () => {
  // The message as lib/aws/scan records it: an AwsCallError's, which names the operation and error first.
  const listFailure = new AwsCallError('ListTables', awsError('AccessDeniedException', 400, '=cmd|"/c calc"!A1, not authorized'));
  const partial = report([t('eu-west-1', 'prod-orders'), t('eu-west-1', 'prod-carts', { pitr: { status: 'DISABLED' } })], {
    regions: ['eu-west-1', 'ap-east-1'],
    regionErrors: [{ region: 'ap-east-1', operation: 'ListTables', errorName: 'AccessDeniedException', message: listFailure.message }],
    vanished: [{ region: 'eu-west-1', tableName: 'tmp-import' }],
  });

  it('regionErrorMessage drops the operation and error name an AwsCallError message starts with', () => {
    expect(listFailure.message).toBe('ListTables failed: AccessDeniedException: =cmd|"/c calc"!A1, not authorized');
    expect(regionErrorMessage(partial.regionErrors[0]!)).toBe('=cmd|"/c calc"!A1, not authorized');
    expect(regionErrorMessage({ region: 'x', operation: 'ListTables', errorName: 'Boom', message: 'plain' })).toBe('plain');
  });

  it('csv: a REGION_NOT_SCANNED row first and a DELETED_DURING_SCAN row last, quoted and formula-guarded', () => {
    const text = renderCsv(partial);
    const rows = parseCsv(text);
    const col = (name: string) => CSV_COLUMNS.findIndex((c) => c.header === name);
    expect(rows).toHaveLength(1 + 1 + partial.findings.length + 1 + 1);
    rows.forEach((r) => expect(r).toHaveLength(CSV_COLUMNS.length));
    const region = rows[1]!;
    expect(region[col('status')]).toBe(REGION_NOT_SCANNED);
    expect(region[col('account_id')]).toBe('123456789012');
    expect(region[col('region')]).toBe('ap-east-1');
    expect(region[col('error_operation')]).toBe('ListTables');
    expect(region[col('error_name')]).toBe('AccessDeniedException');
    expect(region[col('error_message')]).toBe(`'=cmd|"/c calc"!A1, not authorized`);
    expect(region[col('message')]).toContain('ap-east-1 was not scanned');
    for (const c of ['table_name', 'table_arn', 'table_status', 'reasons', 'pitr_status', 'recovery_period_days', 'restorable_days', 'exemption_active']) {
      expect([c, region[col(c)]]).toEqual([c, '']);
    }
    expect(text).toContain(`"'=cmd|""/c calc""!A1, not authorized"`);
    expect(rows.slice(2, 2 + partial.findings.length).map((r) => r[col('table_name')])).toEqual(partial.findings.map((f) => f.tableName));
    const gone = rows.at(-1)!;
    expect([gone[col('status')], gone[col('region')], gone[col('table_name')], gone[col('pitr_status')]]).toEqual([DELETED_DURING_SCAN, 'eu-west-1', 'tmp-import', '']);
  });

  it('table: the Region line without the repeated error name, and the deleted table in the summary', () => {
    const out = renderTable(partial);
    expect(out).toContain('Region ap-east-1 NOT SCANNED: ListTables failed with AccessDeniedException: =cmd|"/c calc"!A1, not authorized\n');
    expect(summaryLine(partial)).toBe(
      '2 tables in 2 Regions of account 123456789012: 1 non-compliant, 0 error, 0 exempt, 1 compliant, 0 not applicable; 1 Region could not be scanned; 1 table deleted during the scan',
    );
    expect(out).toContain('Deleted while scanning (not evaluated): eu-west-1/tmp-import');
  });

  it('table: no tables found is said only of Regions that were listed', () => {
    const none = report([], { regions: ['eu-west-1', 'ap-east-1'], regionErrors: partial.regionErrors });
    expect(renderTable(none)).toContain('No tables found in eu-west-1.\n');
    const nothing = report([], { regions: ['ap-east-1'], regionErrors: partial.regionErrors });
    expect(renderTable(nothing)).toContain('No Region could be listed: nothing was evaluated.\n');
    expect(renderTable(nothing)).not.toContain('No tables found');
  });

  it('html: a warning block before the cards, cards for both, and a Compliant card that is not green', () => {
    const html = renderHtml(partial);
    const block = /<section class="incomplete" role="alert" data-testid="not-evaluated">([\s\S]*?)<\/section>/.exec(html)?.[1];
    expect(block).toBeDefined();
    expect(block).toContain('Incomplete report: 1 Region(s) not scanned, 1 table(s) deleted during the scan');
    expect(block).toContain('<strong>ap-east-1 was not scanned</strong>: ListTables failed with AccessDeniedException: =cmd|&quot;/c calc&quot;!A1, not authorized.');
    expect(block).toContain('eu-west-1/tmp-import was deleted while the scan ran');
    expect(html.indexOf('data-testid="not-evaluated"')).toBeLessThan(html.indexOf('aria-label="Summary"'));
    expect(html).toContain('data-testid="card-regionErrors" data-count="1"');
    expect(html).toContain('data-testid="card-vanished" data-count="1"');
    expect(html).toMatch(/class="card s-COMPLIANT partial" data-testid="card-compliant" data-count="1"><div class="n">1<\/div><div class="l">Compliant \(scanned Regions only\)/);
    expect(html).toContain('<dd data-testid="coverage"><span class="incomplete-flag">1 Region(s) not scanned, 1 table(s) deleted during the scan</span></dd>');
    expect(html).toContain('<title>INCOMPLETE PITR compliance report');
  });

  it('html: deleted tables alone are a softer notice; a complete report has none', () => {
    const html = renderHtml(report([t('eu-west-1', 'a')], { vanished: [{ region: 'eu-west-1', tableName: 'tmp' }] }));
    expect(html).toContain('<section class="incomplete only-vanished" role="alert" data-testid="not-evaluated"><h2>Not evaluated: 1 table(s) deleted during the scan</h2>');
    expect(html).toMatch(/class="card s-COMPLIANT" data-testid="card-compliant"/);
    const complete = renderHtml(sample);
    expect(complete).not.toContain('data-testid="not-evaluated"');
    expect(complete).not.toContain('card-regionErrors');
    expect(complete).not.toContain('card-vanished');
    expect(complete).toContain('<dd data-testid="coverage">complete</dd>');
  });
});
