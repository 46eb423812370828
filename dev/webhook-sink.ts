/**
 * A local Slack incoming-webhook stand-in for tests, the bench and the demo: an HTTP server on
 * 127.0.0.1 that records every request and answers like hooks.slack.com does: 200 "ok" on the
 * webhook's path, 404 "no_service" elsewhere, 405 for anything but POST, or, when scripted, the
 * next scripted response (rate limits, outages).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SinkResponse {
  status: number;
  /** Never answer this request (a hanging webhook); the connection is dropped at stop(). */
  hang?: boolean;
  body?: string;
  headers?: Record<string, string>;
}

export interface SinkRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  contentType: string | undefined;
  /** The raw body. */
  body: string;
  /** The parsed JSON body (undefined if it was not JSON). */
  json?: { text?: string; blocks?: unknown[] } & Record<string, unknown>;
  at: number;
}

export interface WebhookSink {
  /** The webhook URL, with a Slack-like secret path. */
  url: string;
  /** Every request received, in order. */
  requests: SinkRequest[];
  /** Answers for the next requests, in order; afterwards the default answers apply. */
  script(responses: SinkResponse[]): void;
  /** Resolves true when at least `count` requests have arrived, false after `timeoutMs`. */
  waitFor(count: number, timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

export const DEFAULT_WEBHOOK_PATH = '/services/T0000TEST/B0000TEST/s3cr3tW3bh00kT0k3n';

export async function startWebhookSink(path: string = DEFAULT_WEBHOOK_PATH): Promise<WebhookSink> {
  const requests: SinkRequest[] = [];
  const waiters: (() => void)[] = [];
  let queue: SinkResponse[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: SinkRequest['json'];
      try {
        json = JSON.parse(body) as SinkRequest['json'];
      } catch {
        json = undefined;
      }
      const method = req.method ?? 'GET';
      requests.push({ method, path: req.url ?? '', headers: req.headers, contentType: req.headers['content-type'], body, ...(json ? { json } : {}), at: Date.now() });
      const next =
        queue.shift() ??
        (method !== 'POST'
          ? { status: 405, body: 'method_not_allowed' }
          : req.url === path
            ? { status: 200, body: 'ok' }
            : { status: 404, body: 'no_service' });
      if (next.hang) {
        waiters.splice(0).forEach((w) => w());
        return;
      }
      res.writeHead(next.status, { 'content-type': 'text/plain', ...next.headers });
      res.end(next.body ?? '');
      waiters.splice(0).forEach((w) => w());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    requests,
    script(responses) {
      queue = [...responses];
    },
    async waitFor(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) return false;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return true;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
