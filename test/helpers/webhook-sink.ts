/**
 * A local Slack incoming-webhook stand-in (test code): an HTTP server on 127.0.0.1 that records
 * every POST and answers from a script of responses (then 200 "ok"), like hooks.slack.com does.
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
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The parsed JSON body (undefined if it was not JSON). */
  json?: { text?: string; blocks?: unknown[] } & Record<string, unknown>;
  at: number;
}

export interface WebhookSink {
  /** The webhook URL, with a Slack-like secret path. */
  url: string;
  requests: SinkRequest[];
  /** Answers for the next requests, in order; afterwards every request gets 200 "ok". */
  script(responses: SinkResponse[]): void;
  stop(): Promise<void>;
}

export async function startWebhookSink(path = '/services/T0000TEST/B0000TEST/s3cr3tW3bh00kT0k3n'): Promise<WebhookSink> {
  const requests: SinkRequest[] = [];
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
      requests.push({ path: req.url ?? '', headers: req.headers, body, ...(json ? { json } : {}), at: Date.now() });
      const next = queue.shift() ?? (req.url === path ? { status: 200, body: 'ok' } : { status: 404, body: 'no_service' });
      if (next.hang) return;
      res.writeHead(next.status, { 'content-type': 'text/plain', ...next.headers });
      res.end(next.body ?? '');
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
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
