/**
 * The building blocks every alert renderer uses: the RenderedAlert shape, Slack mrkdwn escaping,
 * the SNS subject rule and the console link. Pure: no I/O.
 */
import { oneLine, truncate } from '../core/text';

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
  kind: 'change' | 'digest' | 'escalation' | 'drill';
  /** SNS subject (email subject): under 100 printable ASCII characters. */
  subject: string;
  /** Plain text: the SNS message, i.e. the email body. */
  text: string;
  slack: SlackMessage;
  /** SNS message attributes (String). */
  attributes: Record<string, string>;
}

export const SUBJECT_MAX = 99;
export const FIELD_MAX = 300;

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

/** An SNS subject: printable ASCII only, one line, under 100 characters. */
export function snsSubject(value: string): string {
  const ascii = oneLine(value)
    .replace(/[\u2013\u2014]/g, '-')
    .replace(/\u2026/g, '...')
    .replace(/[^\x20-\x7e]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return ascii.length > SUBJECT_MAX ? `${ascii.slice(0, SUBJECT_MAX - 3).trimEnd()}...` : ascii || 'pitr-guard alert';
}

/** The table in the DynamoDB console. */
export { tableConsoleUrl as consoleUrl } from '../core/fix-hints';

export const plain = (label: string, value: string) => `${`${label}:`.padEnd(16)}${value}`;

export function md(text: string): SlackText {
  return { type: 'mrkdwn', text };
}


/** The Slack fields that say who made the call (CloudTrail userIdentity), the same in every change alert. */
export function actorFields(a: import('../core/types').Actor): SlackText[] {
  return [
    md(`*Event time*\n${slackCode(a.eventTime ?? 'unknown')}`),
    md(`*Who*\n${slackCode(a.arn)}`),
    md(`*Source IP*\n${slackCode(a.sourceIp ?? 'unknown')}`),
    md(`*User agent*\n${slackCode(a.userAgent ?? 'unknown')}`),
    ...(a.sessionIssuer ? [md(`*Role*\n${slackCode(a.sessionIssuer)}`)] : []),
    ...(a.invokedBy ? [md(`*Via*\n${slackCode(a.invokedBy)}`)] : []),
  ];
}

/**
 * An SNS subject that keeps its ending (`label`, e.g. the result) whole: the table name is shortened
 * first, then the location dropped. `subjectFor(name, at?)` renders the subject (omit `at` for the
 * location part, '' to drop it).
 */
export function fitSubject(subjectFor: (name: string, at?: string) => string, name: string, label: string): string {
  const fits = (x: string) => x.length <= SUBJECT_MAX && x.endsWith(label);
  let subject = subjectFor(name);
  if (!fits(subject)) {
    const spare = SUBJECT_MAX - (subjectFor('x').length - 1) - 3; // room left for the name
    subject = subjectFor(spare > 3 ? `${name.slice(0, spare)}...` : '...');
  }
  if (!fits(subject)) subject = subjectFor(`${name.slice(0, 20)}...`, '');
  return subject;
}
