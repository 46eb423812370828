/** ASFF records (lib/report/asff.ts), validated against the Security Hub API model (botocore's). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { evaluate } from '../../lib/core/evaluate';
import { ASFF_SCHEMA_VERSION, GENERATOR_ID, cut, findingId, renderAsff, toAsff, verdictOf } from '../../lib/report/asff';
import type { Finding } from '../../lib/core/types';
import { AsffModel, docLimits, findModel } from '../helpers/asff-model';
import { NOW, daysAgo, facts, pitrEnabled } from '../helpers/builders';

const POLICY = { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };
const CONTEXT = { generatedAt: NOW.toISOString(), minRecoveryDays: 35, exemptTag: POLICY.exemptTag };
const model = new AsffModel(findModel(path.resolve(__dirname, '../..')));

const finding = (overrides: Parameters<typeof facts>[0] = {}): Finding => evaluate(facts(overrides), POLICY, NOW);

const EVERY_KIND: Record<string, Finding> = {
  compliant: finding(),
  windowNotFull: finding({ pitr: pitrEnabled(35, 3) }),
  disabled: finding({ pitr: { status: 'DISABLED' } }),
  periodShort: finding({ pitr: pitrEnabled(7) }),
  exempt: finding({ pitr: { status: 'DISABLED' }, tags: { 'pitr-guard:exempt': 'scratch data, rebuilt nightly', 'pitr-guard:exempt-until': '2099-01-01' } }),
  error: finding({ pitr: undefined, tableArn: undefined, error: { operation: 'DescribeContinuousBackups', errorName: 'AccessDeniedException', message: 'not authorized' } }),
  deleting: finding({ tableStatus: 'DELETING' }),
  restored: finding({ pitr: { status: 'DISABLED' }, restoreSummary: { sourceTableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/src', restoreDateTime: daysAgo(1), restoreInProgress: false } }),
};

describe('the model validator itself', () => {
  it('reads the limits the model states in member documentation', () => {
    expect(docLimits('<p>Length Constraints: Minimum length of 1. Maximum length of 256.</p>')).toEqual({ minLength: 1, maxLength: 256 });
    expect(docLimits('<p>Length Constraints: 12.</p>')).toEqual({ exactLength: 12 });
    expect(docLimits('<p>Array Members: Minimum number of 1 item. Maximum number of 32 items.</p>')).toEqual({ minItems: 1, maxItems: 32 });
  });

  it('rejects what the model rejects: a missing required member, an unknown member, a bad enum, a long title, too many resources', () => {
    const good = toAsff(EVERY_KIND.disabled as Finding, CONTEXT) as unknown as Record<string, unknown>;
    expect(model.validate(good)).toEqual([]);
    const { Title: _t, ...noTitle } = good;
    expect(model.validate(noTitle)).toEqual(['AwsSecurityFinding: required member Title missing']);
    expect(model.validate({ ...good, Extra: 1 })).toEqual(['AwsSecurityFinding: unknown member Extra']);
    expect(model.validate({ ...good, RecordState: 'GONE' })[0]).toMatch(/RecordState: "GONE" is not one of ACTIVE, ARCHIVED/);
    expect(model.validate({ ...good, Title: 'x'.repeat(257) })).toEqual(['AwsSecurityFinding.Title: length 257, at most 256']);
    expect(model.validate({ ...good, AwsAccountId: '1234' })).toEqual(['AwsSecurityFinding.AwsAccountId: length 4, exactly 12']);
    const resources = good.Resources as unknown[];
    expect(model.validate({ ...good, Resources: Array.from({ length: 33 }, () => resources[0]) })).toEqual(['AwsSecurityFinding.Resources: 33 items, at most 32']);
    expect(model.validate({ ...good, Description: '   ' })[0]).toMatch(/Description: .* does not match/);
    const fields = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
    expect(model.validate({ ...good, ProductFields: fields })).toEqual(['AwsSecurityFinding.ProductFields: 51 pairs, at most 50']);
  });
});

describe('toAsff', () => {
  it.each(Object.entries(EVERY_KIND))('%s: a valid AwsSecurityFinding by the API model', (_, f) => {
    expect(model.validate(toAsff(f, CONTEXT))).toEqual([]);
  });

  it('has a stable Id per table and control, the account’s default product ARN in the table’s Region, and the generator', () => {
    const a = toAsff(EVERY_KIND.disabled as Finding, CONTEXT);
    expect(a).toEqual(
      expect.objectContaining({
        SchemaVersion: ASFF_SCHEMA_VERSION,
        Id: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders/pitr-guard/dynamodb-pitr',
        ProductArn: 'arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default',
        GeneratorId: GENERATOR_ID,
        AwsAccountId: '123456789012',
        RecordState: 'ACTIVE',
        ProductName: 'pitr-guard',
        CreatedAt: NOW.toISOString(),
        UpdatedAt: NOW.toISOString(),
      }),
    );
    expect(toAsff(EVERY_KIND.compliant as Finding, CONTEXT).Id).toBe(a.Id);
    // A read failure has no ARN from AWS: the Id is built from account, Region and name, the same the ledger uses.
    expect(findingId(EVERY_KIND.error as Finding)).toBe(a.Id);
  });

  it('uses the partition of the table ARN; a partition outside the model’s enum leaves Resource.Partition out', () => {
    const cn = toAsff(finding({ region: 'cn-north-1', tableArn: 'arn:aws-cn:dynamodb:cn-north-1:123456789012:table/orders' }), CONTEXT);
    expect(cn.ProductArn).toBe('arn:aws-cn:securityhub:cn-north-1:123456789012:product/123456789012/default');
    expect(cn.Resources?.[0]?.Partition).toBe('aws-cn');
    const eusc = toAsff(finding({ region: 'eusc-de-east-1', tableArn: 'arn:aws-eusc:dynamodb:eusc-de-east-1:123456789012:table/orders' }), CONTEXT);
    expect(eusc.Resources?.[0]?.Partition).toBeUndefined();
    expect(model.validate(eusc)).toEqual([]);
  });

  it.each([
    ['compliant', 'PASSED', 'INFORMATIONAL', 0],
    ['windowNotFull', 'WARNING', 'LOW', 20],
    ['disabled', 'FAILED', 'HIGH', 70],
    ['restored', 'FAILED', 'HIGH', 70],
    ['periodShort', 'FAILED', 'MEDIUM', 40],
    ['exempt', 'WARNING', 'LOW', 20],
    ['error', 'NOT_AVAILABLE', 'MEDIUM', 40],
    ['deleting', 'NOT_AVAILABLE', 'INFORMATIONAL', 0],
  ])('%s: Compliance %s, severity %s (%d), also in FindingProviderFields', (kind, compliance, label, normalized) => {
    const a = toAsff(EVERY_KIND[kind] as Finding, CONTEXT);
    expect(a.Compliance?.Status).toBe(compliance);
    expect(a.Severity).toEqual(expect.objectContaining({ Label: label, Normalized: normalized }));
    expect(a.FindingProviderFields?.Severity?.Label).toBe(label);
    expect(a.FindingProviderFields?.Types).toEqual(a.Types);
    expect(a.Compliance?.StatusReasons?.map((r) => r.ReasonCode)).toEqual((EVERY_KIND[kind] as Finding).reasons);
  });

  it('is CRITICAL when PITR was switched off repeatedly', () => {
    expect(verdictOf({ status: 'NON_COMPLIANT', reasons: ['PITR_DISABLED', 'REPEATEDLY_DISABLED'] })).toEqual({ compliance: 'FAILED', label: 'CRITICAL', normalized: 90 });
  });

  it('tells itself apart from DynamoDB.2 in Title and Description, carries the fix command and the console link', () => {
    const a = toAsff(EVERY_KIND.disabled as Finding, CONTEXT);
    expect(a.Title).toMatch(/^pitr-guard: DynamoDB PITR policy .* FAILED for table orders$/);
    expect(a.Description).toContain("not Security Hub's control DynamoDB.2");
    expect(a.Remediation?.Recommendation?.Text).toContain('aws dynamodb update-continuous-backups --region eu-west-1 --table-name orders --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true,RecoveryPeriodInDays=35');
    expect(a.Remediation?.Recommendation?.Url).toBe('https://eu-west-1.console.aws.amazon.com/dynamodbv2/home?region=eu-west-1#table?name=orders');
  });

  it('describes the table: type, ARN, Region, tags pitr-guard read, size, restore summary and replicas when known', () => {
    const f: Finding = {
      ...(EVERY_KIND.restored as Finding),
      cost: { tableSizeBytes: 1234, lsiSizeBytes: 0, pitrMonthlyUsd: 0.01 },
      restore: { sourceTableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/src', sourceBackupArn: null, restoreDateTime: daysAgo(1).toISOString(), restoreInProgress: false, sourceStatus: 'COMPLIANT' },
      replicaSet: { globalTableVersion: '2019.11.21', setId: 'orders:eu-west-1,us-east-1', compliant: false, replicas: [{ region: 'eu-west-1', accountId: '123456789012', replicaStatus: 'ACTIVE', status: 'NON_COMPLIANT' }, { region: 'us-east-1', accountId: '123456789012', replicaStatus: 'ACTIVE', status: 'COMPLIANT' }] },
    };
    const a = toAsff(f, CONTEXT);
    expect(model.validate(a)).toEqual([]);
    expect(a.Resources).toEqual([
      {
        Type: 'AwsDynamoDbTable',
        Id: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders',
        Partition: 'aws',
        Region: 'eu-west-1',
        Details: {
          AwsDynamoDbTable: {
            TableName: 'orders',
            TableStatus: 'ACTIVE',
            TableSizeBytes: 1234,
            GlobalTableVersion: '2019.11.21',
            RestoreSummary: { SourceTableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/src', RestoreDateTime: daysAgo(1).toISOString(), RestoreInProgress: false },
            Replicas: [{ RegionName: 'us-east-1', ReplicaStatus: 'ACTIVE' }],
          },
        },
      },
    ]);
    expect(toAsff(EVERY_KIND.exempt as Finding, CONTEXT).Resources?.[0]?.Tags).toEqual({ 'pitr-guard:exempt': 'scratch data, rebuilt nightly' });
  });

  it('carries the PITR state in ProductFields', () => {
    const a = toAsff({ ...(EVERY_KIND.windowNotFull as Finding), since: daysAgo(3).toISOString() }, CONTEXT);
    expect(a.ProductFields).toEqual(
      expect.objectContaining({
        'pitr-guard/Status': 'COMPLIANT',
        'pitr-guard/Reasons': 'PITR_ENABLED,RESTORE_WINDOW_NOT_FULL',
        'pitr-guard/PitrStatus': 'ENABLED',
        'pitr-guard/RecoveryPeriodInDays': '35',
        'pitr-guard/RequiredRecoveryPeriodInDays': '35',
        'pitr-guard/Since': daysAgo(3).toISOString(),
      }),
    );
    expect(a.CreatedAt).toBe(daysAgo(3).toISOString());
    expect(toAsff(EVERY_KIND.compliant as Finding, { ...CONTEXT, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-11-21T12:00:00.001Z' })).toEqual(expect.objectContaining({ CreatedAt: '2026-01-01T00:00:00.000Z', UpdatedAt: '2026-11-21T12:00:00.001Z' }));
  });

  it('keeps every field within its limit for the longest inputs AWS allows (255-character name, long tag values and messages)', () => {
    const name = 'n'.repeat(255);
    const f = finding({ tableName: name, tableArn: `arn:aws:dynamodb:eu-west-1:123456789012:table/${name}`, pitr: { status: 'DISABLED' }, tags: { 'pitr-guard:exempt': '', 'pitr-guard:mode': '😀'.repeat(256) } });
    const long = { ...f, message: '😀'.repeat(2000) };
    const a = toAsff(long, CONTEXT);
    expect(model.validate(a)).toEqual([]);
    expect(Array.from(a.Title ?? '')).toHaveLength(256);
    expect(Array.from(a.Description ?? '')).toHaveLength(1024);
    // Cut on code points: no lone surrogate left at the cut.
    expect(a.Description).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(cut('😀😀😀', 2)).toBe('😀…');
    expect(cut('  ', 5)).toBe('-');
  });
});

describe('renderAsff (scan --format asff)', () => {
  it('prints one record per finding, in the report’s order, each valid', () => {
    const findings = Object.values(EVERY_KIND);
    const out = JSON.parse(renderAsff({ generatedAt: NOW.toISOString(), findings, policy: POLICY })) as unknown[];
    expect(out).toHaveLength(findings.length);
    for (const r of out) expect(model.validate(r)).toEqual([]);
  });
});

describe('docs/security-hub.md', () => {
  it('shows the record toAsff builds for its sample (a table with PITR off)', () => {
    const doc = readFileSync(path.resolve(__dirname, '../../docs/security-hub.md'), 'utf8');
    const sample = JSON.parse(/```json\n([\s\S]*?)\n```/.exec(doc)?.[1] ?? 'null') as unknown;
    const now = new Date('2026-11-21T12:00:00.000Z');
    const f = evaluate(facts({ tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders', tableId: undefined, pitr: { status: 'DISABLED' } }), POLICY, now);
    expect(sample).toEqual(toAsff({ ...f, since: '2026-11-20T08:00:00.000Z' }, { generatedAt: now.toISOString(), minRecoveryDays: 35, exemptTag: POLICY.exemptTag }));
  });
});
