/**
 * `pitr-guard scan --format ocsf`: one OCSF Compliance Finding (category 2 Findings, class_uid 2003)
 * per table, as one pretty-printed JSON array (docs/report-schema.md#ocsf). Pure: the report in,
 * the text out. OCSF_VERSION is the schema version every record names in metadata.version; it is
 * the version the test validator (py-ocsf-models, test/ocsf/validate.py) targets.
 *
 * Mapping (decisions documented in docs/report-schema.md):
 * - compliance.status_id: COMPLIANT 1 Pass (2 Warning while the restore window is not yet full),
 *   EXEMPT 2 Warning (an accepted exception, not a pass), NON_COMPLIANT 3 Fail, ERROR 0 Unknown,
 *   NOT_APPLICABLE 99 Other;
 * - event status_id: NON_COMPLIANT / ERROR 1 New, EXEMPT 3 Suppressed, COMPLIANT / NOT_APPLICABLE 4 Resolved;
 * - activity_id: 1 Create when the table entered its status in this run (or no ledger says when),
 *   else 2 Update; type_uid = class_uid × 100 + activity_id.
 */
import { version as pitrGuardVersion } from '../../package.json';
import type { ScanReport } from '../aws/scan';
import { formatTableArn, partitionOf } from '../core/ids';
import type { Finding, ReasonCode } from '../core/types';
import { fixCommand, tableConsoleUrl } from './fix-hints';

export const OCSF_VERSION = '1.5.0';
export const OCSF_CLASS_UID = 2003;
export const OCSF_CATEGORY_UID = 2;
export const OCSF_CONTROL = 'pitr-guard/dynamodb-pitr';
export const OCSF_STANDARD = 'pitr-guard DynamoDB point-in-time recovery policy';

export type OcsfRecord = Record<string, unknown>;

const COMPLIANCE: Record<Finding['status'], { id: number; name: string }> = {
  COMPLIANT: { id: 1, name: 'Pass' },
  EXEMPT: { id: 2, name: 'Warning' },
  NON_COMPLIANT: { id: 3, name: 'Fail' },
  ERROR: { id: 0, name: 'Unknown' },
  NOT_APPLICABLE: { id: 99, name: 'Other' },
};

const EVENT_STATUS: Record<Finding['status'], { id: number; name: string }> = {
  NON_COMPLIANT: { id: 1, name: 'New' },
  ERROR: { id: 1, name: 'New' },
  EXEMPT: { id: 3, name: 'Suppressed' },
  COMPLIANT: { id: 4, name: 'Resolved' },
  NOT_APPLICABLE: { id: 4, name: 'Resolved' },
};

const SEVERITY_NAMES = ['Unknown', 'Informational', 'Low', 'Medium', 'High', 'Critical'] as const;

/** The OCSF severity_id of a finding: by status, then by its most serious reason. */
export function ocsfSeverity(f: Pick<Finding, 'status' | 'reasons'>): number {
  const has = (r: ReasonCode) => f.reasons.includes(r);
  switch (f.status) {
    case 'NON_COMPLIANT':
      if (has('REPEATEDLY_DISABLED')) return 5; // Critical: someone keeps switching it off
      if (has('RECOVERY_PERIOD_TOO_SHORT') && !has('PITR_DISABLED')) return 3; // Medium: PITR on, period short
      return 4; // High: no PITR (disabled, restored without it, exemption expired or invalid)
    case 'ERROR':
      return 3; // Medium: a blind spot, the table's state is unknown
    case 'COMPLIANT':
      return has('RESTORE_WINDOW_NOT_FULL') ? 2 : 1;
    default:
      return 1; // EXEMPT, NOT_APPLICABLE: informational
  }
}

/** The finding's compliance status: a COMPLIANT table whose restore window is not yet full is a Warning. */
function complianceOf(f: Finding): { id: number; name: string } {
  if (f.status === 'COMPLIANT' && f.reasons.includes('RESTORE_WINDOW_NOT_FULL')) return { id: 2, name: 'Warning' };
  return COMPLIANCE[f.status];
}

const ms = (iso: string | undefined): number | undefined => {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
};

/** The stable finding uid of one table: control and table ARN. */
export function ocsfFindingUid(arn: string): string {
  return `${OCSF_CONTROL}:${arn}`;
}

function remediation(f: Finding, minRecoveryDays: number): string {
  if (f.status === 'NON_COMPLIANT') {
    return `Enable PITR with the policy's recovery period: ${fixCommand(f, minRecoveryDays)} (console: ${tableConsoleUrl(f.region, f.tableName)}), or run pitr-guard scan --fix.`;
  }
  if (f.status === 'ERROR') return `pitr-guard could not read the table (${f.error?.operation ?? 'read'}: ${f.error?.errorName ?? 'error'}): grant the read permissions in docs/iam.md and scan again.`;
  if (f.status === 'EXEMPT') return `Exempt by its tag (${f.exemption?.reason ?? ''}); remove the tag to require PITR again.`;
  return 'No action needed.';
}

/** One table's OCSF Compliance Finding. */
export function ocsfRecord(f: Finding, report: Pick<ScanReport, 'generatedAt' | 'accountId' | 'policy'> & { accounts?: ScanReport['accounts'] }): OcsfRecord {
  const time = ms(report.generatedAt) ?? Date.now();
  const since = ms(f.since);
  const activity = since === undefined || since >= time ? { id: 1, name: 'Create' } : { id: 2, name: 'Update' };
  const arn = f.tableArn ?? formatTableArn(f);
  const compliance = complianceOf(f);
  const severity = ocsfSeverity(f);
  const status = EVENT_STATUS[f.status];
  const accountName = report.accounts?.find((a) => a.accountId === f.accountId)?.name ?? f.accountId;
  const data: Record<string, unknown> = {
    tableStatus: f.tableStatus,
    pitr: f.pitr,
    exemption: f.exemption,
    modeTag: f.modeTag,
  };
  for (const key of ['error', 'cost', 'restore', 'replicaSet', 'lastDrill'] as const) if (f[key] !== undefined) data[key] = f[key];
  return {
    activity_id: activity.id,
    activity_name: activity.name,
    category_uid: OCSF_CATEGORY_UID,
    category_name: 'Findings',
    class_uid: OCSF_CLASS_UID,
    class_name: 'Compliance Finding',
    type_uid: OCSF_CLASS_UID * 100 + activity.id,
    type_name: `Compliance Finding: ${activity.name}`,
    time,
    severity_id: severity,
    severity: SEVERITY_NAMES[severity],
    status_id: status.id,
    status: status.name,
    status_code: f.status,
    status_detail: f.message,
    message: f.message,
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'pitr-guard', vendor_name: 'pitr-guard', version: pitrGuardVersion, uid: 'pitr-guard' },
      profiles: ['cloud'],
      event_code: 'dynamodb-pitr',
      log_name: 'pitr-guard scan',
      tenant_uid: report.accountId,
    },
    cloud: { provider: 'AWS', region: f.region, account: { uid: f.accountId, name: accountName, type_id: 10, type: 'AWS Account' } },
    finding_info: {
      uid: ocsfFindingUid(arn),
      title: `DynamoDB table ${f.tableName}: point-in-time recovery ${f.status}`,
      desc: f.message,
      types: ['Software and Configuration Checks/AWS Security Best Practices', OCSF_CONTROL],
      first_seen_time: since ?? time,
      last_seen_time: time,
      modified_time: since ?? time,
    },
    compliance: {
      standards: [OCSF_STANDARD],
      control: OCSF_CONTROL,
      requirements: [`PointInTimeRecoveryEnabled=true`, `RecoveryPeriodInDays>=${report.policy.minRecoveryDays}`],
      status_id: compliance.id,
      status: compliance.name,
      status_code: f.status,
      status_detail: f.message,
    },
    resources: [
      {
        uid: arn,
        name: f.tableName,
        type: 'AWS::DynamoDB::Table',
        region: f.region,
        cloud_partition: partitionOf(f.region),
        labels: f.reasons.map((r) => `reason:${r}`),
        data,
      },
    ],
    remediation: { desc: remediation(f, report.policy.minRecoveryDays) },
    unmapped: {
      reasons: f.reasons,
      since: f.since ?? null,
      policy: { minRecoveryDays: report.policy.minRecoveryDays, exemptTag: report.policy.exemptTag },
    },
  };
}

/** Every table's record, in the report's order (worst first). */
export function ocsfRecords(report: ScanReport): OcsfRecord[] {
  return report.findings.map((f) => ocsfRecord(f, report));
}

export function renderOcsf(report: ScanReport): string {
  return JSON.stringify(ocsfRecords(report), null, 2) + '\n';
}
