/**
 * The alert of a scheduled restore drill that did not pass (lib/jobs/drill.ts): one alert per run
 * listing every FAILED drill, its failed checks and error, and whether its temporary table is
 * gone (with the delete command when not). Pure: no I/O.
 */
import type { DrillRecord } from '../core/types';
import { deleteCommand } from '../core/drill';
import { truncate } from '../core/text';
import { md, plain, slackCode, slackEscape, snsSubject, type RenderedAlert, type SlackBlock } from './render-kit';

function why(r: DrillRecord): string {
  const failed = r.checks.filter((c) => !c.passed).map((c) => `${c.name} (${c.detail})`);
  return [...failed, ...(r.error ? [r.error] : [])].join('; ') || 'no check ran';
}

export function renderDrillAlert(failed: readonly DrillRecord[], accountId: string): RenderedAlert {
  const n = failed.length;
  const first = failed[0];
  const subject = snsSubject(`[pitr-guard] Restore drill FAILED: ${n === 1 && first ? `${first.tableName} (${first.region})` : `${n} tables`} in ${accountId}`);
  const lines = [`pitr-guard scheduled restore drill in account ${accountId}: ${n} drill${n === 1 ? '' : 's'} FAILED.`, ''];
  const blocks: SlackBlock[] = [{ type: 'header', text: { type: 'plain_text', text: `Restore drill FAILED (${n})`, emoji: false } }];
  for (const r of failed.slice(0, 10)) {
    const cleanup = r.cleanedUp ? 'deleted' : `NOT deleted: ${deleteCommand(r.temporaryTableName, r.region)}`;
    lines.push(plain('Table', `${r.tableName} (${r.region})`), plain('Drill', r.drillId), plain('Why', truncate(why(r), 600)), plain('Temporary table', `${r.temporaryTableName}: ${cleanup}`), '');
    blocks.push({ type: 'section', text: md(`*${slackEscape(r.tableName)}* (${slackCode(r.region)}) drill ${slackCode(r.drillId)}\n${slackEscape(truncate(why(r), 600))}\nTemporary table ${slackCode(r.temporaryTableName)}: ${r.cleanedUp ? 'deleted' : `*NOT deleted*: ${slackCode(deleteCommand(r.temporaryTableName, r.region))}`}`) });
  }
  if (n > 10) lines.push(`…and ${n - 10} more (the function's log has every record).`);
  lines.push('Run it by hand: pitr-guard drill TABLE --region REGION --yes (docs/drills.md).');
  return {
    kind: 'drill',
    subject,
    text: lines.join('\n') + '\n',
    slack: { text: slackEscape(subject), blocks },
    attributes: { kind: 'drill', accountId, failed: String(n) },
  };
}
