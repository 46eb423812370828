/**
 * What the CLI touches outside itself, injectable so tests can drive every path: output streams
 * (and whether they are terminals), the environment, a yes/no prompt and file writes.
 */
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  /** Whether each stream is a terminal (progress bar, colour, confirmation prompts). Default: not. */
  isTTY?: { stdin?: boolean; stdout?: boolean; stderr?: boolean };
  /** Asks a question on the terminal and resolves to the answer line. */
  prompt?: (question: string) => Promise<string>;
  /** Writes a report file (--output). Default: fs.writeFile. */
  writeFile?: (path: string, content: string) => Promise<void>;
}

async function terminalPrompt(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

export function processIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    isTTY: { stdin: process.stdin.isTTY === true, stdout: process.stdout.isTTY === true, stderr: process.stderr.isTTY === true },
    prompt: terminalPrompt,
    writeFile: (path, content) => writeFile(path, content, 'utf8'),
  };
}
