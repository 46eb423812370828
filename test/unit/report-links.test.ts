/** Cost, restore source and replica set in the table, CSV and HTML formats, from one linked report. */
import type { ScanReport } from '../../lib/aws/scan';
import { costTotals } from '../../lib/core/cost';
import { evaluate } from '../../lib/core/evaluate';
import { linkFindings } from '../../lib/core/links';
import { sortFindings, summarize } from '../../lib/core/summary';
import type { TableFacts } from '../../lib/core/types';
import { CSV_COLUMNS, COST_TOTALS, renderCsv } from '../../lib/report/csv';
import { renderHtml } from '../../lib/report/html';
import { renderTable } from '../../lib/report/table';
import { facts, NOW } from '../helpers/builders';
import { parseCsv } from '../helpers/csv';

function parse(text: string): Record<string, string>[] {
  const [head, ...rows] = parseCsv(text);
  return rows.map((r) => Object.fromEntries((head ?? []).map((h, i) => [h, r[i] ?? ''])));
}

const policy = { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };
const GIB = 1024 ** 3;
const arn = (region: string, name: string) => `arn:aws:dynamodb:${region}:123456789012:table/${name}`;
const replicas = [{ regionName: 'us-west-2' }, { regionName: 'eu-west-1' }];
const ev = (region: string, tableName: string, over: Partial<TableFacts> = {}) => evaluate(facts({ region, tableName, tableArn: arn(region, tableName), tableSizeBytes: GIB, ...over }), policy, NOW);

function report(): ScanReport {
  const findings = sortFindings(
    linkFindings([
      ev('us-west-2', 'orders', { replicas, globalTableVersion: '2019.11.21' }),
      ev('eu-west-1', 'orders', { replicas, globalTableVersion: '2019.11.21', pitr: { status: 'DISABLED' } }),
      ev('us-west-2', 'orders-copy', { pitr: { status: 'DISABLED' }, restoreSummary: { sourceTableArn: arn('us-west-2', 'orders'), restoreDateTime: new Date('2026-11-20T00:00:00Z') } }),
    ]),
  );
  const summary = summarize(findings);
  return {
    generatedAt: NOW.toISOString(),
    accountId: '123456789012',
    accounts: [{ accountId: '123456789012', status: 'SCANNED', regions: ['eu-west-1', 'us-west-2'], summary }],
    accountErrors: [],
    regions: ['eu-west-1', 'us-west-2'],
    policy,
    summary,
    cost: costTotals(findings),
    findings,
    vanished: [],
    regionErrors: [],
    regionSummaries: [],
    shardErrors: [],
  };
}

describe('cost, restore and replica sets in every format', () => {
  it('table: the cost column and line, one line per replica set, one per restored table', () => {
    const text = renderTable(report());
    expect(text.split('\n')[0]).toMatch(/\bPITR\/MONTH\b/);
    expect(text).toMatch(/COMPLIANT\s+us-west-2\s+orders\s+.*\$0\.20/);
    expect(text).toContain('PITR cost (estimate, prices of 2026-12-02): $0.20/month now; enabling it on every non-compliant table would add $0.20/month; 1 table not priced (no price for eu-west-1).');
    expect(text.match(/^Global table /gm)).toHaveLength(1);
    expect(text).toContain('Global table 123456789012:orders@eu-west-1+us-west-2 (2019.11.21): NOT compliant: eu-west-1 NON_COMPLIANT, us-west-2 COMPLIANT');
    expect(text).toContain(`Restored table us-west-2/orders-copy: restored from table ${arn('us-west-2', 'orders')} at 2026-11-20T00:00:00.000Z (source COMPLIANT)`);
  });

  it('csv: the columns per finding and the COST_TOTALS row', () => {
    const rows = parse(renderCsv(report()));
    expect(Object.keys(rows[0]!)).toEqual(CSV_COLUMNS.map((c) => c.header));
    const copy = rows.find((r) => r.table_name === 'orders-copy')!;
    expect([copy.restore_source_table_arn, copy.restore_source_status, copy.pitr_monthly_usd, copy.table_size_bytes]).toEqual([arn('us-west-2', 'orders'), 'COMPLIANT', '0.2', String(GIB)]);
    const eu = rows.find((r) => r.region === 'eu-west-1')!;
    expect([eu.replica_set_id, eu.replica_set_compliant, eu.replica_set_replicas, eu.pitr_monthly_usd]).toEqual(['123456789012:orders@eu-west-1+us-west-2', 'false', 'eu-west-1=NON_COMPLIANT;us-west-2=COMPLIANT', '']);
    const total = rows.find((r) => r.status === COST_TOTALS)!;
    expect(total.pitr_monthly_usd).toBe('0.2');
    expect(rows.at(-1)).toBe(total);
  });

  it('html: the cost section, the restore line, replica badges and each row’s estimate, all escaped', () => {
    const html = renderHtml(report());
    expect(html).toContain('data-testid="cost-totals" data-current="0.2" data-to-enable="0.2"');
    expect(html).toContain('no price for eu-west-1');
    expect(html).toContain('data-testid="replica-set" data-set="123456789012:orders@eu-west-1+us-west-2" data-compliant="false"');
    expect(html).toContain('data-replica="123456789012/eu-west-1">eu-west-1 NON_COMPLIANT</span>');
    expect(html).toContain(`data-testid="restore">Restored from table ${arn('us-west-2', 'orders')} at 2026-11-20T00:00:00.000Z (source COMPLIANT)`);
    expect(html.match(/data-testid="cost">/g)).toHaveLength(3);
    expect(html).toContain('PITR estimate: $0.20/month');
  });

  it('a report built without cost (another path) still shows totals summed from its findings', () => {
    const r = report();
    delete r.cost;
    expect(renderTable(r)).toContain('$0.20/month now');
    expect(renderHtml(r)).toContain('data-testid="cost-totals"');
  });
});
