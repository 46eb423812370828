/**
 * lib/runtime/handler.ts: the order middleware runs in, early responses, errors (handled,
 * rethrown, replaced) and the invocation's time, as every function's handler relies on them.
 */
import { InvocationTimeoutError, lambdaHandler, TIMEOUT_EARLY_MS, type Middleware } from '../../lib/runtime/handler';

type Ctx = { getRemainingTimeInMillis?: () => number; seen?: string[] };

/** A middleware that records each of its steps in `log` under `name`. */
const recording = (name: string, log: string[], steps: (keyof Middleware<string, string, Ctx>)[] = ['before', 'after', 'onError']): Middleware<string, string, Ctx> => ({
  ...(steps.includes('before') ? { before: () => void log.push(`${name}.before`) } : {}),
  ...(steps.includes('after') ? { after: () => void log.push(`${name}.after`) } : {}),
  ...(steps.includes('onError') ? { onError: (r) => void log.push(`${name}.onError:${r.error?.message}`) } : {}),
});

describe('lambdaHandler', () => {
  it('runs before steps in order, the handler, then after steps in reverse, and returns the response', async () => {
    const log: string[] = [];
    const h = lambdaHandler<string, string, Ctx>()
      .use(recording('a', log))
      .use(recording('b', log))
      .handler(async (event) => {
        log.push(`handler:${event}`);
        return `done:${event}`;
      });
    await expect(h('e1', {})).resolves.toBe('done:e1');
    expect(log).toEqual(['a.before', 'b.before', 'handler:e1', 'b.after', 'a.after']);
  });

  it('lets an after step read and replace the response', async () => {
    const h = lambdaHandler<string, string, Ctx>()
      .use({ after: (r) => void (r.response = `${r.response}+after`) })
      .handler(() => 'x');
    await expect(h('e', {})).resolves.toBe('x+after');
  });

  it('ends early when a before step returns a value: no later before step, no handler; after steps still run', async () => {
    const log: string[] = [];
    const handler = jest.fn(async () => 'from handler');
    const h = lambdaHandler<string, string, Ctx>()
      .use(recording('a', log))
      .use({ before: () => 'duplicate' })
      .use(recording('c', log))
      .handler(handler);
    await expect(h('e', {})).resolves.toBe('duplicate');
    expect(handler).not.toHaveBeenCalled();
    expect(log).toEqual(['a.before', 'c.after', 'a.after']);
  });

  it('runs onError steps in reverse on a handler error, skips after steps, and throws the error again', async () => {
    const log: string[] = [];
    const h = lambdaHandler<string, string, Ctx>()
      .use(recording('a', log))
      .use(recording('b', log))
      .handler(async () => {
        throw new Error('boom');
      });
    await expect(h('e', {})).rejects.toThrow('boom');
    expect(log).toEqual(['a.before', 'b.before', 'b.onError:boom', 'a.onError:boom']);
  });

  it('treats an error of a before or an after step as the handler’s', async () => {
    const log: string[] = [];
    const failingBefore = lambdaHandler<string, string, Ctx>()
      .use(recording('a', log, ['onError']))
      .use({ before: () => Promise.reject(new Error('before failed')) })
      .handler(() => 'never');
    await expect(failingBefore('e', {})).rejects.toThrow('before failed');
    const failingAfter = lambdaHandler<string, string, Ctx>()
      .use(recording('b', log, ['onError']))
      .use({ after: () => Promise.reject(new Error('after failed')) })
      .handler(() => 'ok');
    await expect(failingAfter('e', {})).rejects.toThrow('after failed');
    expect(log).toEqual(['a.onError:before failed', 'b.onError:after failed']);
  });

  it('returns the response an onError step sets instead of throwing', async () => {
    const h = lambdaHandler<string, string, Ctx>()
      .use({ onError: (r) => void (r.response = `handled ${r.error?.message}`) })
      .handler(() => Promise.reject(new Error('boom')));
    await expect(h('e', {})).resolves.toBe('handled boom');
  });

  it('throws an onError step’s own error with the first error as its originalError', async () => {
    const h = lambdaHandler<string, string, Ctx>()
      .use({ onError: () => Promise.reject(new Error('logging failed')) })
      .handler(() => Promise.reject(new Error('boom')));
    const error = (await h('e', {}).catch((e: unknown) => e)) as Error & { originalError?: Error };
    expect(error.message).toBe('logging failed');
    expect(error.originalError?.message).toBe('boom');
  });

  it('refuses a middleware with no step', () => {
    expect(() => lambdaHandler<string, string, Ctx>().use({})).toThrow('a middleware needs at least one of before, after and onError');
  });

  it(`abandons the handler ${TIMEOUT_EARLY_MS} ms before the invocation's end with a TimeoutError the onError steps see`, async () => {
    const log: string[] = [];
    const h = lambdaHandler<string, string, Ctx>()
      .use(recording('a', log, ['onError']))
      .handler(() => new Promise<string>((_, reject) => setTimeout(() => reject(new Error('too late')), 200)));
    const started = Date.now();
    const error = (await h('e', { getRemainingTimeInMillis: () => 40 }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(InvocationTimeoutError);
    expect(error.name).toBe('TimeoutError');
    expect((error as InvocationTimeoutError).code).toBe('INVOCATION_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(150);
    expect(log).toEqual([`a.onError:the invocation's time ran out (40 ms were left when the handler started)`]);
    // the abandoned handler's later rejection is not an unhandled rejection (jest would fail the run)
    await new Promise((r) => setTimeout(r, 220));
  });

  it('clears the timer when the handler finishes in time (nothing fires later)', async () => {
    jest.useFakeTimers();
    try {
      const onError = jest.fn();
      const h = lambdaHandler<string, string, Ctx>().use({ onError }).handler(async () => 'in time');
      await expect(h('e', { getRemainingTimeInMillis: () => 1_000 })).resolves.toBe('in time');
      expect(jest.getTimerCount()).toBe(0);
      jest.advanceTimersByTime(2_000);
      expect(onError).not.toHaveBeenCalled();
    } finally {
      jest.useRealTimers();
    }
  });

  it('runs without a deadline when the context cannot tell the remaining time (tests, local runs)', async () => {
    const h = lambdaHandler<string, string, Ctx>().handler(() => new Promise<string>((r) => setTimeout(() => r('slow but fine'), 30)));
    await expect(h('e', {})).resolves.toBe('slow but fine');
  });
});
