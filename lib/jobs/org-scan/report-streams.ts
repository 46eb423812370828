/**
 * The run's report in its three formats, as streams of text: the same renderers as the CLI
 * (lib/report/json|csv|html), fed one finding at a time from the spool. Each output is exactly
 * what the renderer would print for the whole ScanReport (a test compares them byte for byte).
 */
import { Readable } from 'node:stream';
import type { ScanReport } from '../../aws/scan';
import type { Finding } from '../../core/types';
import { csvFindingRows, csvHead, csvTail, type ReportHead } from '../../report/csv';
import { htmlFoot, htmlHead, htmlRow, type HtmlHead, type HtmlOptions } from '../../report/html';

/** Findings per chunk written to the stream (CSV rows are rendered a batch at a time). */
const BATCH = 500;

type Findings = () => AsyncIterable<Finding>;

/** The head in ScanReport's key order, `findings` in its place (renderJson prints the keys in this order). */
function ordered(head: ReportHead): ScanReport {
  return {
    generatedAt: head.generatedAt,
    accountId: head.accountId,
    accounts: head.accounts,
    accountErrors: head.accountErrors,
    regions: head.regions,
    policy: head.policy,
    summary: head.summary,
    ...(head.cost ? { cost: head.cost } : {}),
    findings: [],
    vanished: head.vanished,
    regionErrors: head.regionErrors,
    regionSummaries: head.regionSummaries,
    shardErrors: head.shardErrors,
  };
}

const FINDINGS_KEY = '\n  "findings": []';

/** renderJson's output (2-space JSON and a final newline), findings streamed in between. */
export async function* jsonChunks(head: ReportHead, findings: Findings): AsyncGenerator<string> {
  const whole = JSON.stringify(ordered(head), null, 2);
  const at = whole.indexOf(FINDINGS_KEY);
  let first = true;
  let buffer = '';
  for await (const f of findings()) {
    if (first) buffer += whole.slice(0, at) + '\n  "findings": [\n';
    else buffer += ',\n';
    first = false;
    buffer += JSON.stringify(f, null, 2).replace(/^/gm, '    ');
    if (buffer.length > 64 * 1024) {
      yield buffer;
      buffer = '';
    }
  }
  if (first) yield whole.slice(0, at) + FINDINGS_KEY;
  else yield buffer + '\n  ]';
  yield whole.slice(at + FINDINGS_KEY.length) + '\n';
}

/** renderCsv's output. */
export async function* csvChunks(head: ReportHead, findings: Findings): AsyncGenerator<string> {
  yield csvHead(head);
  let batch: Finding[] = [];
  for await (const f of findings()) {
    batch.push(f);
    if (batch.length >= BATCH) {
      yield csvFindingRows(batch);
      batch = [];
    }
  }
  if (batch.length) yield csvFindingRows(batch);
  yield csvTail(head);
}

/** renderHtml's output. */
export async function* htmlChunks(head: HtmlHead, findings: Findings, options: HtmlOptions = {}): AsyncGenerator<string> {
  yield htmlHead(head, options);
  let i = 0;
  let buffer = '';
  for await (const f of findings()) {
    buffer += (i > 0 ? '\n' : '') + htmlRow(f, i, head.policy.minRecoveryDays);
    i++;
    if (buffer.length > 64 * 1024) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer) yield buffer;
  yield htmlFoot(head);
}

/** A Readable (for Upload) that pulls the generator as S3 takes the bytes. */
export function readable(chunks: AsyncIterable<string>): Readable {
  return Readable.from((async function* () {
    for await (const c of chunks) yield Buffer.from(c, 'utf8');
  })());
}
