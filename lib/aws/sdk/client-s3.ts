/**
 * What pitr-guard uses of @aws-sdk/client-s3, loaded on first use (`await import()` of this file).
 * Named re-exports are tree-shaken; an `await import()` of the package itself would bundle every
 * command and schema it has. scripts/iam/commands.ts reads an import of this file as the package's.
 */
export { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
