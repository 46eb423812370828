/**
 * Loop protection's escalation (the reactor, once per loop): a table switched off `loopLimit`
 * times within the window. Names every principal and user agent involved and the likely cause.
 * Pure: no I/O, no clock.
 */
import type { RemediationOutcome } from '../act/outcome';
import { likelyCause, type DisableRecord, type LifecycleSettings } from '../core/lifecycle';
import { oneLine, truncate } from '../core/text';
import type { TableChange } from '../core/types';
import { whatWeDid } from './change-alert';
import { FIELD_MAX, consoleUrl, md, plain, slackCode, slackEscape, snsSubject, type RenderedAlert, type SlackBlock } from './render-kit';

export interface EscalationInput {
  change: TableChange;
  outcome: RemediationOutcome;
  /** Every disable in the window, this one included, oldest first. */
  disables: DisableRecord[];
  settings: Pick<LifecycleSettings, 'loopLimit' | 'loopWindowMinutes'>;
}

const windowText = (minutes: number) => (minutes % 60 === 0 ? `${minutes / 60} hour${minutes === 60 ? '' : 's'}` : `${minutes} minutes`);

export function renderEscalation({ change, outcome, disables, settings }: EscalationInput): RenderedAlert {
  const t = change.tableName; // validated: [A-Za-z0-9_.-]
  const n = disables.length;
  const within = windowText(settings.loopWindowMinutes);
  const headline = `PITR on ${t} switched off ${n} times within ${within}: something keeps reverting it`;
  const cause = likelyCause(disables);
  const did = `${whatWeDid(outcome, change.kind)}${outcome.result === 'ENABLED' ? ' As after every disable before.' : ''}`;
  const next = `pitr-guard keeps re-enabling it; further disables within ${within} send no alert and are counted in the next scan's digest.`;
  const principals = [...new Set(disables.map((d) => d.principal))];
  const agents = [...new Set(disables.map((d) => d.userAgent ?? 'unknown'))];
  const url = consoleUrl(change.region, t);

  let subject = snsSubject(`[pitr-guard] LOOP: PITR switched off ${n} times on ${t} (${change.accountId} ${change.region})`);
  if (!subject.endsWith(')')) subject = snsSubject(`[pitr-guard] LOOP: PITR switched off ${n} times on ${t.slice(0, 40)}...`);

  const lines = [
    headline,
    '',
    plain('Account', change.accountId),
    plain('Region', change.region),
    plain('Table', t),
    plain('Disables', `${n} within ${within} (loop limit ${settings.loopLimit})`),
    plain('Likely cause', oneLine(cause)),
    plain('Principals', truncate(oneLine(principals.join(', ')), 1000)),
    plain('User agents', truncate(oneLine(agents.join(' | ')), 1000)),
    plain('pitr-guard did', oneLine(did)),
    plain('Next', next),
    plain('Console', url),
    '',
    'Every disable:',
    ...disables.map((d) => `- ${d.at}  ${truncate(oneLine(d.principal), FIELD_MAX)}  (${truncate(oneLine(d.userAgent ?? 'unknown user agent'), FIELD_MAX)})`),
    '',
    `Event: ${change.eventName} ${oneLine(change.eventId)} · mode ${outcome.mode} · reason REPEATEDLY_DISABLED`,
  ];

  const every = disables.map((d) => `• ${slackCode(d.at, 40)} ${slackCode(d.principal)} · ${slackCode(d.userAgent ?? 'unknown user agent')}`).join('\n');
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(`Loop: PITR on ${t} switched off ${n} times in ${within}`, 150), emoji: false } },
    { type: 'section', text: md(`*Likely cause:* ${slackEscape(cause)}`) },
    {
      type: 'section',
      fields: [md(`*Account*\n${slackCode(change.accountId)}`), md(`*Region*\n${slackCode(change.region)}`), md(`*Table*\n<${url}|${t}>`), md(`*Disables*\n${n} within ${within} (limit ${settings.loopLimit})`)],
    },
    { type: 'section', text: md(`*Who switched it off:*\n${truncate(every, 2900)}`) },
    { type: 'section', text: md(`*pitr-guard:* ${slackEscape(did)}\n${slackEscape(next)}`) },
    { type: 'context', elements: [md(`${slackEscape(change.eventName)} ${slackCode(change.eventId, 80)} · mode ${outcome.mode} · \`REPEATEDLY_DISABLED\``)] },
  ];
  return {
    kind: 'escalation',
    subject,
    text: lines.join('\n') + '\n',
    slack: { text: `${slackEscape(`Loop: PITR on ${t} switched off ${n} times in ${within}`)} (${change.accountId}, ${change.region}).`, blocks },
    attributes: { kind: 'escalation', accountId: change.accountId, region: change.region, tableName: t, result: outcome.result, eventName: change.eventName, disables: String(n) },
  };
}
