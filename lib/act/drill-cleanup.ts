/**
 * A restore drill's cleanup: the temporary table is deleted, always (lib/act/drill.ts calls this
 * from `finally`). DeleteTable answers ResourceInUseException while the table is still CREATING
 * (a restore in progress) or UPDATING, so it is retried with backoff until the cleanup deadline;
 * deletion protection (if the restore carried it) is switched off on the temporary table first.
 * Then DescribeTable verifies the delete started (DELETING, or already gone). Nothing here ever
 * names the source table.
 */
import { DeleteTableCommand, DescribeTableCommand, UpdateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { awsErrorName, errorMessage } from '../core/errors';
import { deleteCommand } from '../core/drill';
import { isRetryable, type Sleep } from '../aws/pace';

export interface CleanupDeps {
  ddb: DynamoDBClient;
  now: () => Date;
  sleep: Sleep;
  progress?: (line: string) => void;
}

export interface CleanupResult {
  cleanedUp: boolean;
  detail: string;
  /** This call deleted the table (not: it was already gone, or was left alone). */
  deleted?: true;
}

const IN_USE = new Set(['ResourceInUseException', 'TableInUseException']);

export interface CleanupOptions {
  timeoutMs: number;
  pollMs?: number;
  maxPollMs?: number;
  /**
   * Set when the restore call failed (it may or may not have created the table): delete only a
   * table restored from `sourceArn` and created at or after `notBefore`; leave any other alone.
   */
  owner?: { sourceArn: string; notBefore: Date };
}

/** Deletes `tableName` (the drill's temporary table) and verifies the delete started. */
export async function deleteTemporaryTable(tableName: string, region: string, deps: CleanupDeps, options: CleanupOptions): Promise<CleanupResult> {
  const { timeoutMs, pollMs = 2_000, maxPollMs = 30_000, owner } = options;
  const deadline = deps.now().getTime() + timeoutMs;
  const manual = `delete it with: ${deleteCommand(tableName, region)}`;
  if (owner) {
    const mine = await isOurs(deps.ddb, tableName, owner, manual);
    if (mine !== true) return mine;
  }
  let wait = pollMs;
  let unprotected = false;
  for (;;) {
    try {
      await deps.ddb.send(new DeleteTableCommand({ TableName: tableName }));
      break;
    } catch (error) {
      const name = awsErrorName(error);
      if (name === 'ResourceNotFoundException') return { cleanedUp: true, detail: `${tableName} was already gone` };
      if (name === 'ValidationException' && /deletion protection/i.test(errorMessage(error)) && !unprotected) {
        unprotected = true;
        try {
          await deps.ddb.send(new UpdateTableCommand({ TableName: tableName, DeletionProtectionEnabled: false }));
          continue;
        } catch (e) {
          return { cleanedUp: false, detail: `could not switch off deletion protection on ${tableName} (${awsErrorName(e)}: ${errorMessage(e)}): ${manual}` };
        }
      }
      if (!IN_USE.has(name) && !isRetryable(error)) return { cleanedUp: false, detail: `DeleteTable on ${tableName} failed (${name}: ${errorMessage(error)}): ${manual}` };
      if (deps.now().getTime() + wait > deadline) {
        return { cleanedUp: false, detail: `DeleteTable on ${tableName} still refused (${name}) when the cleanup timeout passed: ${manual}` };
      }
      deps.progress?.(`waiting ${Math.round(wait / 1000)} s to delete ${tableName} (${name}: the restore may still be running)`);
      await deps.sleep(wait);
      wait = Math.min(maxPollMs, wait * 2);
    }
  }
  try {
    const out = await deps.ddb.send(new DescribeTableCommand({ TableName: tableName }));
    const status = out.Table?.TableStatus;
    return status === 'DELETING'
      ? { cleanedUp: true, deleted: true, detail: `${tableName} is DELETING` }
      : { cleanedUp: false, detail: `DeleteTable on ${tableName} was accepted but the table is ${status ?? 'in an unknown state'}: ${manual}` };
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') return { cleanedUp: true, deleted: true, detail: `${tableName} deleted` };
    return { cleanedUp: false, detail: `could not verify the delete of ${tableName} (${awsErrorName(error)}): ${manual}` };
  }
}

/** Whether the table of that name is the drill's (restored from the source during the drill), or why it is left alone. */
async function isOurs(ddb: DynamoDBClient, tableName: string, owner: NonNullable<CleanupOptions['owner']>, manual: string): Promise<true | CleanupResult> {
  try {
    const t = (await ddb.send(new DescribeTableCommand({ TableName: tableName }))).Table;
    const from = t?.RestoreSummary?.SourceTableArn;
    const created = t?.CreationDateTime;
    if (from === owner.sourceArn && created && created >= owner.notBefore) return true;
    return { cleanedUp: true, detail: `a table named ${tableName} exists but was not restored from the source during this drill: left alone` };
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') return { cleanedUp: true, detail: 'no temporary table was created' };
    // Not knowing whose table it is, pitr-guard deletes nothing on a guess.
    return { cleanedUp: false, detail: `could not tell whether ${tableName} was created (${awsErrorName(error)}: ${errorMessage(error)}): if it exists, ${manual}` };
  }
}

export const permissions: readonly import('../core/iam').Permission[] = [
  { sid: 'DrillTemporaryTable', actions: ['dynamodb:DeleteTable', 'dynamodb:DescribeTable', 'dynamodb:UpdateTable'], resource: 'drillTables', why: "deletes the drill's temporary table (switching off deletion protection on it if needed) and verifies the delete" },
];
