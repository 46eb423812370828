export * from './tables';
export * from './account';
