/**
 * The AWS steps of remediation, each small and each ending in a value, never in an exception the
 * caller has to interpret: read (the table's real state), wait until ACTIVE, apply
 * (UpdateContinuousBackups, enabled = true, the policy's period), verify (DescribeContinuousBackups).
 * "The table is gone" and "could not verify" are values of their own.
 *
 * Waiting (CREATING/UPDATING, ContinuousBackupsUnavailableException, a still-ENABLING state) draws
 * on one Window per table: a deadline and a doubling back-off, so no step can wait forever.
 *
 * IAM: dynamodb:DescribeTable, dynamodb:DescribeContinuousBackups, dynamodb:ListTagsOfResource,
 * dynamodb:UpdateContinuousBackups on the table.
 */
import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  UpdateContinuousBackupsCommand,
  type DynamoDBClient,
  type UpdateContinuousBackupsCommandInput,
} from '@aws-sdk/client-dynamodb';
import { awsErrorName, errorMessage } from '../core/errors';
import { isTransientError } from '../core/decide';
import { pitrState, type InventoryOptions, type Pacers } from '../aws/inventory';
import { readTableNow } from '../aws/inventory/table-now';
import { isThrottle, retrying, type RetryOptions, type Sleep } from '../aws/pace';
import type { PitrState, TableFacts } from '../core/types';

export interface TableRef {
  accountId: string;
  region: string;
  tableName: string;
}

/** What every step needs: the Region's client and pacers, the retry policy and the clock. */
export interface StepContext {
  ddb: DynamoDBClient;
  pacers: Pacers;
  inventory: Partial<InventoryOptions>;
  retry: Partial<RetryOptions>;
}

/** A deadline with a doubling back-off: `wait()` sleeps and says whether there is time left. */
export class Window {
  private delay: number;
  private readonly deadline: number;

  constructor(
    private readonly now: () => number,
    private readonly sleep: Sleep,
    windowMs: number,
    firstPollMs: number,
    private readonly maxPollMs: number,
  ) {
    this.deadline = now() + windowMs;
    this.delay = firstPollMs;
  }

  async wait(): Promise<boolean> {
    const left = this.deadline - this.now();
    if (left <= 0) return false;
    await this.sleep(Math.min(this.delay, left));
    this.delay = Math.min(this.delay * 2, this.maxPollMs);
    return true;
  }
}

/** A failed call: its AWS error name, message, and whether a later attempt may succeed. */
export interface CallFailure {
  operation: string;
  errorName: string;
  message: string;
  transient: boolean;
}

const GONE = new Set(['ResourceNotFoundException', 'TableNotFoundException']);
/** States that pass by themselves: worth waiting for. */
export const TRANSIENT_STATES = new Set(['CREATING', 'UPDATING']);
/** "Not yet": the table is being created or updated, or backups are not available yet. */
const NOT_YET = new Set(['ContinuousBackupsUnavailableException', 'ResourceInUseException']);

export function failureOf(operation: string, error: unknown): CallFailure {
  const errorName = awsErrorName(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return { operation, errorName, message: errorMessage(error), transient: isTransientError(errorName, status) };
}

/**
 * 1. read: everything about the table at once (lib/aws/inventory/table-now: its three reads in one
 * round trip, paced); a CREATING/UPDATING table whose facts cannot be read yet is read again while
 * the window lasts. `first`: a read the caller already made (the reactor reads while it claims the event).
 */
export async function readStep(ref: TableRef, ctx: StepContext, window: Window, first?: TableFacts | 'gone'): Promise<TableFacts | 'gone'> {
  let read = first === 'gone' ? 'vanished' : (first ?? (await readTableNow(ctx.ddb, ref, ctx.pacers, ctx.inventory)));
  while (read !== 'vanished' && read.error && read.tableStatus && TRANSIENT_STATES.has(read.tableStatus) && (await window.wait())) {
    read = await readTableNow(ctx.ddb, ref, ctx.pacers, ctx.inventory);
  }
  return read === 'vanished' ? 'gone' : read;
}

/** The PITR state now (one paced DescribeContinuousBackups, retried on throttling and 5xx). */
export async function readPitr(ref: TableRef, ctx: StepContext): Promise<PitrState | 'gone' | CallFailure> {
  try {
    const out = await retrying(
      async () => {
        await ctx.pacers.describeContinuousBackups.take();
        return ctx.ddb.send(new DescribeContinuousBackupsCommand({ TableName: ref.tableName }));
      },
      { ...ctx.retry, onRetry: (error, _attempt, delayMs) => isThrottle(error) && ctx.pacers.describeContinuousBackups.backOff(delayMs) },
    );
    return pitrState(out);
  } catch (error) {
    return GONE.has(awsErrorName(error)) ? 'gone' : failureOf('DescribeContinuousBackups', error);
  }
}

export type WaitResult = { state: 'active' } | { state: 'gone' } | { state: 'not-active'; status: string } | { state: 'deferred'; why: string; errorName?: string };

/** 2. wait until the table is ACTIVE (DescribeTable, with back-off, while the window lasts). */
export async function waitActiveStep(ref: TableRef, status: string | null | undefined, ctx: StepContext, window: Window): Promise<WaitResult> {
  let current = status ?? undefined;
  let lastError: string | undefined;
  while (current === undefined || TRANSIENT_STATES.has(current)) {
    if (!(await window.wait())) {
      return current ? { state: 'deferred', why: `the table is still ${current}` } : { state: 'deferred', why: 'the table status could not be read', ...(lastError ? { errorName: lastError } : {}) };
    }
    try {
      const out = await retrying(() => ctx.ddb.send(new DescribeTableCommand({ TableName: ref.tableName })), ctx.retry);
      current = out.Table?.TableStatus ?? 'UNKNOWN';
    } catch (error) {
      if (GONE.has(awsErrorName(error))) return { state: 'gone' };
      lastError = awsErrorName(error);
    }
  }
  return current === 'ACTIVE' ? { state: 'active' } : { state: 'not-active', status: current };
}

export type ApplyResult = { state: 'applied'; calls: number; answer: PitrState } | { state: 'gone'; calls: number } | { state: 'failed'; calls: number; failure: CallFailure } | { state: 'deferred'; calls: number; errorName: string };

/** 3. apply: UpdateContinuousBackups (enabled, the period); "not yet" answers are tried again while the window lasts. `answer`: the PITR state its response describes. */
export async function applyStep(ref: TableRef, period: number, ctx: StepContext, window: Window): Promise<ApplyResult> {
  let calls = 0;
  let notYet: string;
  do {
    calls++;
    try {
      const out = await retrying(() => ctx.ddb.send(new UpdateContinuousBackupsCommand(enableRequest(ref.tableName, period))), ctx.retry);
      // Its answer is the ContinuousBackupsDescription after the update (aws-facts 1.4); `verifyStep` still reads it again.
      return { state: 'applied', calls, answer: pitrState(out) };
    } catch (error) {
      const name = awsErrorName(error);
      if (GONE.has(name)) return { state: 'gone', calls };
      if (!NOT_YET.has(name)) return { state: 'failed', calls, failure: failureOf('UpdateContinuousBackups', error) };
      notYet = name;
    }
  } while (await window.wait());
  return { state: 'deferred', calls, errorName: notYet };
}

export type VerifyResult = { state: 'verified'; pitr: PitrState } | { state: 'not-compliant'; pitr: PitrState } | { state: 'gone' } | { state: 'unverified'; failure: CallFailure };

/**
 * 4. verify: DescribeContinuousBackups until the state is compliant (e.g. past ENABLING) or the
 * window ends. A read that fails even after its retries is `unverified`: nothing was read, so
 * nothing is claimed.
 */
export async function verifyStep(ref: TableRef, compliant: (pitr: PitrState) => boolean, ctx: StepContext, window: Window): Promise<VerifyResult> {
  let pitr: PitrState;
  do {
    const read = await readPitr(ref, { ...ctx, retry: { ...ctx.retry, attempts: Math.max(ctx.retry.attempts ?? 6, 3) } });
    if (read === 'gone') return { state: 'gone' };
    if ('errorName' in read) return { state: 'unverified', failure: read };
    pitr = read;
    if (compliant(pitr)) return { state: 'verified', pitr };
  } while (await window.wait());
  return { state: 'not-compliant', pitr };
}

/** The only UpdateContinuousBackups request pitr-guard ever sends: enabled is always true. */
export function enableRequest(tableName: string, recoveryPeriodInDays: number): UpdateContinuousBackupsCommandInput {
  return {
    TableName: tableName,
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: recoveryPeriodInDays },
  };
}

/** IAM for the calls above (scripts/iam/derive.ts builds each function's role from these). */
export const permissions: readonly import('../core/iam').Permission[] = [
  {
    sid: 'ReadTables',
    actions: ['dynamodb:DescribeTable', 'dynamodb:DescribeContinuousBackups'],
    resource: 'tables',
    why: 'waits for an ACTIVE table and verifies PITR after enabling it',
  },
  {
    sid: 'Remediate',
    actions: ['dynamodb:UpdateContinuousBackups'],
    resource: 'tables',
    why: 'enables PITR with the policy period (remediate mode, or a table tagged pitr-guard:mode=remediate)',
    remediation: true,
  },
];
