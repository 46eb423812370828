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
 * Apart from the rules, `limits` emulate AWS's per-account, per-Region API rates: a token bucket per
 * (access key, Region, operation) answers ThrottlingException (400) when a call finds it empty, as
 * DynamoDB's control plane does. Each account reached through AssumeRole signs with its own access
 * key, so every (account, Region) has its own budget, as in AWS.
 * Calls are matched by operation (the X-Amz-Target suffix for JSON protocols, the `Action`
 * parameter for query protocols, method and path for the REST APIs pitr-guard calls: Security Hub,
 * Account ListRegions, S3 object calls) and optionally by request body. Every call is counted.
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
  /** Only calls whose parsed JSON body (and, when it matters, Region and access key from the SigV4 scope) pass this test. */
  match?: (body: Record<string, unknown>, call: { region: string; accessKey: string }) => boolean;
  /** `query: true` answers in the XML of the query protocol (STS, SNS, IAM) instead of JSON. */
  fail?: { status: number; type: string; message?: string; headers?: Record<string, string>; query?: boolean };
  rewrite?: (answer: Record<string, unknown>, call: ProxyCall) => Record<string, unknown>;
  observe?: (call: ProxyCall) => void;
  before?: (call: ProxyCall) => Promise<void>;
  hang?: boolean;
  reset?: boolean;
}

/** A documented rate: `ratePerSecond` refilled continuously, up to `burst` calls at once (default: ratePerSecond). */
export interface RateLimit {
  operation: string;
  ratePerSecond: number;
  burst?: number;
}

/** DynamoDB's documented rates (lib/aws/rates.ts) as AWS enforces them: per (account, Region), burst = rate. */
export const DYNAMODB_LIMITS: RateLimit[] = [
  { operation: 'DescribeContinuousBackups', ratePerSecond: 10 },
  { operation: 'ListTagsOfResource', ratePerSecond: 10 },
];

export interface FaultProxy {
  endpoint: string;
  /** Calls seen per operation (forwarded or not). */
  calls: Record<string, number>;
  /** Calls answered by a `fail` rule, per operation. */
  injected: Record<string, number>;
  /** Every call in arrival order: operation, Region (from the SigV4 credential scope), time (ms), parsed body. */
  seen: { operation: string; region: string; accessKey: string; at: number; body: Record<string, unknown> }[];
  /** Calls answered ThrottlingException by a rate limit, per operation. */
  throttled: Record<string, number>;
  /** Replaces the rules (counts of applications restart). */
  setRules(rules: FaultRule[]): void;
  stop(): Promise<void>;
}

/** REST-JSON operations, by method and path (Security Hub and Account Management have no X-Amz-Target). */
const REST_OPERATIONS: Record<string, string> = {
  'POST /findings/import': 'BatchImportFindings',
  'POST /findings': 'GetFindings',
  'POST /listRegions': 'ListRegions',
};

/** S3 (REST-XML, path-style against a local endpoint): the object calls, by method. */
const S3_OBJECT_OPERATIONS: Record<string, string> = { GET: 'GetObject', PUT: 'PutObject', HEAD: 'HeadObject', DELETE: 'DeleteObject' };

function operationOf(headers: IncomingHttpHeaders, body: string, method = '', url = ''): string {
  const target = headers['x-amz-target'];
  if (typeof target === 'string') return target.split('.').pop() ?? target;
  const rest = REST_OPERATIONS[`${method} ${url.split('?')[0]}`];
  if (rest) return rest;
  const action = new URLSearchParams(body).get('Action');
  if (action) return action;
  // `/bucket/key`: an object call (a bucket-level call, `/bucket`, stays Unknown).
  if (/^\/[^/?]+\/[^?]+/.test(url)) return S3_OBJECT_OPERATIONS[method] ?? 'Unknown';
  return 'Unknown';
}

export interface FaultProxyOptions {
  /** Per-(access key, Region) rate limits by operation. */
  limits?: RateLimit[];
  /** The clock (tests). */
  now?: () => number;
}

/** Token buckets per (access key, Region, operation). */
function rateLimiter(limits: RateLimit[], now: () => number): (operation: string, key: string) => boolean {
  const byOperation = new Map(limits.map((l) => [l.operation, l]));
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (operation, key) => {
    const limit = byOperation.get(operation);
    if (!limit) return true;
    const burst = limit.burst ?? limit.ratePerSecond;
    const id = `${operation} ${key}`;
    const t = now();
    const bucket = buckets.get(id) ?? { tokens: burst, at: t };
    bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) / 1000) * limit.ratePerSecond);
    bucket.at = t;
    buckets.set(id, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };
}

/** One more request to moto (a follow-up page); resolves with the answer's body. */
function upstreamPage(up: URL, url: string | undefined, method: string | undefined, headers: IncomingHttpHeaders, raw: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const fwd = httpRequest({ hostname: up.hostname, port: up.port, path: url, method, headers: { ...headers, 'content-length': String(raw.length) } }, (answer) => {
      const out: Buffer[] = [];
      answer.on('data', (c: Buffer) => out.push(c));
      answer.on('end', () => resolve(Buffer.concat(out)));
    });
    fwd.on('error', reject);
    fwd.end(raw);
  });
}

/**
 * Tagging API GetResources with a ResourceARNList: AWS answers every listed ARN in one response
 * (pagination parameters are refused with that list), while moto pages at 50 resources or 100 tags
 * and returns a PaginationToken. The proxy follows moto's pages and answers as AWS does, so a client
 * that (rightly) reads one answer per ARN list sees every tagged table (c7n's universal_augment does).
 */
async function wholeArnListAnswer(first: Buffer, request: Record<string, unknown>, send: (raw: Buffer) => Promise<Buffer>): Promise<Buffer> {
  const page = JSON.parse(first.toString('utf8')) as { ResourceTagMappingList?: unknown[]; PaginationToken?: string };
  const all = [...(page.ResourceTagMappingList ?? [])];
  let token = page.PaginationToken;
  while (token) {
    const next = JSON.parse((await send(Buffer.from(JSON.stringify({ ...request, PaginationToken: token })))).toString('utf8')) as typeof page;
    all.push(...(next.ResourceTagMappingList ?? []));
    token = next.PaginationToken;
  }
  return Buffer.from(JSON.stringify({ ResourceTagMappingList: all, PaginationToken: '' }));
}

export async function startFaultProxy(upstream: string, initial: FaultRule[] = [], options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const up = new URL(upstream);
  const now = options.now ?? Date.now;
  const allow = rateLimiter(options.limits ?? [], now);
  const throttled: Record<string, number> = {};
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
      const op = operationOf(req.headers, text, req.method, req.url);
      calls[op] = (calls[op] ?? 0) + 1;
      const scope = /Credential=([^/]+)\/\d{8}\/([^/]+)\//.exec(String(req.headers.authorization ?? ''));
      const [accessKey, region] = [scope?.[1] ?? 'unknown', scope?.[2] ?? 'unknown'];
      let parsed: Record<string, unknown> = {};
      try {
        parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        parsed = Object.fromEntries(new URLSearchParams(text));
      }
      seen.push({ operation: op, region, accessKey, at: now(), body: parsed });
      if (!allow(op, `${accessKey} ${region}`)) {
        throttled[op] = (throttled[op] ?? 0) + 1;
        const body = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' });
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': 'ThrottlingException' });
        res.end(body);
        return;
      }
      const hit = rules.find((r) => r.rule.operation === op && (r.rule.times === undefined || r.used < r.rule.times) && (!r.rule.match || r.rule.match(parsed, { region, accessKey })));
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
            answer.on('end', () => void respond(Buffer.concat(out)));
            const respond = async (first: Buffer) => {
              let body = first;
              const responseHeaders = { ...answer.headers };
              if (op === 'GetResources' && Array.isArray(parsed.ResourceARNList) && (answer.statusCode ?? 500) < 300) {
                body = await wholeArnListAnswer(body, parsed, (next) => upstreamPage(up, req.url, req.method, headers, next));
                delete responseHeaders['x-amz-crc32'];
              }
              if (hit?.rule.rewrite && (answer.statusCode ?? 500) < 300) {
                body = Buffer.from(JSON.stringify(hit.rule.rewrite(JSON.parse(body.toString('utf8')) as Record<string, unknown>, call)));
                delete responseHeaders['x-amz-crc32']; // the checksum no longer matches the body
              }
              delete responseHeaders['transfer-encoding'];
              responseHeaders['content-length'] = String(body.length);
              res.writeHead(answer.statusCode ?? 502, responseHeaders);
              res.end(body);
            };
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
    throttled,
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
