#!/usr/bin/env bash
# The whole test suite: once on SQLite, once on PostgreSQL, coverage combined over both runs.
#   TEST_PG_URL      PostgreSQL server for the second run (default: the local `test` database)
#   TEST_DATABASES   which runs to do (default: "sqlite postgresql")
#   CI=true          a missing PostgreSQL fails the run instead of skipping it
# Extra arguments go to pytest (e.g. `make test ARGS=-k health` → scripts/test.sh -k health).
set -uo pipefail

BIN=${BIN:-.venv/bin}
PG_URL=${TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/test}
DATABASES=${TEST_DATABASES:-sqlite postgresql}
WORKERS=${PYTEST_WORKERS:-auto}

run_pytest() {
  "$BIN/python" -m pytest -n "$WORKERS" --cov --cov-append --cov-report= --cov-fail-under=0 "$@"
  local status=$?
  if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
    return 1
  fi
  return "$status"
}

postgres_reachable() {
  "$BIN/python" - "$PG_URL" <<'PY'
import sys
import psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception as exc:
    sys.exit(f"{type(exc).__name__}: {exc}")
PY
}

rm -f .coverage .coverage.*
failed=0

if [[ " $DATABASES " == *" sqlite "* ]]; then
  echo "=== tests on SQLite"
  (unset TEST_DATABASE_URL; run_pytest "$@") || failed=1
fi

if [[ " $DATABASES " == *" postgresql "* ]]; then
  if postgres_reachable; then
    echo "=== tests on PostgreSQL (${PG_URL##*@})"
    TEST_DATABASE_URL="$PG_URL" run_pytest "$@" || failed=1
  elif [ "${CI:-}" = "true" ]; then
    echo "PostgreSQL is required in CI and is not reachable at ${PG_URL##*@}" >&2
    failed=1
  else
    echo "!!! PostgreSQL not reachable at ${PG_URL##*@}: the PostgreSQL run was SKIPPED" >&2
  fi
fi

echo "=== coverage (both runs combined)"
"$BIN/python" -m coverage report || failed=1
exit "$failed"
