/**
 * A local moto server (the AWS emulator used by the integration tests, the demo and the
 * benchmarks): started from the project virtualenv on a free loopback port, stopped on demand and,
 * as a last resort, when the Node process exits. It is moto's own server launched through
 * dev/local/moto_server.py, which makes DynamoDB's conditional writes atomic as they are on AWS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

export interface MotoServer {
  endpoint: string;
  port: number;
  pid: number | undefined;
  stop(): Promise<void>;
}

export interface MotoOptions {
  /** The virtualenv holding moto_server; default: <project>/.venv */
  venv?: string;
  /** Where moto's own output goes; default: discarded. */
  logFile?: string;
  timeoutMs?: number;
}

/** The project root: the nearest folder above this file with the pitr-guard package.json. */
export function projectRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'requirements-dev.txt'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export async function startMoto(options: MotoOptions = {}): Promise<MotoServer> {
  const venv = options.venv ?? path.join(projectRoot(), '.venv');
  const bin = path.join(venv, 'bin', 'moto_server');
  if (!existsSync(bin)) {
    throw new Error(`moto_server not found at ${bin}; run: bash scripts/venv.sh`);
  }
  // moto's own server, with DynamoDB requests handled one at a time: see moto_server.py
  const python = path.join(venv, 'bin', 'python');
  const launcher = path.join(projectRoot(), 'dev', 'local', 'moto_server.py');
  const timeoutMs = options.timeoutMs ?? 30_000;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const out = options.logFile ? openSync(options.logFile, 'a') : 'ignore';
    const child = spawn(python, [launcher, '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', out, out], env: { ...process.env, MOTO_PORT: String(port) } });
    running.add(child);
    installExitHook();
    let exited = false;
    child.once('exit', () => {
      exited = true;
      running.delete(child);
    });
    const endpoint = `http://127.0.0.1:${port}`;
    const stop = async () => {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    };
    const deadline = Date.now() + timeoutMs;
    while (!exited && Date.now() < deadline) {
      try {
        const res = await fetch(`${endpoint}/moto-api/data.json`);
        if (res.ok) return { endpoint, port, pid: child.pid, stop };
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await stop();
    if (attempt >= 3) throw new Error(`moto server did not start on ${endpoint} within ${timeoutMs} ms`);
  }
}

/** Empties every moto backend (all services, all Regions). */
export async function resetMoto(endpoint: string): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
}
