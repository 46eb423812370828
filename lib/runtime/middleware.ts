/**
 * Small typed middlewares (lib/runtime/handler.ts) shared by every function.
 *
 * - injectDeps: builds the function's dependencies (policy, clients, logger) once per cold start
 *   and hands them to the handler as `context.deps`. A configuration error is logged as one line
 *   naming the variable, and the invocation fails (it is not retried into a tight loop: async
 *   retries are bounded by Lambda and end in the on-failure destination).
 * - logErrors: one structured line for any error that escapes the handler, causes included.
 */
import type { Middleware } from './handler';
import type { Context } from 'aws-lambda';
import { arnAccount } from '../core/ids';
import type { Logger } from './logger';

/** The Lambda context with the function's dependencies (set by injectDeps before the handler runs). */
export type ContextWithDeps<D> = Context & { deps?: D };

/** The dependencies injectDeps put on the context; a missing one is a wiring bug, not bad input. */
export function depsOf<D>(context: ContextWithDeps<D>): D {
  if (context.deps === undefined) throw new Error('injectDeps middleware did not run before the handler');
  return context.deps;
}

export function injectDeps<E, R, D>(factory: (context: Context) => D | Promise<D>): Middleware<E, R, ContextWithDeps<D>> {
  let built: Promise<D> | undefined;
  return {
    before: async (request) => {
      built ??= Promise.resolve().then(() => factory(request.context));
      try {
        request.context.deps = await built;
      } catch (error) {
        built = undefined; // a later invocation (e.g. after the env is fixed) tries again
        throw error;
      }
    },
  };
}

export function logErrors<E, R, C extends Context>(logger: () => Logger): Middleware<E, R, C> {
  return {
    onError: async (request) => {
      const error = request.error;
      logger().error(error?.message ?? 'handler failed', {
        error,
        errorCode: (error as { code?: string } | null)?.code,
        awsRequestId: request.context.awsRequestId,
      });
    },
  };
}

/** The account ID in a Lambda function ARN (arn:aws:lambda:region:ACCOUNT:function:name). */
export function accountFromContext(context: Pick<Context, 'invokedFunctionArn'> | undefined): string | undefined {
  return arnAccount(context?.invokedFunctionArn);
}
