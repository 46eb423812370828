/**
 * De-duplication as middleware (lib/runtime/handler.ts), in the manner of Powertools' idempotency utility: claim the
 * event before the handler, complete it after, release it on error. The handler itself knows
 * nothing about the store: it gets `context.idempotency` (which attempt this is, what an earlier
 * attempt remembered) and may `remember` something for the next attempt.
 *
 * - claim: the lease is the invocation's remaining time (`context.getRemainingTimeInMillis()`), so
 *   the claim of an invocation that is killed (timeout, out of memory) ends when the invocation
 *   would have ended, before Lambda's first retry (1 minute after the failure).
 * - completed already → the handler is skipped and `duplicate(record)` is the response.
 * - claimed by a live invocation → EventInProgressError (the invocation fails; Lambda retries it).
 * - the store cannot be used (throttled, access denied, missing table) → a warning, a
 *   DeduplicationUnavailable metric, and the handler runs without it: never a dropped event.
 * - after: COMPLETED with `resultOf(response)` and the memory. A failure here is logged, not thrown:
 *   the work is done.
 * - onError: RETRY with the memory (the error goes on to Lambda, which retries the event).
 *
 * `concurrent: true` (the reactor): `before` only starts the claim; the handler runs alongside it
 * and calls `handle.settle()` before it acts. Its reads overlap the claim's round trip; a lost
 * claim (completed → the duplicate response; live → EventInProgressError) is known before
 * anything is changed or sent, so the reads are discarded and nothing is done twice. The handler
 * may also `completeNow(result)` to write COMPLETED while it sends its last alert (one round trip
 * instead of two); if it then fails, onError waits for that write and releases the event (RETRY,
 * with the memory) so Lambda's retry can finish the job.
 */
import type { Middleware } from '../runtime/handler';
import type { Context } from 'aws-lambda';
import { AwsCallError, EventInProgressError, awsErrorName } from '../core/errors';
import type { Logger } from '../runtime/logger';
import { silentMetrics, type Metrics } from '../runtime/metrics';
import type { IdempotencyRecord, IdempotencyStore } from './idempotency';

export type Memory = Record<string, unknown>;

/** What the handler sees of de-duplication. */
export interface IdempotencyHandle {
  eventId: string;
  /** 1 for the first attempt; undefined without a usable store (the attempt is then unknown). */
  attempt?: number;
  /** What earlier attempts remembered (empty on the first). */
  memory: Memory;
  /** Replaces what is remembered for the next attempt (stored on release and on completion). */
  remember(memory: Memory): void;
  /**
   * Concurrent mode only: waits for the claim started before the handler. 'go': act (attempt and
   * memory are filled in now); otherwise the handler must return `response` without acting
   * (a duplicate). Rejects with EventInProgressError when a live invocation holds the event.
   */
  settle?: () => Promise<{ go: true } | { go: false; response: unknown }>;
  /** Concurrent mode only: writes COMPLETED now (with the memory as it stands); the after step then writes nothing. */
  completeNow?: (result: string) => Promise<void>;
}

export type ContextWithIdempotency = Context & { idempotency?: IdempotencyHandle };

export interface IdempotentOptions<E, R, C extends ContextWithIdempotency> {
  /** The event's key (e.g. its CloudTrail eventID); undefined = not de-duplicated (an event the handler rejects: nothing is written for it). */
  key: (event: E, context: C) => string | undefined;
  /** The store (undefined = de-duplication switched off: the handler still runs). */
  store: (context: C) => IdempotencyStore | undefined;
  logger: (context: C) => Logger;
  metrics?: (context: C) => Metrics;
  /** The response for a copy of an event already completed. */
  duplicate: (record: IdempotencyRecord) => R;
  /** What to record as the event's result. */
  resultOf: (response: R) => string;
  /** Lease when the context cannot tell the remaining time (tests, local runs). Default 5 minutes. */
  fallbackLeaseMs?: number;
  /** Start the claim and run the handler alongside it (the handler calls `handle.settle()` before acting). */
  concurrent?: boolean;
}

type Claimed = { state: 'claimed'; store: IdempotencyStore } | { state: 'unavailable' } | { state: 'duplicate'; response: unknown };

/** The lease for a claim: the time this invocation has left (never less than 1 s). */
export function leaseFor(context: Pick<Context, 'getRemainingTimeInMillis'> | undefined, fallbackMs: number): number {
  const left = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : NaN;
  return Number.isFinite(left) && left > 0 ? Math.max(1_000, Math.round(left)) : fallbackMs;
}

export function idempotent<E, R, C extends ContextWithIdempotency>(options: IdempotentOptions<E, R, C>): Middleware<E, R, C> {
  const state = new WeakMap<object, { eventId: string; claim: Promise<Claimed>; completing?: Promise<void> }>();

  /** The claim, settled: never rejects except with EventInProgressError. */
  const claimFor = async (context: C, store: IdempotencyStore, handle: IdempotencyHandle): Promise<Claimed> => {
    const { eventId } = handle;
    const logger = options.logger(context).child({ eventId });
    let claim;
    try {
      claim = await store.claim(eventId, leaseFor(context, options.fallbackLeaseMs ?? 300_000));
    } catch (error) {
      logger.warn('de-duplication unavailable: handling the event without it (a copy of this event may alert again)', {
        event: 'idempotency-unavailable',
        operation: error instanceof AwsCallError ? error.operation : 'claim',
        errorName: awsErrorName(error),
      });
      (options.metrics?.(context) ?? silentMetrics).count('DeduplicationUnavailable', 1, { eventId });
      return { state: 'unavailable' };
    }
    if (claim.state === 'completed') {
      logger.info('duplicate event: already handled', { event: 'event-duplicate', result: claim.record.result });
      return { state: 'duplicate', response: options.duplicate(claim.record) };
    }
    if (claim.state === 'in-progress') throw new EventInProgressError(eventId);
    handle.attempt = claim.record.attempts;
    handle.memory = parseMemory(claim.record.memory);
    return { state: 'claimed', store };
  };

  const complete = async (context: C, store: IdempotencyStore, eventId: string, result: string): Promise<void> => {
    try {
      await store.complete(eventId, { result, ...memoryField(context.idempotency?.memory) });
    } catch (error) {
      options.logger(context).error('could not mark the event COMPLETED (a copy of it may be handled again)', { event: 'idempotency-complete-failed', eventId, errorName: awsErrorName(error), result });
    }
  };

  return {
    before: async (request) => {
      const context = request.context;
      // Nothing from an earlier invocation may leak into this one (a reused context object).
      state.delete(context);
      delete context.idempotency;
      const eventId = options.key(request.event, context);
      if (eventId === undefined) return undefined;
      const handle: IdempotencyHandle = { eventId, memory: {}, remember: (m) => void (handle.memory = m) };
      context.idempotency = handle;
      const store = options.store(context);
      if (!store) return undefined;
      const claim = claimFor(context, store, handle);
      const s: { eventId: string; claim: Promise<Claimed>; completing?: Promise<void> } = { eventId, claim };
      state.set(context, s);
      if (options.concurrent) {
        claim.catch(() => undefined); // settled by the handler (settle) or by after/onError
        handle.settle = async () => {
          const c = await claim;
          return c.state === 'duplicate' ? { go: false, response: c.response } : { go: true };
        };
        handle.completeNow = (result) => {
          s.completing ??= claim.then((c) => (c.state === 'claimed' ? complete(context, c.store, eventId, result) : undefined));
          return s.completing;
        };
        return undefined;
      }
      const settled = await claim;
      if (settled.state === 'duplicate') {
        state.delete(context);
        return settled.response as R;
      }
      return undefined;
    },
    after: async (request) => {
      const s = state.get(request.context);
      state.delete(request.context);
      if (!s) return;
      const c = await s.claim.catch(() => undefined);
      if (c?.state !== 'claimed' || request.response === undefined || request.response === null) return;
      if (s.completing) return void (await s.completing);
      await complete(request.context, c.store, s.eventId, options.resultOf(request.response as R));
    },
    onError: async (request) => {
      const s = state.get(request.context);
      state.delete(request.context);
      if (!s) return;
      const c = await s.claim.catch(() => undefined);
      if (c?.state !== 'claimed') return;
      // A COMPLETED written early must land before the RETRY that replaces it.
      if (s.completing) await s.completing;
      try {
        await c.store.release(s.eventId, memoryField(request.context.idempotency?.memory));
      } catch (error) {
        // The lease ends with this invocation anyway: the retry can take the event over then.
        options.logger(request.context).error('could not release the event for retry', { event: 'idempotency-release-failed', eventId: s.eventId, errorName: awsErrorName(error) });
      }
    },
  };
}

function parseMemory(raw: string | undefined): Memory {
  if (!raw) return {};
  try {
    const value = JSON.parse(raw) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Memory) : {};
  } catch {
    return {};
  }
}

function memoryField(memory: Memory | undefined): { memory?: string } {
  return memory && Object.keys(memory).length > 0 ? { memory: JSON.stringify(memory) } : {};
}
