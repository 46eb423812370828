/**
 * The pacers a scan's table reads draw from (lib/aws/pace.ts RateLimiter): one per rate-limited
 * DynamoDB call, and one set per (account, Region). No AWS call of its own.
 */
import { RateLimiter } from '../pace';
import { DEFAULT_RATE_PER_SECOND } from '../rates';

export interface Pacers {
  describeContinuousBackups: RateLimiter;
  listTagsOfResource: RateLimiter;
}

/** At the documented rate; RateLimiter's burst credit (3) stays below AWS's bucket (10), halves on a throttle, recovers. */
export function createPacers(ratePerSecond: number): Pacers {
  return {
    describeContinuousBackups: new RateLimiter(ratePerSecond),
    listTagsOfResource: new RateLimiter(ratePerSecond),
  };
}

/**
 * One set of pacers per (account, Region): DynamoDB's rates are per account and Region, so every
 * step that reads a table there (the scan, then acting on its findings) draws from the same budget.
 */
export class PacerPool {
  private readonly pool = new Map<string, Pacers>();

  constructor(readonly ratePerSecond: number = DEFAULT_RATE_PER_SECOND) {}

  for(accountId: string, region: string): Pacers {
    const key = `${accountId}/${region}`;
    let pacers = this.pool.get(key);
    if (!pacers) this.pool.set(key, (pacers = createPacers(this.ratePerSecond)));
    return pacers;
  }
}

export const permissions: readonly import('../../core/iam').Permission[] = [];
