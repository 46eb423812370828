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
# And read-only (param readOnly=true): no role may hold dynamodb:UpdateContinuousBackups.
read_only="${TMPDIR:-/tmp}/pitr-guard-package-read-only"
rm -rf "$read_only"
echo "serverless package (offline, readOnly=true)…"
npx --no-install serverless package --stage ci --region us-east-1 --package "$read_only" "$@" --param="readOnly=true"
rm -rf "$out"
echo "serverless package (offline)…"
npx --no-install serverless package --stage ci --region us-east-1 --package "$out" "$@"
template="$out/cloudformation-template-update-stack.json"
# One cfn-lint run for the three templates (its start-up dominates).
echo "cfn-lint: default, configRule=false, readOnly=true"
"$root/.venv/bin/cfn-lint" --format parseable "$template" "$no_rule/cloudformation-template-update-stack.json" "$read_only/cloudformation-template-update-stack.json"
echo "cfn-lint: no findings"
PITR_GUARD_PACKAGE_DIR="$out" PITR_GUARD_PACKAGE_DIR_NO_CONFIG_RULE="$no_rule" PITR_GUARD_PACKAGE_DIR_READ_ONLY="$read_only" npx --no-install jest --selectProjects package
