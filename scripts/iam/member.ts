/**
 * The member role (member/template.yaml) against the code: what the scan calls inside a scanned
 * account (plus the reactor's ListBackups after a DeleteTable), derived from the same `permissions` declarations as the stack's roles
 * (scripts/iam/derive.ts). Used by test/unit/member-template.test.ts so the template's read
 * actions cannot drift from the scan's; never bundled into a Lambda.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCfnYaml } from '../cfn-yaml';
import { deriveFunction, type DerivedStatement } from './derive';

/** The template a StackSet deploys in every member account. */
export const MEMBER_TEMPLATE = 'member/template.yaml';

/**
 * Services the scan calls only from the central account (listing the Organization, assuming the
 * member role): never part of the member role.
 */
export const CENTRAL_ONLY_SERVICES: ReadonlySet<string> = new Set(['organizations', 'sts']);

/** The scan's entry point: everything it reaches is what one account's scan calls. */
const SCAN_ENTRY = { name: 'memberScan', handler: 'lib/aws/scan.scan' };
/** The reactor's read in a member account after a DeleteTable event (ListBackups, BackupType SYSTEM). */
const DELETED_TABLE_ENTRY = { name: 'memberDeletedTable', handler: 'lib/aws/inventory/backups.findSystemBackup' };
/** What Security Hub adds (lib/aws/security-hub.ts): imports in the member account itself. */
const SECURITY_HUB_ENTRY = { name: 'memberSecurityHub', handler: 'lib/aws/security-hub.publishReport' };
/** What remediation adds (lib/act): the statements readOnly removes from the scheduled scan's role. */
const ACT_ENTRY = { name: 'memberRemediate', handler: 'functions/scheduled-scan.handler' };

export interface MemberStatements {
  /** The read statements the member role must hold, by sid (Logs and central-only actions left out). */
  read: DerivedStatement[];
  /** The statements granted only with AllowRemediation=true. */
  remediation: DerivedStatement[];
  /** The statements granted only with SecurityHub=true. */
  securityHub: DerivedStatement[];
}

function memberSide(statements: readonly DerivedStatement[]): DerivedStatement[] {
  return statements
    .filter((s) => s.resource !== 'logGroup' && s.resource !== 'onFailureQueue')
    .map((s) => ({ ...s, actions: s.actions.filter((a) => !CENTRAL_ONLY_SERVICES.has(a.split(':')[0]!)) }))
    .filter((s) => s.actions.length > 0);
}

export function memberStatements(root: string): MemberStatements {
  const read = [...memberSide(deriveFunction(root, SCAN_ENTRY, true).statements), ...memberSide(deriveFunction(root, DELETED_TABLE_ENTRY, true).statements)];
  const full = deriveFunction(root, ACT_ENTRY, false).statements;
  const readOnly = new Set(deriveFunction(root, ACT_ENTRY, true).statements.map((s) => s.sid));
  const remediation = memberSide(full.filter((s) => !readOnly.has(s.sid)));
  const withHub = deriveFunction(root, SECURITY_HUB_ENTRY, true, false, true).statements;
  const withoutHub = new Set(deriveFunction(root, SECURITY_HUB_ENTRY, true, false, false).statements.map((s) => s.sid));
  const securityHub = memberSide(withHub.filter((s) => !withoutHub.has(s.sid)));
  return { read, remediation, securityHub };
}

/** member/template.yaml, parsed, with intrinsic functions in their long (JSON) form. */
export function loadMemberTemplate(root: string): Record<string, unknown> {
  return parseCfnYaml(readFileSync(path.join(root, MEMBER_TEMPLATE), 'utf8')) as Record<string, unknown>;
}

/** The template as JSON, e.g. for CloudFormation CreateStack's TemplateBody. */
export function memberTemplateJson(root: string): string {
  return JSON.stringify(loadMemberTemplate(root));
}
