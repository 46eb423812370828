/** `pitr-guard demo`: runs dev/demo with the CLI's output streams. */
import { runDemo } from '../../dev/demo';
import type { CliIo } from './io';

export async function runDemoCommand(flags: { output: string; verbose?: boolean }, io: CliIo): Promise<number> {
  const result = await runDemo({ reportPath: flags.output, write: io.stdout, errorWrite: io.stderr, verbose: flags.verbose === true, handleSignals: true });
  return result.ok ? 0 : 1;
}
