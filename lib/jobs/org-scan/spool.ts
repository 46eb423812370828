/**
 * The aggregate's findings on disk instead of in memory: one JSON-lines file per status under a
 * temporary directory. Shards are added in (account, Region) order, each one's findings sorted, so
 * reading the files in status order (worst first) gives exactly ScanReport's global order
 * (status, account, Region, table name) without ever holding more than one shard.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { FINDING_STATUSES, type Finding, type FindingStatus } from '../../core/types';

export class FindingSpool {
  readonly dir: string;
  private readonly files = new Map<FindingStatus, { file: string; out: WriteStream }>();
  private closed = false;

  constructor(parent: string = tmpdir()) {
    this.dir = mkdtempSync(path.join(parent, 'pitr-guard-aggregate-'));
    for (const status of FINDING_STATUSES) {
      const file = path.join(this.dir, `${status}.jsonl`);
      this.files.set(status, { file, out: createWriteStream(file, { encoding: 'utf8' }) });
    }
  }

  /** Appends one finding (an unknown status goes with ERROR: it is never dropped). */
  async add(f: Finding): Promise<void> {
    const target = this.files.get(f.status) ?? (this.files.get('ERROR') as { out: WriteStream });
    if (!target.out.write(JSON.stringify(f) + '\n')) await once(target.out, 'drain');
  }

  /** Flushes and closes the files; call once, before reading. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.files.values()].map(({ out }) => new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())))));
  }

  /** Every finding, worst first (one line at a time from disk). */
  async *findings(): AsyncGenerator<Finding> {
    for (const status of FINDING_STATUSES) {
      const { file } = this.files.get(status) as { file: string };
      const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
      for await (const line of lines) if (line) yield JSON.parse(line) as Finding;
    }
  }

  /** Removes the directory (also after a failure). */
  remove(): void {
    for (const { out } of this.files.values()) out.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
