/**
 * The scheduled scan with PITR_GUARD_SECURITY_HUB=true: findings go to Security Hub after the
 * ledger; what Security Hub did not take fails the run after the hooks (alerts) ran; off = no call.
 * Also the variable's strict parsing.
 */
import { DescribeContinuousBackupsCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand, ListTagsOfResourceCommand } from '@aws-sdk/client-dynamodb';
import { BatchImportFindingsCommand, GetFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/aws/clients';
import { ConfigError, IncompleteReportError } from '../../lib/core/errors';
import { securityHubFromEnv, validateEnvironment } from '../../lib/core/config';
import { run, type ScheduledScanDeps } from '../../lib/jobs/scheduled-scan';
import type { ScanReport } from '../../lib/aws/scan';
import { silentLogger } from '../../lib/runtime/logger';
import { loadEvent } from '../helpers/builders';

const ddb = mockClient(DynamoDBClient);
const hub = mockClient(SecurityHubClient);

beforeEach(() => {
  ddb.reset();
  hub.reset();
  ddb.on(ListTablesCommand).resolves({ TableNames: ['orders'] });
  ddb.on(DescribeTableCommand).resolves({ Table: { TableName: 'orders', TableArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders', TableStatus: 'ACTIVE' } });
  ddb.on(DescribeContinuousBackupsCommand).resolves({ ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'DISABLED' } } });
  ddb.on(ListTagsOfResourceCommand).resolves({ Tags: [] });
  hub.on(GetFindingsCommand).resolves({ Findings: [] });
});

function deps(over: Partial<ScheduledScanDeps> = {}): ScheduledScanDeps & { reports: ScanReport[] } {
  const reports: ScanReport[] = [];
  return {
    clients: new Clients(),
    policy: { mode: 'report', minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', regions: ['us-east-1'], dryRun: false },
    logger: silentLogger,
    homeRegion: 'us-east-1',
    accountId: '123456789012',
    now: () => new Date('2026-11-21T10:00:01.000Z'),
    inventory: { ratePerSecond: 1000, sleep: async () => undefined },
    afterScan: [async (report) => void reports.push(report)],
    reports,
    ...over,
  };
}

describe('scheduled scan: Security Hub', () => {
  it('imports the findings when on, and the report the hooks see records the delivery', async () => {
    hub.on(BatchImportFindingsCommand).resolves({ FailedCount: 0, SuccessCount: 1 });
    const d = deps({ securityHub: true });
    await run(loadEvent('scheduled.json'), d);
    const sent = hub.commandCalls(BatchImportFindingsCommand).flatMap((c) => c.args[0].input.Findings ?? []);
    expect(sent.map((f) => [f.Id, f.Compliance?.Status, f.UpdatedAt])).toEqual([['arn:aws:dynamodb:us-east-1:123456789012:table/orders/pitr-guard/dynamodb-pitr', 'FAILED', '2026-11-21T10:00:01.000Z']]);
    expect(d.reports[0]?.securityHub).toEqual({ imported: 1, unchanged: 0, archived: 0, failed: 0, failures: [] });
  });

  it('fails the run after the hooks ran when Security Hub did not take a finding', async () => {
    hub.on(BatchImportFindingsCommand).resolves({ FailedCount: 1, SuccessCount: 0, FailedFindings: [{ Id: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders/pitr-guard/dynamodb-pitr', ErrorCode: 'InvalidAccess', ErrorMessage: 'not subscribed' }] });
    const d = deps({ securityHub: true });
    const failure = run(loadEvent('scheduled.json'), { ...d, clients: new Clients({ maxAttempts: 1 }) });
    await expect(failure).rejects.toThrow(IncompleteReportError);
    await expect(failure).rejects.toThrow('Security Hub did not take 1 finding(s)');
    expect(d.reports).toHaveLength(1);
  }, 30_000);

  it('calls Security Hub not at all when off', async () => {
    await run(loadEvent('scheduled.json'), deps());
    expect(hub.calls()).toHaveLength(0);
  });

  it('PITR_GUARD_SECURITY_HUB is true or false (default false), anything else a configuration error', () => {
    expect(securityHubFromEnv({})).toBe(false);
    expect(securityHubFromEnv({ PITR_GUARD_SECURITY_HUB: 'true' })).toBe(true);
    expect(securityHubFromEnv({ PITR_GUARD_SECURITY_HUB: ' false ' })).toBe(false);
    expect(() => securityHubFromEnv({ PITR_GUARD_SECURITY_HUB: 'yes' })).toThrow(ConfigError);
    expect(() => validateEnvironment({ PITR_GUARD_SECURITY_HUB: '1' })).toThrow(/PITR_GUARD_SECURITY_HUB/);
  });
});
