#!/usr/bin/env bash
# Static security checks (CI runs this): bandit (fails on high severity), our semgrep rules
# (their own tests first, then the code), offline. Dependency audit: see docs/security.md.
set -euo pipefail
BIN=${BIN:-.venv/bin}
SECURITY_BIN=${SECURITY_BIN:-.venv-security/bin}
EXCLUDES=(--exclude tests --exclude security --exclude migrations --exclude '.venv*' --exclude node_modules)

echo "--- bandit (fails on high severity; lower ones are listed for review)"
"$BIN/bandit" -q -r . -x ./.venv,./.venv-security,./.venv-3.13,./tests,./migrations,./security \
  --severity-level high

echo "--- semgrep: the rules' own tests"
"$SECURITY_BIN/semgrep" --test security/rules --metrics=off --disable-version-check --quiet

echo "--- semgrep: project rules over the code"
"$SECURITY_BIN/semgrep" scan --config security/rules --metrics=off --disable-version-check \
  --error --quiet "${EXCLUDES[@]}" .
echo "security checks: all passed"
