/**
 * The system backup DynamoDB makes when a table with PITR on is deleted (`<table>$DeletedTableBackup`,
 * aws-facts-org §6.1): ListBackups with BackupType SYSTEM (the default, USER, never lists it) for
 * the table's name, created from shortly before the deletion on, every page. The newest such
 * backup is the deleted table's; an older one would be a previous table of the same name, deleted
 * earlier, and is not taken for this one.
 */
import { ListBackupsCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { awsErrorName, errorMessage } from '../../core/errors';

/** How far before the DeleteTable event time a backup's creation may lie (clock skew, CloudTrail's rounding). */
export const BACKUP_CLOCK_SLACK_MS = 5 * 60_000;
/** Pages read at most (each up to 1 MB; one table's system backups fit in one). */
const MAX_PAGES = 10;

export interface SystemBackup {
  backupArn: string;
  backupName?: string;
  status?: string;
  createdAt?: string;
  /** BackupExpiryDateTime, when ListBackups gives it: how long the backup is kept. */
  expiresAt?: string;
  sizeBytes?: number;
}

export type BackupLookup = { found: SystemBackup } | { found: null } | { error: { operation: 'ListBackups'; errorName: string; message: string } };

export async function findSystemBackup(ddb: DynamoDBClient, tableName: string, deletedAt: Date | undefined): Promise<BackupLookup> {
  const lower = deletedAt ? new Date(deletedAt.getTime() - BACKUP_CLOCK_SLACK_MS) : undefined;
  let newest: SystemBackup | undefined;
  let newestAt = -Infinity;
  let start: string | undefined;
  try {
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await ddb.send(new ListBackupsCommand({ TableName: tableName, BackupType: 'SYSTEM', ...(lower ? { TimeRangeLowerBound: lower } : {}), ...(start ? { ExclusiveStartBackupArn: start } : {}) }));
      for (const b of out.BackupSummaries ?? []) {
        if (!b.BackupArn || (b.TableName !== undefined && b.TableName !== tableName) || b.BackupStatus === 'DELETED') continue;
        const at = b.BackupCreationDateTime ? new Date(b.BackupCreationDateTime).getTime() : 0;
        if (at < newestAt) continue;
        newestAt = at;
        newest = {
          backupArn: b.BackupArn,
          ...(b.BackupName ? { backupName: b.BackupName } : {}),
          ...(b.BackupStatus ? { status: b.BackupStatus } : {}),
          ...(b.BackupCreationDateTime ? { createdAt: new Date(b.BackupCreationDateTime).toISOString() } : {}),
          ...(b.BackupExpiryDateTime ? { expiresAt: new Date(b.BackupExpiryDateTime).toISOString() } : {}),
          ...(typeof b.BackupSizeBytes === 'number' ? { sizeBytes: b.BackupSizeBytes } : {}),
        };
      }
      start = out.LastEvaluatedBackupArn || undefined;
      if (!start) break;
    }
  } catch (error) {
    return { error: { operation: 'ListBackups', errorName: awsErrorName(error), message: errorMessage(error) } };
  }
  return { found: newest ?? null };
}

/** IAM for the calls above (scripts/iam/derive.ts builds each function's role from these). */
export const permissions: readonly import('../../core/iam').Permission[] = [
  {
    sid: 'FindSystemBackups',
    actions: ['dynamodb:ListBackups'],
    resource: '*',
    why: 'after a DeleteTable event: whether the deleted table left a system backup (BackupType SYSTEM); ListBackups has no resource type',
    calledBy: ['findSystemBackup'],
  },
];
