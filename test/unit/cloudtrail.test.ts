import { normaliseTableName, outOfScope, parseCloudTrailEvent, type TableChange } from '../../lib/events/cloudtrail';
import { loadEvent } from '../helpers/builders';

type Ev = { detail: Record<string, unknown> } & Record<string, unknown>;
const ok = (event: unknown): TableChange => {
  const parsed = parseCloudTrailEvent(event);
  if (parsed.status !== 'ok') throw new Error(`expected ok, got ${parsed.status}: ${parsed.reason}`);
  return parsed.change;
};

describe('parseCloudTrailEvent', () => {
  it('reads a disable call: table, kind, request, attribution', () => {
    const change = ok(loadEvent('cloudtrail-pitr-disabled.json'));
    expect(change).toEqual({
      eventId: '0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f',
      eventName: 'UpdateContinuousBackups',
      kind: 'PITR_DISABLED',
      accountId: '123456789012',
      region: 'us-east-1',
      tableName: 'orders',
      requested: { enabled: false },
      actor: {
        arn: 'arn:aws:sts::123456789012:assumed-role/Admin/alice',
        type: 'AssumedRole',
        accountId: '123456789012',
        sessionIssuer: 'arn:aws:iam::123456789012:role/Admin',
        sourceIp: '203.0.113.10',
        userAgent: expect.stringMatching(/^aws-cli\/2\.22\.35 /),
        eventTime: '2026-11-20T10:15:30Z',
      },
    });
  });

  it('normalises a table ARN to its name and takes account and Region from it', () => {
    const change = ok(loadEvent('cloudtrail-period-shortened.json'));
    expect(change).toMatchObject({ tableName: 'orders', kind: 'PERIOD_SET', requested: { enabled: true, recoveryPeriodInDays: 7 } });
    expect(normaliseTableName('arn:aws:dynamodb:eu-west-1:111122223333:table/orders/stream/2026-11-20T10:00:00.000')).toEqual({
      tableName: 'orders',
      region: 'eu-west-1',
      accountId: '111122223333',
    });
    expect(normaliseTableName('arn:aws:dynamodb:eu-west-1:111122223333:table/orders/index/by-date').tableName).toBe('orders');
    expect(normaliseTableName('orders')).toEqual({ tableName: 'orders' });
  });

  it('reads request parameters case-insensitively', () => {
    const event = loadEvent<Ev>('cloudtrail-pitr-disabled.json');
    event.detail.requestParameters = { TableName: 'orders', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: 'false' } };
    expect(ok(event)).toMatchObject({ tableName: 'orders', kind: 'PITR_DISABLED', requested: { enabled: false } });
  });

  it('acts on the TARGET table of restores and imports', () => {
    expect(ok(loadEvent('cloudtrail-restore-point-in-time.json'))).toMatchObject({ tableName: 'orders-restored', kind: 'TABLE_RESTORED', source: 'orders' });
    expect(ok(loadEvent('cloudtrail-restore-from-backup.json'))).toMatchObject({
      tableName: 'orders-from-backup',
      kind: 'TABLE_RESTORED',
      source: expect.stringContaining(':table/orders/backup/'),
    });
    expect(ok(loadEvent('cloudtrail-import-table.json'))).toMatchObject({ tableName: 'orders-imported', kind: 'TABLE_IMPORTED' });
    expect(ok(loadEvent('cloudtrail-create-table.json'))).toMatchObject({
      tableName: 'invoices',
      kind: 'TABLE_CREATED',
      actor: { invokedBy: 'cloudformation.amazonaws.com', arn: expect.stringContaining('AWSCloudFormation') },
    });
  });

  it('falls back to the response when the request lacks the name (import: the table ARN)', () => {
    const event = loadEvent<Ev>('cloudtrail-import-table.json');
    (event.detail.requestParameters as Record<string, unknown>).tableCreationParameters = {};
    expect(ok(event).tableName).toBe('orders-imported');
  });

  it('uses addendum.originalEventID as the key of a re-delivered event', () => {
    const event = loadEvent<Ev>('cloudtrail-pitr-disabled.json');
    event.detail.addendum = { reason: 'DELIVERY_DELAY', originalEventID: '5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d' };
    expect(ok(event).eventId).toBe('5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
  });

  it('rejects an event ID that is not a CloudTrail event ID (a UUID), quoting it capped', () => {
    for (const [where, set] of [
      ['detail.eventID', (e: Ev, v: string) => (e.detail.eventID = v)],
      ['addendum.originalEventID', (e: Ev, v: string) => (e.detail.addendum = { reason: 'DELIVERY_DELAY', originalEventID: v })],
    ] as const) {
      for (const id of ['first-delivery-id', 'x'.repeat(200_000), '0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f ', '0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3']) {
        const event = loadEvent<Ev>('cloudtrail-pitr-disabled.json');
        set(event, id);
        const parsed = parseCloudTrailEvent(event);
        expect({ where, parsed }).toMatchObject({ where, parsed: { status: 'invalid', reason: expect.stringMatching(/^event ID ".*"(…\(\d+ chars\))? is not a CloudTrail event ID \(a UUID\)$/) } });
        expect((parsed as { reason: string }).reason.length).toBeLessThan(200);
      }
    }
    const long = loadEvent<Ev>('cloudtrail-pitr-disabled.json');
    long.detail.eventID = 'x'.repeat(200_000);
    expect((parseCloudTrailEvent(long) as { reason: string }).reason).toContain('…(200000 chars)');
  });

  it('compares the envelope and eventName exactly, as EventBridge does: no trimming', () => {
    const cases: [string, (e: Ev) => void, RegExp][] = [
      ['source', (e) => (e.source = 'aws.dynamodb '), /source "aws\.dynamodb " is not aws\.dynamodb/],
      ['source', (e) => (e.source = '\taws.dynamodb'), /source "\\taws\.dynamodb" is not/],
      ['detail-type', (e) => (e['detail-type'] = 'AWS API Call via CloudTrail\n'), /detail-type "AWS API Call via CloudTrail\\n" is not/],
      ['eventSource', (e) => (e.detail.eventSource = 'dynamodb.amazonaws.com '), /detail\.eventSource "dynamodb\.amazonaws\.com " is not/],
      ['eventSource', (e) => (e.detail.eventSource = '  '), /detail\.eventSource " {2}" is not/],
      ['eventName', (e) => (e.detail.eventName = 'UpdateContinuousBackups '), /detail\.eventName "UpdateContinuousBackups " is not exactly an API name/],
      ['eventName', (e) => (e.detail.eventName = 'updatecontinuousbackups'), /is not exactly an API name/],
      ['table', (e) => ((e.detail.requestParameters as Record<string, unknown>).tableName = 'orders\n'), /table name "orders\\n" is not a valid/],
      ['account', (e) => (e.detail.recipientAccountId = ' 123456789012'), /account " 123456789012" is not a 12-digit/],
      ['region', (e) => (e.detail.awsRegion = 'us-east-1\r'), /region "us-east-1\\r" is not a Region code/],
    ];
    for (const [field, mutate, reason] of cases) {
      const event = loadEvent<Ev>('cloudtrail-pitr-disabled.json');
      mutate(event);
      expect({ field, parsed: parseCloudTrailEvent(event) }).toMatchObject({ field, parsed: { status: 'invalid', reason: expect.stringMatching(reason) } });
    }
  });

  it('checks the event’s own account and Region even when a table ARN names the table (found by the fuzz test)', () => {
    const account = loadEvent<Ev>('cloudtrail-period-shortened.json'); // tableName is a table ARN
    account.detail.recipientAccountId = 'not-an-account';
    expect(parseCloudTrailEvent(account)).toEqual({ status: 'invalid', reason: 'account "not-an-account" is not a 12-digit account ID', missing: [] });
    const region = loadEvent<Ev>('cloudtrail-period-shortened.json');
    region.detail.awsRegion = 'us-east-1\n';
    expect(parseCloudTrailEvent(region)).toMatchObject({ status: 'invalid', reason: 'region "us-east-1\\n" is not a Region code' });
    const arn = loadEvent<Ev>('cloudtrail-period-shortened.json');
    (arn.detail.requestParameters as Record<string, unknown>).tableName = 'arn:aws:dynamodb:moon-1x:12345:table/orders';
    expect(parseCloudTrailEvent(arn)).toMatchObject({
      status: 'invalid',
      reason: 'table ARN account "12345" is not a 12-digit account ID; table ARN region "moon-1x" is not a Region code',
    });
  });

  it('caps event-sourced values it quotes: a 200 KB eventName or errorCode gives a short reason', () => {
    const name = loadEvent<Ev>('cloudtrail-pitr-disabled.json');
    name.detail.eventName = 'Describe' + 'X'.repeat(200_000);
    const ignored = parseCloudTrailEvent(name) as { status: string; reason: string };
    expect(ignored.status).toBe('ignored');
    expect(ignored.reason.length).toBeLessThan(400);
    expect(ignored.reason).toContain('…(200008 chars)');
    const code = loadEvent<Ev>('cloudtrail-pitr-disabled.json');
    code.detail.errorCode = 'E'.repeat(200_000) + '\u202e';
    const failed = parseCloudTrailEvent(code) as { reason: string };
    expect(failed.reason.length).toBeLessThan(400);
    expect(failed.reason).toMatch(/^the UpdateContinuousBackups call failed \(E+…\(200001 chars\)\): nothing changed$/);
  });

  it('ignores failed calls and other DynamoDB event names', () => {
    expect(parseCloudTrailEvent(loadEvent('cloudtrail-failed-call.json'))).toEqual({
      status: 'ignored',
      reason: 'the UpdateContinuousBackups call failed (AccessDenied): nothing changed',
    });
    expect(parseCloudTrailEvent(loadEvent('cloudtrail-update-table.json'))).toMatchObject({ status: 'ignored', reason: expect.stringContaining('UpdateTable') });
  });

  it('requires the CloudTrail envelope: source, detail-type and detail.eventSource missing are malformed', () => {
    for (const [field, drop] of [
      ['source', (e: Ev) => delete e.source],
      ['detail-type', (e: Ev) => delete e['detail-type']],
      ['detail.eventSource', (e: Ev) => delete e.detail.eventSource],
    ] as const) {
      const event = loadEvent<Ev>('cloudtrail-pitr-disabled.json');
      drop(event);
      expect(parseCloudTrailEvent(event)).toEqual({ status: 'invalid', reason: `missing ${field}`, missing: [field] });
    }
    const bare = loadEvent<Ev>('cloudtrail-pitr-disabled.json');
    delete bare.source;
    delete bare['detail-type'];
    bare.detail.eventSource = '';
    expect(parseCloudTrailEvent(bare)).toMatchObject({ status: 'invalid', missing: ['source', 'detail-type', 'detail.eventSource'] });
  });

  it('rejects a forged or misrouted envelope (another source, detail-type or eventSource), naming it', () => {
    const forged = loadEvent<Ev>('cloudtrail-pitr-disabled.json');
    forged.source = 'my.app';
    expect(parseCloudTrailEvent(forged)).toEqual({
      status: 'invalid',
      reason: 'not a DynamoDB API call recorded by CloudTrail: source "my.app" is not aws.dynamodb',
      missing: [],
    });
    const otherService = loadEvent<Ev>('cloudtrail-pitr-disabled.json');
    otherService.detail.eventSource = 's3.amazonaws.com';
    otherService['detail-type'] = 'AWS Console Sign In via CloudTrail';
    expect(parseCloudTrailEvent(otherService)).toMatchObject({
      status: 'invalid',
      reason:
        'not a DynamoDB API call recorded by CloudTrail: detail-type "AWS Console Sign In via CloudTrail" is not AWS API Call via CloudTrail; detail.eventSource "s3.amazonaws.com" is not dynamodb.amazonaws.com',
    });
    // The scheduled scan's event (no CloudTrail record inside) is malformed for the reactor.
    expect(parseCloudTrailEvent(loadEvent('scheduled.json'))).toEqual({ status: 'invalid', reason: 'missing detail.eventSource', missing: ['detail.eventSource'] });
  });

  it('rejects malformed events, naming what is missing', () => {
    expect(parseCloudTrailEvent('nonsense')).toMatchObject({ status: 'invalid', reason: 'expected an EventBridge event object, got string' });
    expect(parseCloudTrailEvent({ version: '0' })).toEqual({ status: 'invalid', reason: 'missing source, detail-type, detail', missing: ['source', 'detail-type', 'detail'] });
    const event = loadEvent<Ev>('cloudtrail-pitr-disabled.json');
    delete event.detail.eventID;
    event.detail.requestParameters = null;
    expect(parseCloudTrailEvent(event)).toEqual({
      status: 'invalid',
      reason: 'missing detail.eventID, detail.requestParameters.tableName',
      missing: ['detail.eventID', 'detail.requestParameters.tableName'],
    });
    const noName = loadEvent<Ev>('cloudtrail-pitr-disabled.json');
    delete noName.detail.eventName;
    expect(parseCloudTrailEvent(noName)).toMatchObject({ status: 'invalid', missing: ['detail.eventName'] });
  });

  it('rejects a table name DynamoDB could not have', () => {
    const event = loadEvent<Ev>('cloudtrail-pitr-disabled.json');
    (event.detail.requestParameters as Record<string, unknown>).tableName = 'orders <!channel>';
    expect(parseCloudTrailEvent(event)).toMatchObject({ status: 'invalid', reason: expect.stringContaining('is not a valid DynamoDB table name') });
  });

  it('falls back to a readable principal when the identity has no ARN', () => {
    const event = loadEvent<Ev>('cloudtrail-pitr-disabled.json');
    event.detail.userIdentity = { type: 'AWSService', invokedBy: 'dynamodb.application-autoscaling.amazonaws.com' };
    expect(ok(event).actor.arn).toBe('dynamodb.application-autoscaling.amazonaws.com (AWS service)');
    event.detail.userIdentity = undefined;
    expect(ok(event).actor.arn).toBe('unknown principal');
  });
});

describe('outOfScope', () => {
  const change = { accountId: '123456789012', region: 'us-east-1' };
  it('accepts this account and a configured Region (or all)', () => {
    expect(outOfScope(change, { accountId: '123456789012', regions: ['us-east-1'] })).toBeUndefined();
    expect(outOfScope(change, { accountId: '123456789012', regions: 'all' })).toBeUndefined();
  });
  it('names the account or Region that is out of scope', () => {
    expect(outOfScope(change, { accountId: '999999999999', regions: 'all' })).toBe("account 123456789012 is not this deployment's account 999999999999");
    expect(outOfScope(change, { accountId: '123456789012', regions: ['eu-west-1', 'eu-central-1'] })).toBe(
      'Region us-east-1 is not configured (PITR_GUARD_REGIONS: eu-west-1,eu-central-1)',
    );
  });
});
