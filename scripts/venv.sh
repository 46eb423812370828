#!/usr/bin/env bash
# Creates (or refreshes) the project-local virtualenv ./.venv with the pinned Python tools
# (moto server for integration tests and the demo, cfn-lint for the template check).
# Idempotent: does nothing when the installed set already matches requirements-dev.txt.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
req="$root/requirements-dev.txt"
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -x "$venv/bin/moto_server" ] && [ -x "$venv/bin/cfn-lint" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "pitr-guard: installing moto and cfn-lint into $venv" >&2
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
echo "$want" > "$stamp"
