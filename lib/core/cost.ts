/**
 * What PITR costs, as pure functions: a dated price table per Region (USD per GB-month of PITR
 * storage), a table's estimated monthly cost, and the report's totals.
 *
 * Billing basis (DynamoDB developer guide, PITR "Before you begin", and the usage type
 * `<REGIONPREFIX>-TimedPITRStorage-ByteHrs`): table size plus the size of its local secondary
 * indexes, per GB-month, the same for any recovery period from 1 to 35 days. GSIs are not part of
 * it. GB here is 2^30 bytes (AWS's storage billing unit). TableSizeBytes is updated by DynamoDB about
 * every six hours, so the figure is an estimate of the current month, not a bill.
 *
 * Only sourced prices are listed: a Region without one gets `pitrMonthlyUsd: null` and the reports
 * say "no price for <region>"; nothing is guessed (docs/cost.md lists what is missing and why).
 */
import type { Finding, FindingCost, TableFacts } from './types';

export interface RegionPrice {
  /** USD per GB-month of PITR storage. */
  usdPerGbMonth: number;
  /** The day the price was read from its source (YYYY-MM-DD). */
  asOf: string;
  /** Where the price comes from. */
  source: string;
}

/** The newest `asOf` in the table: what the reports print as the price table's date. */
export const PRICE_TABLE_DATE = '2026-12-02';

/**
 * The price table. us-east-1 ($0.20 is the commonly listed figure) is deliberately absent: the
 * only place it was seen is a test fixture, which is not a source (docs/cost.md).
 */
export const PITR_PRICES: Readonly<Record<string, RegionPrice>> = {
  'us-west-2': {
    usdPerGbMonth: 0.2,
    asOf: '2026-12-02',
    source: 'AWS Price List API, service AmazonDynamoDB, SKU UKQHCFER4QFSMKMD, usage type USW2-TimedPITRStorage-ByteHrs: USD 0.2000000000 per GB-Mo',
  },
};

const GB = 1024 ** 3;
/** Costs are kept to a hundredth of a cent. */
const round = (usd: number) => Math.round(usd * 10_000) / 10_000;

export function priceFor(region: string, prices: Readonly<Record<string, RegionPrice>> = PITR_PRICES): RegionPrice | undefined {
  return Object.prototype.hasOwnProperty.call(prices, region) ? prices[region] : undefined;
}

/** The table's size and estimated monthly PITR cost (null where the size or the Region's price is unknown). */
export function costOf(facts: Pick<TableFacts, 'region' | 'tableSizeBytes' | 'lsiSizeBytes'>, prices: Readonly<Record<string, RegionPrice>> = PITR_PRICES): FindingCost {
  const tableSizeBytes = facts.tableSizeBytes ?? null;
  const lsiSizeBytes = tableSizeBytes === null ? (facts.lsiSizeBytes ?? null) : (facts.lsiSizeBytes ?? 0);
  const price = priceFor(facts.region, prices);
  const pitrMonthlyUsd = price && tableSizeBytes !== null ? round(((tableSizeBytes + (lsiSizeBytes ?? 0)) / GB) * price.usdPerGbMonth) : null;
  return { tableSizeBytes, lsiSizeBytes, pitrMonthlyUsd };
}

/** The report's cost totals (ScanReport.cost). */
export interface CostTotals {
  /** What PITR costs per month now: every table whose PITR is ENABLED (any finding status). */
  currentMonthlyUsd: number;
  /** What enabling PITR on every NON_COMPLIANT table without it would add per month. */
  toEnableMonthlyUsd: number;
  /** Tables counted in either total whose cost is unknown (no price for the Region, or no size): the totals leave them out. */
  tablesWithoutPrice: number;
  /** The Regions of those tables that have no price in the table (sorted). */
  regionsWithoutPrice: string[];
  /** PRICE_TABLE_DATE. */
  priceTableDate: string;
}

/** Which total a finding counts in, if any. */
export function costBucket(f: Pick<Finding, 'status' | 'pitr'>): 'current' | 'toEnable' | undefined {
  if (f.pitr.status === 'ENABLED') return 'current';
  if (f.status === 'NON_COMPLIANT') return 'toEnable';
  return undefined;
}

/** Sums only (bounded memory: the Organization aggregate adds one finding at a time). */
export class CostSum {
  private current = 0;
  private toEnable = 0;
  private withoutPrice = 0;
  private readonly regions = new Set<string>();

  add(f: Pick<Finding, 'status' | 'pitr' | 'region' | 'cost'>): void {
    const bucket = costBucket(f);
    if (!bucket) return;
    const usd = f.cost?.pitrMonthlyUsd ?? null;
    if (usd === null) {
      this.withoutPrice++;
      if (!priceFor(f.region)) this.regions.add(f.region);
      return;
    }
    if (bucket === 'current') this.current += usd;
    else this.toEnable += usd;
  }

  totals(): CostTotals {
    return {
      currentMonthlyUsd: round(this.current),
      toEnableMonthlyUsd: round(this.toEnable),
      tablesWithoutPrice: this.withoutPrice,
      regionsWithoutPrice: [...this.regions].sort(),
      priceTableDate: PRICE_TABLE_DATE,
    };
  }
}

export function costTotals(findings: Iterable<Pick<Finding, 'status' | 'pitr' | 'region' | 'cost'>>): CostTotals {
  const sum = new CostSum();
  for (const f of findings) sum.add(f);
  return sum.totals();
}

/** "$12.34", "$0.0012", "-" for unknown. */
export function usd(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  return value >= 0.01 || value === 0 ? `$${value.toFixed(2)}` : `$${value.toFixed(4)}`;
}

/** One line for every report format: today's cost, what enabling would add, what has no price. */
export function costLine(c: CostTotals): string {
  const missing = c.tablesWithoutPrice
    ? `; ${c.tablesWithoutPrice} table${c.tablesWithoutPrice === 1 ? '' : 's'} not priced${c.regionsWithoutPrice.length ? ` (no price for ${c.regionsWithoutPrice.join(', ')})` : ' (size unknown)'}`
    : '';
  return `PITR cost (estimate, prices of ${c.priceTableDate}): ${usd(c.currentMonthlyUsd)}/month now; enabling it on every non-compliant table would add ${usd(c.toEnableMonthlyUsd)}/month${missing}.`;
}
