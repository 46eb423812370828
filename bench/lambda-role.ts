/**
 * One Lambda invocation in a process of its own, for bench:org (bundled to .bench/ and started by
 * bench/org-scale.ts). Usage: `node [flags] lambda-role.js <function bundle> <function ARN> <timeout s>`
 * with the payload in BENCH_PAYLOAD. It imports the function's bundle (an ES module) (built as serverless.yml
 * builds it), calls its `handler` once with a Lambda-like context, and prints one line
 * `BENCH_ROLE <json>`: the result or the error (name, message), the handler's wall time, module
 * init time, and memory: RSS and heap before the call, their peaks during it (sampled every 10 ms),
 * and the kernel's maxRSS of the whole process, which is what Lambda reports as "Max Memory Used".
 * Nothing else runs in this process, so the figures are this one function's.
 */
import { pathToFileURL } from 'node:url';

interface Handler {
  handler: (event: unknown, context: unknown) => Promise<unknown>;
}

async function main(): Promise<void> {
  const [bundle, functionArn, timeout] = process.argv.slice(2) as [string, string, string];
  const initStart = performance.now();
  const mod = (await import(pathToFileURL(bundle).href)) as Handler;
  const initMs = performance.now() - initStart;
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage();
  let [peakRss, peakHeap] = [before.rss, before.heapUsed];
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const sampler = setInterval(sample, 10);
  const deadline = Date.now() + Number(timeout) * 1000;
  const functionName = functionArn.split(':').pop() as string;
  const context = { functionName, functionVersion: '$LATEST', awsRequestId: `bench-${process.pid}`, invokedFunctionArn: functionArn, getRemainingTimeInMillis: () => deadline - Date.now(), callbackWaitsForEmptyEventLoop: false };
  const started = performance.now();
  let outcome: { result: unknown } | { error: { name: string; message: string } };
  try {
    outcome = { result: await mod.handler(JSON.parse(process.env.BENCH_PAYLOAD ?? 'null'), context) };
  } catch (error) {
    const e = error as { name?: unknown; message?: unknown };
    outcome = { error: { name: typeof e.name === 'string' ? e.name : 'Error', message: String(e.message ?? error) } };
  }
  const handlerMs = performance.now() - started;
  clearInterval(sampler);
  sample();
  const memory = { rssBefore: before.rss, heapBefore: before.heapUsed, peakRss, peakHeap, maxRss: process.resourceUsage().maxRSS * 1024 };
  console.log(`BENCH_ROLE ${JSON.stringify({ ...outcome, handlerMs, initMs, memory })}`);
}

// Exit at once, as a frozen Lambda would not wait for the SDK's idle keep-alive sockets (stdout is a pipe: written synchronously).
main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
