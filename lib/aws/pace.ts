/**
 * Pacing and retry for AWS control-plane calls.
 *
 * RateLimiter is an adaptive token bucket: it runs at the documented rate (lib/aws/rates.ts:
 * DynamoDB documents 10 calls/s for DescribeContinuousBackups and ListTagsOfResource), halves its
 * rate on the first throttle and climbs back to the documented rate (AIMD). `retrying` answers
 * throttling and server errors with exponential backoff and full jitter, on top of the SDK's own
 * adaptive retries, so a busy account slows the scan down instead of losing tables.
 */
import { awsErrorName } from '../core/errors';
import { isTransientError } from '../core/decide';

export type Sleep = (ms: number) => Promise<void>;
export const sleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export interface PacerOptions {
  /**
   * Calls the bucket may hold (burst credit). Credit is what lets a late timer be made up: a
   * caller woken 150 ms late finds 1.5 tokens and the next caller goes at once. It is kept well
   * below AWS's own bucket (modelled by dev/local/proxy.ts with burst = rate), so the calls still
   * conform after network jitter bunches them. Default: 3 (a quarter second at 10/s, at least 1).
   */
  burst: number;
  /** The lowest rate a run of throttles can bring the pacer down to. Default: a tenth of the rate. */
  minPerSecond: number;
  /** Additive increase after a decrease: calls/s regained per second without a throttle. Default: a tenth of the rate. */
  recoverPerSecond: number;
  /** Throttles closer together than this count as one (they answer the same burst). Default 1,000 ms. */
  decreaseGapMs: number;
}

/**
 * Callers are released one at a time, in arrival order, by a token bucket: at most `burst` calls
 * at once, refilled continuously at the current rate (the documented rate, or less after a
 * throttle). Credit is computed from the time elapsed, so a timer that fires late costs no
 * throughput (up to `burst - 1` calls' worth of lateness). That is AWS's own model (a bucket with
 * burst = rate, as dev/local/proxy.ts emulates it); a hard "≤ rate in any sliding second" rule was
 * tried and dropped: it carries every late timer over to the call `rate` places later, and lost
 * 7-9 % of the throughput at 0-150 ms of lateness. The bucket starts with one token, so with
 * timers on time no 1,000 ms window holds more than `perSecond` calls; after a late timer or an
 * idle spell it may hold up to rate + burst - 1 (12 at 10/s), which AWS's bucket (burst 10)
 * accepts with 0.7 s of network jitter to spare.
 */
export class RateLimiter {
  private readonly o: PacerOptions;
  private tokens: number;
  private at: number;
  private blockedUntil = 0;
  /** Rate right after the last decrease, and when the recovery from it starts (the end of its pause). */
  private decreasedTo?: number;
  private decreasedAt = 0;
  private lastThrottleAt = -Infinity;
  private queue: Promise<void> = Promise.resolve();
  /** Calls released and decreases made so far (benchmarks print these). */
  readonly stats = { released: 0, decreases: 0 };

  constructor(
    readonly perSecond: number,
    private readonly clock: () => number = () => Date.now(),
    private readonly wait: Sleep = sleep,
    options: Partial<PacerOptions> = {},
  ) {
    if (!(perSecond > 0)) throw new RangeError(`perSecond must be > 0, got ${perSecond}`);
    this.o = {
      burst: Math.max(1, Math.min(3, Math.ceil(perSecond / 4))),
      minPerSecond: perSecond / 10,
      recoverPerSecond: perSecond / 10,
      decreaseGapMs: 1000,
      ...options,
    };
    if (!(this.o.burst >= 1)) throw new RangeError(`burst must be >= 1, got ${this.o.burst}`);
    this.tokens = 1; // no burst at the start: at exact timers, never more than `perSecond` in any second
    this.at = clock();
  }

  /** The rate the pacer runs at now: the documented rate, or less while it recovers from a throttle. */
  rateAt(now: number = this.clock()): number {
    if (this.decreasedTo === undefined) return this.perSecond;
    const regained = (Math.max(0, now - this.decreasedAt) / 1000) * this.o.recoverPerSecond;
    return Math.min(this.perSecond, this.decreasedTo + regained);
  }

  /** Resolves when the caller may make its call; callers are served in arrival order, one at a time. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.release());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /**
   * A throttle was answered: the rate is halved (once per `decreaseGapMs`, however many calls in
   * flight were throttled together), the burst credit is dropped and nothing is released for `ms`.
   */
  backOff(ms: number): void {
    const now = this.clock();
    this.refill(now);
    this.blockedUntil = Math.max(this.blockedUntil, now + Math.max(0, ms));
    if (now - this.lastThrottleAt >= this.o.decreaseGapMs) {
      this.decreasedTo = Math.max(this.o.minPerSecond, this.rateAt(now) / 2);
      this.lastThrottleAt = now;
      this.stats.decreases++;
    }
    this.decreasedAt = Math.max(this.decreasedAt, this.blockedUntil);
    this.tokens = 0;
    this.at = Math.max(this.at, this.blockedUntil);
  }

  private refill(now: number): void {
    if (now <= this.at) return;
    // the rate at the start of the interval: during a recovery ramp that is the lower one
    this.tokens = Math.min(this.o.burst, this.tokens + ((now - this.at) / 1000) * this.rateAt(this.at));
    this.at = now;
  }

  /** How long until the next release is allowed (0: now). */
  private delay(now: number): number {
    if (now < this.blockedUntil) return this.blockedUntil - now;
    this.refill(now);
    return this.tokens >= 1 ? 0 : ((1 - this.tokens) * 1000) / this.rateAt(now);
  }

  private async release(): Promise<void> {
    for (let ms = this.delay(this.clock()); ms > 0; ms = this.delay(this.clock())) await this.wait(Math.ceil(ms));
    this.tokens -= 1;
    this.stats.released++;
  }
}

/**
 * Takes a token, sends, and tells the pacer when the SDK had to retry the call itself: its own
 * (adaptive-mode) retries of a throttle happen below the pacer, so without this the first
 * throttles would go unseen until the SDK gave up. The rate is halved; no pause (the SDK waited).
 */
export async function paced<T>(pacer: RateLimiter | undefined, send: () => Promise<T>): Promise<T> {
  await pacer?.take();
  const out = await send();
  const attempts = (out as { $metadata?: { attempts?: number } } | undefined)?.$metadata?.attempts ?? 1;
  if (attempts > 1) pacer?.backOff(0);
  return out;
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
  return (await mapUntil(items, concurrency, () => false, worker)).results;
}

/**
 * As mapLimit, but no item is started once `stop()` says so (asked before each start; the first
 * item always starts, so a caller always makes progress). The items started are always a prefix
 * of `items`, and all of them are finished when this resolves: `results` has `started` entries.
 */
export async function mapUntil<T, R>(items: readonly T[], concurrency: number, stop: () => boolean, worker: (item: T, index: number) => Promise<R>): Promise<{ results: R[]; started: number }> {
  const results = new Array<R>(items.length);
  let next = 0;
  let stopped = false;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length && !stopped) {
      if (next > 0 && stop()) {
        stopped = true;
        break;
      }
      const index = next++;
      results[index] = await worker(items[index] as T, index);
    }
  });
  await Promise.all(lanes);
  results.length = next;
  return { results, started: next };
}
