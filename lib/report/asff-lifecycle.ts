/**
 * The decisions of a Security Hub sync, pure: given what Security Hub holds for a table (the
 * finding pitr-guard imported before, read back with GetFindings) and this run's finding, whether
 * to re-import it and with which UpdatedAt; and the ARCHIVED record of a table that is gone.
 * lib/aws/security-hub.ts does the calls. Rules (docs/security-hub.md):
 *
 * - Re-import when there is no stored finding, when its fingerprint (status, reasons, PITR state,
 *   exemption, required period: lib/report/asff.ts `fingerprintOf`) or Compliance.Status differs,
 *   or when it was last updated REFRESH_DAYS or more ago (Security Hub deletes a finding 90 days
 *   after its last update).
 * - UpdatedAt is the run's time, or 1 ms after the stored UpdatedAt when that is not earlier:
 *   Security Hub silently ignores an import whose UpdatedAt is not newer than the stored one.
 * - A table gone from a Region that was listed: the stored record is re-imported with RecordState
 *   ARCHIVED, Compliance NOT_AVAILABLE (reason TABLE_NOT_FOUND) and a newer UpdatedAt.
 */
import type { AwsSecurityFinding } from '@aws-sdk/client-securityhub';
import { FIELD_PREFIX, GENERATOR_ID, cut, LIMITS } from './asff';
import { parseTableArn } from '../core/ids';

/** Re-import an unchanged finding after this many days (well inside Security Hub's 90-day expiry). */
export const REFRESH_DAYS = 30;
const DAY_MS = 86_400_000;

export const FINGERPRINT_FIELD = `${FIELD_PREFIX}Fingerprint`;

/** The UpdatedAt a re-import must carry: `at`, or 1 ms after `stored` when `stored` is not earlier. */
export function nextUpdatedAt(at: string, stored: string | undefined): string {
  const atMs = Date.parse(at);
  const storedMs = stored === undefined ? NaN : Date.parse(stored);
  if (Number.isNaN(storedMs) || storedMs < atMs) return new Date(atMs).toISOString();
  return new Date(storedMs + 1).toISOString();
}

/** Whether this run's record must be imported over the stored one (undefined = none stored). */
export function needsImport(next: AwsSecurityFinding, stored: AwsSecurityFinding | undefined, at: string, refreshDays = REFRESH_DAYS): boolean {
  if (!stored) return true;
  if (stored.RecordState !== 'ACTIVE') return true;
  if ((stored.ProductFields ?? {})[FINGERPRINT_FIELD] !== (next.ProductFields ?? {})[FINGERPRINT_FIELD]) return true;
  if (stored.Compliance?.Status !== next.Compliance?.Status) return true;
  const updated = Date.parse(stored.UpdatedAt ?? '');
  return Number.isNaN(updated) || Date.parse(at) - updated >= refreshDays * DAY_MS;
}

/** Whether a record GetFindings returned is one of pitr-guard's own active findings of this account and Region. */
export function isOwnActive(f: AwsSecurityFinding, accountId: string, region: string): boolean {
  if (f.GeneratorId !== GENERATOR_ID || f.AwsAccountId !== accountId || f.RecordState !== 'ACTIVE') return false;
  const where = f.Region ?? f.Resources?.[0]?.Region;
  return where === undefined || where === region;
}

/**
 * The ARCHIVED record of a finding whose table is no longer in the Region's listing: the stored
 * record's provider fields (what BatchImportFindings accepts), marked as gone.
 */
export function archivedRecord(stored: AwsSecurityFinding, at: string, scanned: string): AwsSecurityFinding {
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(stored.ProductFields ?? {})) if (k.startsWith(FIELD_PREFIX)) fields[k] = v;
  fields[`${FIELD_PREFIX}Status`] = 'TABLE_NOT_FOUND';
  const why = `The table was not found when pitr-guard listed ${scanned} at ${at} (deleted): its finding is archived.`;
  const severity = { Label: 'INFORMATIONAL' as const, Original: 'TABLE_NOT_FOUND' };
  return {
    SchemaVersion: stored.SchemaVersion,
    Id: stored.Id,
    ProductArn: stored.ProductArn,
    GeneratorId: stored.GeneratorId,
    AwsAccountId: stored.AwsAccountId,
    ...(stored.ProductName ? { ProductName: stored.ProductName } : {}),
    ...(stored.CompanyName ? { CompanyName: stored.CompanyName } : {}),
    ...(stored.Types ? { Types: stored.Types } : {}),
    CreatedAt: stored.CreatedAt,
    UpdatedAt: nextUpdatedAt(at, stored.UpdatedAt),
    Severity: { ...severity, Normalized: 0 },
    FindingProviderFields: { Severity: severity, ...(stored.Types ? { Types: stored.Types } : {}) },
    Title: stored.Title,
    Description: cut(`${why} ${stored.Description ?? ''}`, LIMITS.description),
    ...(stored.Remediation ? { Remediation: stored.Remediation } : {}),
    ProductFields: fields,
    Resources: (stored.Resources ?? []).map((r) => ({
      Type: r.Type,
      Id: r.Id,
      ...(r.Partition ? { Partition: r.Partition } : {}),
      ...(r.Region ? { Region: r.Region } : {}),
      ...(r.Tags ? { Tags: r.Tags } : {}),
      ...(r.Details ? { Details: r.Details } : {}),
    })),
    Compliance: { Status: 'NOT_AVAILABLE', StatusReasons: [{ ReasonCode: 'TABLE_NOT_FOUND', Description: why }] },
    RecordState: 'ARCHIVED',
  };
}

/**
 * Whether a stored finding with no finding in this run's part may be archived: not when its table
 * is in `listed` (a Region read in several parts: every table name the final part's full listing
 * holds, read by an earlier part). Without `listed`, every such finding may (as before).
 */
export function archivable(stored: AwsSecurityFinding, listed: ReadonlySet<string> | undefined): boolean {
  if (!listed) return true;
  const name = parseTableArn(stored.Resources?.[0]?.Id ?? '')?.tableName ?? parseTableArn((stored.Id ?? '').replace(`/${GENERATOR_ID}`, ''))?.tableName;
  return name === undefined || !listed.has(name);
}
