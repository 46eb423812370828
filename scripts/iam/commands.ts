/**
 * The AWS calls code really makes, read from the text (independent of the `permissions`
 * declarations): `new XxxCommand(` with the client package it comes from, as IAM actions.
 * The tests compare these with the declarations and with the packaged roles.
 */

/** IAM service prefix of each AWS SDK v3 client package pitr-guard may use. */
export const SERVICE_PREFIX: Readonly<Record<string, string>> = {
  'client-account': 'account',
  'client-config-service': 'config',
  'client-dynamodb': 'dynamodb',
  'client-sns': 'sns',
  'client-organizations': 'organizations',
  'client-resource-groups-tagging-api': 'tag',
  'client-s3': 's3',
  'client-securityhub': 'securityhub',
  'client-sqs': 'sqs',
  'client-ssm': 'ssm',
  'client-sts': 'sts',
};

/** Actions that need no grant: STS GetCallerIdentity works for every principal (aws-facts, IAM docs). */
export const NO_GRANT_NEEDED = new Set(['sts:GetCallerIdentity']);

function action(pkg: string, command: string, where: string): string {
  const prefix = SERVICE_PREFIX[pkg];
  if (!prefix) throw new Error(`${where}: ${command}Command comes from @aws-sdk/${pkg}, which has no IAM prefix in scripts/iam/commands.ts`);
  return `${prefix}:${command}`;
}

/**
 * The actions a TypeScript module sends: each `new XxxCommand(` resolved through its imports (static,
 * or `const { … } = await import('@aws-sdk/…')`, or the same from lib/aws/sdk/<package>.ts).
 */
export function actionsInSource(text: string, where: string): string[] {
  const from = new Map<string, string>();
  // '@aws-sdk/client-x', or lib/aws/sdk/client-x.ts (the named re-exports of it that are loaded on first use)
  const pkg = String.raw`'(?:@aws-sdk|(?:\.{1,2}\/)+(?:aws\/)?sdk)\/([a-z0-9-]+)'`;
  const imports = [...text.matchAll(new RegExp(String.raw`import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*${pkg}`, 'g')), ...text.matchAll(new RegExp(String.raw`\{([^{}]*)\}\s*=\s*await\s+import\(\s*${pkg}\s*\)`, 'g'))];
  for (const m of imports) {
    for (const name of m[1]!.split(',')) {
      const clean = name.replace(/\btype\b/, '').trim().split(/\s+as\s+/).pop()!.trim();
      if (clean) from.set(clean, m[2]!);
    }
  }
  const out = new Set<string>();
  for (const m of text.matchAll(/\bnew\s+([A-Z][A-Za-z0-9]*)Command\s*\(/g)) {
    const pkg = from.get(`${m[1]}Command`);
    if (!pkg) throw new Error(`${where}: new ${m[1]}Command( without an import from @aws-sdk/*`);
    out.add(action(pkg, m[1]!, where));
  }
  return [...out].sort();
}

/** The actions a bundle (esbuild, cjs, packages external) sends: `new import_client_x2.XxxCommand(` (client_s3 keeps its digit). */
export function actionsInBundle(text: string, where: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/\bnew\s+import_(client_(?:s3|[a-z_]+?))\d*\.([A-Z][A-Za-z0-9]*)Command\s*\(/g)) {
    out.add(action(m[1]!.replace(/_/g, '-'), m[2]!, where));
  }
  // A client loaded on first use: `const { XxxCommand, … } = await import("@aws-sdk/client-x")`, then `new XxxCommand(`.
  const lazy = new Map<string, string>();
  // (or from lib/aws/sdk/client-x.ts, which the bundle keeps external: scripts/iam/derive.ts sdkWrappers)
  for (const m of text.matchAll(/\{([^{}]*)\}\s*=\s*await\s+import\(\s*"(?:@aws-sdk|\.\/lib\/aws\/sdk)\/(client-[a-z0-9-]+)"\s*\)/g)) {
    for (const name of m[1]!.split(',')) {
      const clean = name.trim().split(/\s*:\s*/).pop()!.trim();
      if (clean.endsWith('Command')) lazy.set(clean, m[2]!);
    }
  }
  for (const m of text.matchAll(/\bnew\s+([A-Z][A-Za-z0-9]*)Command\s*\(/g)) {
    const pkg = lazy.get(`${m[1]}Command`);
    if (pkg) out.add(action(pkg, m[1]!, where));
  }
  return [...out].sort();
}
