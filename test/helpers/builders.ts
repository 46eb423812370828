/** Builders for table facts and clones of the sample events in events/. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { PitrState, TableFacts } from '../../lib/core/types';

export const NOW = new Date('2026-11-21T12:00:00Z');
export const DAY = 86_400_000;
export const daysAgo = (n: number, now: Date = NOW) => new Date(now.getTime() - n * DAY);

export function pitrEnabled(days = 35, enabledDaysAgo = 400, now: Date = NOW): PitrState {
  return {
    status: 'ENABLED',
    recoveryPeriodInDays: days,
    earliestRestorableDateTime: daysAgo(Math.min(days, enabledDaysAgo), now),
    latestRestorableDateTime: new Date(now.getTime() - 5 * 60_000),
  };
}

export function facts(overrides: Partial<TableFacts> = {}): TableFacts {
  return {
    accountId: '123456789012',
    region: 'eu-west-1',
    tableName: 'orders',
    tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders',
    tableId: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
    tableStatus: 'ACTIVE',
    pitr: pitrEnabled(),
    tags: {},
    ...overrides,
  };
}

/** A deep copy of events/<name>, so a test can change it without touching the next test's copy. */
export function loadEvent<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(path.join(__dirname, '../../events', name), 'utf8')) as T;
}

/** A CloudTrail-shaped eventID (a UUID, as the reactor requires) derived from a readable label. */
export function eventIdFor(label: string): string {
  return createHash('sha256').update(label).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*$/, '$1-$2-$3-$4-$5');
}
