import { CostSum, PITR_PRICES, PRICE_TABLE_DATE, costLine, costOf, costTotals, usd } from '../../lib/core/cost';
import { evaluate } from '../../lib/core/evaluate';
import { facts, NOW } from '../helpers/builders';

const policy = { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };
const GB = 1024 ** 3;

describe('PITR cost', () => {
  it('every listed price names its date and source', () => {
    for (const [region, p] of Object.entries(PITR_PRICES)) {
      expect(region).toMatch(/^[a-z]{2}(-[a-z]+)+-\d$/);
      expect(p.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(p.asOf <= PRICE_TABLE_DATE).toBe(true);
      expect(p.source.length).toBeGreaterThan(20);
    }
    expect(PITR_PRICES['us-west-2']?.usdPerGbMonth).toBe(0.2);
  });

  it('bills table size plus LSI size at the Region price', () => {
    expect(costOf({ region: 'us-west-2', tableSizeBytes: 10 * GB, lsiSizeBytes: 5 * GB })).toEqual({ tableSizeBytes: 10 * GB, lsiSizeBytes: 5 * GB, pitrMonthlyUsd: 3 });
    expect(costOf({ region: 'us-west-2', tableSizeBytes: GB / 2 })).toEqual({ tableSizeBytes: GB / 2, lsiSizeBytes: 0, pitrMonthlyUsd: 0.1 });
  });

  it('gives null, never a guess, for a Region without a sourced price or an unknown size', () => {
    expect(costOf({ region: 'us-east-1', tableSizeBytes: GB })).toEqual({ tableSizeBytes: GB, lsiSizeBytes: 0, pitrMonthlyUsd: null });
    expect(costOf({ region: 'us-west-2' })).toEqual({ tableSizeBytes: null, lsiSizeBytes: null, pitrMonthlyUsd: null });
    expect(costOf({ region: 'constructor', tableSizeBytes: GB }).pitrMonthlyUsd).toBeNull();
  });

  it('every finding carries cost, ERROR and NOT_APPLICABLE ones too', () => {
    const error = evaluate(facts({ region: 'us-west-2', error: { operation: 'DescribeTable', errorName: 'AccessDeniedException', message: 'no' } }), policy, NOW);
    expect(error.cost).toEqual({ tableSizeBytes: null, lsiSizeBytes: null, pitrMonthlyUsd: null });
    const na = evaluate(facts({ region: 'us-west-2', tableStatus: 'DELETING', tableSizeBytes: GB }), policy, NOW);
    expect(na.cost).toEqual({ tableSizeBytes: GB, lsiSizeBytes: 0, pitrMonthlyUsd: 0.2 });
    const ok = evaluate(facts({ region: 'us-west-2', tableSizeBytes: 2 * GB, lsiSizeBytes: GB }), policy, NOW);
    expect(ok.cost).toEqual({ tableSizeBytes: 2 * GB, lsiSizeBytes: GB, pitrMonthlyUsd: 0.6 });
  });

  it('totals what PITR costs now and what enabling it on non-compliant tables adds; unpriced tables are counted', () => {
    const findings = [
      evaluate(facts({ tableName: 'on', region: 'us-west-2', tableSizeBytes: 10 * GB }), policy, NOW),
      evaluate(facts({ tableName: 'short', region: 'us-west-2', tableSizeBytes: 5 * GB, pitr: { status: 'ENABLED', recoveryPeriodInDays: 7 } }), policy, NOW),
      evaluate(facts({ tableName: 'off', region: 'us-west-2', tableSizeBytes: 20 * GB, pitr: { status: 'DISABLED' } }), policy, NOW),
      evaluate(facts({ tableName: 'off-east', region: 'us-east-1', tableSizeBytes: GB, pitr: { status: 'DISABLED' } }), policy, NOW),
      evaluate(facts({ tableName: 'exempt', region: 'us-west-2', tableSizeBytes: GB, pitr: { status: 'DISABLED' }, tags: { 'pitr-guard:exempt': 'cache' } }), policy, NOW),
    ];
    const totals = costTotals(findings);
    expect(totals).toEqual({ currentMonthlyUsd: 3, toEnableMonthlyUsd: 4, tablesWithoutPrice: 1, regionsWithoutPrice: ['us-east-1'], priceTableDate: PRICE_TABLE_DATE });
    expect(costLine(totals)).toBe(`PITR cost (estimate, prices of ${PRICE_TABLE_DATE}): $3.00/month now; enabling it on every non-compliant table would add $4.00/month; 1 table not priced (no price for us-east-1).`);
    const sum = new CostSum();
    for (const f of findings) sum.add(f);
    expect(sum.totals()).toEqual(totals);
  });

  it('a finding without cost (another branch) counts as unpriced, not as zero', () => {
    const f = evaluate(facts({ region: 'us-west-2', pitr: { status: 'DISABLED' } }), policy, NOW);
    delete f.cost;
    expect(costTotals([f])).toMatchObject({ tablesWithoutPrice: 1, regionsWithoutPrice: [], toEnableMonthlyUsd: 0 });
  });

  it('prints small amounts to a hundredth of a cent', () => {
    expect(usd(0.0012)).toBe('$0.0012');
    expect(usd(12.345)).toBe('$12.35');
    expect(usd(0)).toBe('$0.00');
    expect(usd(null)).toBe('-');
  });
});
