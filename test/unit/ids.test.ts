/** Identifier rules (lib/core/ids.ts): the one definition of table names, accounts, Regions, ARNs and event IDs. */
import { arnAccount, arnRegion, formatTableArn, isAccountId, isEventId, isRegionCode, isTableName, parseTableArn, partitionOf, splitTableRef, TOPIC_ARN } from '../../lib/core/ids';

describe('identifier rules', () => {
  it.each([
    ['orders', true],
    ['a.b-c_d', true],
    ['abc', true],
    ['ab', false],
    ['t'.repeat(255), true],
    ['t'.repeat(256), false],
    ['orders ', false],
    ['orders\n', false],
    ['ord/ers', false],
    ['örders', false],
  ])('table name %j → %s', (name, ok) => expect(isTableName(name)).toBe(ok));

  it.each([
    ['123456789012', true],
    ['12345678901', false],
    ['1234567890123', false],
    [' 123456789012', false],
    ['１２３４５６７８９０１２', false],
  ])('account %j → %s', (id, ok) => expect(isAccountId(id)).toBe(ok));

  it.each([
    ['us-east-1', true],
    ['us-gov-west-1', true],
    ['eusc-de-east-1', true],
    ['US-EAST-1', false],
    ['us-east-1 ', false],
    ['useast1', false],
  ])('Region %j → %s', (r, ok) => expect(isRegionCode(r)).toBe(ok));

  it.each([
    ['0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f', true],
    ['0B7E6C5D-4A3B-4C2D-9E1F-8A7B6C5D4E3F', true],
    ['0b7e6c5d4a3b4c2d9e1f8a7b6c5d4e3f', false],
    ['0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3g', false],
    ['0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f\n', false],
    ['evt-1', false],
  ])('CloudTrail event ID %j → %s', (id, ok) => expect(isEventId(id)).toBe(ok));

  it('parses and formats table ARNs in every partition', () => {
    expect(parseTableArn('arn:aws:dynamodb:eu-west-1:123456789012:table/orders')).toEqual({ partition: 'aws', region: 'eu-west-1', accountId: '123456789012', tableName: 'orders' });
    expect(parseTableArn('arn:aws-cn:dynamodb:cn-north-1:123456789012:table/t.1')).toMatchObject({ partition: 'aws-cn', tableName: 't.1' });
    expect(parseTableArn('arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026')).toBeUndefined();
    expect(parseTableArn('arn:aws:dynamodb:eu-west-1:12345:table/orders')).toBeUndefined();
    expect(parseTableArn('orders')).toBeUndefined();
    for (const region of ['us-east-1', 'cn-northwest-1', 'us-gov-east-1', 'eusc-de-east-1']) {
      const arn = formatTableArn({ region, accountId: '123456789012', tableName: 'orders' });
      expect(arn).toBe(`arn:${partitionOf(region)}:dynamodb:${region}:123456789012:table/orders`);
      expect(parseTableArn(arn)).toMatchObject({ region, tableName: 'orders' });
    }
  });

  it('splits a table reference (name, ARN, or ARN with a suffix) leniently, for the caller to validate', () => {
    expect(splitTableRef('orders')).toEqual({ tableName: 'orders' });
    expect(splitTableRef('arn:aws:dynamodb:us-east-1:123456789012:table/orders/index/by-date')).toEqual({ tableName: 'orders', region: 'us-east-1', accountId: '123456789012' });
  });

  it('reads the Region and account of any ARN', () => {
    expect(arnRegion('arn:aws:sns:eu-west-1:123456789012:alerts')).toBe('eu-west-1');
    expect(arnAccount('arn:aws:lambda:us-east-1:123456789012:function:f')).toBe('123456789012');
    expect(arnAccount('arn:aws:lambda:us-east-1:not-an-account:function:f')).toBeUndefined();
    expect(arnAccount(undefined)).toBeUndefined();
    expect(TOPIC_ARN.test('arn:aws:sns:us-east-1:123456789012:pitr-guard-alerts')).toBe(true);
    expect(TOPIC_ARN.test('arn:aws:sns:us-east-1:123456789012:alerts.fifo')).toBe(false);
  });
});
