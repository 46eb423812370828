/**
 * A small recording, fault-injecting HTTP proxy in front of moto, for the tests, the benchmarks and
 * the demo (never used against AWS). Point the SDK at `endpoint` and it forwards every request to
 * moto, except where a rule says otherwise:
 *  - `fail`: answer the first `times` matching calls with an AWS-style error (throttling, 5xx,
 *    ContinuousBackupsUnavailableException, …) without forwarding them;
 *  - `rewrite`: forward, then change the JSON answer of the first `times` matching calls (e.g.
 *    DescribeTable answering TableStatus CREATING);
 *  - `observe`: forward unchanged, but tell the rule about the call;
 *  - `before`: forward once this (async) hook is done (e.g. delete the table the call is about);
 *  - `hang`: never answer (the client's request timeout must end the call);
 *  - `reset`: close the connection without an answer (ECONNRESET at the client).
 * Calls are matched by operation (the X-Amz-Target suffix for JSON protocols, or the `Action`
 * parameter for query protocols) and optionally by request body. Every call is counted.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call as the proxy saw it. */
export interface ProxyCall {
  operation: string;
  /** From the SigV4 credential scope. */
  region: string;
  /** The parsed JSON (or query-string) request body. */
  body: Record<string, unknown>;
}

export interface FaultRule {
  operation: string;
  /** How many matching calls the rule applies to (default: all). */
  times?: number;
  /** Only calls whose parsed JSON body passes this test. */
  match?: (body: Record<string, unknown>) => boolean;
  /** `query: true` answers in the XML of the query protocol (STS, SNS, IAM) instead of JSON. */
  fail?: { status: number; type: string; message?: string; headers?: Record<string, string>; query?: boolean };
  rewrite?: (answer: Record<string, unknown>, call: ProxyCall) => Record<string, unknown>;
  observe?: (call: ProxyCall) => void;
  before?: (call: ProxyCall) => Promise<void>;
  hang?: boolean;
  reset?: boolean;
}

export interface FaultProxy {
  endpoint: string;
  /** Calls seen per operation (forwarded or not). */
  calls: Record<string, number>;
  /** Calls answered by a `fail` rule, per operation. */
  injected: Record<string, number>;
  /** Every call in arrival order: operation, Region (from the SigV4 credential scope), time (ms), parsed body. */
  seen: { operation: string; region: string; at: number; body: Record<string, unknown> }[];
  /** Replaces the rules (counts of applications restart). */
  setRules(rules: FaultRule[]): void;
  stop(): Promise<void>;
}

function operationOf(headers: IncomingHttpHeaders, body: string): string {
  const target = headers['x-amz-target'];
  if (typeof target === 'string') return target.split('.').pop() ?? target;
  const action = new URLSearchParams(body).get('Action');
  return action ?? 'Unknown';
}

export async function startFaultProxy(upstream: string, initial: FaultRule[] = []): Promise<FaultProxy> {
  const up = new URL(upstream);
  let rules = initial.map((r) => ({ rule: r, used: 0 }));
  const calls: Record<string, number> = {};
  const injected: Record<string, number> = {};
  const seen: FaultProxy['seen'] = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = raw.toString('utf8');
      const op = operationOf(req.headers, text);
      calls[op] = (calls[op] ?? 0) + 1;
      const region = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? 'unknown';
      let parsed: Record<string, unknown> = {};
      try {
        parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        parsed = Object.fromEntries(new URLSearchParams(text));
      }
      seen.push({ operation: op, region, at: Date.now(), body: parsed });
      const hit = rules.find((r) => r.rule.operation === op && (r.rule.times === undefined || r.used < r.rule.times) && (!r.rule.match || r.rule.match(parsed)));
      if (hit) hit.used++;
      const call: ProxyCall = { operation: op, region, body: parsed };
      hit?.rule.observe?.(call);
      if (hit?.rule.hang) {
        injected[op] = (injected[op] ?? 0) + 1;
        return; // the socket stays open, unanswered, until the client gives up or the proxy stops
      }
      if (hit?.rule.reset) {
        injected[op] = (injected[op] ?? 0) + 1;
        req.socket.destroy();
        return;
      }
      if (hit?.rule.fail) {
        const f = hit.rule.fail;
        injected[op] = (injected[op] ?? 0) + 1;
        if (f.query) {
          const xml = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
          res.writeHead(f.status, { 'content-type': 'text/xml', ...f.headers });
          res.end(`<ErrorResponse><Error><Type>Sender</Type><Code>${xml(f.type)}</Code><Message>${xml(f.message ?? `injected ${f.type}`)}</Message></Error><RequestId>injected</RequestId></ErrorResponse>`);
          return;
        }
        const body = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${f.type}`, message: f.message ?? `injected ${f.type}` });
        res.writeHead(f.status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': f.type, ...f.headers });
        res.end(body);
        return;
      }
      const headers = { ...req.headers, host: up.host };
      delete headers['content-length'];
      const forward = () => {
        const fwd = httpRequest(
          { hostname: up.hostname, port: up.port, path: req.url, method: req.method, headers: { ...headers, 'content-length': String(raw.length) } },
          (answer) => {
            const out: Buffer[] = [];
            answer.on('data', (c: Buffer) => out.push(c));
            answer.on('end', () => {
              let body = Buffer.concat(out);
              const responseHeaders = { ...answer.headers };
              if (hit?.rule.rewrite && (answer.statusCode ?? 500) < 300) {
                body = Buffer.from(JSON.stringify(hit.rule.rewrite(JSON.parse(body.toString('utf8')) as Record<string, unknown>, call)));
                delete responseHeaders['x-amz-crc32']; // the checksum no longer matches the body
              }
              delete responseHeaders['transfer-encoding'];
              responseHeaders['content-length'] = String(body.length);
              res.writeHead(answer.statusCode ?? 502, responseHeaders);
              res.end(body);
            });
          },
        );
        fwd.on('error', (error) => {
          res.writeHead(502);
          res.end(String(error));
        });
        fwd.end(raw);
      };
      void (hit?.rule.before ? hit.rule.before(call) : Promise.resolve()).then(forward, forward);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    injected,
    seen,
    setRules(next) {
      rules = next.map((r) => ({ rule: r, used: 0 }));
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
