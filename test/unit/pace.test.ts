import { RateLimiter, isRetryable, mapLimit, retrying } from '../../lib/aws/pace';
import { awsError } from '../helpers/aws-errors';

describe('RateLimiter', () => {
  it('spaces calls evenly at the configured rate (10/s → 100 ms apart)', async () => {
    let now = 0;
    const waits: number[] = [];
    const limiter = new RateLimiter(
      10,
      () => now,
      async (ms) => {
        waits.push(ms);
      },
    );
    for (let i = 0; i < 5; i++) await limiter.take();
    expect(waits).toEqual([100, 200, 300, 400]);
    now = 1000; // idle for a while: no burst credit beyond one call
    waits.length = 0;
    await limiter.take();
    await limiter.take();
    expect(waits).toEqual([100]);
  });

  it('slows down after a throttle', async () => {
    const now = 0;
    const waits: number[] = [];
    const limiter = new RateLimiter(10, () => now, async (ms) => void waits.push(ms));
    await limiter.take();
    limiter.backOff(1000);
    await limiter.take();
    expect(waits).toEqual([1100]);
  });

  it('never releases callers together after a late timer (a stalled event loop)', async () => {
    let now = 0;
    const pending: { due: number; resolve: () => void }[] = [];
    const limiter = new RateLimiter(10, () => now, (ms) => new Promise<void>((resolve) => void pending.push({ due: now + ms, resolve })));
    const released: number[] = [];
    const all = Promise.all(Array.from({ length: 5 }, () => limiter.take().then(() => void released.push(now))));
    const flush = () => new Promise((r) => setImmediate(r));
    await flush();
    now = 1000; // every timer is overdue by now: the loop was stalled for a second
    while (released.length < 5) {
      for (const p of pending.splice(0)) {
        now = Math.max(now, p.due);
        p.resolve();
      }
      await flush();
    }
    await all;
    const gaps = released.slice(1).map((t, i) => t - (released[i] as number));
    expect(gaps.every((g) => g >= 100)).toBe(true);
  });

  it('rejects a non-positive rate', () => {
    expect(() => new RateLimiter(0)).toThrow('perSecond must be > 0');
  });

  it('makes 11 concurrent callers at 10/s take at least a second of real time', async () => {
    const limiter = new RateLimiter(10);
    const times: number[] = [];
    const started = Date.now();
    await Promise.all(Array.from({ length: 11 }, () => limiter.take().then(() => times.push(Date.now() - started))));
    expect(Math.max(...times)).toBeGreaterThanOrEqual(950);
  });
});

describe('retrying', () => {
  it('retries throttling and 5xx, not client errors', async () => {
    expect(isRetryable(awsError('ThrottlingException'))).toBe(true);
    expect(isRetryable(awsError('InternalServerError', 500))).toBe(true);
    expect(isRetryable(awsError('SomethingNew', 503))).toBe(true);
    expect(isRetryable(awsError('AccessDeniedException'))).toBe(false);
    expect(isRetryable(awsError('ValidationException'))).toBe(false);
  });

  it('gives up after the configured attempts and rethrows the last error', async () => {
    const fn = jest.fn().mockRejectedValue(awsError('ThrottlingException'));
    const delays: number[] = [];
    await expect(retrying(fn, { attempts: 3, baseDelayMs: 100, maxDelayMs: 150, random: () => 1, sleep: async (ms) => void delays.push(ms) })).rejects.toMatchObject({
      name: 'ThrottlingException',
    });
    expect(fn).toHaveBeenCalledTimes(3);
    expect(delays).toEqual([100, 150]);
  });
});

describe('mapLimit', () => {
  it('keeps order and never exceeds the concurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });
});
