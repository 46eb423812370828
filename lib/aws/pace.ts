/**
 * Pacing and retry for AWS control-plane calls.
 *
 * RateLimiter spaces calls evenly at `perSecond` (a token bucket of size 1): DynamoDB documents
 * (lib/aws/rates.ts)
 * 10 calls/s for DescribeContinuousBackups and ListTagsOfResource, and going faster only buys
 * ThrottlingExceptions. `retrying` answers throttling and server errors with exponential backoff
 * and full jitter, on top of the SDK's own adaptive retries, so a busy account slows the scan
 * down instead of losing tables.
 */
import { awsErrorName } from '../core/errors';
import { isTransientError } from '../core/decide';

export type Sleep = (ms: number) => Promise<void>;
export const sleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class RateLimiter {
  private next = 0;
  /** Callers are released one at a time, in arrival order (see `take`). */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly perSecond: number,
    private readonly clock: () => number = () => Date.now(),
    private readonly wait: Sleep = sleep,
  ) {
    if (!(perSecond > 0)) throw new RangeError(`perSecond must be > 0, got ${perSecond}`);
  }

  /**
   * Resolves when the caller may make its call; callers are served in arrival order, one at a
   * time, and the next slot is counted from the moment a caller was really released. A timer that
   * fires late (a busy event loop, a CPU-starved Lambda) therefore delays the callers behind it
   * instead of releasing them all at once above the rate.
   */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.release());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async release(): Promise<void> {
    const interval = 1000 / this.perSecond;
    const now = this.clock();
    if (this.next > now) await this.wait(this.next - now);
    this.next = Math.max(this.clock(), this.next) + interval;
  }

  /** Lowers the pace after a throttle: the next slots are pushed back by `ms`. */
  backOff(ms: number): void {
    this.next = Math.max(this.next, this.clock()) + ms;
  }
}

/** Throttling, 5xx, timeouts and network failures (one list: lib/core/decide.ts `isTransientError`). */
export function isRetryable(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return isTransientError(awsErrorName(error), status);
}

export function isThrottle(error: unknown): boolean {
  const name = awsErrorName(error);
  return name.includes('Throttl') || name === 'TooManyRequestsException' || name === 'RequestLimitExceeded';
}

export interface RetryOptions {
  /** Attempts in all, first one included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  sleep?: Sleep;
  random?: () => number;
  retryable?: (error: unknown) => boolean;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 6, baseDelayMs: 250, maxDelayMs: 8000 };

/** Runs `fn`, retrying retryable failures with exponential backoff and full jitter. */
export async function retrying<T>(fn: () => Promise<T>, options: Partial<RetryOptions> = {}): Promise<T> {
  const o = { ...DEFAULT_RETRY, ...options };
  const wait = o.sleep ?? sleep;
  const random = o.random ?? Math.random;
  const retryable = o.retryable ?? isRetryable;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= o.attempts || !retryable(error)) throw error;
      const cap = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (attempt - 1));
      const delay = Math.round(random() * cap);
      o.onRetry?.(error, attempt, delay);
      await wait(delay);
    }
  }
}

/** Runs `worker` over `items` with at most `concurrency` in flight; keeps the input order. */
export async function mapLimit<T, R>(items: readonly T[], concurrency: number, worker: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await worker(items[index] as T, index);
    }
  });
  await Promise.all(lanes);
  return results;
}
