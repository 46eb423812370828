/**
 * Counting and ordering findings: the report's summaries and its worst-first order. Pure, shared
 * by the scan (lib/aws/scan.ts re-exports all of it), the Organization aggregate (which must not
 * bundle the scan's AWS code) and the renderers.
 */
import { FINDING_STATUSES, type Finding } from './types';

export interface ScanSummary {
  total: number;
  compliant: number;
  nonCompliant: number;
  exempt: number;
  notApplicable: number;
  error: number;
}

/**
 * Counts per Region: one entry per Region of the report without `accountId` (all accounts
 * together, Region order), then, in a multi-account report, one per (account, Region) read, with
 * its `accountId` (account, then Region order).
 */
export interface RegionSummary {
  accountId?: string;
  region: string;
  summary: ScanSummary;
}

export const emptySummary = (): ScanSummary => ({ total: 0, compliant: 0, nonCompliant: 0, exempt: 0, notApplicable: 0, error: 0 });

/** Adds one finding's status to a summary (the one place a status maps to its counter). */
export function countFinding(s: ScanSummary, status: Finding['status']): void {
  s.total++;
  if (status === 'COMPLIANT') s.compliant++;
  else if (status === 'NON_COMPLIANT') s.nonCompliant++;
  else if (status === 'EXEMPT') s.exempt++;
  else if (status === 'NOT_APPLICABLE') s.notApplicable++;
  else s.error++;
}

/**
 * The report's regionSummaries from its findings: every Region in `regions` (and any a finding
 * names) gets an entry, zero counts included; `perAccount` adds one per (account, Region) seen.
 */
export function regionSummaries(findings: readonly Finding[], regions: readonly string[], perAccount: boolean, accountRegions: readonly { accountId: string; region: string }[] = []): RegionSummary[] {
  const byRegion = new Map<string, ScanSummary>(regions.map((r) => [r, emptySummary()]));
  const byPair = new Map<string, RegionSummary>();
  for (const p of accountRegions) byPair.set(`${p.accountId}/${p.region}`, { accountId: p.accountId, region: p.region, summary: emptySummary() });
  for (const f of findings) {
    let r = byRegion.get(f.region);
    if (!r) byRegion.set(f.region, (r = emptySummary()));
    countFinding(r, f.status);
    if (!perAccount) continue;
    const key = `${f.accountId}/${f.region}`;
    let p = byPair.get(key);
    if (!p) byPair.set(key, (p = { accountId: f.accountId, region: f.region, summary: emptySummary() }));
    countFinding(p.summary, f.status);
  }
  const totals = [...byRegion.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([region, summary]) => ({ region, summary }));
  const pairs = [...byPair.values()].sort((a, b) => (a.accountId as string).localeCompare(b.accountId as string) || a.region.localeCompare(b.region));
  return [...totals, ...pairs];
}

export function summarize(findings: readonly Finding[]): ScanSummary {
  const s = emptySummary();
  for (const f of findings) countFinding(s, f.status);
  return s;
}

const RANK = new Map(FINDING_STATUSES.map((s, i) => [s, i]));

/** The report's order: worst status first, then account, Region and table name. */
export function compareFindings(a: Finding, b: Finding): number {
  return (RANK.get(a.status) ?? 99) - (RANK.get(b.status) ?? 99) || a.accountId.localeCompare(b.accountId) || a.region.localeCompare(b.region) || a.tableName.localeCompare(b.tableName);
}

export function sortFindings(findings: Finding[]): Finding[] {
  return findings.sort(compareFindings);
}

/** True when the report shows anything a security team must look at: drift or blind spots. */
export function hasProblems(report: { summary: ScanSummary; regionErrors: readonly unknown[]; accountErrors?: readonly unknown[]; shardErrors?: readonly unknown[] }): boolean {
  return (
    report.summary.nonCompliant > 0 ||
    report.summary.error > 0 ||
    report.regionErrors.length > 0 ||
    (report.accountErrors?.length ?? 0) > 0 ||
    (report.shardErrors?.length ?? 0) > 0
  );
}
