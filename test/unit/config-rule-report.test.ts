/** lib/report/config.ts: findings → Config evaluations (pure parts) and the batch sender. */
import { ConfigServiceClient, PutEvaluationsCommand } from '@aws-sdk/client-config-service';
import { mockClient } from 'aws-sdk-client-mock';
import {
  MAX_ANNOTATION_LENGTH,
  annotation,
  chunk,
  complianceOf,
  sendEvaluations,
  toEvaluation,
  type ConfigEvaluation,
} from '../../lib/report/config';
import { FINDING_STATUSES, type Finding } from '../../lib/core/types';

const config = mockClient(ConfigServiceClient);
const AT = new Date('2026-11-21T11:00:00.512Z');

function finding(over: Partial<Finding>): Finding {
  return {
    accountId: '123456789012',
    region: 'us-east-1',
    tableName: 'orders',
    tableArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders',
    tableStatus: 'ACTIVE',
    status: 'COMPLIANT',
    reasons: ['PITR_ENABLED'],
    message: 'PITR is enabled with a recovery period of 35 days.',
    pitr: { status: 'ENABLED', recoveryPeriodInDays: 35, earliestRestorableDateTime: null, latestRestorableDateTime: null, restorableDays: null },
    exemption: null,
    modeTag: null,
    ...over,
  };
}

function evaluation(i: number): ConfigEvaluation {
  return { ComplianceResourceType: 'AWS::DynamoDB::Table', ComplianceResourceId: `t-${i}`, ComplianceType: 'COMPLIANT', Annotation: 'ok', OrderingTimestamp: AT };
}

beforeEach(() => config.reset());

describe('annotation', () => {
  it('keeps a text of exactly 256 characters as it is', () => {
    const text = 'x'.repeat(MAX_ANNOTATION_LENGTH);
    expect(annotation(text)).toBe(text);
  });

  it('cuts a longer text to 256 characters ending with an ellipsis', () => {
    const out = annotation('y'.repeat(257));
    expect(out).toBe('y'.repeat(255) + '…');
    expect(out).toHaveLength(256);
  });

  it('never splits a surrogate pair', () => {
    const out = annotation('z'.repeat(254) + '😀' + 'tail');
    expect(out).toBe('z'.repeat(254) + '…');
    expect(out.length).toBeLessThanOrEqual(256);
  });

  it('makes one line of whitespace runs and never returns an empty annotation', () => {
    expect(annotation('  PITR is\n disabled.\t')).toBe('PITR is disabled.');
    expect(annotation('   ')).toBe('No details.');
  });
});

describe('finding → evaluation', () => {
  it('maps every finding status (ERROR to no evaluation)', () => {
    const mapped = Object.fromEntries(FINDING_STATUSES.map((s) => [s, complianceOf({ status: s })]));
    expect(mapped).toEqual({
      NON_COMPLIANT: 'NON_COMPLIANT',
      ERROR: null,
      EXEMPT: 'NOT_APPLICABLE',
      COMPLIANT: 'COMPLIANT',
      NOT_APPLICABLE: 'NOT_APPLICABLE',
    });
  });

  it('builds the evaluation with the ordering timestamp and resource ID given', () => {
    expect(toEvaluation(finding({}), { resourceId: 'orders', orderingTimestamp: AT })).toEqual({
      ComplianceResourceType: 'AWS::DynamoDB::Table',
      ComplianceResourceId: 'orders',
      ComplianceType: 'COMPLIANT',
      Annotation: 'PITR is enabled with a recovery period of 35 days.',
      OrderingTimestamp: AT,
    });
  });

  it('returns null for an ERROR finding', () => {
    expect(toEvaluation(finding({ status: 'ERROR', reasons: ['READ_FAILED'], message: 'Could not read.' }), { resourceId: 'orders', orderingTimestamp: AT })).toBeNull();
  });

  it('puts the exemption reason and expiry in an EXEMPT annotation', () => {
    const e = toEvaluation(
      finding({ status: 'EXEMPT', reasons: ['EXEMPT'], message: 'Exempt.', exemption: { reason: 'rebuilt nightly', until: '2027-01-31', active: true } }),
      { resourceId: 'orders', orderingTimestamp: AT, exemptTag: 'pitr-guard:exempt' },
    );
    expect(e).toMatchObject({ ComplianceType: 'NOT_APPLICABLE', Annotation: 'Exempt from the PITR policy (tag pitr-guard:exempt) until the end of 2027-01-31 UTC: rebuilt nightly' });
  });
});

describe('chunk', () => {
  it('splits into consecutive chunks of at most the size', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 100)).toEqual([]);
    expect(() => chunk([1], 0)).toThrow(RangeError);
  });
});

describe('sendEvaluations', () => {
  it('sends 250 evaluations as 100 + 100 + 50 with one token, and counts what Config accepted', async () => {
    config.on(PutEvaluationsCommand).resolves({ FailedEvaluations: [] });
    const all = Array.from({ length: 250 }, (_, i) => evaluation(i));
    const result = await sendEvaluations(new ConfigServiceClient({ region: 'us-east-1' }), all, 'token-1');
    const inputs = config.commandCalls(PutEvaluationsCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => i.Evaluations?.length)).toEqual([100, 100, 50]);
    expect(inputs.map((i) => i.ResultToken)).toEqual(['token-1', 'token-1', 'token-1']);
    expect(inputs.flatMap((i) => i.Evaluations ?? [])).toEqual(all);
    expect(inputs.every((i) => !('TestMode' in i))).toBe(true);
    expect(result).toEqual({ testMode: false, batches: 3, accepted: 250, failedEvaluations: [], failedBatches: [] });
  });

  it('sends TestMode: true for the TESTMODE token', async () => {
    config.on(PutEvaluationsCommand).resolves({});
    await sendEvaluations(new ConfigServiceClient({ region: 'us-east-1' }), [evaluation(1)], 'TESTMODE');
    expect(config).toHaveReceivedCommandWith(PutEvaluationsCommand, { ResultToken: 'TESTMODE', TestMode: true, Evaluations: [evaluation(1)] });
  });
});
