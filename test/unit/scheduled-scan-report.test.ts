/**
 * The scheduled scan's S3 report (PITR_GUARD_REPORT_BUCKET): written to
 * reports/<runId>/report.json as the JSON rendering, only when a bucket is configured; a failed
 * write fails the run after the alerts went out, like an unrecorded ledger item.
 */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/aws/clients';
import { IncompleteReportError } from '../../lib/core/errors';
import { reportKey, run, type ScheduledScanDeps } from '../../lib/jobs/scheduled-scan';
import { renderJson } from '../../lib/report/json';
import type { ScanReport } from '../../lib/aws/scan';
import { silentLogger } from '../../lib/runtime/logger';
import { loadEvent } from '../helpers/builders';

const s3 = mockClient(S3Client);
const ddb = mockClient(DynamoDBClient);
const EVENT_ID = '89d1a02d-5ec7-412e-82f5-13505f849b41';

beforeEach(() => {
  s3.reset();
  ddb.reset();
  ddb.on(ListTablesCommand).resolves({ TableNames: [] });
});

function deps(over: Partial<ScheduledScanDeps> = {}): ScheduledScanDeps & { reports: ScanReport[] } {
  const clients = new Clients();
  const reports: ScanReport[] = [];
  return {
    clients,
    policy: { mode: 'report', minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', regions: ['us-east-1'], dryRun: false },
    logger: silentLogger,
    homeRegion: 'us-east-1',
    accountId: '123456789012',
    now: () => new Date('2026-11-21T10:00:01.000Z'),
    afterScan: [async (report) => void reports.push(report)],
    reports,
    ...over,
  };
}

describe('scheduled scan: the S3 report', () => {
  it('writes reports/<event id>/report.json (the JSON rendering) when a bucket is configured', async () => {
    s3.on(PutObjectCommand).resolves({});
    const d = deps();
    const result = await run(loadEvent('scheduled.json'), { ...d, reportBucket: { clients: d.clients, region: 'us-east-1', bucket: 'pitr-guard-reports' } });
    expect(result).toMatchObject({ accountId: '123456789012', problems: false });
    const calls = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([{ Bucket: 'pitr-guard-reports', Key: `reports/${EVENT_ID}/report.json`, Body: renderJson(d.reports[0]!), ContentType: 'application/json' }]);
  });

  it('writes nothing to S3 without a bucket', async () => {
    await run(loadEvent('scheduled.json'), deps());
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('fails the run after the hooks (alerts) when the report cannot be written', async () => {
    s3.on(PutObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const d = deps();
    await expect(run(loadEvent('scheduled.json'), { ...d, reportBucket: { clients: d.clients, region: 'us-east-1', bucket: 'pitr-guard-reports' } })).rejects.toThrow(IncompleteReportError);
    expect(d.reports).toHaveLength(1);
  });

  it('keys a manual run without a usable event ID under a new UUID', () => {
    expect(reportKey(EVENT_ID)).toBe(`reports/${EVENT_ID}/report.json`);
    expect(reportKey('../../x')).toMatch(/^reports\/[0-9a-f-]{36}\/report\.json$/);
  });
});
