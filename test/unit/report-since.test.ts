/**
 * "non-compliant since …" from the findings ledger (Finding.since) in every format: JSON (the
 * field), table, CSV (status_since), HTML, the log line (test/unit/scheduled-scan.test.ts) and the
 * alert digest; absent without a ledger.
 */
import { evaluate } from '../../lib/core/evaluate';
import { CSV_COLUMNS, renderCsv } from '../../lib/report/csv';
import { renderHtml } from '../../lib/report/html';
import { renderJson } from '../../lib/report/json';
import { renderTable, sinceText } from '../../lib/report/table';
import { digestItems } from '../../lib/notify/digest';
import { regionSummaries, sortFindings, summarize, type ScanReport } from '../../lib/aws/scan';
import type { Finding } from '../../lib/core/types';
import { NOW, facts } from '../helpers/builders';

const POLICY = { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };
const SINCE = '2026-11-03T08:15:42.000Z';

function report(withSince: boolean): ScanReport {
  const findings = sortFindings([
    evaluate(facts({ region: 'eu-west-1', tableName: 'prod-payments', tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/prod-payments', pitr: { status: 'DISABLED' } }), POLICY, NOW),
    evaluate(facts({ region: 'eu-west-1', tableName: 'prod-orders', tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/prod-orders' }), POLICY, NOW),
  ]);
  if (withSince) for (const f of findings) f.since = f.status === 'NON_COMPLIANT' ? SINCE : '2026-10-01T00:00:00.000Z';
  const accountId = '123456789012';
  return { generatedAt: NOW.toISOString(), accountId, accounts: [{ accountId, status: 'SCANNED' }], accountErrors: [], regions: ['eu-west-1'], policy: POLICY, summary: summarize(findings), findings, vanished: [], regionErrors: [], regionSummaries: regionSummaries(findings, ['eu-west-1'], false), shardErrors: [] };
}

const dated = report(true);
const undated = report(false);
const TEXT = 'non-compliant since 2026-11-03 08:15 UTC';

describe('sinceText', () => {
  it('dates only NON_COMPLIANT findings that carry since, to the minute in UTC', () => {
    expect(dated.findings.map((f) => [f.tableName, sinceText(f)])).toEqual([
      ['prod-payments', TEXT],
      ['prod-orders', undefined],
    ]);
    expect(undated.findings.map(sinceText)).toEqual([undefined, undefined]);
    expect(sinceText({ status: 'NON_COMPLIANT', since: 'not a date' })).toBeUndefined();
  });
});

describe('every format', () => {
  it('json: the since field of each finding', () => {
    expect(JSON.parse(renderJson(dated)).findings.map((f: Finding) => [f.tableName, f.since])).toEqual([
      ['prod-payments', SINCE],
      ['prod-orders', '2026-10-01T00:00:00.000Z'],
    ]);
    expect(JSON.parse(renderJson(undated)).findings.map((f: Finding) => 'since' in f)).toEqual([false, false]);
  });

  it('table: after the reasons of the non-compliant row', () => {
    const row = renderTable(dated).split('\n').find((l) => l.includes('prod-payments'));
    expect(row).toMatch(new RegExp(`PITR_DISABLED \\(${TEXT}\\)$`));
    expect(renderTable(undated)).not.toContain('since');
  });

  it('csv: the status_since column (ISO), empty without a ledger', () => {
    const col = CSV_COLUMNS.findIndex((c) => c.header === 'status_since');
    expect(col).toBe(CSV_COLUMNS.length - 2); // then last_drill (test/unit/report-drill.test.ts)
    const rows = renderCsv(dated).trimEnd().split('\r\n').map((r) => r.split(','));
    expect(rows.slice(1).map((r) => [r[2], r[col]])).toEqual([
      ['prod-payments', SINCE],
      ['prod-orders', '2026-10-01T00:00:00.000Z'],
    ]);
    expect(renderCsv(undated).trimEnd().split('\r\n').slice(1).map((r) => r.split(',')[col])).toEqual(['', '']);
  });

  it('html: a line under the non-compliant row’s message', () => {
    const html = renderHtml(dated);
    expect(html.match(/<div class="msg since" data-testid="since">[^<]*<\/div>/g)).toEqual([`<div class="msg since" data-testid="since">Non-compliant since 2026-11-03 08:15 UTC</div>`]);
    expect(renderHtml(undated)).not.toContain('data-testid="since"');
  });

  it('digest: after what is wrong with the table', () => {
    const before = dated.findings[0]!;
    const outcome = { accountId: '123456789012', region: 'eu-west-1', tableName: 'prod-payments', result: 'SKIPPED_MODE' as const, before, message: 'alert only', mode: 'alert' as const, attempts: 0, waitedMs: 0 };
    const items = digestItems({ report: dated, outcomes: [outcome], mode: 'alert', dryRun: false, includeErrors: false });
    expect(items.map((i) => i.plain)).toEqual([`prod-payments (eu-west-1): PITR not enabled (${TEXT}); alert only, not changed`]);
  });
});
