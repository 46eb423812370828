/**
 * The reactor's first round trip (issue 15): the table an event names is read in its own account
 * while the de-duplication claim is still on its way, so PITR can be re-enabled on the second
 * round trip. The member role's session (lib/aws/org/event-accounts `reach`) is set up first,
 * synchronously, so the reads use it and share its one AssumeRole (cached per account for the
 * container); DescribeTable, DescribeContinuousBackups and ListTagsOfResource go out together
 * (lib/aws/inventory/table-now). Nothing here changes anything: when the claim is lost the reads
 * are dropped, and when the member role was refused the reads (which failed with it) are replaced
 * by an outcome that says so.
 */
import type { AssumeFailure, EventAccounts } from '../aws/org/event-accounts';
import type { PacerPool } from '../aws/inventory';
import { readForAct } from '../act/remediate';
import type { RemediationOutcome } from '../act/outcome';
import { evaluate } from '../core/evaluate';
import { awsErrorName, errorMessage } from '../core/errors';
import type { Policy, TableFacts } from '../core/types';
import type { TableChange } from '../events/cloudtrail';
import type { Logger } from '../runtime/logger';
import type { Clients } from '../aws/clients';
import type { Sleep } from '../aws/pace';

export interface EarlyRead {
  /** The member role could not be assumed (the reads are then worthless). */
  unreachable?: AssumeFailure;
  /** The table as read (absent when unreachable). */
  facts?: TableFacts | 'gone';
}

/** What the early read needs of the reactor's deps (PitrChangeDeps). */
export interface EarlyReadDeps {
  clients: Clients;
  accounts?: Pick<EventAccounts, 'reach'>;
  sleep?: Sleep;
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
}

/** Starts reaching the account and reading the table; never rejects. */
export function readEarly(change: TableChange, deps: EarlyReadDeps, pacers: PacerPool, selfId: string, log: Logger): Promise<EarlyRead> {
  const table = { accountId: change.accountId, region: change.region, tableName: change.tableName };
  const reaching = deps.accounts?.reach(change.accountId, selfId) ?? Promise.resolve(undefined);
  const reading = readForAct(table, {
    clients: deps.clients,
    logger: log,
    pacers,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
    ...(deps.retry ? { inventory: { retry: deps.retry } } : {}),
  });
  // A read that throws is a bug, not a reason to lose the event: it becomes the table's ERROR.
  const safe = reading.catch((error: unknown): TableFacts => ({ ...table, error: { operation: 'DescribeTable', errorName: awsErrorName(error), message: errorMessage(error) } }));
  return Promise.all([reaching, safe]).then(([unreachable, facts]) => (unreachable ? { unreachable } : { facts }));
}

/** The table could not be checked: its account's member role was refused. A FAILED outcome (transient or not) on an ERROR finding. */
export function unreachableOutcome(change: TableChange, failure: AssumeFailure, policy: Policy, at: Date): RemediationOutcome {
  const before = evaluate({ accountId: change.accountId, region: change.region, tableName: change.tableName, error: { operation: 'AssumeRole', errorName: failure.errorName, message: failure.message } }, policy, at);
  return {
    accountId: change.accountId,
    region: change.region,
    tableName: change.tableName,
    result: 'FAILED',
    before,
    errorName: failure.errorName,
    transient: failure.transient,
    message: `The table could not be checked: AssumeRole of ${failure.roleArn} failed with ${failure.errorName}. Fix: ${failure.fix}.`,
    mode: policy.mode,
    attempts: 0,
    waitedMs: 0,
  };
}
