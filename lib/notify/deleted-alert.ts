/**
 * A DeleteTable event as one RenderedAlert: who deleted which table, whether DynamoDB kept a system
 * backup (the table had PITR) and the exact commands to find and restore it, or that the data is
 * gone; deletion protection as the way to stop it next time. pitr-guard never acts on a deleted
 * table. Pure: no I/O, no clock.
 */
import { oneLine, truncate } from '../core/text';
import type { TableChange } from '../core/types';
import { FIELD_MAX, actorFields, fitSubject, md, plain, slackCode, slackEscape, snsSubject, type RenderedAlert, type SlackBlock, type SlackText } from './render-kit';

/** How long DynamoDB keeps the system backup of a deleted table (aws-facts-org §6.1: 35 days; BackupExpiryDateTime says for sure). */
export const DELETED_TABLE_BACKUP_DAYS = 35;

/** What ListBackups (BackupType SYSTEM) said, in the renderer's terms. */
export type DeletedBackup =
  | { state: 'FOUND'; backupArn: string; backupName?: string; status?: string; createdAt?: string; expiresAt?: string }
  | { state: 'NONE' }
  | { state: 'UNKNOWN'; why: string };

export interface DeletedAlertInput {
  change: TableChange;
  backup: DeletedBackup;
  /** The account's name from the Organization, when known. */
  accountName?: string;
}

const q = (s: string) => (/^[\w.:/@+=,$-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export function listBackupsCommand(tableName: string, region: string, type: 'SYSTEM' | 'ALL' = 'SYSTEM'): string {
  return `aws dynamodb list-backups --backup-type ${type} --table-name ${q(tableName)} --region ${region}`;
}

export function restoreCommand(tableName: string, backupArn: string, region: string): string {
  return `aws dynamodb restore-table-from-backup --target-table-name ${q(tableName)} --backup-arn ${q(backupArn)} --region ${region}`;
}

/** `tableName` undefined: the command with a <table> placeholder (for the tables that must stay). */
export function deletionProtectionCommand(tableName: string | undefined, region: string): string {
  return `aws dynamodb update-table --table-name ${tableName === undefined ? '<table>' : q(tableName)} --deletion-protection-enabled --region ${region}`;
}

const LABEL: Record<DeletedBackup['state'], string> = { FOUND: 'system backup kept', NONE: 'NO BACKUP, data gone', UNKNOWN: 'backup not checked' };

export function renderDeletedTableAlert({ change, backup, accountName }: DeletedAlertInput): RenderedAlert {
  const t = change.tableName; // validated: [A-Za-z0-9_.-]
  const r = change.region;
  const a = change.actor;
  const account = accountName ? `${change.accountId} (${truncate(oneLine(accountName), 80)})` : change.accountId;
  const label = LABEL[backup.state];
  const headline = backup.state === 'FOUND' ? `Table ${t} deleted: a system backup exists` : backup.state === 'NONE' ? `Table ${t} deleted without PITR: its data is gone` : `Table ${t} deleted`;
  const d = change.deleted ?? {};
  const size = [d.itemCount !== undefined ? `${d.itemCount} items` : '', d.tableSizeBytes !== undefined ? `${d.tableSizeBytes} bytes` : ''].filter(Boolean).join(', ');
  const happened = `DeleteTable deleted the table${size ? ` (${size} at deletion, as DynamoDB last counted)` : ''}.`;
  const find = listBackupsCommand(t, r);
  const retention = (b: Extract<DeletedBackup, { state: 'FOUND' }>) =>
    b.expiresAt ? `kept until ${b.expiresAt} (BackupExpiryDateTime)` : `kept ${DELETED_TABLE_BACKUP_DAYS} days after the deletion`;
  let backupSentence: string;
  const commands: [string, string][] = [];
  switch (backup.state) {
    case 'FOUND':
      backupSentence = `PITR was on, so DynamoDB kept a system backup: ${oneLine(backup.backupName ?? `${t}$DeletedTableBackup`)}${backup.status ? ` (${oneLine(backup.status)})` : ''}, ${retention(backup)}, at no cost. It restores the table as it was just before the deletion (no other point in time).`;
      commands.push(['Find it', find], ['Restore it', restoreCommand(t, backup.backupArn, r)]);
      break;
    case 'NONE':
      backupSentence = `No system backup: the table had no PITR, so its data is gone. Deleted by ${oneLine(a.arn)}. Only an on-demand or AWS Backup copy could still hold it (list them with --backup-type ALL).`;
      commands.push(['Other backups', listBackupsCommand(t, r, 'ALL')]);
      break;
    case 'UNKNOWN':
      backupSentence = `Could not check for a system backup (${oneLine(backup.why)}). If the table had PITR, DynamoDB kept one for ${DELETED_TABLE_BACKUP_DAYS} days: find it with the command below, then restore it with aws dynamodb restore-table-from-backup.`;
      commands.push(['Find it', find]);
      break;
  }
  const protect = `Stop it next time: turn on deletion protection for tables that must stay (${deletionProtectionCommand(undefined, r)}).`;
  const did = 'Nothing to remediate: pitr-guard never re-creates or changes a deleted table.';
  const restoredNote = backup.state === 'FOUND' ? ' A restored table starts without PITR (pitr-guard enables it), tags, TTL, streams, auto scaling and alarms: set them again.' : '';

  const subjectFor = (name: string, at = ` (${change.accountId} ${r})`) => snsSubject(`[pitr-guard] Table ${name} deleted${at}: ${label}`);
  const subject = fitSubject(subjectFor, t, label);

  const lines = [
    headline,
    '',
    plain('Account', account),
    plain('Region', r),
    plain('Table', t),
    plain('What happened', oneLine(happened)),
    plain('Who', truncate(oneLine(a.arn), FIELD_MAX)),
    ...(a.sessionIssuer ? [plain('Role', truncate(oneLine(a.sessionIssuer), FIELD_MAX))] : []),
    ...(a.invokedBy ? [plain('Via', truncate(oneLine(a.invokedBy), FIELD_MAX))] : []),
    plain('Source IP', truncate(oneLine(a.sourceIp ?? 'unknown'), FIELD_MAX)),
    plain('User agent', truncate(oneLine(a.userAgent ?? 'unknown'), 500)),
    plain('Event time', truncate(oneLine(a.eventTime ?? 'unknown'), FIELD_MAX)),
    plain('Backup', backupSentence + restoredNote),
    plain('pitr-guard did', did),
    '',
    ...commands.map(([what, cmd]) => `${what}: ${cmd}`),
    protect,
    '',
    `Event: ${change.eventName} ${oneLine(change.eventId)}`,
  ];

  const fields: SlackText[] = [
    md(`*Account*\n${slackCode(account)}`),
    md(`*Region*\n${slackCode(r)}`),
    md(`*Table*\n${slackCode(t)}`),
    ...actorFields(a),
  ];
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(headline, 150), emoji: false } },
    { type: 'section', text: md(`*Backup:* ${slackEscape(backupSentence + restoredNote)}`) },
    { type: 'section', fields: fields.slice(0, 10) },
    ...commands.map(([what, cmd]): SlackBlock => ({ type: 'section', text: md(`*${what}:*\n${slackCode(cmd, 600)}`) })),
    { type: 'section', text: md(`*pitr-guard:* ${slackEscape(did)} ${slackEscape(protect)}`) },
    { type: 'context', elements: [md(`${slackEscape(change.eventName)} ${slackCode(change.eventId, 80)}`)] },
  ];
  const text = `${slackEscape(headline)} (${slackEscape(account)}, ${r}) by ${slackCode(a.arn)}: ${slackEscape(label)}.`;

  return {
    kind: 'change',
    subject,
    text: lines.join('\n') + '\n',
    slack: { text, blocks },
    attributes: { kind: 'change', accountId: change.accountId, region: r, tableName: t, result: `TABLE_DELETED_${backup.state}`, eventName: change.eventName },
  };
}
