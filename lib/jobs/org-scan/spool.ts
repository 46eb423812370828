/**
 * The aggregate's findings on disk instead of in memory: one JSON-lines file per status under a
 * temporary directory. Shards are added in (account, Region) order, each one's findings sorted, so
 * reading the files in status order (worst first) gives exactly ScanReport's global order
 * (status, account, Region, table name) without ever holding more than one shard.
 *
 * A shard read in parts (continuation): each part covers a range of ListTables' order, which is
 * not the report's name order (localeCompare: case and punctuation sort differently), so between
 * beginParts and endParts each part's findings go to files of their own (one per part and status,
 * each sorted), and endParts merges them into the spool line by line: memory stays at one line
 * per part.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { compareFindings } from '../../core/summary';
import { FINDING_STATUSES, type Finding, type FindingStatus } from '../../core/types';

type Out = { file: string; out: WriteStream };

async function write(target: Out, line: string): Promise<void> {
  if (!target.out.write(line)) await once(target.out, 'drain');
}

const closed = (out: WriteStream) => new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));

async function* lines(file: string): AsyncGenerator<Finding> {
  const input = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of input) if (line) yield JSON.parse(line) as Finding;
}

export class FindingSpool {
  readonly dir: string;
  private readonly files = new Map<FindingStatus, Out>();
  private closed = false;
  /** Between beginParts and endParts: the runs of the shard's parts, by status then part. */
  private runs: Map<FindingStatus, Out[]> | undefined;
  private part = -1;
  private runCount = 0;

  constructor(parent: string = tmpdir()) {
    this.dir = mkdtempSync(path.join(parent, 'pitr-guard-aggregate-'));
    for (const status of FINDING_STATUSES) {
      const file = path.join(this.dir, `${status}.jsonl`);
      this.files.set(status, { file, out: createWriteStream(file, { encoding: 'utf8' }) });
    }
  }

  /** Appends one finding (an unknown status goes with ERROR: it is never dropped); between beginParts and endParts, to the current part's run. */
  async add(f: Finding): Promise<void> {
    const status = this.files.has(f.status) ? f.status : 'ERROR';
    await write(this.runs ? this.run(status) : (this.files.get(status) as Out), JSON.stringify(f) + '\n');
  }

  /** The next findings added are one shard's parts; call nextPart before each part's findings. */
  beginParts(): void {
    this.runs = new Map();
    this.part = -1;
  }

  nextPart(): void {
    this.part++;
  }

  /** Merges the parts' runs into the spool in the report's order, and removes them. */
  async endParts(): Promise<void> {
    const runs = this.runs;
    this.runs = undefined;
    if (!runs) return;
    for (const [status, outs] of runs) {
      const present = outs.filter(Boolean);
      await Promise.all(present.map(({ out }) => closed(out)));
      const heads = await Promise.all(present.map(async ({ file }) => {
        const it = lines(file);
        return { it, next: await it.next() };
      }));
      const target = this.files.get(status) as Out;
      for (;;) {
        let min: (typeof heads)[number] | undefined;
        for (const h of heads) if (!h.next.done && (!min || compareFindings(h.next.value, min.next.value as Finding) < 0)) min = h;
        if (!min) break;
        await write(target, JSON.stringify(min.next.value) + '\n');
        min.next = await min.it.next();
      }
      for (const { file } of present) rmSync(file, { force: true });
    }
  }

  private run(status: FindingStatus): Out {
    const runs = this.runs as Map<FindingStatus, Out[]>;
    const byPart = runs.get(status) ?? [];
    runs.set(status, byPart);
    let out = byPart[this.part];
    if (!out) {
      const file = path.join(this.dir, `${status}.run-${this.runCount++}.jsonl`);
      out = byPart[this.part] = { file, out: createWriteStream(file, { encoding: 'utf8' }) };
    }
    return out;
  }

  /** Flushes and closes the files; call once, before reading. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.files.values()].map(({ out }) => closed(out)));
  }

  /** Every finding, worst first (one line at a time from disk). */
  async *findings(): AsyncGenerator<Finding> {
    for (const status of FINDING_STATUSES) yield* lines((this.files.get(status) as Out).file);
  }

  /** Removes the directory (also after a failure). */
  remove(): void {
    for (const { out } of this.files.values()) out.destroy();
    for (const outs of this.runs?.values() ?? []) for (const o of outs) o?.out.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
