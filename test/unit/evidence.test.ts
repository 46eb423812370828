/**
 * The evidence command's sources and folder (lib/aws/evidence-sources.ts, lib/report/evidence.ts):
 * the exact GetComplianceDetailsByConfigRule and Scan calls, every page followed, an absent rule
 * a NO_RULE result and other failures an ERROR result (never thrown, never silent); the manifest
 * in sha256sum format; drill attributes and deleted tables in the history. moto implements
 * neither Config call used here, so the rule's results are covered only here.
 */
import { ConfigServiceClient, GetComplianceDetailsByConfigRuleCommand } from '@aws-sdk/client-config-service';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash } from 'node:crypto';
import { readConfigRule, readLedger } from '../../lib/aws/evidence-sources';
import type { ScanReport } from '../../lib/aws/scan';
import { evidenceFiles, manifest, tableHistories } from '../../lib/report/evidence';
import { awsError } from '../helpers/aws-errors';

const config = mockClient(ConfigServiceClient);
const ddb = mockClient(DynamoDBClient);
beforeEach(() => {
  config.reset();
  ddb.reset();
});

const result = (id: string, type: 'COMPLIANT' | 'NON_COMPLIANT') => ({
  EvaluationResultIdentifier: { EvaluationResultQualifier: { ConfigRuleName: 'pitr-guard-prod-dynamodb-pitr', ResourceType: 'AWS::DynamoDB::Table', ResourceId: id }, OrderingTimestamp: new Date('2026-11-30T00:00:00Z') },
  ComplianceType: type,
  Annotation: `${id}: ${type}`,
  ResultRecordedTime: new Date('2026-11-30T00:00:05Z'),
  ConfigRuleInvokedTime: new Date('2026-11-30T00:00:01Z'),
});

describe('readConfigRule', () => {
  it('follows every page with the exact call and keeps each result', async () => {
    config
      .on(GetComplianceDetailsByConfigRuleCommand)
      .resolvesOnce({ EvaluationResults: [result('orders', 'NON_COMPLIANT')], NextToken: 'page-2' })
      .resolvesOnce({ EvaluationResults: [result('carts', 'COMPLIANT')] });
    const r = await readConfigRule(new ConfigServiceClient({}), 'eu-west-1', 'pitr-guard-prod-dynamodb-pitr');
    expect(config.commandCalls(GetComplianceDetailsByConfigRuleCommand).map((c) => c.args[0].input)).toEqual([
      { ConfigRuleName: 'pitr-guard-prod-dynamodb-pitr', Limit: 100 },
      { ConfigRuleName: 'pitr-guard-prod-dynamodb-pitr', Limit: 100, NextToken: 'page-2' },
    ]);
    expect(r).toEqual({
      region: 'eu-west-1',
      ruleName: 'pitr-guard-prod-dynamodb-pitr',
      status: 'OK',
      results: [
        { resourceType: 'AWS::DynamoDB::Table', resourceId: 'orders', complianceType: 'NON_COMPLIANT', annotation: 'orders: NON_COMPLIANT', resultRecordedTime: '2026-11-30T00:00:05.000Z', configRuleInvokedTime: '2026-11-30T00:00:01.000Z' },
        { resourceType: 'AWS::DynamoDB::Table', resourceId: 'carts', complianceType: 'COMPLIANT', annotation: 'carts: COMPLIANT', resultRecordedTime: '2026-11-30T00:00:05.000Z', configRuleInvokedTime: '2026-11-30T00:00:01.000Z' },
      ],
    });
  });

  it('an absent rule is NO_RULE; access denied is an ERROR result with its name', async () => {
    config.on(GetComplianceDetailsByConfigRuleCommand).rejectsOnce(awsError('NoSuchConfigRuleException')).rejectsOnce(awsError('AccessDeniedException'));
    expect(await readConfigRule(new ConfigServiceClient({}), 'eu-west-1', 'r')).toEqual({ region: 'eu-west-1', ruleName: 'r', status: 'NO_RULE' });
    expect(await readConfigRule(new ConfigServiceClient({}), 'eu-west-1', 'r')).toMatchObject({ status: 'ERROR', errorName: 'AccessDeniedException' });
  });
});

describe('readLedger', () => {
  it('scans every page consistently', async () => {
    ddb
      .on(ScanCommand)
      .resolvesOnce({ Items: [{ tableArn: { S: 'a' } }], LastEvaluatedKey: { tableArn: { S: 'a' } } })
      .resolvesOnce({ Items: [{ tableArn: { S: 'b' } }] });
    expect(await readLedger(new DynamoDBClient({}), 'ledger')).toEqual({ status: 'OK', items: [{ tableArn: { S: 'a' } }, { tableArn: { S: 'b' } }] });
    expect(ddb.commandCalls(ScanCommand).map((c) => c.args[0].input)).toEqual([
      { TableName: 'ledger', ConsistentRead: true },
      { TableName: 'ledger', ConsistentRead: true, ExclusiveStartKey: { tableArn: { S: 'a' } } },
    ]);
  });

  it('a failed page is an ERROR result, not a partial history', async () => {
    ddb.on(ScanCommand).resolvesOnce({ Items: [{ tableArn: { S: 'a' } }], LastEvaluatedKey: { tableArn: { S: 'a' } } }).rejectsOnce(awsError('AccessDeniedException'));
    expect(await readLedger(new DynamoDBClient({}), 'ledger')).toMatchObject({ status: 'ERROR', errorName: 'AccessDeniedException' });
  });
});

const ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders';
const report = {
  generatedAt: '2026-12-01T00:00:00.000Z',
  accountId: '123456789012',
  accounts: [{ accountId: '123456789012', status: 'SCANNED', regions: ['eu-west-1'] }],
  accountErrors: [],
  regions: ['eu-west-1'],
  policy: { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' },
  summary: { total: 0, compliant: 0, nonCompliant: 0, exempt: 0, notApplicable: 0, error: 0 },
  findings: [],
  vanished: [],
  regionErrors: [],
  regionSummaries: [],
  shardErrors: [],
} as unknown as ScanReport;

describe('the evidence folder', () => {
  const drill = { drillId: 'd1', at: '2026-11-29T00:00:00.000Z', restoreSeconds: 42, restorePoint: null };
  const items: Record<string, AttributeValue>[] = [
    { tableArn: { S: ARN }, accountId: { S: '123456789012' }, region: { S: 'eu-west-1' }, tableName: { S: 'orders' }, status: { S: 'COMPLIANT' }, lastSuccessfulDrill: { S: JSON.stringify(drill) }, history: { L: [{ M: { at: { S: '2026-11-29T00:00:00.000Z' }, event: { S: 'DRILL' }, detail: { S: 'PASSED' } } }] } },
    { tableArn: { S: 'arn:aws:dynamodb:us-east-1:123456789012:table/elsewhere' }, accountId: { S: '123456789012' }, region: { S: 'us-east-1' } },
  ];

  it('keeps the scanned Regions\' items (deleted tables marked), parses drills, leaves the rest out', () => {
    const t = tableHistories(report, items);
    expect(t).toHaveLength(1);
    expect(t[0]).toMatchObject({ tableArn: ARN, inReport: false, lastSuccessfulDrill: drill, history: [{ event: 'DRILL', detail: 'PASSED' }] });
  });

  it('MANIFEST.sha256 lists every other file, sorted, in sha256sum format; the README names the time range', () => {
    const files = evidenceFiles({
      report,
      policy: { mode: 'report', modeSource: 'default', minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', regions: ['eu-west-1'], scope: { accounts: 'self', excludeAccounts: [], memberRole: 'pitr-guard-member' }, pitrGuardVersion: '1.0.0' },
      ledger: { tableName: 'ledger', region: 'eu-west-1', read: { status: 'OK', items } },
      configRule: [],
      command: 'pitr-guard evidence --output x',
    });
    const last = files[files.length - 1]!;
    expect(last.name).toBe('MANIFEST.sha256');
    const others = files.slice(0, -1);
    expect(last.content).toBe(manifest(others));
    const lines = last.content.trimEnd().split('\n');
    expect(lines.map((l) => l.split('  ')[1])).toEqual(others.map((f) => f.name).sort());
    for (const l of lines) {
      const [hex, name] = l.split('  ');
      expect(hex).toBe(createHash('sha256').update(others.find((f) => f.name === name)!.content).digest('hex'));
    }
    expect(files.find((f) => f.name === 'README.md')!.content).toContain('**Time range covered: 2026-11-29T00:00:00.000Z to 2026-12-01T00:00:00.000Z.**');
  });
});
