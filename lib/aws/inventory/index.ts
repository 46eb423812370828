export * from './tables';
export * from './pacers';
export * from './account';

/** Each module's own `permissions` count (scripts/iam/derive.ts reads them per file); this barrel calls nothing. */
export const permissions: readonly import('../../core/iam').Permission[] = [];
