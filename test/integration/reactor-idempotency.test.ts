/**
 * The de-duplication table on moto: PutItem attribute_not_exists claims, COMPLETED blocks
 * duplicates, RETRY (or an expired lease) lets a retry take over keeping the run's memory, the TTL attribute is set.
 */
import { DescribeTimeToLiveCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoIdempotencyStore } from '../../lib/state/idempotency';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { createIdempotencyTable, ddbClient } from '../helpers/alerting';

let moto: MotoServer;
const TABLE = 'pitr-guard-idempotency';
let t = Date.parse('2026-11-20T10:15:33Z');
const store = () => new DynamoIdempotencyStore(ddbClient(moto.endpoint), TABLE, { now: () => t, ttlDays: 7 });

beforeAll(async () => {
  moto = await startMoto();
  await createIdempotencyTable(moto.endpoint, TABLE);
});
afterAll(() => moto?.stop());

describe('DynamoIdempotencyStore on moto', () => {
  it('claims a new event once; a concurrent copy sees it in progress; after completion copies are duplicates', async () => {
    const s = store();
    const first = await s.claim('evt-1', 60_000);
    expect(first).toMatchObject({ state: 'claimed', record: { status: 'IN_PROGRESS', attempts: 1 } });
    expect(await s.claim('evt-1', 60_000)).toMatchObject({ state: 'in-progress' });
    await s.complete('evt-1', { result: 'ENABLED' });
    expect(await s.claim('evt-1', 60_000)).toMatchObject({ state: 'completed', record: { status: 'COMPLETED', result: 'ENABLED' } });

    const item = await ddbClient(moto.endpoint).send(new GetItemCommand({ TableName: TABLE, Key: { eventId: { S: 'evt-1' } } }));
    expect(Number(item.Item?.expiresAt?.N)).toBe(Math.floor(t / 1000) + 7 * 86_400);
    const ttl = await ddbClient(moto.endpoint).send(new DescribeTimeToLiveCommand({ TableName: TABLE }));
    expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: 'expiresAt', TimeToLiveStatus: 'ENABLED' });
  });

  it('a released event can be claimed again by the retry, keeping what the failed run recorded', async () => {
    const s = store();
    await s.claim('evt-2', 60_000);
    await s.release('evt-2', { memory: '{"interimAlertSent":true}' });
    const retry = await s.claim('evt-2', 60_000);
    expect(retry).toMatchObject({ state: 'claimed', record: { status: 'IN_PROGRESS', attempts: 2, memory: '{"interimAlertSent":true}' } });
    await s.release('evt-2', {}); // a release without new memory keeps the old one
    expect(await s.claim('evt-2', 60_000)).toMatchObject({ state: 'claimed', record: { attempts: 3, memory: '{"interimAlertSent":true}' } });
    await s.complete('evt-2', { result: 'ENABLED' });
    const item = await ddbClient(moto.endpoint).send(new GetItemCommand({ TableName: TABLE, Key: { eventId: { S: 'evt-2' } } }));
    expect(item.Item?.memory).toBeUndefined();
    expect(item.Item?.status?.S).toBe('COMPLETED');
  });

  it('takes over an IN_PROGRESS claim whose lease ran out (its invocation died)', async () => {
    const s = store();
    await s.claim('evt-3', 1_000);
    t += 5_000;
    expect(await s.claim('evt-3', 60_000)).toMatchObject({ state: 'claimed', record: { attempts: 2 } });
  });

  it('only one of two racing retries wins the take-over', async () => {
    // The race that matters: both retries read RETRY before either writes. Left to timing, the two
    // claims rarely interleave that way, so the client below forces it — each claim waits until both
    // have read the item — and then sends both conditional take-overs: the store's condition alone
    // must turn one away. (moto's conditional writes are atomic here only because the local launcher,
    // dev/local/moto_server.py, serialises DynamoDB requests as DynamoDB's item-level atomicity would.)
    const client = ddbClient(moto.endpoint);
    let reads = 0;
    let bothRead: () => void = () => undefined;
    const bothHaveRead = new Promise<void>((resolve) => (bothRead = resolve));
    const sent: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(context.commandName ?? '');
        const out = await next(args);
        if (context.commandName === 'GetItemCommand' && ++reads === 2) bothRead();
        if (context.commandName === 'GetItemCommand') await bothHaveRead;
        return out;
      },
      { step: 'initialize', name: 'forceRaceInterleaving' },
    );
    const s = new DynamoIdempotencyStore(client, TABLE, { now: () => t, ttlDays: 7 });
    await store().claim('evt-4', 60_000);
    await store().release('evt-4', {});
    const [a, b] = await Promise.all([s.claim('evt-4', 60_000), s.claim('evt-4', 60_000)]);
    expect([a.state, b.state].sort()).toEqual(['claimed', 'in-progress']);
    // both read RETRY and both tried the take-over: the condition, not luck, turned one away
    expect(sent.filter((c) => c === 'UpdateItemCommand')).toHaveLength(2);
    const winner = [a, b].find((o) => o.state === 'claimed');
    expect(winner?.record).toMatchObject({ status: 'IN_PROGRESS', attempts: 2 });
    const item = await ddbClient(moto.endpoint).send(new GetItemCommand({ TableName: TABLE, Key: { eventId: { S: 'evt-4' } } }));
    expect(item.Item?.attempts?.N).toBe('2');
  });
});
