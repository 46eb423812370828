/**
 * The demo's "history" shim: a loopback HTTP proxy in front of moto that gives PITR windows a past.
 *
 * moto starts every table's restorable window at the moment PITR is enabled and never moves
 * LatestRestorableDateTime, so in a freshly seeded emulator every table would look as if PITR had
 * been switched on a second ago. A real account has tables whose PITR has been on for months. For
 * the tables the seed says were enabled `enabledDaysAgo` days ago, the shim rewrites
 * DescribeContinuousBackups answers the way DynamoDB would report them: EarliestRestorableDateTime
 * = max(enabled time, now − RecoveryPeriodInDays), LatestRestorableDateTime = now − 5 minutes.
 * Any UpdateContinuousBackups call on a table ends its history, because in DynamoDB disabling and
 * re-enabling PITR resets the window. Every other call passes through untouched.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HistoryShim {
  endpoint: string;
  /** Records that PITR on this table has been on since `days` days ago. */
  setEnabledDaysAgo(region: string, tableName: string, days: number): void;
  stop(): Promise<void>;
}

const DAY_S = 86_400;
const LAG_S = 300;

function tableNameOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const arn = /:table\/([^/]+)/.exec(value);
  return arn ? arn[1] : value;
}

export async function startHistoryShim(upstream: string, clock: () => number = Date.now): Promise<HistoryShim> {
  const up = new URL(upstream);
  const enabledAt = new Map<string, number>(); // region/table → epoch seconds

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('DynamoDB_') ? target.split('.').pop() : undefined;
      const region = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
      let table: string | undefined;
      if (operation === 'DescribeContinuousBackups' || operation === 'UpdateContinuousBackups') {
        try {
          table = tableNameOf((JSON.parse(raw.toString('utf8')) as { TableName?: unknown }).TableName);
        } catch {
          table = undefined;
        }
      }
      const key = `${region}/${table}`;
      if (operation === 'UpdateContinuousBackups') enabledAt.delete(key);
      const rewrite = operation === 'DescribeContinuousBackups' && table !== undefined;

      const headers = { ...req.headers, host: up.host, 'content-length': String(raw.length) };
      const fwd = httpRequest({ hostname: up.hostname, port: up.port, path: req.url, method: req.method, headers }, (answer) => {
        const out: Buffer[] = [];
        answer.on('data', (c: Buffer) => out.push(c));
        answer.on('end', () => {
          let body: Buffer = Buffer.concat(out);
          const responseHeaders = { ...answer.headers };
          if (rewrite && (answer.statusCode ?? 500) < 300) {
            const changed = backdate(body, enabledAt.get(key), clock() / 1000);
            if (changed) {
              body = changed;
              delete responseHeaders['x-amz-crc32']; // the checksum no longer matches the body
            }
          }
          delete responseHeaders['transfer-encoding'];
          responseHeaders['content-length'] = String(body.length);
          res.writeHead(answer.statusCode ?? 502, responseHeaders);
          res.end(body);
        });
      });
      fwd.on('error', (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      fwd.end(raw);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    setEnabledDaysAgo: (region, tableName, days) => enabledAt.set(`${region}/${tableName}`, clock() / 1000 - days * DAY_S),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Answer {
  ContinuousBackupsDescription?: {
    PointInTimeRecoveryDescription?: {
      PointInTimeRecoveryStatus?: string;
      RecoveryPeriodInDays?: number;
      EarliestRestorableDateTime?: number;
      LatestRestorableDateTime?: number;
    };
  };
}

/** The answer with the window DynamoDB would report, or undefined when there is nothing to change. */
function backdate(body: Buffer, enabledAtS: number | undefined, nowS: number): Buffer | undefined {
  let answer: Answer;
  try {
    answer = JSON.parse(body.toString('utf8')) as Answer;
  } catch {
    return undefined;
  }
  const d = answer.ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
  if (!d || d.PointInTimeRecoveryStatus !== 'ENABLED') return undefined;
  const period = d.RecoveryPeriodInDays ?? 35;
  const since = enabledAtS ?? d.EarliestRestorableDateTime ?? nowS;
  const earliest = Math.max(since, nowS - period * DAY_S);
  d.EarliestRestorableDateTime = Math.round(earliest * 1000) / 1000;
  d.LatestRestorableDateTime = Math.round(Math.max(earliest, nowS - LAG_S) * 1000) / 1000;
  return Buffer.from(JSON.stringify(answer));
}
