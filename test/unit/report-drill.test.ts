/**
 * "Last successful drill" (Finding.lastDrill): read back by the scan's ledger write from the item
 * it returns anyway (ALL_NEW on the steady state, ALL_OLD on a failed condition: no extra call),
 * and shown in every format: JSON (the field), table (a LAST DRILL column, only when some table
 * has one), CSV (last_drill), HTML (a detail line).
 */
import { ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { evaluate } from '../../lib/core/evaluate';
import type { DrillRecord, Finding } from '../../lib/core/types';
import { regionSummaries, sortFindings, summarize, type ScanReport } from '../../lib/aws/scan';
import { CSV_COLUMNS, renderCsv } from '../../lib/report/csv';
import { renderHtml } from '../../lib/report/html';
import { renderJson } from '../../lib/report/json';
import { drillText, renderTable } from '../../lib/report/table';
import { FindingsLedger } from '../../lib/state/ledger';
import { NOW, facts } from '../helpers/builders';

const ddb = mockClient(DynamoDBClient);
const POLICY = { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };
const ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/prod-orders';
const DRILL = { drillId: 'd-7', at: '2026-11-30T04:10:00.000Z', restoreSeconds: 236.4, restorePoint: '2026-11-30T04:00:00.000Z' };
const RECORD: Partial<DrillRecord> = { drillId: 'd-7', finishedAt: DRILL.at, restoreSeconds: 236.4, restorePoint: DRILL.restorePoint, outcome: 'PASSED' };

function report(withDrill: boolean): ScanReport {
  const findings = sortFindings([
    evaluate(facts({ region: 'eu-west-1', tableName: 'prod-orders', tableArn: ARN }), POLICY, NOW),
    evaluate(facts({ region: 'eu-west-1', tableName: 'prod-carts', tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/prod-carts' }), POLICY, NOW),
  ]);
  if (withDrill) findings.find((f) => f.tableName === 'prod-orders')!.lastDrill = DRILL;
  const accountId = '123456789012';
  return { generatedAt: NOW.toISOString(), accountId, accounts: [{ accountId, status: 'SCANNED' }], accountErrors: [], regions: ['eu-west-1'], policy: POLICY, summary: summarize(findings), findings, vanished: [], regionErrors: [], regionSummaries: regionSummaries(findings, ['eu-west-1'], false), shardErrors: [] };
}

beforeEach(() => ddb.reset());

describe('the ledger write returns the last successful drill without an extra call', () => {
  const finding = (): Finding => evaluate(facts({ region: 'eu-west-1', tableName: 'prod-orders', tableArn: ARN }), POLICY, NOW);
  const run = { runId: 'r', seenAt: NOW.toISOString() };

  it('steady state: from the ALL_NEW attributes of the one UpdateItem', async () => {
    ddb.on(UpdateItemCommand).resolves({ Attributes: { since: { S: '2026-11-01T00:00:00.000Z' }, lastSuccessfulDrill: { S: JSON.stringify(RECORD) } } });
    const out = await new FindingsLedger(new DynamoDBClient({ region: 'eu-west-1' }), 'ledger').write([finding()], run);
    expect(out.since.get(ARN)).toEqual({ status: 'COMPLIANT', since: '2026-11-01T00:00:00.000Z', lastDrill: DRILL });
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(1);
  });

  it('status changed: from the ALL_OLD item the failed condition returns', async () => {
    ddb.on(UpdateItemCommand)
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'no', $metadata: {}, Item: { tableArn: { S: ARN }, status: { S: 'NON_COMPLIANT' }, lastSeen: { S: '2026-11-01T00:00:00.000Z' }, lastSuccessfulDrill: { S: JSON.stringify(RECORD) } } }))
      .resolves({});
    const out = await new FindingsLedger(new DynamoDBClient({ region: 'eu-west-1' }), 'ledger').write([finding()], run);
    expect(out.since.get(ARN)?.lastDrill).toEqual(DRILL);
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(2);
  });

  it('no drill recorded (or a malformed one): no lastDrill', async () => {
    ddb.on(UpdateItemCommand).resolves({ Attributes: { since: { S: '2026-11-01T00:00:00.000Z' }, lastSuccessfulDrill: { S: '{oops' } } });
    const out = await new FindingsLedger(new DynamoDBClient({ region: 'eu-west-1' }), 'ledger').write([finding()], run);
    expect(out.since.get(ARN)).toEqual({ status: 'COMPLIANT', since: '2026-11-01T00:00:00.000Z' });
  });
});

describe('"last drill" in every format', () => {
  it('json: the lastDrill field', () => {
    const f = JSON.parse(renderJson(report(true))).findings.find((x: Finding) => x.tableName === 'prod-orders');
    expect(f.lastDrill).toEqual(DRILL);
    expect(JSON.parse(renderJson(report(false))).findings.some((x: Finding) => 'lastDrill' in x)).toBe(false);
  });

  it('table: a LAST DRILL column before REASONS, only when some table has a drill', () => {
    const text = renderTable(report(true));
    expect(text.split('\n')[0]).toMatch(/RESTORABLE\s+PITR\/MONTH\s+LAST DRILL\s+REASONS$/);
    expect(text).toMatch(/prod-orders .* 2026-11-30 04:10 UTC, restored in 236.4 s\s+PITR_ENABLED/);
    expect(text).toMatch(/prod-carts .* -\s+PITR_ENABLED/);
    expect(renderTable(report(false))).not.toContain('LAST DRILL');
    expect(drillText({ lastDrill: { ...DRILL, at: 'nope' } })).toBeUndefined();
  });

  it('csv: the last_drill column (when it finished, ISO), empty when none is known', () => {
    const col = CSV_COLUMNS.findIndex((c) => c.header === 'last_drill');
    expect(col).toBe(CSV_COLUMNS.length - 1);
    const rows = renderCsv(report(true)).trimEnd().split('\r\n').map((r) => r.split(','));
    expect(rows[0]![col]).toBe('last_drill');
    expect(Object.fromEntries(rows.slice(1).filter((r) => r[5] !== 'COST_TOTALS').map((r) => [r[2], r[col]]))).toEqual({ 'prod-orders': DRILL.at, 'prod-carts': '' });
  });

  it('html: a detail line on the row', () => {
    const html = renderHtml(report(true));
    expect(html).toContain('<div class="msg drill" data-testid="last-drill">Last successful restore drill: 2026-11-30 04:10 UTC, restored in 236.4 s</div>');
    expect(renderHtml(report(false))).not.toContain('data-testid="last-drill"');
  });
});
