/**
 * A finding as an AWS Security Finding Format (ASFF) record, the shape BatchImportFindings takes
 * (Security Hub CSPM, schema 2018-10-08). Pure: (finding, run context) → AwsSecurityFinding.
 * `pitr-guard scan --format asff` prints the array; lib/aws/security-hub.ts imports it.
 *
 * The finding is one control, "pitr-guard DynamoDB PITR policy", one record per table: its Id is
 * `<tableArn>/pitr-guard/dynamodb-pitr` and its GeneratorId `pitr-guard/dynamodb-pitr`, so it never
 * collides with Security Hub's own control DynamoDB.2 ("DynamoDB tables should have point-in-time
 * recovery enabled"), and its Title starts with "pitr-guard:" so triage tells them apart.
 * Mapping (docs/security-hub.md):
 *
 *   status          Compliance.Status  Severity
 *   NON_COMPLIANT   FAILED             HIGH (70); CRITICAL (90) with REPEATEDLY_DISABLED; MEDIUM (40) for RECOVERY_PERIOD_TOO_SHORT only
 *   ERROR           NOT_AVAILABLE      MEDIUM (40): a table nobody can vouch for
 *   COMPLIANT       PASSED             INFORMATIONAL (0); WARNING + LOW (20) with RESTORE_WINDOW_NOT_FULL
 *   EXEMPT          WARNING            LOW (20): accepted by a tag with a reason, not verified
 *   NOT_APPLICABLE  NOT_AVAILABLE      INFORMATIONAL (0): table DELETING / ARCHIVING / ARCHIVED
 *
 * Every string is cut to its API limit on a code-point boundary (no split surrogate pair).
 */
import type { AwsSecurityFinding, ComplianceStatus, SeverityLabel } from '@aws-sdk/client-securityhub';
import { manualFixCommand, tableConsoleUrl } from '../core/fix-hints';
import { formatTableArn, parseTableArn, partitionOf } from '../core/ids';
import { MODE_TAG, type Finding, type ReasonCode } from '../core/types';

export const ASFF_SCHEMA_VERSION = '2018-10-08';
export const GENERATOR_ID = 'pitr-guard/dynamodb-pitr';
export const PRODUCT_NAME = 'pitr-guard';
export const COMPANY_NAME = 'pitr-guard';
export const FINDING_TYPES = ['Software and Configuration Checks/AWS Security Best Practices/DynamoDB point-in-time recovery'];
/** ProductFields keys pitr-guard writes (AWS reserves the `aws/` prefix for its own). */
export const FIELD_PREFIX = 'pitr-guard/';

/** API limits (Security Hub API model, botocore securityhub 2018-10-26: member documentation). */
export const LIMITS = { title: 256, description: 1024, recommendation: 512, productFields: 50, fieldKey: 128, fieldValue: 2048, tagKey: 128, tagValue: 256, severityOriginal: 64 } as const;

/** The partitions Resource.Partition accepts (the model's enum); a table elsewhere leaves it out. */
const PARTITIONS = new Set(['aws', 'aws-cn', 'aws-us-gov', 'aws-us-iso', 'aws-us-iso-b']);

export interface AsffContext {
  /** The scan's evaluation time (ScanReport.generatedAt): UpdatedAt unless `updatedAt` says otherwise. */
  generatedAt: string;
  /** The policy's minimum recovery period (the fix command's period). */
  minRecoveryDays: number;
  /** The policy's exempt tag key (shown in Resources[].Tags with its value). */
  exemptTag?: string;
  /** CreatedAt: the stored finding's, else the ledger's `since`, else generatedAt. */
  createdAt?: string;
  /** UpdatedAt when it must be later than a stored one (lib/aws/security-hub.ts). */
  updatedAt?: string;
}

interface Verdict {
  compliance: ComplianceStatus;
  label: SeverityLabel;
  normalized: number;
}

const NORMALIZED: Record<SeverityLabel, number> = { INFORMATIONAL: 0, LOW: 20, MEDIUM: 40, HIGH: 70, CRITICAL: 90 };

/** Compliance.Status and Severity from status and reasons (the table above). */
export function verdictOf(f: Pick<Finding, 'status' | 'reasons'>): Verdict {
  const v = (compliance: ComplianceStatus, label: SeverityLabel): Verdict => ({ compliance, label, normalized: NORMALIZED[label] });
  const has = (r: ReasonCode) => f.reasons.includes(r);
  switch (f.status) {
    case 'NON_COMPLIANT':
      if (has('REPEATEDLY_DISABLED')) return v('FAILED', 'CRITICAL');
      return has('PITR_DISABLED') || has('RESTORED_WITHOUT_PITR') ? v('FAILED', 'HIGH') : v('FAILED', 'MEDIUM');
    case 'ERROR':
      return v('NOT_AVAILABLE', 'MEDIUM');
    case 'EXEMPT':
      return v('WARNING', 'LOW');
    case 'NOT_APPLICABLE':
      return v('NOT_AVAILABLE', 'INFORMATIONAL');
    default:
      return has('RESTORE_WINDOW_NOT_FULL') ? v('WARNING', 'LOW') : v('PASSED', 'INFORMATIONAL');
  }
}

/** At most `max` characters (code points), the cut marked with an ellipsis; never empty. */
export function cut(value: string, max: number): string {
  const text = value.trim() === '' ? '-' : value;
  const points = Array.from(text);
  return points.length <= max ? text : `${points.slice(0, max - 1).join('')}…`;
}

export function tableArnOf(f: Pick<Finding, 'tableArn' | 'accountId' | 'region' | 'tableName'>): string {
  return f.tableArn ?? formatTableArn({ accountId: f.accountId, region: f.region, tableName: f.tableName });
}

/** The stable Id of a table's finding: one per table and control. */
export function findingId(f: Pick<Finding, 'tableArn' | 'accountId' | 'region' | 'tableName'>): string {
  return `${tableArnOf(f)}/${GENERATOR_ID}`;
}

export function partitionOfFinding(f: Pick<Finding, 'tableArn' | 'region'>): string {
  return (f.tableArn ? parseTableArn(f.tableArn)?.partition : undefined) ?? partitionOf(f.region);
}

/** The account's default product ARN for custom findings, in the table's own Region. */
export function productArn(partition: string, region: string, accountId: string): string {
  return `arn:${partition}:securityhub:${region}:${accountId}:product/${accountId}/default`;
}

const STATUS_WORDS: Record<Finding['status'], string> = {
  NON_COMPLIANT: 'FAILED',
  ERROR: 'could not be checked',
  EXEMPT: 'exempt',
  COMPLIANT: 'passed',
  NOT_APPLICABLE: 'not applicable',
};

/** What changes the record's meaning: Security Hub re-imports only when this differs (or to refresh it). */
export function fingerprintOf(f: Finding, minRecoveryDays: number): string {
  const p = f.pitr;
  return [minRecoveryDays, f.status, f.reasons.join(','), p.status ?? '', p.recoveryPeriodInDays ?? '', f.exemption?.reason ?? '', f.exemption?.until ?? '', f.tableStatus ?? ''].join('|');
}

function productFields(f: Finding, context: AsffContext): Record<string, string> {
  const fields: [string, string | number | null | undefined][] = [
    ['Status', f.status],
    ['Reasons', f.reasons.join(',')],
    ['PitrStatus', f.pitr.status],
    ['RecoveryPeriodInDays', f.pitr.recoveryPeriodInDays],
    ['RequiredRecoveryPeriodInDays', context.minRecoveryDays],
    ['EarliestRestorableDateTime', f.pitr.earliestRestorableDateTime],
    ['LatestRestorableDateTime', f.pitr.latestRestorableDateTime],
    ['RestorableDays', f.pitr.restorableDays],
    ['Since', f.since],
    ['ExemptionReason', f.exemption?.reason],
    ['ExemptUntil', f.exemption?.until],
    ['ExemptionActive', f.exemption ? String(f.exemption.active) : undefined],
    ['ModeTag', f.modeTag],
    ['ReadFailed', f.error ? `${f.error.operation}: ${f.error.errorName}` : undefined],
    ['PitrMonthlyUsd', f.cost?.pitrMonthlyUsd],
    ['RestoredFrom', f.restore ? (f.restore.sourceBackupArn ?? f.restore.sourceTableArn) : undefined],
    ['ReplicaSetCompliant', f.replicaSet ? String(f.replicaSet.compliant) : undefined],
    ['LastDrillAt', f.lastDrill?.at],
    ['Fingerprint', fingerprintOf(f, context.minRecoveryDays)],
  ];
  const out: Record<string, string> = {};
  for (const [key, value] of fields) {
    if (value === null || value === undefined || String(value).trim() === '') continue;
    out[cut(FIELD_PREFIX + key, LIMITS.fieldKey)] = cut(String(value), LIMITS.fieldValue);
  }
  return out;
}

function resourceTags(f: Finding, context: AsffContext): Record<string, string> | undefined {
  const tags: Record<string, string> = {};
  if (f.exemption && context.exemptTag) tags[cut(context.exemptTag, LIMITS.tagKey)] = cut(f.exemption.reason, LIMITS.tagValue);
  if (f.modeTag !== null && f.modeTag.trim() !== '') tags[MODE_TAG] = cut(f.modeTag, LIMITS.tagValue);
  return Object.keys(tags).length > 0 ? tags : undefined;
}

function tableDetails(f: Finding): NonNullable<NonNullable<AwsSecurityFinding['Resources']>[number]['Details']>['AwsDynamoDbTable'] {
  const r = f.restore;
  const replicas = f.replicaSet?.replicas.filter((x) => x.region !== f.region) ?? [];
  return {
    TableName: f.tableName,
    ...(f.tableStatus ? { TableStatus: f.tableStatus } : {}),
    ...(typeof f.cost?.tableSizeBytes === 'number' ? { TableSizeBytes: f.cost.tableSizeBytes } : {}),
    ...(f.replicaSet?.globalTableVersion ? { GlobalTableVersion: f.replicaSet.globalTableVersion } : {}),
    ...(r
      ? {
          RestoreSummary: {
            ...(r.sourceBackupArn ? { SourceBackupArn: r.sourceBackupArn } : {}),
            ...(r.sourceTableArn ? { SourceTableArn: r.sourceTableArn } : {}),
            ...(r.restoreDateTime ? { RestoreDateTime: r.restoreDateTime } : {}),
            RestoreInProgress: r.restoreInProgress,
          },
        }
      : {}),
    ...(replicas.length > 0 ? { Replicas: replicas.map((x) => ({ RegionName: x.region, ...(x.replicaStatus ? { ReplicaStatus: x.replicaStatus } : {}) })) } : {}),
  };
}

function recommendation(f: Finding, context: AsffContext): string {
  const fix = manualFixCommand(f.region, f.tableName, context.minRecoveryDays);
  switch (f.status) {
    case 'NON_COMPLIANT':
      return `Turn PITR on with the required recovery period: ${fix}`;
    case 'ERROR':
      return `pitr-guard could not read the table (${f.error ? `${f.error.operation}: ${f.error.errorName}` : 'read failed'}): give its role the read actions (docs/iam.md), then scan again. If PITR is off: ${fix}`;
    case 'EXEMPT':
      return `Exempt by the ${context.exemptTag ?? 'exempt'} tag. To end the exemption, remove the tag; to protect the table: ${fix}`;
    default:
      return `No action needed. Keep PITR on with at least ${context.minRecoveryDays} days: ${fix}`;
  }
}

/** The ASFF record of one finding. */
export function toAsff(f: Finding, context: AsffContext): AwsSecurityFinding {
  const verdict = verdictOf(f);
  const partition = partitionOfFinding(f);
  const tableArn = tableArnOf(f);
  const word = STATUS_WORDS[f.status];
  const types = [...FINDING_TYPES];
  const severity = { Label: verdict.label, Original: cut(f.reasons[0] ?? f.status, LIMITS.severityOriginal) };
  const tags = resourceTags(f, context);
  return {
    SchemaVersion: ASFF_SCHEMA_VERSION,
    Id: findingId(f),
    ProductArn: productArn(partition, f.region, f.accountId),
    ProductName: PRODUCT_NAME,
    CompanyName: COMPANY_NAME,
    GeneratorId: GENERATOR_ID,
    AwsAccountId: f.accountId,
    Types: types,
    CreatedAt: context.createdAt ?? f.since ?? context.generatedAt,
    UpdatedAt: context.updatedAt ?? context.generatedAt,
    LastObservedAt: context.generatedAt,
    Severity: { ...severity, Normalized: verdict.normalized },
    FindingProviderFields: { Severity: severity, Types: types },
    Title: cut(`pitr-guard: DynamoDB PITR policy (≥${context.minRecoveryDays} days, restore window, exemptions) ${word} for table ${f.tableName}`, LIMITS.title),
    Description: cut(`${f.message} Checked by pitr-guard against its policy (PITR on, recovery period ≥${context.minRecoveryDays} days, a full restore window, exemptions only with a reason); this is not Security Hub's control DynamoDB.2.`, LIMITS.description),
    Remediation: { Recommendation: { Text: cut(recommendation(f, context), LIMITS.recommendation), Url: tableConsoleUrl(f.region, f.tableName) } },
    ProductFields: productFields(f, context),
    Resources: [
      {
        Type: 'AwsDynamoDbTable',
        Id: tableArn,
        ...(PARTITIONS.has(partition) ? { Partition: partition as 'aws' } : {}),
        Region: f.region,
        ...(tags ? { Tags: tags } : {}),
        Details: { AwsDynamoDbTable: tableDetails(f) },
      },
    ],
    Compliance: {
      Status: verdict.compliance,
      StatusReasons: f.reasons.map((code) => ({ ReasonCode: code, Description: cut(REASON_TEXT[code], 1024) })),
    },
    RecordState: 'ACTIVE',
  };
}

/** The array `scan --format asff` prints: what BatchImportFindings would receive (every table, one record each). */
export function renderAsff(report: { generatedAt: string; findings: readonly Finding[]; policy: { minRecoveryDays: number; exemptTag: string } }): string {
  const context = { generatedAt: report.generatedAt, minRecoveryDays: report.policy.minRecoveryDays, exemptTag: report.policy.exemptTag };
  return JSON.stringify(report.findings.map((f) => toAsff(f, context)), null, 2) + '\n';
}

const REASON_TEXT: Record<ReasonCode, string> = {
  PITR_ENABLED: 'Point-in-time recovery is enabled.',
  PITR_DISABLED: 'Point-in-time recovery is not enabled.',
  RECOVERY_PERIOD_TOO_SHORT: 'The recovery period is shorter than the policy requires.',
  RESTORE_WINDOW_NOT_FULL: 'PITR is on, but the restorable window is not yet as long as the policy requires.',
  EXEMPT: 'Exempt by tag, with a reason.',
  EXEMPTION_EXPIRED: 'The exemption has expired.',
  EXEMPTION_WITHOUT_REASON: 'The exempt tag gives no reason, so it is ignored.',
  EXEMPTION_INVALID_EXPIRY: 'The exemption expiry is not a YYYY-MM-DD date, so it is ignored.',
  TABLE_DELETING: 'The table is being deleted.',
  TABLE_ARCHIVING: 'The table is being archived.',
  TABLE_ARCHIVED: 'The table is archived.',
  READ_FAILED: 'The table state could not be read.',
  REPEATEDLY_DISABLED: 'PITR was switched off repeatedly within the loop-protection window.',
  RESTORED_WITHOUT_PITR: 'The table was restored and a restored table starts with PITR off.',
};
