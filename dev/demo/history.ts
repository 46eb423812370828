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
import { startFaultProxy } from '../local/proxy';

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

/** The shim is two rules on the shared local proxy (dev/local/proxy.ts). */
export async function startHistoryShim(upstream: string, clock: () => number = Date.now): Promise<HistoryShim> {
  const enabledAt = new Map<string, number>(); // region/table → epoch seconds
  const key = (region: string, body: Record<string, unknown>) => `${region}/${tableNameOf(body.TableName)}`;
  const proxy = await startFaultProxy(upstream, [
    // Disabling and re-enabling PITR resets the window: the table's history ends here.
    { operation: 'UpdateContinuousBackups', observe: (call) => enabledAt.delete(key(call.region, call.body)) },
    {
      operation: 'DescribeContinuousBackups',
      rewrite: (answer, call) => backdate(answer as Answer, enabledAt.get(key(call.region, call.body)), clock() / 1000) as Record<string, unknown>,
    },
  ]);
  return {
    endpoint: proxy.endpoint,
    setEnabledDaysAgo: (region, tableName, days) => enabledAt.set(`${region}/${tableName}`, clock() / 1000 - days * DAY_S),
    stop: () => proxy.stop(),
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

/** The answer with the window DynamoDB would report (unchanged when PITR is not enabled). */
function backdate(answer: Answer, enabledAtS: number | undefined, nowS: number): Answer {
  const d = answer.ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
  if (!d || d.PointInTimeRecoveryStatus !== 'ENABLED') return answer;
  const period = d.RecoveryPeriodInDays ?? 35;
  const since = enabledAtS ?? d.EarliestRestorableDateTime ?? nowS;
  const earliest = Math.max(since, nowS - period * DAY_S);
  d.EarliestRestorableDateTime = Math.round(earliest * 1000) / 1000;
  d.LatestRestorableDateTime = Math.round(Math.max(earliest, nowS - LAG_S) * 1000) / 1000;
  return answer;
}
