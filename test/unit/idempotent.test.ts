/**
 * The de-duplication middleware on its own (lib/state/idempotent.ts): claim before, complete after,
 * release on error (keeping what the handler remembered), lease from the remaining time, a store
 * that cannot be used is a warning and a DeduplicationUnavailable metric, never a dropped event.
 */
import { lambdaHandler } from '../../lib/runtime/handler';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EventInProgressError } from '../../lib/core/errors';
import { createLogger } from '../../lib/runtime/logger';
import { createMetrics } from '../../lib/runtime/metrics';
import { MemoryIdempotencyStore, type IdempotencyStore } from '../../lib/state/idempotency';
import { idempotent, leaseFor, type ContextWithIdempotency } from '../../lib/state/idempotent';
import { REACTOR_MAX_ATTEMPTS } from '../../lib/jobs/pitr-change';
import { lambdaContext } from '../helpers/lambda';

type Event = { id?: string; fail?: boolean };
let lines: Record<string, unknown>[];
let metricLines: Record<string, unknown>[];
let calls: number;

function handler(store: IdempotencyStore | undefined, remainingMs = 42_000) {
  const logger = createLogger({ write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const metrics = createMetrics({ functionName: 'pitrChange', write: (l) => metricLines.push(JSON.parse(l) as Record<string, unknown>) });
  const h = lambdaHandler<Event, { status: string }, ContextWithIdempotency>()
    .use(
      idempotent<Event, { status: string }, ContextWithIdempotency>({
        key: (e) => e.id,
        store: () => store,
        logger: () => logger,
        metrics: () => metrics,
        duplicate: (r) => ({ status: `duplicate of ${r.result ?? '?'}` }),
        resultOf: (r) => r.status,
      }),
    )
    .handler(async (event, context) => {
      calls++;
      const seen = (context.idempotency?.memory.seen as number | undefined) ?? 0;
      context.idempotency?.remember({ seen: seen + 1 });
      if (event.fail) throw new Error('transient');
      return { status: `done on attempt ${context.idempotency?.attempt ?? '?'}` };
    });
  return (event: Event) => h(event, { ...lambdaContext('f'), getRemainingTimeInMillis: () => remainingMs });
}

beforeEach(() => {
  lines = [];
  metricLines = [];
  calls = 0;
});

describe('idempotent middleware', () => {
  it('a reused context never carries an earlier event: an event without a key writes nothing, not even the previous record', async () => {
    const store = new MemoryIdempotencyStore();
    const writes: string[] = [];
    const spy: IdempotencyStore = {
      claim: (id, lease) => (writes.push(`claim ${id}`), store.claim(id, lease)),
      complete: (id, r) => (writes.push(`complete ${id}`), store.complete(id, r)),
      release: (id, r) => (writes.push(`release ${id}`), store.release(id, r)),
    };
    const logger = createLogger({ write: () => undefined });
    const h = lambdaHandler<Event, { status: string }, ContextWithIdempotency>()
      .use(idempotent<Event, { status: string }, ContextWithIdempotency>({ key: (e) => e.id, store: () => spy, logger: () => logger, duplicate: () => ({ status: 'dup' }), resultOf: (r) => r.status }))
      .handler(async (event) => ({ status: event.id ? 'acted' : 'rejected' }));
    const context = { ...lambdaContext('f'), getRemainingTimeInMillis: () => 42_000 };
    await h({ id: 'e1' }, context);
    await h({}, context);
    await h({}, context);
    expect(writes).toEqual(['claim e1', 'complete e1']);
    expect(store.records.get('e1')).toMatchObject({ status: 'COMPLETED', result: 'acted' });
  });

  it('claims, completes with the result; a copy is answered from the record without running the handler', async () => {
    const store = new MemoryIdempotencyStore();
    expect(await handler(store)({ id: 'e1' })).toEqual({ status: 'done on attempt 1' });
    expect(store.records.get('e1')).toMatchObject({ status: 'COMPLETED', result: 'done on attempt 1', memory: '{"seen":1}' });
    expect(await handler(store)({ id: 'e1' })).toEqual({ status: 'duplicate of done on attempt 1' });
    expect(calls).toBe(1);
  });

  it('releases on error keeping the memory; the retry sees attempt 2 and the memory', async () => {
    const store = new MemoryIdempotencyStore();
    await expect(handler(store)({ id: 'e2', fail: true })).rejects.toThrow('transient');
    expect(store.records.get('e2')).toMatchObject({ status: 'RETRY', attempts: 1, memory: '{"seen":1}', leaseUntil: 0 });
    expect(await handler(store)({ id: 'e2' })).toEqual({ status: 'done on attempt 2' });
    expect(store.records.get('e2')).toMatchObject({ status: 'COMPLETED', memory: '{"seen":2}' });
  });

  it('a live claim fails the copy with EventInProgressError', async () => {
    const store = new MemoryIdempotencyStore();
    await store.claim('e3', 60_000);
    await expect(handler(store)({ id: 'e3' })).rejects.toBeInstanceOf(EventInProgressError);
    expect(calls).toBe(0);
  });

  it('the lease is the remaining time of the invocation', async () => {
    const store = new MemoryIdempotencyStore();
    expect(leaseFor({ getRemainingTimeInMillis: () => 42_000 }, 5)).toBe(42_000);
    expect(leaseFor({ getRemainingTimeInMillis: () => 10 }, 5)).toBe(1_000);
    expect(leaseFor(undefined, 5)).toBe(5);
    const spy = jest.spyOn(store, 'claim');
    await handler(store, 17_000)({ id: 'e5' });
    expect(spy).toHaveBeenCalledWith('e5', 17_000);
  });

  it('a store that cannot be used: the handler still runs, with a warning and a DeduplicationUnavailable metric', async () => {
    const broken: IdempotencyStore = {
      claim: () => Promise.reject(Object.assign(new Error('denied'), { name: 'AccessDeniedException' })),
      complete: () => Promise.resolve(),
      release: () => Promise.resolve(),
    };
    expect(await handler(broken)({ id: 'e6' })).toEqual({ status: 'done on attempt ?' });
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', event: 'idempotency-unavailable', errorName: 'AccessDeniedException', eventId: 'e6' })]);
    expect(metricLines).toEqual([expect.objectContaining({ function: 'pitrChange', DeduplicationUnavailable: 1 })]);
  });

  it('a failure to complete is logged, not thrown; a failure to release is logged and the error goes on', async () => {
    const store = new MemoryIdempotencyStore();
    const flaky: IdempotencyStore = {
      claim: (id, lease) => store.claim(id, lease),
      complete: () => Promise.reject(Object.assign(new Error('slow'), { name: 'ThrottlingException' })),
      release: () => Promise.reject(Object.assign(new Error('slow'), { name: 'ThrottlingException' })),
    };
    expect(await handler(flaky)({ id: 'e7' })).toEqual({ status: 'done on attempt 1' });
    await expect(handler(flaky)({ id: 'e8', fail: true })).rejects.toThrow('transient');
    expect(lines.map((l) => l.event)).toEqual(['idempotency-complete-failed', 'idempotency-release-failed']);
  });

  it('an event without a key and a deployment without a store are handled, not de-duplicated', async () => {
    const store = new MemoryIdempotencyStore();
    expect(await handler(store)({})).toEqual({ status: 'done on attempt ?' });
    expect(await handler(undefined)({ id: 'e9' })).toEqual({ status: 'done on attempt ?' });
    expect(store.records.size).toBe(0);
  });
});

describe('the reactor\'s attempt count', () => {
  it('REACTOR_MAX_ATTEMPTS is serverless.yml pitrChange maximumRetryAttempts + 1', () => {
    const yml = readFileSync(path.join(__dirname, '../../serverless.yml'), 'utf8');
    const block = yml.slice(yml.indexOf('\n  pitrChange:'), yml.indexOf('\n  configRule:'));
    const retries = Number(/maximumRetryAttempts: (\d+)/.exec(block)?.[1]);
    expect(REACTOR_MAX_ATTEMPTS).toBe(retries + 1);
  });
});
