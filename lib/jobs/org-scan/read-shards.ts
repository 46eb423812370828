/**
 * The aggregate's read of the shard files (aggregate.ts): every part of every shard, in (account,
 * Region) order then part order, READ_AHEAD fetched ahead but added strictly in order (the spool's
 * order); the parts of a shard checked as a chain (PartChain) and merged in the spool in the
 * report's order (FindingSpool.beginParts/endParts). A part that cannot be read or breaks the chain
 * is one shard error, and the shard's later parts are left out; an incomplete shard (a later part
 * failed) adds its shard error after its parts.
 */
import { errorMessage } from '../../core/errors';
import { truncate } from '../../core/text';
import type { ShardError } from '../../aws/scan';
import { shardFileKey, type ShardFile } from './contract';
import { checkShardFile } from './shard-file';
import type { FindingSpool } from './spool';
import type { RunTotals } from './totals';

export interface ShardFiles {
  accountId: string;
  region: string;
  /** Part 0's key. */
  key: string;
  parts: number;
  incomplete?: ShardError;
}

export async function addShardFiles(files: readonly ShardFiles[], ctx: { runId: string; readAhead: number; get: (key: string) => Promise<unknown>; totals: RunTotals; spool: FindingSpool }): Promise<void> {
  const { runId, totals, spool } = ctx;
  const reads = files.flatMap((shard) => Array.from({ length: shard.parts }, (_, part) => ({ shard, part, key: part === 0 ? shard.key : shardFileKey(runId, shard.accountId, shard.region, part) })));
  const read = async (r: (typeof reads)[number]): Promise<ShardFile | string> => {
    try {
      return checkShardFile(await ctx.get(r.key), { accountId: r.shard.accountId, region: r.shard.region, runId, part: r.part });
    } catch (error) {
      return errorMessage(error);
    }
  };
  const pending: Promise<ShardFile | string>[] = [];
  for (let i = 0; i < Math.min(ctx.readAhead, reads.length); i++) pending.push(read(reads[i] as (typeof reads)[number]));
  const chain = new PartChain();
  for (let i = 0; i < reads.length; i++) {
    const r = reads[i] as (typeof reads)[number];
    const checked = await (pending.shift() as Promise<ShardFile | string>);
    const next = reads[i + ctx.readAhead];
    if (next) pending.push(read(next));
    const multi = r.shard.parts > 1;
    const last = r.part === r.shard.parts - 1;
    if (multi && r.part === 0) spool.beginParts();
    if (multi) spool.nextPart();
    const problem = chain.check(r, checked);
    if (problem === undefined) await totals.addShard(checked as ShardFile, spool);
    else if (problem) totals.shardError({ accountId: r.shard.accountId, region: r.shard.region, errorName: 'ShardFileUnreadable', message: truncate(`${r.key}: ${problem}${last ? '' : `; parts ${r.part + 1}-${r.shard.parts - 1} left out`}`, 500) });
    if (last && r.shard.incomplete) totals.shardError(r.shard.incomplete);
    if (multi && last) await spool.endParts();
  }
}

/**
 * The parts of each shard, checked as a chain while the aggregate adds them in order: part n
 * starts where part n-1 ended (its `startAfter` is that part's `lastTable`), only the last part
 * is `done` (unless the shard is incomplete: then none is). `check` answers undefined for a part
 * to add, a message for the first broken link of a shard, and '' for the parts after it (skipped
 * without another error).
 */
export class PartChain {
  private shard = '';
  private last: string | undefined;
  private broken = false;

  check(r: { shard: { accountId: string; region: string; parts: number; incomplete?: unknown }; part: number }, file: ShardFile | string): string | undefined {
    const id = `${r.shard.accountId}/${r.shard.region}`;
    if (id !== this.shard) [this.shard, this.last, this.broken] = [id, undefined, false];
    if (this.broken) return '';
    const why = typeof file === 'string' ? file : this.link(r, file);
    if (why !== undefined) this.broken = true;
    return why;
  }

  private link(r: { shard: { parts: number; incomplete?: unknown }; part: number }, file: ShardFile): string | undefined {
    const part = file.part ?? { index: 0, done: true };
    if (part.startAfter !== this.last) return `part ${r.part} starts after ${JSON.stringify(part.startAfter ?? null)}, not after the previous part's last table ${JSON.stringify(this.last ?? null)}`;
    const last = r.part === r.shard.parts - 1 && !r.shard.incomplete;
    if (part.done !== last) return last ? `the shard's last part ${r.part} does not end the Region` : `part ${r.part} ends the Region, but the shard has ${r.shard.parts} parts`;
    this.last = part.lastTable;
    return undefined;
  }
}

/** No AWS command of its own (the aggregate's `get` reads the bucket). */
export const permissions: readonly import('../../core/iam').Permission[] = [];
