/**
 * The OCSF renderer (lib/report/ocsf.ts): severity by status and reason, compliance and finding
 * status per status, activity Create/Update from the ledger's `since`, type_uid arithmetic, time
 * in milliseconds, and the fields other modules fill (cost, restore, replicaSet, lastDrill) carried
 * in resources[].data only when present. The schema itself is checked on moto output in
 * test/integration/ocsf.test.ts (py-ocsf-models).
 */
import type { ScanReport } from '../../lib/aws/scan';
import type { Finding } from '../../lib/core/types';
import { OCSF_VERSION, ocsfRecord, ocsfSeverity } from '../../lib/report/ocsf';

const REPORT = { generatedAt: '2026-12-01T10:00:00.000Z', accountId: '123456789012', policy: { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' }, accounts: [] } as unknown as ScanReport;

function finding(over: Partial<Finding> = {}): Finding {
  return {
    accountId: '123456789012',
    region: 'eu-west-1',
    tableName: 'orders',
    tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders',
    tableStatus: 'ACTIVE',
    status: 'NON_COMPLIANT',
    reasons: ['PITR_DISABLED'],
    message: 'PITR is disabled.',
    pitr: { status: 'DISABLED', recoveryPeriodInDays: null, earliestRestorableDateTime: null, latestRestorableDateTime: null, restorableDays: null },
    exemption: null,
    modeTag: null,
    ...over,
  };
}

type Rec = Record<string, Record<string, unknown>> & { resources: { data: Record<string, unknown> }[] };

describe('ocsfSeverity', () => {
  it.each([
    ['NON_COMPLIANT', ['PITR_DISABLED'], 4],
    ['NON_COMPLIANT', ['PITR_DISABLED', 'REPEATEDLY_DISABLED'], 5],
    ['NON_COMPLIANT', ['RECOVERY_PERIOD_TOO_SHORT'], 3],
    ['NON_COMPLIANT', ['RESTORED_WITHOUT_PITR', 'PITR_DISABLED'], 4],
    ['ERROR', ['READ_FAILED'], 3],
    ['COMPLIANT', ['PITR_ENABLED', 'RESTORE_WINDOW_NOT_FULL'], 2],
    ['COMPLIANT', ['PITR_ENABLED'], 1],
    ['EXEMPT', ['EXEMPT'], 1],
    ['NOT_APPLICABLE', ['TABLE_DELETING'], 1],
  ] as const)('%s %j → %i', (status, reasons, severity) => {
    expect(ocsfSeverity({ status, reasons: [...reasons] })).toBe(severity);
  });
});

describe('ocsfRecord', () => {
  it('a new non-compliant table: Create, type_uid 200301, time in ms, Fail, New', () => {
    const r = ocsfRecord(finding(), REPORT) as unknown as Rec;
    expect(r).toMatchObject({ class_uid: 2003, category_uid: 2, activity_id: 1, type_uid: 200301, time: Date.parse(REPORT.generatedAt), severity_id: 4, status_id: 1, status: 'New' });
    expect(r.metadata).toMatchObject({ version: OCSF_VERSION, profiles: ['cloud'], product: { name: 'pitr-guard', vendor_name: 'pitr-guard', uid: 'pitr-guard' } });
    expect(r.compliance).toMatchObject({ standards: ['pitr-guard DynamoDB point-in-time recovery policy'], status_id: 3, status: 'Fail', requirements: ['PointInTimeRecoveryEnabled=true', 'RecoveryPeriodInDays>=35'] });
    expect(r.resources[0]!.data).toEqual({ tableStatus: 'ACTIVE', pitr: finding().pitr, exemption: null, modeTag: null });
  });

  it('a status the ledger saw before: Update (200302), first_seen_time from since', () => {
    const r = ocsfRecord(finding({ since: '2026-11-01T00:00:00.000Z' }), REPORT) as unknown as Rec;
    expect(r).toMatchObject({ activity_id: 2, type_uid: 200302 });
    expect(r.finding_info).toMatchObject({ first_seen_time: Date.parse('2026-11-01T00:00:00.000Z'), last_seen_time: Date.parse(REPORT.generatedAt) });
  });

  it('exempt: Warning and Suppressed; an unreadable table: Unknown', () => {
    const exempt = ocsfRecord(finding({ status: 'EXEMPT', reasons: ['EXEMPT'], exemption: { reason: 'cache', active: true } }), REPORT) as unknown as Rec;
    expect([exempt.compliance!.status, exempt.status]).toEqual(['Warning', 'Suppressed']);
    const error = ocsfRecord(finding({ status: 'ERROR', reasons: ['READ_FAILED'], tableArn: null, error: { operation: 'DescribeTable', errorName: 'AccessDeniedException', message: 'no' } }), REPORT) as unknown as Rec;
    expect([error.compliance!.status_id, error.severity_id]).toEqual([0, 3]);
    expect(error.resources[0]).toMatchObject({ uid: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders' });
    expect(error.resources[0]!.data.error).toEqual({ operation: 'DescribeTable', errorName: 'AccessDeniedException', message: 'no' });
  });

  it('cost, restore, replicaSet and lastDrill are carried when present', () => {
    const extra = {
      cost: { lsiSizeBytes: 0, tableSizeBytes: 1024, pitrMonthlyUsd: 0.01 },
      restore: { sourceTableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/src', sourceBackupArn: null, restoreDateTime: '2026-11-01T00:00:00.000Z', restoreInProgress: false, sourceStatus: 'COMPLIANT' as const },
      replicaSet: { globalTableVersion: '2019.11.21', setId: 'orders:eu-west-1,us-east-1', compliant: false, replicas: [] },
      lastDrill: { drillId: 'd1', at: '2026-11-30T00:00:00.000Z', restoreSeconds: 40, restorePoint: null },
    };
    const r = ocsfRecord(finding(extra), REPORT) as unknown as Rec;
    expect(r.resources[0]!.data).toMatchObject(extra);
  });
});
