/**
 * On Node.js < 22 the AWS SDK for JavaScript v3 prints a nine-line `NodeVersionSupportWarning`
 * (future SDK releases will need Node 22) the first time a client is created. The CLI works on
 * Node 20, and a command whose whole error output is one line should not come with nine more, so
 * the CLI drops exactly that warning. Every other process warning is printed as usual.
 */
export const NODE_VERSION_SUPPORT_WARNING = 'NodeVersionSupportWarning';

const FILTERED = Symbol.for('pitr-guard.nodeVersionSupportWarningFiltered');

/** Whether a `process.emitWarning(warning, typeOrOptions, …)` call is the SDK's Node version warning. */
export function isNodeVersionSupportWarning(warning: unknown, typeOrOptions?: unknown): boolean {
  const type =
    typeof typeOrOptions === 'string'
      ? typeOrOptions
      : typeOrOptions !== null && typeof typeOrOptions === 'object'
        ? (typeOrOptions as { type?: unknown }).type
        : undefined;
  if (type === NODE_VERSION_SUPPORT_WARNING) return true;
  if (warning instanceof Error) {
    return warning.name === NODE_VERSION_SUPPORT_WARNING || warning.message.startsWith(`${NODE_VERSION_SUPPORT_WARNING}:`);
  }
  // The SDK passes a plain string that starts with the warning's name, with the default type Warning.
  return typeof warning === 'string' && warning.startsWith(`${NODE_VERSION_SUPPORT_WARNING}:`);
}

/** Wraps `proc.emitWarning` so the SDK's Node version warning is dropped. Idempotent. */
export function dropNodeVersionSupportWarning(proc: Pick<NodeJS.Process, 'emitWarning'> = process): void {
  const current = proc.emitWarning as typeof proc.emitWarning & { [FILTERED]?: true };
  if (current[FILTERED]) return;
  const filtered = function emitWarning(this: unknown, warning: string | Error, ...rest: unknown[]): void {
    if (isNodeVersionSupportWarning(warning, rest[0])) return;
    Reflect.apply(current, proc, [warning, ...rest]);
  };
  Object.defineProperty(filtered, FILTERED, { value: true });
  proc.emitWarning = filtered as typeof proc.emitWarning;
}
