/**
 * One change (the CloudTrail reactor): what happened, who did it, what pitr-guard did, as one
 * RenderedAlert. Pure: no I/O, no clock.
 */
import { manualFixCommand, needsHand, RESULT_LABEL, type RemediationOutcome } from '../act/outcome';
import { dayPeriod, days, oneLine, truncate } from '../core/text';
import type { ChangeKind, TableChange } from '../core/types';
import { FIELD_MAX, actorFields, fitSubject, consoleUrl, md, plain, slackCode, slackEscape, snsSubject, type RenderedAlert, type SlackBlock, type SlackText } from './render-kit';

const HEADLINE: Record<ChangeKind, (t: string, c: TableChange) => string> = {
  PITR_DISABLED: (t) => `PITR disabled on ${t}`,
  PERIOD_SET: (t, c) => `PITR period set to ${days(c.requested?.recoveryPeriodInDays ?? 0)} on ${t}`,
  PITR_UPDATED: (t) => `PITR settings changed on ${t}`,
  TABLE_CREATED: (t) => `Table ${t} created without PITR`,
  TABLE_RESTORED: (t) => `Table ${t} restored without PITR`,
  TABLE_IMPORTED: (t) => `Table ${t} imported without PITR`,
  TABLE_DELETED: (t) => `Table ${t} deleted`, // (its alert is deleted-alert.ts)
};

/** What happened, as one sentence (plain, untrusted parts included). */
export function whatHappened(change: TableChange, minRecoveryDays: number): string {
  switch (change.kind) {
    case 'PITR_DISABLED':
      return 'UpdateContinuousBackups switched point-in-time recovery off. The restore history is lost: once PITR is back on, restores reach back only to that moment.';
    case 'PERIOD_SET':
      return `UpdateContinuousBackups set the recovery period to ${days(change.requested?.recoveryPeriodInDays ?? 0)} (the policy requires at least ${days(minRecoveryDays)}).`;
    case 'PITR_UPDATED':
      return 'UpdateContinuousBackups changed the point-in-time recovery settings.';
    case 'TABLE_CREATED':
      return 'CreateTable created the table; new tables start without PITR.';
    case 'TABLE_RESTORED':
      return `${change.eventName} created the table${change.source ? ` from ${oneLine(change.source)}` : ''}; restored tables start without PITR.`;
    case 'TABLE_IMPORTED':
      return 'ImportTable created the table from S3; imported tables start without PITR.';
    case 'TABLE_DELETED':
      return 'DeleteTable deleted the table.';
  }
}

/** What pitr-guard did, as one sentence. */
export function whatWeDid(outcome: RemediationOutcome, kind?: ChangeKind): string {
  const period = outcome.recoveryPeriodInDays;
  switch (outcome.result) {
    case 'ENABLED': {
      const verb = kind === 'PITR_DISABLED' ? 'Re-enabled' : kind === 'PERIOD_SET' ? 'Set' : 'Enabled';
      const what = kind === 'PERIOD_SET' ? `the recovery period back to ${days(period ?? 0)}` : `PITR with a ${dayPeriod(period ?? 0)} recovery period`;
      return `${verb} ${what} and verified it (DescribeContinuousBackups: ${outcome.after?.pitr.status ?? 'ENABLED'}, ${days(outcome.after?.pitr.recoveryPeriodInDays ?? period ?? 0)}).`;
    }
    case 'SKIPPED_MODE':
      return `Alert only (mode ${outcome.mode}): PITR was not changed.`;
    case 'SKIPPED_DRY_RUN':
      return `Dry run: PITR would have been enabled with a ${dayPeriod(period ?? 0)} recovery period; nothing was changed.`;
    case 'DEFERRED':
      return `Not done yet: ${outcome.message} pitr-guard will try again.`;
    case 'FAILED':
      return `Remediation FAILED: ${outcome.message}${outcome.nextStep ? ` ${outcome.nextStep}` : ''}`;
    case 'UNVERIFIED':
      return `NOT VERIFIED: ${outcome.message} Check it with: pitr-guard explain ${outcome.tableName} --region ${outcome.region}`;
    case 'GONE':
      return `No action: ${outcome.message}`;
    case 'ALREADY_COMPLIANT': {
      const exemption = outcome.before.status === 'EXEMPT' ? outcome.before.exemption : null;
      if (exemption) {
        const verb = kind === 'PERIOD_SET' ? 'Not set back' : 'Not re-enabled';
        return `${verb}: the table is exempt: ${exemption.reason}${exemption.until ? `, until ${exemption.until}` : ''}.`;
      }
      return `No action: ${outcome.message}`;
    }
  }
}

const SHORT_RESULT = RESULT_LABEL;

function shortResult(outcome: RemediationOutcome, kind?: ChangeKind): string {
  if (outcome.result === 'ALREADY_COMPLIANT' && outcome.before.status === 'EXEMPT') return 'exempt, not changed';
  if (outcome.result === 'ENABLED' && kind && kind !== 'PITR_DISABLED' && kind !== 'PERIOD_SET') return 'enabled';
  return SHORT_RESULT[outcome.result];
}

/** The fix a person can run when pitr-guard did not (alert mode, dry run, failure). */
export const manualFix = manualFixCommand;

export interface ChangeAlertInput {
  change: TableChange;
  outcome: RemediationOutcome;
  minRecoveryDays: number;
  /** The account's name from the Organization, when known (a member account's event). */
  accountName?: string;
  /** Loop protection: this table was switched off again (a repeat below the limit); one line says so. */
  repeat?: { count: number; windowMinutes: number; limit: number };
}

/** The loop-protection line of a repeated disable: how many so far and when the escalation comes. */
export function repeatNote(r: NonNullable<ChangeAlertInput['repeat']>): string {
  return `switched off ${r.count} times within ${r.windowMinutes} minutes; at ${r.limit} pitr-guard sends one escalation and then stops alerting this table for the window (it keeps re-enabling).`;
}

export function renderChangeAlert({ change, outcome, minRecoveryDays, accountName, repeat }: ChangeAlertInput): RenderedAlert {
  const t = change.tableName; // validated: [A-Za-z0-9_.-]
  const headline = HEADLINE[change.kind](t, change);
  const label = shortResult(outcome, change.kind);
  const where = `${change.accountId} ${change.region}`;
  const account = accountName ? `${change.accountId} (${truncate(oneLine(accountName), 80)})` : change.accountId;
  const a = change.actor;
  const url = consoleUrl(change.region, t);
  const did = whatWeDid(outcome, change.kind);
  const happened = whatHappened(change, minRecoveryDays);
  // UNVERIFIED: the state after the update was not read, so none is claimed.
  const stateNow = outcome.result === 'UNVERIFIED' ? 'Unknown: not read after the update (the verifying DescribeContinuousBackups failed).' : (outcome.after ?? outcome.before).message;
  const byHand = needsHand(outcome.result);
  const fix = manualFix(change.region, t, outcome.recoveryPeriodInDays ?? minRecoveryDays);

  // Subject: shorten the table name, then drop account and Region; never cut the outcome.
  const subjectFor = (name: string, at = ` (${where})`) => snsSubject(`[pitr-guard] ${HEADLINE[change.kind](name, change)}${at}: ${label}`);
  const subject = fitSubject(subjectFor, t, label);

  const lines = [
    headline,
    '',
    plain('Account', account),
    plain('Region', change.region),
    plain('Table', t),
    plain('What happened', oneLine(happened)),
    plain('Who', truncate(oneLine(a.arn), FIELD_MAX)),
    ...(a.sessionIssuer ? [plain('Role', truncate(oneLine(a.sessionIssuer), FIELD_MAX))] : []),
    ...(a.invokedBy ? [plain('Via', truncate(oneLine(a.invokedBy), FIELD_MAX))] : []),
    plain('Source IP', truncate(oneLine(a.sourceIp ?? 'unknown'), FIELD_MAX)),
    plain('User agent', truncate(oneLine(a.userAgent ?? 'unknown'), 500)),
    plain('Event time', truncate(oneLine(a.eventTime ?? 'unknown'), FIELD_MAX)),
    plain('pitr-guard did', oneLine(did)),
    plain('State now', oneLine(stateNow)),
    plain('Console', url),
    ...(repeat ? [plain('Again', repeatNote(repeat))] : []),
    ...(byHand ? ['', `To enable PITR by hand: ${fix}`] : []),
    '',
    `Event: ${change.eventName} ${oneLine(change.eventId)} · mode ${outcome.mode}`,
  ];

  const fields: SlackText[] = [
    md(`*Account*\n${slackCode(account)}`),
    md(`*Region*\n${slackCode(change.region)}`),
    md(`*Table*\n<${url}|${t}>`),
    ...actorFields(a),
  ];
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(headline, 150), emoji: false } },
    { type: 'section', text: md(`*pitr-guard:* ${slackEscape(did)}`) },
    { type: 'section', fields: fields.slice(0, 10) },
    { type: 'section', text: md(`*What happened:* ${slackEscape(happened)}\n*State now:* ${slackEscape(stateNow)}${repeat ? `\n*Again:* ${slackEscape(repeatNote(repeat))}` : ''}`) },
    ...(byHand ? [{ type: 'section' as const, text: md(`*To enable PITR by hand:*\n${slackCode(fix, 600)}`) }] : []),
    {
      type: 'context',
      elements: [md(`${slackEscape(change.eventName)} ${slackCode(change.eventId, 80)} · mode ${outcome.mode} · <${url}|Open in the AWS console>`)],
    },
  ];
  const text = `${slackEscape(headline)} (${slackEscape(account)}, ${change.region}) by ${slackCode(a.arn)}: ${slackEscape(label)}.`;

  return {
    kind: 'change',
    subject,
    text: lines.join('\n') + '\n',
    slack: { text, blocks },
    attributes: { kind: 'change', accountId: change.accountId, region: change.region, tableName: t, result: outcome.result, eventName: change.eventName },
  };
}

