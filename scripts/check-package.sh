#!/usr/bin/env bash
# `npm run test:package`: packages the service offline with serverless@3 + serverless-esbuild,
# lints the CloudFormation it produces with cfn-lint, then runs the jest `package` checks on it
# (IAM least privilege, runtime, bundle sizes). Serialised with a lock: serverless-esbuild uses a
# fixed work folder.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
exec 9>"${TMPDIR:-/tmp}/pitr-guard-package.lock"
flock 9
export SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off SLS_DEPRECATION_DISABLE='*'
out="$root/.serverless"
# Also without the Config rule (param configRule=false): its resources are conditional, and the
# template must lint clean both ways. Packaged first: every `serverless package` deletes ./.serverless.
no_rule="${TMPDIR:-/tmp}/pitr-guard-package-no-config-rule"
rm -rf "$no_rule"
echo "serverless package (offline, configRule=false)…"
npx --no-install serverless package --stage ci --region us-east-1 --package "$no_rule" "$@" --param="configRule=false"
echo "cfn-lint $no_rule/cloudformation-template-update-stack.json"
"$root/.venv/bin/cfn-lint" --format parseable "$no_rule/cloudformation-template-update-stack.json"
echo "cfn-lint (configRule=false): no findings"
rm -rf "$out"
echo "serverless package (offline)…"
npx --no-install serverless package --stage ci --region us-east-1 --package "$out" "$@"
template="$out/cloudformation-template-update-stack.json"
echo "cfn-lint $template"
"$root/.venv/bin/cfn-lint" --format parseable "$template"
echo "cfn-lint: no findings"
PITR_GUARD_PACKAGE_DIR="$out" PITR_GUARD_PACKAGE_DIR_NO_CONFIG_RULE="$no_rule" npx --no-install jest --selectProjects package
