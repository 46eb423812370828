import { RateLimiter, isRetryable, mapLimit, paced, retrying } from '../../lib/aws/pace';
import { awsError } from '../helpers/aws-errors';

/** A fake clock whose sleeps advance it; `late(ms)` says how late each timer fires. */
function fakeTime(late: (ms: number) => number = () => 0) {
  const t = { now: 0, waits: [] as number[] };
  const clock = () => t.now;
  const wait = async (ms: number) => {
    t.waits.push(ms);
    t.now += ms + late(ms);
  };
  return { t, clock, wait };
}

/** Replays release times through AWS's model (the proxy's token bucket: rate 10/s, burst 10); counts throttles. */
function throttledBy(times: number[], rate = 10, burst = rate): number {
  let tokens = burst;
  let at = times[0] ?? 0;
  let throttled = 0;
  for (const t of times) {
    tokens = Math.min(burst, tokens + ((t - at) / 1000) * rate);
    at = t;
    if (tokens < 1) throttled++;
    else tokens -= 1;
  }
  return throttled;
}

/** Most releases in any half-open 1,000 ms window. */
function peakPerSecond(times: number[]): number {
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while ((times[i] as number) - (times[j] as number) >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

async function releaseTimes(limiter: RateLimiter, t: { now: number }, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    await limiter.take();
    times.push(t.now);
  }
  return times;
}

describe('RateLimiter', () => {
  it('runs at the documented rate: 200 calls at 10/s, 100 ms apart, never 11 in a second', async () => {
    const { t, clock, wait } = fakeTime();
    const limiter = new RateLimiter(10, clock, wait);
    const times = await releaseTimes(limiter, t, 200);
    expect(times.slice(0, 4)).toEqual([0, 100, 200, 300]);
    expect(times[199]).toBe(19_900);
    expect(peakPerSecond(times)).toBe(10);
    expect(throttledBy(times)).toBe(0);
    expect(limiter.stats).toEqual({ released: 200, decreases: 0 });
  });

  it('loses no throughput to timers that fire up to 150 ms late, and conforms to AWS\'s bucket', async () => {
    let i = 0;
    const lateness = [0, 150, 30, 90, 0, 120, 60, 10, 140, 45]; // a loaded event loop
    const { t, clock, wait } = fakeTime(() => lateness[i++ % lateness.length] as number);
    const limiter = new RateLimiter(10, clock, wait);
    const times = await releaseTimes(limiter, t, 300);
    // at exactly 10/s the 300th call goes at 29.9 s; late timers cost at most the last one's lateness
    expect(times[299]).toBeLessThanOrEqual(29_900 + 150);
    expect(peakPerSecond(times)).toBeLessThanOrEqual(10 + 2); // rate + burst - 1: a late timer's credit spent at once
    expect(throttledBy(times)).toBe(0);
  });

  it('after a stalled event loop releases at most its burst credit (3) at once, within AWS\'s bucket', async () => {
    const { t, clock, wait } = fakeTime();
    const limiter = new RateLimiter(10, clock, wait);
    const first = await releaseTimes(limiter, t, 20);
    t.now += 5000; // stalled (or idle) for 5 s
    const after = await releaseTimes(limiter, t, 20);
    const stalledAt = (first[19] as number) + 5000;
    expect(after.filter((x) => x === stalledAt)).toHaveLength(3);
    const all = [...first, ...after];
    expect(peakPerSecond(all)).toBe(12); // 3 at once, then 100 ms apart: AWS's bucket of 10 takes it
    expect(throttledBy(all)).toBe(0);
  });

  it('halves its rate on a throttle, pauses for the given time, then recovers to the documented rate', async () => {
    const { t, clock, wait } = fakeTime();
    const limiter = new RateLimiter(10, clock, wait);
    await releaseTimes(limiter, t, 10);
    const at = t.now;
    limiter.backOff(250);
    limiter.backOff(100); // the same burst answered twice: one decrease, the longer pause stands
    expect(limiter.stats.decreases).toBe(1);
    expect(limiter.rateAt()).toBe(5);
    await limiter.take();
    expect(t.now).toBe(at + 250 + 200); // no credit left, first token at 5/s; recovery starts after the pause
    expect(limiter.rateAt(at + 250 + 2500)).toBe(7.5); // +1 call/s per second
    expect(limiter.rateAt(at + 250 + 5000)).toBe(10);
    expect(limiter.rateAt(at + 60_000)).toBe(10); // never above the documented rate
    const later = await releaseTimes(limiter, t, 100);
    const steady = later.filter((x) => x >= at + 6000);
    expect(peakPerSecond(steady)).toBe(10);
  });

  it('a throttle a second later decreases again, down to the minimum rate', async () => {
    const { t, clock, wait } = fakeTime();
    const limiter = new RateLimiter(10, clock, wait, { recoverPerSecond: 0 });
    const rates: number[] = [];
    for (let i = 0; i < 5; i++) {
      limiter.backOff(0);
      rates.push(limiter.rateAt());
      t.now += 1000;
    }
    expect(limiter.stats.decreases).toBe(5);
    expect(rates).toEqual([5, 2.5, 1.25, 1, 1]); // floored at a tenth of the rate
  });

  it('serves concurrent callers in arrival order', async () => {
    const { clock, wait } = fakeTime();
    const limiter = new RateLimiter(10, clock, wait);
    const order: number[] = [];
    await Promise.all(Array.from({ length: 8 }, (_, i) => limiter.take().then(() => void order.push(i))));
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('rejects a non-positive rate or burst', () => {
    expect(() => new RateLimiter(0)).toThrow('perSecond must be > 0');
    expect(() => new RateLimiter(10, undefined, undefined, { burst: 0 })).toThrow('burst must be >= 1');
  });

  it('makes 14 concurrent callers at 10/s take at least a second of real time', async () => {
    const limiter = new RateLimiter(10);
    const times: number[] = [];
    const started = Date.now();
    await Promise.all(Array.from({ length: 14 }, () => limiter.take().then(() => times.push(Date.now() - started))));
    expect(Math.max(...times)).toBeGreaterThanOrEqual(950);
  });
});

describe('paced', () => {
  it('takes a token, and halves the rate when the SDK had to retry the call itself', async () => {
    const { clock, wait } = fakeTime();
    const pacer = new RateLimiter(10, clock, wait);
    await expect(paced(pacer, async () => ({ $metadata: { attempts: 1 }, v: 1 }))).resolves.toMatchObject({ v: 1 });
    expect(pacer.stats).toEqual({ released: 1, decreases: 0 });
    await paced(pacer, async () => ({ $metadata: { attempts: 3, totalRetryDelay: 400 } }));
    expect(pacer.stats).toEqual({ released: 2, decreases: 1 });
    expect(pacer.rateAt()).toBe(5);
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
