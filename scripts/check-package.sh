#!/usr/bin/env bash
# `npm run test:package`: packages the service offline with serverless@3 + serverless-esbuild,
# lints the CloudFormation it produces with cfn-lint, then runs the jest `package` checks on it
# (IAM least privilege, runtime, bundle sizes). Serialised with a lock: serverless-esbuild uses a
# fixed work folder.
#
# serverless's own output is kept in a log and checked: the one message allowed is the known
# schema warning for provider.runtime (serverless@3 predates nodejs22.x; see docs/deployment.md).
# Any other warning, invalid setting or deprecation fails the check and prints the whole log.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
exec 9>"${TMPDIR:-/tmp}/pitr-guard-package.lock"
flock 9
export SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off

# package LABEL DIR [serverless args…]
package() {
  local label="$1" dir="$2"
  shift 2
  local log
  log="$(mktemp "${TMPDIR:-/tmp}/pitr-guard-package-log.XXXXXX")"
  if ! npx --no-install serverless package --stage ci --region us-east-1 --package "$dir" "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "serverless package ($label) failed" >&2
    exit 1
  fi
  local unexpected
  unexpected="$(grep -E "^\s+at '" "$log" | grep -v "^\s*at 'provider.runtime': must be equal to one of the allowed values" || true)"
  unexpected+="$(grep -iE 'deprecat|^\s*(warning|error)' "$log" | grep -v '^Warning: Invalid configuration encountered$' || true)"
  if [ -n "$unexpected" ] || ! grep -q 'Service packaged' "$log"; then
    cat "$log" >&2
    echo "serverless package ($label): unexpected output (only the provider.runtime schema warning is known):" >&2
    echo "$unexpected" >&2
    exit 1
  fi
  rm -f "$log"
  echo "serverless package ($label): packaged"
}

out="$root/.serverless"
# Also without the Config rule (param configRule=false): its resources are conditional, and the
# template must lint clean both ways. Packaged first: every `serverless package` deletes ./.serverless.
no_rule="${TMPDIR:-/tmp}/pitr-guard-package-no-config-rule"
rm -rf "$no_rule"
package "configRule=false" "$no_rule" "$@" --param="configRule=false"
# And read-only (param readOnly=true): no role may hold dynamodb:UpdateContinuousBackups.
read_only="${TMPDIR:-/tmp}/pitr-guard-package-read-only"
rm -rf "$read_only"
package "readOnly=true" "$read_only" "$@" --param="readOnly=true"
# And a central stack for other accounts (param accounts as a list): the reactor may assume the
# member role, and the forwarded-events bus accepts exactly those accounts.
multi="${TMPDIR:-/tmp}/pitr-guard-package-multi-account"
rm -rf "$multi"
package "accounts=list" "$multi" "$@" --param="accounts=111111111111,222222222222"
# And the Organization scan (param accounts=org): the schedule starts the state machine instead of scheduledScan.
org="${TMPDIR:-/tmp}/pitr-guard-package-org"
rm -rf "$org"
package "accounts=org" "$org" "$@" --param="accounts=org" --param="organizationId=o-abcd1234ef"
# And the scheduled restore drill (param drillTables set): its function, role and schedule exist.
drill="${TMPDIR:-/tmp}/pitr-guard-package-drill"
rm -rf "$drill"
package "drillTables=set" "$drill" "$@" --param="drillTables=eu-west-1:orders,us-east-1:payments"
rm -rf "$out"
package "default" "$out" "$@"
# One cfn-lint run for the six templates and the member template a StackSet deploys (its start-up dominates).
if ! "$root/.venv/bin/cfn-lint" --format parseable "$out/cloudformation-template-update-stack.json" "$no_rule/cloudformation-template-update-stack.json" "$read_only/cloudformation-template-update-stack.json" "$multi/cloudformation-template-update-stack.json" "$org/cloudformation-template-update-stack.json" "$drill/cloudformation-template-update-stack.json" "$root/member/template.yaml"; then
  echo "cfn-lint: findings above" >&2
  exit 1
fi
echo "cfn-lint (default, configRule=false, readOnly=true, accounts=list, accounts=org, drillTables=set, member/template.yaml): no findings"
PITR_GUARD_PACKAGE_DIR="$out" PITR_GUARD_PACKAGE_DIR_NO_CONFIG_RULE="$no_rule" PITR_GUARD_PACKAGE_DIR_READ_ONLY="$read_only" PITR_GUARD_PACKAGE_DIR_MULTI_ACCOUNT="$multi" PITR_GUARD_PACKAGE_DIR_ORG="$org" PITR_GUARD_PACKAGE_DIR_DRILL="$drill" npx --no-install jest --selectProjects package
