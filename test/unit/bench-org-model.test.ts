/**
 * bench/org-model.ts: bench:org's extrapolation arithmetic, and its constants against what they
 * cite (serverless.yml, the plan's concurrency).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEPLOYED_MAX_CONCURRENCY, extrapolate, LAMBDA_MEMORY_MB, LAMBDA_TIMEOUTS, shardSeconds, type Measured } from '../../bench/org-model';

const measured: Measured = {
  accounts: 200,
  shards: 600,
  tablesPerShard: 5,
  plan: { ms: 1000, listAccountsPages: 10, listMs: 200, assumeRoles: 199, assumeMs: 650, writeMs: 50 },
  shardMs: { p50: 1500, p95: 2000, max: 3000 },
  concurrency: 50,
  fanOutMs: 20_000,
  aggregateMs: 3000,
};
const target = { accounts: 1000, regions: 17, tablesPerShard: 12, maxConcurrency: 50 };
const line = (name: string) => {
  const found = extrapolate(measured, target).lines.find((l) => l.figure === name);
  if (!found) throw new Error(`no line ${name}`);
  return found;
};

describe('bench:org extrapolation', () => {
  it('plan: fixed start + 50 pages of 20 accounts + 63 AssumeRole waves of 16 + S3 writes scaled with the shards', () => {
    // fixed 1000 − 200 − 650 − 50 = 100 ms; 20 ms a page; ceil(199/16) = 13 waves → 50 ms a wave; 50 ms × 17,000/600.
    const ms = 100 + 50 * 20 + 63 * 50 + (50 * 17_000) / 600;
    expect(line('plan').seconds).toBe(Math.round(ms / 100) / 10);
    expect(line('plan').arithmetic).toContain('ceil(1,000/20) = 50 ListAccounts pages × 20 ms');
    expect(line('plan').arithmetic).toContain('ceil(999/16) = 63 AssumeRole waves × 50 ms');
  });

  it('fan-out: ceil(shards / MaxConcurrency) waves × (the shard’s fixed part + tables / 10 s)', () => {
    expect(shardSeconds(1500, 5, 12)).toEqual({ fixed: 1, total: 2.2 });
    expect(line('fan-out (shard p50)').seconds).toBeCloseTo(340 * 2.2, 1);
    expect(line('fan-out (shard p95)').seconds).toBeCloseTo(340 * 2.7, 1);
    // A shard faster than its paced reads has no negative fixed part.
    expect(shardSeconds(300, 5, 12).fixed).toBe(0);
  });

  it('aggregate: bench:aggregate’s measured 96 s at 17,000 shards, scaled by shards for another target', () => {
    expect(line('aggregate').seconds).toBe(96);
    const half = extrapolate(measured, { ...target, accounts: 500 }).lines.find((l) => l.figure === 'aggregate');
    expect(half?.seconds).toBe(48);
  });

  it('checks the model on the run itself and totals plan + fan-out (p50) + aggregate', () => {
    expect(line('model check on this run').seconds).toBe(18); // ceil(600/50) = 12 waves × 1.5 s
    expect(line('model check on this run').arithmetic).toContain('measured fan-out 20 s (ratio 1.11)');
    expect(line('total (shard p50)').seconds).toBeCloseTo(line('plan').seconds + line('fan-out (shard p50)').seconds + 96, 1);
  });

  it('says when MaxConcurrency exceeds Lambda’s default regional concurrency, and how many tables a shard can take', () => {
    expect(extrapolate(measured, { ...target, maxConcurrency: 2000 }).limits[0]).toContain('EXCEEDS');
    expect(extrapolate(measured, target).limits[0]).toContain('(fits)');
    // one invocation: 900 − 15 = 885 s, minus the p95 shard's fixed 1.5 s, at 10 reads/s; more continues in the next.
    expect(extrapolate(measured, target).limits[1]).toContain('up to 8,835 tables');
  });

  it('uses serverless.yml’s timeouts, memory sizes and default maxConcurrency', () => {
    const yml = readFileSync(path.join(__dirname, '..', '..', 'serverless.yml'), 'utf8');
    const fn = (name: string) => {
      const block = new RegExp(`\\n  ${name}:\\n([\\s\\S]*?)\\n\\n`).exec(yml)?.[1] ?? '';
      return { timeout: Number(/timeout: (\d+)/.exec(block)?.[1]), memory: Number(/memorySize: (\d+)/.exec(block)?.[1]) };
    };
    expect(fn('orgPlan')).toEqual({ timeout: LAMBDA_TIMEOUTS.plan, memory: LAMBDA_MEMORY_MB.plan });
    expect(fn('orgShard')).toEqual({ timeout: LAMBDA_TIMEOUTS.shard, memory: LAMBDA_MEMORY_MB.shard });
    expect(fn('orgAggregate')).toEqual({ timeout: LAMBDA_TIMEOUTS.aggregate, memory: LAMBDA_MEMORY_MB.aggregate });
    expect(Number(/\n {4}maxConcurrency: (\d+)/.exec(yml)?.[1])).toBe(DEPLOYED_MAX_CONCURRENCY);
  });
});
