/**
 * Alert formatting, as pure functions (no I/O, no clock): a CloudTrail change with its
 * remediation outcome, or a scheduled-scan digest → one RenderedAlert that every channel sends
 * its own way (SNS subject + plain text for email, Slack Block Kit + text fallback).
 *
 * Event-derived text (table names, ARNs, user agents, error messages) is untrusted: in Slack it is
 * escaped (& < >), @here/@channel/@everyone are defused, and it sits in code spans so it cannot
 * change the formatting; in plain text, control characters (line breaks included) are removed so
 * it cannot forge extra lines.
 */
import { manualFixCommand, needsHand, RESULT_LABEL, type RemediationOutcome } from '../act/outcome';
import type { ScanReport } from '../aws/scan';
import type { ChangeKind, TableChange } from '../events/cloudtrail';
import type { Finding, Mode } from '../core/types';

export interface SlackText {
  type: 'mrkdwn' | 'plain_text';
  text: string;
  emoji?: boolean;
}
export type SlackBlock =
  | { type: 'header'; text: SlackText }
  | { type: 'section'; text?: SlackText; fields?: SlackText[] }
  | { type: 'context'; elements: SlackText[] }
  | { type: 'divider' };

export interface SlackMessage {
  /** Notification / fallback text (mrkdwn). */
  text: string;
  blocks: SlackBlock[];
}

export interface RenderedAlert {
  kind: 'change' | 'digest';
  /** SNS subject (email subject): under 100 printable ASCII characters. */
  subject: string;
  /** Plain text: the SNS message, i.e. the email body. */
  text: string;
  slack: SlackMessage;
  /** SNS message attributes (String). */
  attributes: Record<string, string>;
}

export const SUBJECT_MAX = 99;
const FIELD_MAX = 300;

// ---------------------------------------------------------------- escaping helpers

/** Slack mrkdwn escaping: & < > as entities, and @here/@channel/@everyone broken with a zero-width space. */
export function slackEscape(value: string): string {
  return oneLine(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/@(here|channel|everyone)\b/gi, '@\u200b$1');
}

/** Untrusted text as a Slack code span: escaped, and without backticks that could end the span. */
export function slackCode(value: string, max = FIELD_MAX): string {
  return '`' + slackEscape(truncate(value, max)).replace(/`/g, "'") + '`';
}

/** One line of plain text: control characters (line breaks included) become spaces. */
export function oneLine(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
}

export function truncate(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, Math.max(0, max - 1))}…` : value;
}

/** An SNS subject: printable ASCII only, one line, under 100 characters. */
export function snsSubject(value: string): string {
  const ascii = value
    .replace(/[\u2013\u2014]/g, '-')
    .replace(/\u2026/g, '...')
    .replace(/[^\x20-\x7e]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return ascii.length > SUBJECT_MAX ? `${ascii.slice(0, SUBJECT_MAX - 3).trimEnd()}...` : ascii || 'pitr-guard alert';
}

/** The table in the DynamoDB console. */
export function consoleUrl(region: string, tableName: string): string {
  return `https://${region}.console.aws.amazon.com/dynamodbv2/home?region=${encodeURIComponent(region)}#table?name=${encodeURIComponent(tableName)}`;
}

const plain = (label: string, value: string) => `${`${label}:`.padEnd(16)}${value}`;
const days = (n: number) => `${n} day${n === 1 ? '' : 's'}`;
const dayPeriod = (n: number) => `${n}-day`;

// ---------------------------------------------------------------- one change (the reactor)

const HEADLINE: Record<ChangeKind, (t: string, c: TableChange) => string> = {
  PITR_DISABLED: (t) => `PITR disabled on ${t}`,
  PERIOD_SET: (t, c) => `PITR period set to ${days(c.requested?.recoveryPeriodInDays ?? 0)} on ${t}`,
  PITR_UPDATED: (t) => `PITR settings changed on ${t}`,
  TABLE_CREATED: (t) => `Table ${t} created without PITR`,
  TABLE_RESTORED: (t) => `Table ${t} restored without PITR`,
  TABLE_IMPORTED: (t) => `Table ${t} imported without PITR`,
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
}

export function renderChangeAlert({ change, outcome, minRecoveryDays }: ChangeAlertInput): RenderedAlert {
  const t = change.tableName; // validated: [A-Za-z0-9_.-]
  const headline = HEADLINE[change.kind](t, change);
  const label = shortResult(outcome, change.kind);
  const where = `${change.accountId} ${change.region}`;
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
  const fits = (x: string) => x.length <= SUBJECT_MAX && x.endsWith(label);
  let subject = subjectFor(t);
  if (!fits(subject)) {
    const spare = SUBJECT_MAX - (subjectFor('x').length - 1) - 3; // room left for the name
    subject = subjectFor(spare > 3 ? `${t.slice(0, spare)}...` : '...');
  }
  if (!fits(subject)) subject = subjectFor(`${t.slice(0, 20)}...`, '');

  const lines = [
    headline,
    '',
    plain('Account', change.accountId),
    plain('Region', change.region),
    plain('Table', t),
    plain('What happened', oneLine(happened)),
    plain('Who', oneLine(a.arn)),
    ...(a.sessionIssuer ? [plain('Role', oneLine(a.sessionIssuer))] : []),
    ...(a.invokedBy ? [plain('Via', oneLine(a.invokedBy))] : []),
    plain('Source IP', oneLine(a.sourceIp ?? 'unknown')),
    plain('User agent', truncate(oneLine(a.userAgent ?? 'unknown'), 500)),
    plain('Event time', oneLine(a.eventTime ?? 'unknown')),
    plain('pitr-guard did', oneLine(did)),
    plain('State now', oneLine(stateNow)),
    plain('Console', url),
    ...(byHand ? ['', `To enable PITR by hand: ${fix}`] : []),
    '',
    `Event: ${change.eventName} ${oneLine(change.eventId)} · mode ${outcome.mode}`,
  ];

  const fields: SlackText[] = [
    md(`*Account*\n${slackCode(change.accountId)}`),
    md(`*Region*\n${slackCode(change.region)}`),
    md(`*Table*\n<${url}|${t}>`),
    md(`*Event time*\n${slackCode(a.eventTime ?? 'unknown')}`),
    md(`*Who*\n${slackCode(a.arn)}`),
    md(`*Source IP*\n${slackCode(a.sourceIp ?? 'unknown')}`),
    md(`*User agent*\n${slackCode(a.userAgent ?? 'unknown')}`),
    ...(a.sessionIssuer ? [md(`*Role*\n${slackCode(a.sessionIssuer)}`)] : []),
    ...(a.invokedBy ? [md(`*Via*\n${slackCode(a.invokedBy)}`)] : []),
  ];
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(headline, 150), emoji: false } },
    { type: 'section', text: md(`*pitr-guard:* ${slackEscape(did)}`) },
    { type: 'section', fields: fields.slice(0, 10) },
    { type: 'section', text: md(`*What happened:* ${slackEscape(happened)}\n*State now:* ${slackEscape(stateNow)}`) },
    ...(byHand ? [{ type: 'section' as const, text: md(`*To enable PITR by hand:*\n${slackCode(fix, 600)}`) }] : []),
    {
      type: 'context',
      elements: [md(`${slackEscape(change.eventName)} ${slackCode(change.eventId, 80)} · mode ${outcome.mode} · <${url}|Open in the AWS console>`)],
    },
  ];
  const text = `${slackEscape(headline)} (${change.accountId}, ${change.region}) by ${slackCode(a.arn)}: ${slackEscape(label)}.`;

  return {
    kind: 'change',
    subject,
    text: lines.join('\n') + '\n',
    slack: { text, blocks },
    attributes: { kind: 'change', accountId: change.accountId, region: change.region, tableName: t, result: outcome.result, eventName: change.eventName },
  };
}

function md(text: string): SlackText {
  return { type: 'mrkdwn', text };
}

// ---------------------------------------------------------------- the scan digest

export interface DigestInput {
  report: Pick<ScanReport, 'accountId' | 'regions' | 'generatedAt' | 'summary' | 'findings' | 'regionErrors'>;
  /** Remediation outcomes of the non-compliant tables to list (the caller leaves out report-mode ones). */
  outcomes: RemediationOutcome[];
  mode: Mode;
  dryRun: boolean;
  /** List ERROR findings and Region errors too. */
  includeErrors: boolean;
  /** Lines listed in the email (default 50) and in Slack (default 20); the rest are counted. */
  maxListed?: number;
  maxListedSlack?: number;
}

interface DigestItem {
  rank: number;
  region: string;
  name: string;
  /** plain text, untrusted parts included */
  plain: string;
  slack: string;
}

function problem(f: Finding): string {
  if (f.reasons[0] === 'RECOVERY_PERIOD_TOO_SHORT') return `recovery period ${days(f.pitr.recoveryPeriodInDays ?? 0)}`;
  if (f.status === 'ERROR') return 'could not be read';
  return 'PITR not enabled';
}

export function digestItems(input: DigestInput): DigestItem[] {
  const items: DigestItem[] = [];
  for (const o of input.outcomes) {
    const what = problem(o.before);
    const result =
      o.result === 'ENABLED'
        ? `re-enabled (${days(o.recoveryPeriodInDays ?? 0)}) and verified`
        : o.result === 'FAILED'
          ? `remediation FAILED: ${o.errorName ?? 'error'}`
          : o.result === 'DEFERRED'
            ? `remediation deferred${o.errorName ? `: ${o.errorName}` : ''}`
            : o.result === 'UNVERIFIED'
            ? `enabled, NOT VERIFIED: ${o.errorName ?? 'read failed'}`
            : o.result === 'SKIPPED_DRY_RUN'
              ? 'dry run, not changed'
              : o.result === 'SKIPPED_MODE'
                ? 'alert only, not changed'
                : 'fixed meanwhile';
    const rank = o.result === 'FAILED' || o.result === 'DEFERRED' || o.result === 'UNVERIFIED' ? 0 : o.result === 'ENABLED' || o.result === 'ALREADY_COMPLIANT' ? 3 : 1;
    items.push({
      rank,
      region: o.region,
      name: o.tableName,
      plain: `${o.tableName} (${o.region}): ${what}; ${oneLine(result)}`,
      slack: `${slackCode(o.tableName)} (${o.region}): ${slackEscape(what)}; ${rank === 0 ? `*${slackEscape(result)}*` : slackEscape(result)}`,
    });
  }
  if (input.includeErrors) {
    for (const f of input.report.findings) {
      if (f.status !== 'ERROR') continue;
      const why = f.error ? `${f.error.operation} failed with ${f.error.errorName}` : f.message;
      items.push({
        rank: 2,
        region: f.region,
        name: f.tableName,
        plain: `${f.tableName} (${f.region}): could not be read: ${oneLine(why)}`,
        slack: `${slackCode(f.tableName)} (${f.region}): could not be read: ${slackEscape(why)}`,
      });
    }
    for (const r of input.report.regionErrors) {
      items.push({
        rank: 2,
        region: r.region,
        name: '',
        plain: `Region ${r.region} could not be scanned: ${r.operation} failed with ${oneLine(r.errorName)}`,
        slack: `Region ${slackCode(r.region)} could not be scanned: ${slackEscape(r.operation)} failed with ${slackCode(r.errorName)}`,
      });
    }
  }
  return items.sort((x, y) => x.rank - y.rank || x.region.localeCompare(y.region) || x.name.localeCompare(y.name));
}

export function renderDigest(input: DigestInput): RenderedAlert {
  const { report } = input;
  const items = digestItems(input);
  const count = (pred: (o: RemediationOutcome) => boolean) => input.outcomes.filter(pred).length;
  const enabled = count((o) => o.result === 'ENABLED');
  const failed = count((o) => o.result === 'FAILED' || o.result === 'DEFERRED');
  const left = count((o) => o.result === 'SKIPPED_MODE' || o.result === 'SKIPPED_DRY_RUN');
  const unreadable = input.includeErrors ? report.summary.error + report.regionErrors.length : 0;
  const outOfPolicy = input.outcomes.length;

  const parts = [enabled ? `${enabled} re-enabled` : '', failed ? `${failed} failed` : '', left ? `${left} not changed` : '', unreadable ? `${unreadable} unreadable` : ''].filter(Boolean);
  const subject = snsSubject(
    `[pitr-guard] Scan ${report.accountId}: ${outOfPolicy} table${outOfPolicy === 1 ? '' : 's'} out of policy${parts.length ? ` (${parts.join(', ')})` : ''}`,
  );
  const mode = `${input.mode}${input.dryRun ? ' (dry run)' : ''}`;
  const counts = `Re-enabled: ${enabled} · Failed or deferred: ${failed} · Not changed: ${left} · Unreadable: ${unreadable}`;
  const header = `pitr-guard scan of account ${report.accountId} (${report.regions.join(', ')}) at ${report.generatedAt}`;
  const scanned = `Mode ${mode}. ${report.summary.total} tables scanned, ${outOfPolicy} without the required PITR.`;

  const maxPlain = input.maxListed ?? 50;
  const maxSlack = input.maxListedSlack ?? 20;
  const more = (n: number) => (items.length > n ? [`…and ${items.length - n} more.`] : []);
  const lines = [header, scanned, counts, '', 'Worst first:', ...items.slice(0, maxPlain).map((i) => `- ${i.plain}`), ...more(maxPlain)];
  if (items.length === 0) lines.push('- nothing to list');

  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: `PITR scan: ${outOfPolicy} table${outOfPolicy === 1 ? '' : 's'} out of policy`, emoji: false } },
    { type: 'section', text: md(`Account ${slackCode(report.accountId)} · ${report.regions.map((r) => slackCode(r)).join(' ')}\n${slackEscape(scanned)}\n${slackEscape(counts)}`) },
  ];
  // Section text is limited to 3,000 characters: split the list into several sections.
  let chunk = '';
  for (const i of items.slice(0, maxSlack)) {
    const line = `• ${i.slack}`;
    if (chunk && chunk.length + line.length + 1 > 2900) {
      blocks.push({ type: 'section', text: md(chunk) });
      chunk = '';
    }
    chunk += (chunk ? '\n' : '') + line;
  }
  if (chunk) blocks.push({ type: 'section', text: md(chunk) });
  const tail = items.length > maxSlack ? `…and ${items.length - maxSlack} more (the email alert lists up to ${maxPlain}; \`pitr-guard scan\` lists all). ` : '';
  blocks.push({ type: 'context', elements: [md(`${tail}Scan at ${slackEscape(report.generatedAt)}`)] });

  return {
    kind: 'digest',
    subject,
    text: lines.join('\n') + '\n',
    slack: { text: `${slackEscape(subject)}`, blocks },
    attributes: { kind: 'digest', accountId: report.accountId, outOfPolicy: String(outOfPolicy), failed: String(failed) },
  };
}

