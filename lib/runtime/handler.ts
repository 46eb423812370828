/**
 * The Lambda handler and its middleware, in middy's shape (`lambdaHandler().use(m).handler(fn)`), as a
 * function of pitr-guard's own: what middy's core does for a buffered handler, without its
 * response-streaming support, whose `node:stream/web` and `node:stream/promises` imports cost every
 * function about 6 ms of module init (issue 15, cold start: `npm run bench:cold`).
 *
 * - `before` steps run in the order they were added; one that returns a value ends the request
 *   early with that response (the handler and the other `before` steps do not run; `after` steps do).
 * - `after` and `onError` steps run in the reverse order (the first added wraps all the others).
 * - An error from a `before` step, the handler or an `after` step runs the `onError` steps with
 *   `request.error`, then is thrown again unless one of them set `request.response`; an error of an
 *   `onError` step is thrown with the first error as its `originalError`.
 * - The invocation's time: when the context tells the remaining time, the handler is abandoned
 *   5 ms before it ends with a TimeoutError, so that `onError` logs it (and releases what it holds)
 *   before Lambda stops the process.
 */
import type { Context } from 'aws-lambda';
import { InvocationTimeoutError } from '../core/errors';

export interface Request<E, R, C> {
  event: E;
  context: C;
  response: R | undefined;
  error: Error | undefined;
}

/** A step before, after or on error of the handler (at least one of the three). */
export interface Middleware<E, R, C> {
  before?: (request: Request<E, R, C>) => Promise<R | undefined | void> | R | undefined | void;
  after?: (request: Request<E, R, C>) => Promise<void> | void;
  onError?: (request: Request<E, R, C>) => Promise<void> | void;
}

export type Handler<E, R, C> = (event: E, context: C) => Promise<R>;

export interface HandlerBuilder<E, R, C> {
  use(middleware: Middleware<E, R, C>): HandlerBuilder<E, R, C>;
  handler(fn: (event: E, context: C) => Promise<R> | R): Handler<E, R, C>;
}

/** Milliseconds before the end of the invocation at which the handler is abandoned. */
export const TIMEOUT_EARLY_MS = 5;

export { InvocationTimeoutError } from '../core/errors';

export function lambdaHandler<E, R, C extends Partial<Pick<Context, 'getRemainingTimeInMillis'>>>(): HandlerBuilder<E, R, C> {
  const befores: NonNullable<Middleware<E, R, C>['before']>[] = [];
  const afters: NonNullable<Middleware<E, R, C>['after']>[] = [];
  const onErrors: NonNullable<Middleware<E, R, C>['onError']>[] = [];
  const builder: HandlerBuilder<E, R, C> = {
    use(m) {
      if (!m.before && !m.after && !m.onError) throw new Error('a middleware needs at least one of before, after and onError');
      if (m.before) befores.push(m.before);
      if (m.after) afters.unshift(m.after);
      if (m.onError) onErrors.unshift(m.onError);
      return builder;
    },
    handler: (fn) => (event, context) => runRequest({ event, context, response: undefined, error: undefined }, fn, befores, afters, onErrors),
  };
  return builder;
}

async function runRequest<E, R, C extends Partial<Pick<Context, 'getRemainingTimeInMillis'>>>(
  request: Request<E, R, C>,
  fn: (event: E, context: C) => Promise<R> | R,
  befores: NonNullable<Middleware<E, R, C>['before']>[],
  afters: NonNullable<Middleware<E, R, C>['after']>[],
  onErrors: NonNullable<Middleware<E, R, C>['onError']>[],
): Promise<R> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    let early = false;
    for (const before of befores) {
      const out = await before(request);
      if (out !== undefined) {
        request.response = out as R;
        early = true;
        break;
      }
    }
    if (!early) {
      const remaining = typeof request.context.getRemainingTimeInMillis === 'function' ? request.context.getRemainingTimeInMillis() : undefined;
      const work = Promise.resolve().then(() => fn(request.event, request.context));
      work.catch(() => undefined); // a handler abandoned at the timeout may still fail: not an unhandled rejection
      if (remaining !== undefined && Number.isFinite(remaining)) {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new InvocationTimeoutError(remaining)), Math.max(0, remaining - TIMEOUT_EARLY_MS));
        });
        request.response = await Promise.race([work, timeout]);
      } else request.response = await work;
      clearTimeout(timer);
    }
    for (const after of afters) await after(request);
    return request.response as R;
  } catch (error) {
    clearTimeout(timer);
    request.response = undefined;
    request.error = error as Error;
    try {
      for (const onError of onErrors) await onError(request);
    } catch (second) {
      if (second && typeof second === 'object') Object.assign(second, { originalError: request.error });
      throw second;
    }
    if (request.response === undefined) throw request.error;
    return request.response;
  }
}
