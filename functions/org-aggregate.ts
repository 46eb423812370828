/**
 * PLACEHOLDER (branch sfn): the Organization scan's Aggregate step is built by another engineer
 * (lib/jobs/org-scan/aggregate.ts) and replaces this file at merge. It exists only so that
 * serverless.yml can declare the orgAggregate function and the stack packages.
 */
export const handler = async (): Promise<never> => {
  throw new Error('not built yet');
};
